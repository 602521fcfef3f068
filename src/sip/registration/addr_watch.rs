//! The registration's watch on our own address: between two REGISTERs it
//! asks every [`addr_change::POLL`] which local address routes to the
//! registrar, and when another one does (the host was renumbered or moved
//! to another network) it ends the wait, so the task registers again at
//! once from the new address and removes the binding of the old Contact.
//! The decision is [`addr_change::sip_change`]'s; this is its timer only.
//! Must not touch the registration's exchange, keep-alives or reports.

use super::Registrar;
use crate::sip::address::change::{self as addr_change, Seen};
use crate::sip::transport::{Peer, Transport};
use std::future::Future;
use std::net::SocketAddr;

/// Where the watch stood when it started: the address that routed to
/// `peer` and the Contact we registered with it.
struct Watch {
    transport: Transport,
    peer: Peer,
    local: SocketAddr,
    contact: SocketAddr,
}

impl Registrar {
    /// A future that resolves, with the Contact registered before, when
    /// another local address routes to the registrar; pending for ever
    /// when nothing was registered yet. Owns what it needs, so it can run
    /// beside [`Registrar::keep_alive`].
    pub(super) fn address_moved(&self) -> impl Future<Output = SocketAddr> + 'static {
        let transport = self.endpoint.transport().clone();
        let watch = self.peer.map(|peer| Watch {
            local: transport.local_addr_for(peer.addr),
            contact: transport.contact_addr_for(&peer),
            transport,
            peer,
        });
        async move {
            let Some(w) = watch else {
                return std::future::pending().await;
            };
            let mut tick = tokio::time::interval(addr_change::POLL);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                let now = w.transport.local_addr_for(w.peer.addr);
                if let Seen::Moved(to) = addr_change::sip_change(w.peer.addr, w.local, now) {
                    tracing::info!(from = %w.local, %to, registrar = %w.peer.addr, "our address changed; registering again");
                    return w.contact;
                }
            }
        }
    }
}
