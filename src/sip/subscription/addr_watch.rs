//! A subscription follows our address: every [`addr_change::POLL`] its
//! task asks which local address routes to the notifier and which address
//! its Contact would name there (that one, or the public address a
//! registration learned behind a NAT). When either is not what the last
//! SUBSCRIBE named (the host was renumbered or moved to another network,
//! or the NAT mapped us anew), the subscription is refreshed at once with
//! the new Contact, so NOTIFYs come to where we are now instead of after
//! the next refresh. The decision is [`refresh_now`] (pure, over
//! [`addr_change::sip_change`]); the task's loop (`task.rs`) carries it
//! out. Must not touch the subscription's dialog, its reports or sockets.

use crate::sip::address::change::{self as addr_change, Seen};
use std::net::SocketAddr;

/// Where the last SUBSCRIBE of an established subscription said we are:
/// the local address toward the notifier and the Contact's address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Named {
    pub local: SocketAddr,
    pub contact: SocketAddr,
}

/// Whether to refresh the subscription with notifier `peer` now, when its
/// last SUBSCRIBE named `sent` (`None`: no subscription established, the
/// next SUBSCRIBE names the new address anyway) and now `local` routes
/// there and the Contact would name `contact`. Not while no address
/// routes there at all (the new one is not up yet).
pub fn refresh_now(
    peer: SocketAddr,
    sent: Option<Named>,
    local: SocketAddr,
    contact: SocketAddr,
) -> bool {
    let Some(sent) = sent else {
        return false;
    };
    match addr_change::sip_change(peer, sent.local, local) {
        Seen::Moved(_) => true,
        Seen::Unroutable => false,
        Seen::Same => contact != sent.contact,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sa(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    #[test]
    fn refresh_when_the_address_or_the_contact_moved() {
        let peer = sa("198.51.100.10:5060");
        let at = |local: &str, contact: &str| Named {
            local: sa(local),
            contact: sa(contact),
        };
        // (sent, local now, contact now, refresh)
        let table: &[(Option<Named>, &str, &str, bool)] = &[
            // Nothing changed.
            (
                Some(at("198.51.100.20:5060", "198.51.100.20:5060")),
                "198.51.100.20:5060",
                "198.51.100.20:5060",
                false,
            ),
            // The host was renumbered.
            (
                Some(at("198.51.100.20:5060", "198.51.100.20:5060")),
                "198.51.100.21:5060",
                "198.51.100.21:5060",
                true,
            ),
            // Behind a NAT: the registration learned a new mapping.
            (
                Some(at("203.0.113.10:5060", "198.51.100.1:5060")),
                "203.0.113.10:5060",
                "198.51.100.2:5060",
                true,
            ),
            // A NAT seen for the first time.
            (
                Some(at("203.0.113.10:5060", "203.0.113.10:5060")),
                "203.0.113.10:5060",
                "198.51.100.1:5060",
                true,
            ),
            // No route just now (the old address went): wait.
            (
                Some(at("198.51.100.20:5060", "198.51.100.20:5060")),
                "127.0.0.1:5060",
                "127.0.0.1:5060",
                false,
            ),
            // No subscription established: the next SUBSCRIBE tells anyway.
            (None, "198.51.100.21:5060", "198.51.100.21:5060", false),
        ];
        for (sent, local, contact, want) in table {
            assert_eq!(
                refresh_now(peer, *sent, sa(local), sa(contact)),
                *want,
                "{sent:?} → {local} {contact}"
            );
        }
    }
}
