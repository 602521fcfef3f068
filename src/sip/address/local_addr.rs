//! Which local address we tell a peer about: the Via sent-by, Contact and
//! SDP `o=`/`c=` address of a message to that peer. When SIP listens on one
//! address, that is the answer; when it listens on the wildcard (`0.0.0.0`,
//! `[::]`), it is the address the OS would send from to reach the peer, on
//! the listening port. Pure functions only: the OS's route answer is asked
//! for by the caller ([`crate::sip::transport::Transport::local_addr_for`]) and passed in.
//! Knows nothing of sockets, calls or SDP syntax.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// The port a route is asked for when the peer's is unknown (0): routing
/// does not depend on it, but a UDP `connect` needs one.
const ROUTE_PORT: u16 = 5060;

/// Whether the address to advertise depends on the peer (SIP listens on the
/// wildcard), so the OS's route must be asked.
pub fn needs_route(listen: SocketAddr) -> bool {
    listen.ip().is_unspecified()
}

/// The peer as the OS routes it: an IPv4 address seen through a dual-stack
/// IPv6 socket (`::ffff:a.b.c.d`) is the IPv4 address, and port 0 becomes a
/// real port so that a UDP socket can be connected to it.
pub fn route_target(peer: SocketAddr) -> SocketAddr {
    let ip = match peer.ip() {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(v6),
        },
        v4 => v4,
    };
    let port = if peer.port() == 0 {
        ROUTE_PORT
    } else {
        peer.port()
    };
    SocketAddr::new(ip, port)
}

/// The address we advertise to `peer` when SIP listens on `listen`.
/// `route` is the source address the OS picks toward
/// [`route_target`]`(peer)` (`None`: it has no route).
///
/// - A specific `listen` address is advertised as it is.
/// - On the wildcard, the routed source address with the listening port,
///   if the listening socket can use it: an IPv4 socket only IPv4, an IPv6
///   one (dual-stack) both.
/// - With no usable route, the loopback address of the peer's family (the
///   peer cannot be reached anyway; the message then names no wildcard).
pub fn advertised(listen: SocketAddr, peer: SocketAddr, route: Option<IpAddr>) -> SocketAddr {
    if !needs_route(listen) {
        return listen;
    }
    let usable = route.filter(|ip| !ip.is_unspecified() && (listen.is_ipv6() || ip.is_ipv4()));
    let ip = usable.unwrap_or_else(|| loopback_for(listen, route_target(peer).ip()));
    SocketAddr::new(ip, listen.port())
}

/// The loopback address a socket bound on `listen` can send to `peer`'s
/// family with.
fn loopback_for(listen: SocketAddr, peer: IpAddr) -> IpAddr {
    if listen.is_ipv6() && peer.is_ipv6() {
        IpAddr::V6(Ipv6Addr::LOCALHOST)
    } else {
        IpAddr::V4(Ipv4Addr::LOCALHOST)
    }
}

/// Where RTP sockets bind when SIP listens on `listen`: on the same address,
/// so on the wildcard when SIP is, and then every address we may advertise
/// receives the peer's media.
pub fn media_bind_ip(listen: SocketAddr) -> IpAddr {
    listen.ip()
}

/// The RTP address our SDP names (`c=`, `o=` and the `m=` port) for RTP
/// bound on `bound`, to a peer we advertise `advertised` to: the bound
/// address itself unless it is the wildcard, then the advertised address
/// with the bound port.
pub fn media_addr(advertised: SocketAddr, bound: SocketAddr) -> SocketAddr {
    if bound.ip().is_unspecified() {
        SocketAddr::new(advertised.ip(), bound.port())
    } else {
        bound
    }
}

/// An address on this host that reaches a socket bound on `bound`: the
/// loopback address of its family when it is the wildcard (e.g. for the
/// built-in echo peer), else `bound` itself.
pub fn reachable_locally(bound: IpAddr) -> IpAddr {
    match bound {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sa(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn advertised_address_per_listen_peer_and_route() {
        // (listen, peer, route answer, advertised)
        let table: &[(&str, &str, Option<&str>, &str)] = &[
            // A specific listen address is what we advertise, whatever the route.
            (
                "127.0.0.1:5060",
                "198.51.100.10:5060",
                None,
                "127.0.0.1:5060",
            ),
            (
                "198.51.100.20:5062",
                "198.51.100.10:5060",
                Some("198.51.100.20"),
                "198.51.100.20:5062",
            ),
            (
                "[2001:db8::2]:5060",
                "[2001:db8::1]:5060",
                Some("2001:db8::2"),
                "[2001:db8::2]:5060",
            ),
            // Wildcard: the routed source address on the listening port.
            (
                "0.0.0.0:5060",
                "198.51.100.10:5060",
                Some("198.51.100.20"),
                "198.51.100.20:5060",
            ),
            (
                "0.0.0.0:5062",
                "203.0.113.5:5060",
                Some("192.0.2.7"),
                "192.0.2.7:5062",
            ),
            // A peer on this host is reached over loopback.
            (
                "0.0.0.0:5060",
                "127.0.0.1:5070",
                Some("127.0.0.1"),
                "127.0.0.1:5060",
            ),
            (
                "[::]:5060",
                "[2001:db8::1]:5060",
                Some("2001:db8::2"),
                "[2001:db8::2]:5060",
            ),
            // Dual-stack [::] talking to an IPv4 peer advertises IPv4.
            (
                "[::]:5060",
                "[::ffff:198.51.100.10]:5060",
                Some("198.51.100.20"),
                "198.51.100.20:5060",
            ),
            // An IPv4 socket cannot use an IPv6 source: loopback, never 0.0.0.0.
            (
                "0.0.0.0:5060",
                "[2001:db8::1]:5060",
                Some("2001:db8::2"),
                "127.0.0.1:5060",
            ),
            // No route: loopback of the peer's family.
            ("0.0.0.0:5060", "198.51.100.10:5060", None, "127.0.0.1:5060"),
            ("[::]:5060", "[2001:db8::1]:5060", None, "[::1]:5060"),
            (
                "[::]:5060",
                "[::ffff:198.51.100.10]:5060",
                None,
                "127.0.0.1:5060",
            ),
            // A nonsensical route answer is not advertised.
            (
                "0.0.0.0:5060",
                "198.51.100.10:5060",
                Some("0.0.0.0"),
                "127.0.0.1:5060",
            ),
        ];
        for (listen, peer, route, want) in table {
            let got = advertised(sa(listen), sa(peer), route.map(ip));
            assert_eq!(
                got,
                sa(want),
                "listen {listen}, peer {peer}, route {route:?}"
            );
            assert!(!got.ip().is_unspecified());
        }
    }

    #[test]
    fn route_is_asked_only_on_the_wildcard() {
        assert!(needs_route(sa("0.0.0.0:5060")));
        assert!(needs_route(sa("[::]:5060")));
        assert!(!needs_route(sa("127.0.0.1:5060")));
        assert!(!needs_route(sa("[2001:db8::2]:0")));
    }

    #[test]
    fn route_target_unmaps_ipv4_and_fills_the_port() {
        let table = [
            ("198.51.100.10:5070", "198.51.100.10:5070"),
            ("198.51.100.10:0", "198.51.100.10:5060"),
            ("[::ffff:198.51.100.10]:5060", "198.51.100.10:5060"),
            ("[2001:db8::1]:0", "[2001:db8::1]:5060"),
        ];
        for (peer, want) in table {
            assert_eq!(route_target(sa(peer)), sa(want), "{peer}");
        }
    }

    #[test]
    fn media_binds_where_sip_listens_and_names_the_advertised_address() {
        assert_eq!(media_bind_ip(sa("0.0.0.0:5060")), ip("0.0.0.0"));
        assert_eq!(media_bind_ip(sa("127.0.0.1:5060")), ip("127.0.0.1"));
        assert_eq!(media_bind_ip(sa("[::]:5060")), ip("::"));
        // (advertised SIP address, bound RTP, SDP address)
        let table = [
            ("198.51.100.20:5060", "0.0.0.0:40000", "198.51.100.20:40000"),
            ("[2001:db8::2]:5060", "[::]:40002", "[2001:db8::2]:40002"),
            ("198.51.100.20:5060", "[::]:40004", "198.51.100.20:40004"),
            ("127.0.0.1:5060", "127.0.0.1:40006", "127.0.0.1:40006"),
        ];
        for (adv, bound, want) in table {
            assert_eq!(media_addr(sa(adv), sa(bound)), sa(want), "{adv} {bound}");
        }
    }

    #[test]
    fn wildcard_is_reached_over_loopback() {
        assert_eq!(reachable_locally(ip("0.0.0.0")), ip("127.0.0.1"));
        assert_eq!(reachable_locally(ip("::")), ip("::1"));
        assert_eq!(reachable_locally(ip("198.51.100.20")), ip("198.51.100.20"));
    }
}
