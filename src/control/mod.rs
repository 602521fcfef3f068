//! The JSON-lines control socket (docs/control.md "Wire format"): the server side
//! that hands each request to the phone as a [`crate::command::Command`], and
//! the `termphone ctl` client. Never touches SIP or media: names nothing of
//! `sip`, `media` or `store`, only [`crate::phone`] and the leaves.

pub mod client;
pub mod protocol;
pub mod server;
