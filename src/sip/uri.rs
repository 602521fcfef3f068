//! SIP URIs given as text: the parts of a `sip:` / `sips:` URI (scheme,
//! user, host, port, parameters), the transport it asks for, the typed
//! parse into the codec's [`Uri`] with a clear error, and the next hop
//! ([`Peer`]) a URI resolves to. The one URI parser of the SIP layers; the
//! layers above reach it through [`super::message`]. `config` is a leaf and
//! keeps its own small syntactic checks (`config::proxy`, `config::user_host`).
//!
//! Owns no state; no IO except the DNS look-up in [`resolve`]. Knows nothing
//! about name-addrs (`"Bob" <sip:…>;tag=…`): [`super::headers::uri_of`] takes
//! the URI out of one first.

use super::msg::Uri;
use super::transport::{Peer, Protocol};
use super::{Result, SipError};
use std::net::{IpAddr, SocketAddr};

/// The port a SIP URI without one means (RFC 3261 §19.1.2).
pub const DEFAULT_PORT: u16 = 5060;

/// The port of `sips:` and `;transport=tls` URIs without one.
pub const TLS_DEFAULT_PORT: u16 = 5061;

/// The parts of a `sip:` or `sips:` URI, borrowed from its text
/// (`sips:alice@[::1]:5061;transport=tcp?subject=x`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SipUri<'a> {
    /// `sips:` (the scheme is matched without regard to case).
    pub secure: bool,
    /// The user part before the `@`, if there is one (parameters of a
    /// telephone-subscriber user stay in it).
    pub user: Option<&'a str>,
    /// Host name or IP address; an IPv6 address without its brackets.
    pub host: &'a str,
    pub port: Option<u16>,
    /// The URI parameters after host and port, without the first `;` and
    /// without the `?headers` part (`transport=tcp;lr`), or empty.
    pub params: &'a str,
}

impl<'a> SipUri<'a> {
    /// Splits `uri`; an error names it.
    pub fn parse(uri: &'a str) -> Result<Self> {
        let bad = || SipError::Parse(format!("bad SIP URI `{uri}`"));
        let (secure, rest) = strip_scheme(uri).ok_or_else(bad)?;
        // Neither parameters nor headers hold an unescaped `@`, a user part
        // may hold `;` and `?`: the last `@` ends the user.
        let (user, hostpart) = match rest.rsplit_once('@') {
            Some((user, hostpart)) => (Some(user), hostpart),
            None => (None, rest),
        };
        let end = hostpart.find([';', '?']).unwrap_or(hostpart.len());
        let (hostport, after) = hostpart.split_at(end);
        let params = after
            .strip_prefix(';')
            .map(|p| p.split('?').next().unwrap_or(""))
            .unwrap_or("");
        let (host, port) = match hostport.strip_prefix('[') {
            Some(v6) => {
                let (host, after) = v6.split_once(']').ok_or_else(bad)?;
                let port = match after {
                    "" => None,
                    _ => Some(after.strip_prefix(':').ok_or_else(bad)?),
                };
                (host, port)
            }
            None => match hostport.rsplit_once(':') {
                Some((host, port)) => (host, Some(port)),
                None => (hostport, None),
            },
        };
        if host.is_empty() {
            return Err(bad());
        }
        let port = match port {
            Some(p) => Some(p.parse().map_err(|_| bad())?),
            None => None,
        };
        Ok(SipUri {
            secure,
            user,
            host,
            port,
            params,
        })
    }

    /// The value of the URI parameter `name` (case-insensitive name; `""`
    /// for a parameter without value such as `lr`).
    pub fn param(&self, name: &str) -> Option<&'a str> {
        self.params
            .split(';')
            .map(|p| p.split_once('=').unwrap_or((p, "")))
            .find(|(k, _)| k.trim().eq_ignore_ascii_case(name))
            .map(|(_, v)| v.trim())
    }

    /// The transport the URI asks for: TLS for `sips:` (whatever its
    /// `transport`, RFC 5630 §3) or `;transport=tls`, TCP for
    /// `;transport=tcp`, UDP otherwise.
    pub fn protocol(&self) -> Protocol {
        let transport = self.param("transport");
        let is = |name: &str| transport.is_some_and(|t| t.eq_ignore_ascii_case(name));
        if self.secure || is("tls") {
            Protocol::Tls
        } else if is("tcp") {
            Protocol::Tcp
        } else {
            Protocol::Udp
        }
    }
}

/// The port of a server that a URI names without one: 5061 for TLS, 5060
/// otherwise (RFC 3261 §19.1.2).
pub fn default_port(protocol: Protocol) -> u16 {
    match protocol {
        Protocol::Tls => TLS_DEFAULT_PORT,
        Protocol::Udp | Protocol::Tcp => DEFAULT_PORT,
    }
}

/// `(secure, rest)` after a `sip:` or `sips:` scheme in any case.
fn strip_scheme(uri: &str) -> Option<(bool, &str)> {
    [("sip:", false), ("sips:", true)]
        .into_iter()
        .find_map(|(scheme, secure)| {
            uri.get(..scheme.len())
                .filter(|s| s.eq_ignore_ascii_case(scheme))
                .map(|_| (secure, &uri[scheme.len()..]))
        })
}

/// Whether `uri` starts with a `sip:` or `sips:` scheme (in any case).
pub fn has_sip_scheme(uri: &str) -> bool {
    strip_scheme(uri).is_some()
}

/// Host and port of a SIP URI (`sip:user@host:port;params`).
pub fn host_port(uri: &str) -> Result<(String, Option<u16>)> {
    let parts = SipUri::parse(uri)?;
    Ok((parts.host.to_string(), parts.port))
}

/// The user part of a SIP URI (`sip:1002@pbx` → `1002`), if it has one.
pub fn user(uri: &str) -> Option<&str> {
    SipUri::parse(uri).ok()?.user
}

/// The transport a URI asks for (`;transport=tcp|tls` or `sips:`), UDP by
/// default and for text that is no SIP URI.
pub fn uri_protocol(uri: &str) -> Protocol {
    SipUri::parse(uri).map_or(Protocol::Udp, |u| u.protocol())
}

/// Whether a request for `target` may go to `next_hop`: a `sips:` target
/// must leave over TLS (RFC 3261 §26.2.2), so a plain first hop (an
/// outbound proxy over UDP or TCP) is refused with the reason rather than
/// the request sent in clear.
pub fn check_secure_hop(target: &str, next_hop: &str) -> std::result::Result<(), String> {
    let secure = SipUri::parse(target).is_ok_and(|u| u.secure);
    if secure && uri_protocol(next_hop) != Protocol::Tls {
        return Err(format!(
            "{target} needs TLS, but requests go to {next_hop}, which is not a TLS server"
        ));
    }
    Ok(())
}

/// Parses a SIP URI into the codec's type, with a clear error.
pub fn parse_uri(uri: &str) -> Result<Uri> {
    Uri::try_from(uri).map_err(|e| SipError::Parse(format!("bad SIP URI `{uri}`: {e}")))
}

/// Resolves a SIP URI to the next hop (A/AAAA look-up, default port 5060).
pub async fn resolve(uri: &str) -> Result<Peer> {
    let parts = SipUri::parse(uri)?;
    let protocol = parts.protocol();
    let port = parts.port.unwrap_or(default_port(protocol));
    let host = parts.host;
    let addr = match host.parse::<IpAddr>() {
        Ok(ip) => SocketAddr::new(ip, port),
        Err(_) => tokio::net::lookup_host((host, port))
            .await
            .map_err(|e| SipError::Parse(format!("cannot resolve `{host}`: {e}")))?
            .next()
            .ok_or_else(|| SipError::Parse(format!("cannot resolve `{host}`")))?,
    };
    Ok(Peer { protocol, addr })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_every_part() {
        let u = SipUri::parse("sips:alice@[::1]:5061;transport=tcp;lr?subject=x").unwrap();
        assert_eq!(
            u,
            SipUri {
                secure: true,
                user: Some("alice"),
                host: "::1",
                port: Some(5061),
                params: "transport=tcp;lr",
            }
        );
        assert_eq!(u.param("TRANSPORT"), Some("tcp"));
        assert_eq!(u.param("lr"), Some(""));
        assert_eq!(u.param("maddr"), None);
        let plain = SipUri::parse("SIP:pbx.test").unwrap();
        assert!(!plain.secure && plain.user.is_none() && plain.params.is_empty());
        assert_eq!((plain.host, plain.port), ("pbx.test", None));
    }

    #[test]
    fn a_telephone_user_keeps_its_parameters() {
        let u = SipUri::parse("sip:+4930123;phone-context=x@gw.test;user=phone").unwrap();
        assert_eq!(u.user, Some("+4930123;phone-context=x"));
        assert_eq!(u.host, "gw.test");
        assert_eq!(u.param("user"), Some("phone"));
    }

    #[test]
    fn host_ports() {
        assert_eq!(
            host_port("sip:1002@127.0.0.1:5070").unwrap(),
            ("127.0.0.1".into(), Some(5070))
        );
        assert_eq!(
            host_port("sip:[::1]:5070;transport=tcp").unwrap(),
            ("::1".into(), Some(5070))
        );
        assert_eq!(
            host_port("sip:test.local").unwrap(),
            ("test.local".into(), None)
        );
        for bad in [
            "mailto:x",
            "sip:h:99999",
            "sip:h:",
            "sip:",
            "sip:1002@",
            "sip:[::1",
            "sip:[]",
            "sip:[::1]x",
            "",
            "é",
        ] {
            assert!(host_port(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn schemes() {
        assert!(has_sip_scheme("SIPS:h") && has_sip_scheme("sip:1@h"));
        assert!(!has_sip_scheme("tel:+49") && !has_sip_scheme("1002") && !has_sip_scheme("si"));
    }

    #[test]
    fn users() {
        assert_eq!(user("sip:1002@pbx.test;transport=tcp"), Some("1002"));
        assert_eq!(user("sips:bob@h"), Some("bob"));
        assert_eq!(user("sip:pbx.test"), None);
        assert_eq!(user("tel:+4930"), None);
    }

    #[test]
    fn protocols() {
        assert_eq!(uri_protocol("sip:h;transport=TCP"), Protocol::Tcp);
        assert_eq!(uri_protocol("sips:h"), Protocol::Tls);
        assert_eq!(uri_protocol("sips:h;transport=tcp"), Protocol::Tls);
        assert_eq!(uri_protocol("sip:h:5061;transport=TLS"), Protocol::Tls);
        assert_eq!(default_port(Protocol::Tls), 5061);
        assert_eq!(default_port(Protocol::Tcp), 5060);
        assert_eq!(uri_protocol("sip:h;transport=udp"), Protocol::Udp);
        assert_eq!(uri_protocol("sip:h;lr"), Protocol::Udp);
        assert_eq!(uri_protocol("not a uri"), Protocol::Udp);
    }

    #[test]
    fn a_sips_target_needs_a_tls_first_hop() {
        let cases = [
            ("sips:1002@pbx.test", "sips:1002@pbx.test", true),
            (
                "sips:1002@pbx.test",
                "sip:pbx.test:5061;transport=tls",
                true,
            ),
            ("sips:1002@pbx.test", "sip:pbx.test:5060", false),
            ("sips:1002@pbx.test", "sip:pbx.test;transport=tcp", false),
            ("sip:1002@pbx.test", "sip:pbx.test:5060", true),
            ("sip:1002@pbx.test", "sips:pbx.test", true),
        ];
        for (target, hop, ok) in cases {
            let r = check_secure_hop(target, hop);
            assert_eq!(r.is_ok(), ok, "{target} via {hop}: {r:?}");
        }
    }

    #[tokio::test]
    async fn resolves_ip_literals_with_the_default_port() {
        let peer = resolve("sip:1002@127.0.0.1").await.unwrap();
        assert_eq!(peer.addr, "127.0.0.1:5060".parse().unwrap());
        assert_eq!(peer.protocol, Protocol::Udp);
        let peer = resolve("sip:[::1]:5070;transport=tcp").await.unwrap();
        assert_eq!(peer.addr, "[::1]:5070".parse().unwrap());
        assert_eq!(peer.protocol, Protocol::Tcp);
        assert!(resolve("mailto:x").await.is_err());
    }
}
