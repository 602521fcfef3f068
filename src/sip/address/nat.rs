//! NAT traversal on the signalling side (RFC 3581): the address a server
//! saw our request come from, read from `received`/`rport` of the top Via
//! of its response; whether that reveals a NAT; which address our Contact
//! then names; and when a changed mapping calls for a new registration.
//! Pure functions only: the registration task feeds them the responses and
//! carries out what they decide, [`crate::sip::transport::Transport`] remembers
//! the learned address per server. Knows nothing of sockets, calls or SDP
//! (the media address is not decided here).

use crate::sip::msg::Headers;
use crate::sip::transport::Protocol;
use std::net::{IpAddr, SocketAddr};

/// The top Via value of a message (long or compact name; the first entry
/// of a comma list).
pub fn top_via(headers: &Headers) -> Option<&str> {
    headers
        .iter()
        .find(|h| h.name().eq_ignore_ascii_case("via") || h.name().eq_ignore_ascii_case("v"))
        .and_then(|h| h.value().split(',').next())
        .map(str::trim)
}

/// The address the server saw our request come from, from the top Via of
/// its response: `received` (else the sent-by host) with `rport` (else the
/// sent-by port). `None` when the Via carries neither parameter with a
/// value (the server does not tell), or cannot be read.
pub fn observed(via: &str) -> Option<SocketAddr> {
    let mut parts = via.split(';');
    let sent_by = parts.next()?.split_whitespace().nth(1)?;
    let (host, port) = split_host_port(sent_by)?;
    let mut received: Option<IpAddr> = None;
    let mut rport: Option<u16> = None;
    for p in parts {
        let (k, v) = p.split_once('=').unwrap_or((p, ""));
        let (k, v) = (k.trim(), v.trim());
        if k.eq_ignore_ascii_case("received") {
            received = v.trim_start_matches('[').trim_end_matches(']').parse().ok();
        } else if k.eq_ignore_ascii_case("rport") {
            rport = v.parse().ok().filter(|p| *p != 0);
        }
    }
    if received.is_none() && rport.is_none() {
        return None;
    }
    let ip = match received {
        Some(ip) => ip,
        None => host.parse().ok()?,
    };
    Some(SocketAddr::new(unmap(ip), rport.unwrap_or(port)))
}

/// `host[:port]` or `[v6][:port]` of a sent-by (port 5060 when absent).
fn split_host_port(s: &str) -> Option<(&str, u16)> {
    if let Some(rest) = s.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        let port = match after.strip_prefix(':') {
            Some(p) => p.parse().ok()?,
            None => 5060,
        };
        return Some((host, port));
    }
    match s.rsplit_once(':') {
        Some((h, p)) => Some((h, p.parse().ok()?)),
        None => Some((s, 5060)),
    }
}

/// An IPv4 address seen through an IPv6 socket is the IPv4 address.
fn unmap(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
        v4 => v4,
    }
}

/// What one response teaches about the path to its server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Learned {
    /// Nothing new: the server tells nothing, or what it told is what we
    /// already use.
    Same,
    /// The server sees us at our own address: no NAT (any earlier public
    /// address is forgotten).
    NoNat,
    /// The server sees us at another address: a NAT, first seen or mapped
    /// anew (`previous` is the public address used until now).
    Public {
        addr: SocketAddr,
        previous: Option<SocketAddr>,
    },
}

/// What a response whose top Via says `observed` means, for a request we
/// sent from `local` over `protocol`, when `public` is the public address
/// learned before. Over UDP `local` is the address our Via named; over TCP
/// it is our end of the connection (its own port, not the listening one).
///
/// - Over TCP a NAT is one that changes the address: then the server sees
///   the NAT's mapping of our connection, which is where a request to us
///   reaches us (the server sends it over that connection); the same
///   address on another port is our own connection, no NAT.
/// - Over TLS nothing is learned (the connection's end is not known here).
/// - An address of another family than ours (a translator between them)
///   is not ours to advertise.
pub fn learn(
    local: SocketAddr,
    public: Option<SocketAddr>,
    observed: Option<SocketAddr>,
    protocol: Protocol,
) -> Learned {
    let Some(seen) = observed else {
        return Learned::Same;
    };
    if protocol == Protocol::Tls || seen.is_ipv4() != local.is_ipv4() {
        return Learned::Same;
    }
    let own = match protocol {
        Protocol::Tcp => seen.ip() == local.ip(),
        _ => seen == local,
    };
    if own {
        return match public {
            Some(_) => Learned::NoNat,
            None => Learned::Same,
        };
    }
    if public == Some(seen) {
        return Learned::Same;
    }
    Learned::Public {
        addr: seen,
        previous: public,
    }
}

/// The address our Contact names toward a server: the public address
/// learned from it, else our own (`local`).
pub fn contact_addr(local: SocketAddr, public: Option<SocketAddr>) -> SocketAddr {
    public.unwrap_or(local)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sa(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    #[test]
    fn observed_address_from_received_and_rport() {
        // (top Via of a response, what the server saw)
        let table: &[(&str, Option<&str>)] = &[
            // Behind a NAT: both parameters filled in.
            (
                "SIP/2.0/UDP 203.0.113.10:5060;rport=40123;branch=z9hG4bK1;received=198.51.100.1",
                Some("198.51.100.1:40123"),
            ),
            // Port kept by the NAT, only the address differs.
            (
                "SIP/2.0/UDP 203.0.113.10:5060;received=198.51.100.1;rport=5060;branch=z9hG4bK1",
                Some("198.51.100.1:5060"),
            ),
            // rport filled in, no received: the sent-by host was right.
            (
                "SIP/2.0/UDP 198.51.100.20:5060;rport=5060;branch=z9hG4bK1",
                Some("198.51.100.20:5060"),
            ),
            // received only (a server without RFC 3581): the sent-by port.
            (
                "SIP/2.0/UDP 203.0.113.10:5062;branch=z9hG4bK1;received=198.51.100.1",
                Some("198.51.100.1:5062"),
            ),
            // No port in sent-by: 5060.
            (
                "SIP/2.0/UDP 203.0.113.10;received=198.51.100.1",
                Some("198.51.100.1:5060"),
            ),
            // IPv6.
            (
                "SIP/2.0/UDP [2001:db8::10]:5060;rport=5070;received=2001:db8::1;branch=z9hG4bK1",
                Some("[2001:db8::1]:5070"),
            ),
            (
                "SIP/2.0/UDP [2001:db8::10]:5060;rport=5060;received=[2001:db8::1]",
                Some("[2001:db8::1]:5060"),
            ),
            // An IPv4 peer of a dual-stack socket.
            (
                "SIP/2.0/UDP 203.0.113.10:5060;rport=5060;received=::ffff:198.51.100.1",
                Some("198.51.100.1:5060"),
            ),
            // Spaces around parameters, upper case names.
            (
                "SIP/2.0/UDP 203.0.113.10:5060 ; RPORT=7000 ; Received=198.51.100.1",
                Some("198.51.100.1:7000"),
            ),
            // The server tells nothing: an empty rport is our own request's.
            ("SIP/2.0/UDP 203.0.113.10:5060;rport;branch=z9hG4bK1", None),
            ("SIP/2.0/UDP 203.0.113.10:5060;branch=z9hG4bK1", None),
            // Garbage is not an address.
            ("SIP/2.0/UDP host.example:5060;received=nonsense", None),
            ("SIP/2.0/UDP", None),
            ("", None),
            ("SIP/2.0/UDP 203.0.113.10:notaport;rport=5060", None),
        ];
        for (via, want) in table {
            assert_eq!(observed(via), want.map(sa), "{via}");
        }
    }

    #[test]
    fn nat_decision_per_path() {
        use Protocol::{Tcp, Udp};
        let local = sa("203.0.113.10:5060");
        let public = sa("198.51.100.1:5060");
        let moved = sa("198.51.100.2:5060");
        // (local, public before, observed, protocol, decision)
        type Row = (
            SocketAddr,
            Option<SocketAddr>,
            Option<SocketAddr>,
            Protocol,
            Learned,
        );
        let table: Vec<Row> = vec![
            // No NAT: the server sees our own address.
            (local, None, Some(local), Udp, Learned::Same),
            // The server says nothing.
            (local, None, None, Udp, Learned::Same),
            (local, Some(public), None, Udp, Learned::Same),
            // NAT detected.
            (
                local,
                None,
                Some(public),
                Udp,
                Learned::Public {
                    addr: public,
                    previous: None,
                },
            ),
            // Same mapping again.
            (local, Some(public), Some(public), Udp, Learned::Same),
            // The mapping changed (new public address or port).
            (
                local,
                Some(public),
                Some(moved),
                Udp,
                Learned::Public {
                    addr: moved,
                    previous: Some(public),
                },
            ),
            (
                local,
                Some(public),
                Some(sa("198.51.100.1:61000")),
                Udp,
                Learned::Public {
                    addr: sa("198.51.100.1:61000"),
                    previous: Some(public),
                },
            ),
            // The NAT went away: back to our own address.
            (local, Some(public), Some(local), Udp, Learned::NoNat),
            // TCP behind a NAT: its mapping of our connection.
            (
                sa("203.0.113.10:41000"),
                None,
                Some(sa("198.51.100.1:40000")),
                Tcp,
                Learned::Public {
                    addr: sa("198.51.100.1:40000"),
                    previous: None,
                },
            ),
            // … the same mapping again, a new one after a new connection.
            (
                sa("203.0.113.10:41000"),
                Some(sa("198.51.100.1:40000")),
                Some(sa("198.51.100.1:40000")),
                Tcp,
                Learned::Same,
            ),
            (
                sa("203.0.113.10:41002"),
                Some(sa("198.51.100.1:40000")),
                Some(sa("198.51.100.1:40002")),
                Tcp,
                Learned::Public {
                    addr: sa("198.51.100.1:40002"),
                    previous: Some(sa("198.51.100.1:40000")),
                },
            ),
            // TCP without a NAT: our own address, on the connection's port
            // or (a server without rport) the listening one.
            (
                sa("203.0.113.10:41000"),
                None,
                Some(sa("203.0.113.10:41000")),
                Tcp,
                Learned::Same,
            ),
            (
                sa("203.0.113.10:41000"),
                None,
                Some(local),
                Tcp,
                Learned::Same,
            ),
            (
                sa("203.0.113.10:41000"),
                Some(sa("198.51.100.1:40000")),
                Some(sa("203.0.113.10:41000")),
                Tcp,
                Learned::NoNat,
            ),
            // TLS: nothing learned.
            (
                sa("203.0.113.10:41000"),
                None,
                Some(sa("198.51.100.1:40000")),
                Protocol::Tls,
                Learned::Same,
            ),
            // IPv6 without NAT, and behind a prefix translator.
            (
                sa("[2001:db8::10]:5060"),
                None,
                Some(sa("[2001:db8::10]:5060")),
                Udp,
                Learned::Same,
            ),
            (
                sa("[2001:db8::10]:5060"),
                None,
                Some(sa("[2001:db8:1::10]:5060")),
                Udp,
                Learned::Public {
                    addr: sa("[2001:db8:1::10]:5060"),
                    previous: None,
                },
            ),
            // Another family than ours is not ours to advertise.
            (
                sa("[2001:db8::10]:5060"),
                None,
                Some(public),
                Udp,
                Learned::Same,
            ),
        ];
        for (local, before, seen, proto, want) in table {
            assert_eq!(
                learn(local, before, seen, proto),
                want,
                "local {local}, before {before:?}, seen {seen:?}, {proto:?}"
            );
        }
    }

    #[test]
    fn contact_names_the_public_address_when_there_is_one() {
        let local = sa("203.0.113.10:5060");
        assert_eq!(contact_addr(local, None), local);
        assert_eq!(
            contact_addr(local, Some(sa("198.51.100.1:5060"))),
            sa("198.51.100.1:5060")
        );
    }
}
