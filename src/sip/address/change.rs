//! Whether the host's address toward a server changed, and what a call's
//! media must do about it. The registration and every call poll the
//! address that routes to their server ([`crate::sip::transport::Transport::local_addr_for`],
//! every [`POLL`]); these pure functions read the answer. Knows nothing of
//! sockets, timers, registrations or calls: the callers carry the decision
//! out (the registration task in `registration.rs`, the call actor in
//! `phone/call/addr_change.rs`).

use super::local_addr;
use std::net::SocketAddr;
use std::time::Duration;

/// How often the address toward a server is asked for again.
pub const POLL: Duration = Duration::from_secs(2);

/// What a poll of our address toward a server found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seen {
    /// The address we named before is still the one that routes there.
    Same,
    /// No address routes to the server just now (the old address went and
    /// the new one is not there yet): keep what we have and ask again.
    Unroutable,
    /// Another address routes there now: tell the server.
    Moved(SocketAddr),
}

/// Compares the address we named to `peer` (`before`) with the one that
/// routes to it now (`now`, from `local_addr_for`). A loopback answer for a
/// peer that is not on this host means there is no route (see
/// [`local_addr::advertised`]), not that we moved.
pub fn sip_change(peer: SocketAddr, before: SocketAddr, now: SocketAddr) -> Seen {
    if now == before {
        return Seen::Same;
    }
    let peer_is_local = local_addr::route_target(peer).ip().is_loopback();
    if now.ip().is_loopback() && !peer_is_local {
        return Seen::Unroutable;
    }
    Seen::Moved(now)
}

/// What a call's RTP must do when its SIP address moved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaMove {
    /// Our SDP already names an address that receives.
    Keep,
    /// The RTP socket is bound on the wildcard, so it receives on the new
    /// address too: only the SDP's `c=`/`o=` change, to this address.
    Readvertise(SocketAddr),
}

/// The media's answer to a move of our SIP address to `sip`: RTP bound on
/// `bound`, our SDP naming `advertised`. RTP binds where SIP listens
/// ([`local_addr::media_bind_ip`]), so a socket bound on a specific address
/// belongs to a SIP socket bound there too, whose address never moves:
/// only the wildcard case has anything to do.
pub fn media_move(sip: SocketAddr, bound: SocketAddr, advertised: SocketAddr) -> MediaMove {
    let want = local_addr::media_addr(sip, bound);
    if want == advertised {
        MediaMove::Keep
    } else {
        MediaMove::Readvertise(want)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sa(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    #[test]
    fn a_poll_tells_same_moved_or_no_route() {
        // (peer, before, now, seen)
        let table: &[(&str, &str, &str, Option<&str>)] = &[
            // Nothing changed.
            (
                "198.51.100.10:5060",
                "198.51.100.20:5060",
                "198.51.100.20:5060",
                None,
            ),
            // The host was renumbered.
            (
                "198.51.100.10:5060",
                "198.51.100.20:5060",
                "198.51.100.21:5060",
                Some("198.51.100.21:5060"),
            ),
            (
                "[2001:db8::1]:5060",
                "[2001:db8::2]:5060",
                "[2001:db8::3]:5060",
                Some("[2001:db8::3]:5060"),
            ),
            // Another interface now routes there (a new network).
            (
                "203.0.113.5:5060",
                "198.51.100.20:5062",
                "192.0.2.7:5062",
                Some("192.0.2.7:5062"),
            ),
            // A server on this host: loopback is a real answer.
            (
                "127.0.0.1:5070",
                "127.0.0.2:5060",
                "127.0.0.1:5060",
                Some("127.0.0.1:5060"),
            ),
        ];
        for (peer, before, now, want) in table {
            let want = match want {
                None => Seen::Same,
                Some(addr) => Seen::Moved(sa(addr)),
            };
            assert_eq!(
                sip_change(sa(peer), sa(before), sa(now)),
                want,
                "{peer} {before} {now}"
            );
        }
    }

    #[test]
    fn no_route_is_no_move() {
        // The old address is gone, the new one not there yet: the route
        // lookup falls back to loopback, which names nothing reachable.
        let table = [
            ("198.51.100.10:5060", "198.51.100.20:5060", "127.0.0.1:5060"),
            ("[2001:db8::1]:5060", "[2001:db8::2]:5060", "[::1]:5060"),
            (
                "[::ffff:198.51.100.10]:5060",
                "198.51.100.20:5060",
                "127.0.0.1:5060",
            ),
        ];
        for (peer, before, now) in table {
            assert_eq!(
                sip_change(sa(peer), sa(before), sa(now)),
                Seen::Unroutable,
                "{peer} {before} {now}"
            );
        }
    }

    #[test]
    fn wildcard_media_is_readvertised_on_the_new_address() {
        // (new SIP address, RTP bound, SDP names, move)
        let table: &[(&str, &str, &str, Option<&str>)] = &[
            (
                "198.51.100.21:5060",
                "0.0.0.0:40000",
                "198.51.100.20:40000",
                Some("198.51.100.21:40000"),
            ),
            (
                "[2001:db8::3]:5060",
                "[::]:40002",
                "[2001:db8::2]:40002",
                Some("[2001:db8::3]:40002"),
            ),
            // Already naming the new address: nothing to do.
            (
                "198.51.100.21:5060",
                "0.0.0.0:40000",
                "198.51.100.21:40000",
                None,
            ),
            // Bound on a specific address (SIP listens there too): kept.
            (
                "198.51.100.20:5060",
                "198.51.100.20:40004",
                "198.51.100.20:40004",
                None,
            ),
        ];
        for (sip, bound, advertised, want) in table {
            let want = match want {
                None => MediaMove::Keep,
                Some(addr) => MediaMove::Readvertise(sa(addr)),
            };
            assert_eq!(
                media_move(sa(sip), sa(bound), sa(advertised)),
                want,
                "{sip} {bound} {advertised}"
            );
        }
    }
}
