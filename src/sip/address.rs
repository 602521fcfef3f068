//! The phone's address logic in one place, as pure functions, each
//! table-tested beside it: which local address a message to a peer names
//! ([`local_addr`]: Via sent-by, Contact, SDP `o=`/`c=`, where media binds),
//! what a server's `received`/`rport` says about a NAT and which address our
//! Contact then names ([`nat`]), and whether the host's own address toward a
//! server has changed and what a registration and a call do about it
//! ([`change`]). The transport asks the OS for routes and keeps what was
//! learned per server; the registration task and the call actor carry the
//! decisions out. Nothing here touches a socket, a timer or a message
//! beyond reading headers handed in.

pub mod change;
pub mod local_addr;
pub mod nat;
