//! Locating SIP servers (RFC 3263): a SIP URI becomes the list of next hops
//! to try, in order. A numeric host is used as it is; a host with a port or
//! an explicit transport skips NAPTR; otherwise NAPTR (`SIP+D2U`, `SIP+D2T`)
//! picks the transports, SRV (`_sip._udp`, `_sip._tcp`) the servers in
//! priority and weight order (RFC 2782), and A/AAAA their addresses. With no
//! NAPTR the SRV records of each transport are asked for; with no SRV the
//! host's own A/AAAA records on port 5060.
//!
//! The ordering and selection are the pure functions [`plan`],
//! [`naptr_order`] and [`srv_order`], table-tested; [`Resolver`] is the thin
//! network part over `hickory-resolver`. Owns no SIP state: which target a
//! request goes to next is its sender's business.

use super::transport::tls::TlsNames;
use super::transport::{Peer, Protocol};
use super::uri::{default_port, SipUri};
use hickory_resolver::config::{ConnectionConfig, NameServerConfig, ResolverConfig};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::proto::rr::{RData, RecordType};
use hickory_resolver::TokioResolver;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

/// Why a URI could not be resolved; the text is what an account's
/// registration `reason` shows.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DnsError {
    #[error("DNS: bad SIP URI `{0}`")]
    Uri(String),
    #[error("DNS: {host}: no SRV/A records{detail}")]
    NoRecords { host: String, detail: String },
    #[error("DNS: no resolver: {0}")]
    NoResolver(String),
}

/// What to look up for a URI (RFC 3263 §4.1, §4.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Plan {
    /// A numeric host: no DNS at all.
    Direct(Peer),
    /// A host with a port: its A/AAAA records, that port, the URI's transport.
    Address {
        host: String,
        port: u16,
        protocol: Protocol,
    },
    /// A host without a port: SRV of these transports in this order, after
    /// NAPTR when `naptr` (the URI named no transport).
    Service {
        host: String,
        naptr: bool,
        protocols: Vec<Protocol>,
    },
}

/// What to look up for `uri`.
pub fn plan(uri: &SipUri<'_>) -> Plan {
    let explicit = uri.secure || uri.param("transport").is_some();
    let protocol = uri.protocol();
    if let Ok(ip) = uri.host.parse::<IpAddr>() {
        let port = uri.port.unwrap_or(default_port(protocol));
        return Plan::Direct(Peer {
            protocol,
            addr: SocketAddr::new(ip, port),
        });
    }
    let host = uri.host.trim_end_matches('.').to_ascii_lowercase();
    match uri.port {
        Some(port) => Plan::Address {
            host,
            port,
            protocol,
        },
        None if explicit => Plan::Service {
            host,
            naptr: false,
            protocols: vec![protocol],
        },
        None => Plan::Service {
            host,
            naptr: true,
            protocols: vec![Protocol::Udp, Protocol::Tcp],
        },
    }
}

/// The SRV owner name of a transport (`_sip._udp.pbx.test`).
pub fn srv_name(protocol: Protocol, host: &str) -> String {
    match protocol {
        Protocol::Udp => format!("_sip._udp.{host}"),
        Protocol::Tcp => format!("_sip._tcp.{host}"),
        Protocol::Tls => format!("_sips._tcp.{host}"),
    }
}

/// One NAPTR record, as far as SIP reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Naptr {
    pub order: u16,
    pub preference: u16,
    pub flags: String,
    pub service: String,
    /// The SRV name it points at (`_sip._udp.pbx.test`).
    pub replacement: String,
}

/// The usable NAPTR records (flag `S`, a transport we speak) as
/// `(transport, SRV name)`, by order, then preference (RFC 3403 §4.1).
pub fn naptr_order(records: &[Naptr]) -> Vec<(Protocol, String)> {
    let mut usable: Vec<&Naptr> = records
        .iter()
        .filter(|r| r.flags.eq_ignore_ascii_case("s"))
        .filter(|r| naptr_protocol(&r.service).is_some())
        .collect();
    usable.sort_by_key(|r| (r.order, r.preference));
    let mut out: Vec<(Protocol, String)> = Vec::new();
    for r in usable {
        if let Some(p) = naptr_protocol(&r.service) {
            let name = r.replacement.trim_end_matches('.').to_ascii_lowercase();
            if !out.iter().any(|(q, n)| *q == p && *n == name) {
                out.push((p, name));
            }
        }
    }
    out
}

/// The transport of a NAPTR service field we speak (`SIP+D2U`, `SIP+D2T`).
/// `SIPS+D2T` is left out: a `sip:` URI never turns into TLS by itself,
/// and a `sips:` one names its transport, so skips NAPTR.
fn naptr_protocol(service: &str) -> Option<Protocol> {
    if service.eq_ignore_ascii_case("SIP+D2U") {
        Some(Protocol::Udp)
    } else if service.eq_ignore_ascii_case("SIP+D2T") {
        Some(Protocol::Tcp)
    } else {
        None
    }
}

/// One SRV record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Srv {
    pub priority: u16,
    pub weight: u16,
    pub port: u16,
    pub target: String,
}

/// The SRV records in the order to try them (RFC 2782): lowest priority
/// first; within a priority, a weighted random order where `pick(total)`
/// returns a number in `0..=total`. A target `.` (service not offered) is
/// dropped.
pub fn srv_order(records: &[Srv], mut pick: impl FnMut(u32) -> u32) -> Vec<Srv> {
    let mut records: Vec<Srv> = records
        .iter()
        .filter(|r| !r.target.trim_end_matches('.').is_empty())
        .cloned()
        .collect();
    // Zero weights first within a priority, as the RFC asks.
    records.sort_by_key(|r| (r.priority, r.weight != 0));
    let mut out = Vec::with_capacity(records.len());
    while !records.is_empty() {
        let priority = records[0].priority;
        let end = records
            .iter()
            .position(|r| r.priority != priority)
            .unwrap_or(records.len());
        let mut group: Vec<Srv> = records.drain(..end).collect();
        while !group.is_empty() {
            let total: u32 = group.iter().map(|r| u32::from(r.weight)).sum();
            let chosen = pick(total).min(total);
            let mut running = 0u32;
            let index = group
                .iter()
                .position(|r| {
                    running += u32::from(r.weight);
                    running >= chosen
                })
                .unwrap_or(0);
            out.push(group.remove(index));
        }
    }
    out
}

/// Whether a final response means "this target did not answer, try the
/// next" (RFC 3263 §4.3): a 503, or a 408 without a To tag (the transaction
/// layer's own on a timeout; a 408 from a server carries its tag).
pub fn fails_over(resp: &super::msg::Response) -> bool {
    should_fail_over(
        super::message::code(resp),
        super::headers::to_tag(resp).is_some(),
    )
}

/// [`fails_over`] on the status code and whether the To header has a tag.
pub fn should_fail_over(code: u16, to_tagged: bool) -> bool {
    code == 503 || code == 408 && !to_tagged
}

/// Builds the hickory resolver for `servers` (the system's when empty).
fn build(servers: &[SocketAddr]) -> Result<TokioResolver, String> {
    let builder = if servers.is_empty() {
        TokioResolver::builder_tokio().map_err(|e| e.to_string())
    } else {
        let name_servers = servers
            .iter()
            .map(|s| {
                let mut udp = ConnectionConfig::udp();
                udp.port = s.port();
                let mut tcp = ConnectionConfig::tcp();
                tcp.port = s.port();
                NameServerConfig::new(s.ip(), true, vec![udp, tcp])
            })
            .collect();
        Ok(TokioResolver::builder_with_config(
            ResolverConfig::from_name_servers(name_servers),
            TokioRuntimeProvider::default(),
        ))
    };
    let inner = builder.and_then(|mut b| {
        let opts = b.options_mut();
        // Fail fast: a registration retries with back-off anyway.
        opts.timeout = Duration::from_secs(2);
        opts.attempts = 1;
        b.build().map_err(|e| e.to_string())
    });
    if let Err(e) = &inner {
        tracing::warn!("no DNS resolver: {e}");
    }
    inner
}

/// A uniform random number in `0..=total`.
fn random_pick(total: u32) -> u32 {
    rand::random_range(0..=total)
}

/// Name servers given in the config (`[sip] dns_servers`), else the
/// system's (`/etc/resolv.conf`). Cheap to clone. The resolver itself is
/// made at the first name to look up: a phone that only ever meets numeric
/// addresses (direct IP, a proxy given as an address) never builds it, which
/// keeps its code out of memory at rest.
#[derive(Clone)]
pub struct Resolver {
    servers: Arc<[SocketAddr]>,
    inner: Arc<OnceLock<Result<TokioResolver, String>>>,
    /// Where the name a TLS target was found under is noted, for its
    /// certificate check (RFC 5922 §4: the URI's host, not the SRV target).
    tls_names: Option<TlsNames>,
}

impl std::fmt::Debug for Resolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Resolver")
    }
}

impl Resolver {
    /// A resolver asking `servers`, or the system's name servers when
    /// empty. A system without a usable resolver configuration still gets a
    /// `Resolver`: numeric hosts work, names fail with the reason.
    pub fn new(servers: &[SocketAddr]) -> Resolver {
        Resolver {
            servers: servers.into(),
            inner: Arc::new(OnceLock::new()),
            tls_names: None,
        }
    }

    /// Notes in `names` under which host name each TLS target was found.
    pub fn with_tls_names(mut self, names: TlsNames) -> Resolver {
        self.tls_names = Some(names);
        self
    }

    /// The resolver, made on first use.
    fn inner(&self) -> &Result<TokioResolver, String> {
        self.inner.get_or_init(|| build(&self.servers))
    }

    /// The next hops for `uri`, in the order to try them.
    pub async fn resolve(&self, uri: &str) -> Result<Vec<Peer>, DnsError> {
        let parts = SipUri::parse(uri).map_err(|_| DnsError::Uri(uri.to_string()))?;
        let resolver = || {
            self.inner()
                .as_ref()
                .map_err(|e| DnsError::NoResolver(e.clone()))
        };
        let mut last_error = None;
        let mut note = |e: String| last_error = Some(e);
        let (host, targets) = match plan(&parts) {
            Plan::Direct(peer) => return Ok(vec![peer]),
            Plan::Address {
                host,
                port,
                protocol,
            } => {
                let resolver = resolver()?;
                let peers = addresses(resolver, &host, port, protocol, &mut note).await;
                (host, peers)
            }
            Plan::Service {
                host,
                naptr,
                protocols,
            } => {
                let resolver = resolver()?;
                let mut services = Vec::new();
                if naptr {
                    match naptr_records(resolver, &host).await {
                        Ok(records) => services = naptr_order(&records),
                        Err(e) => note(e),
                    }
                }
                if services.is_empty() {
                    services = protocols.iter().map(|&p| (p, srv_name(p, &host))).collect();
                }
                let mut peers = Vec::new();
                let mut any_srv = false;
                for (protocol, name) in services {
                    let records = match srv_records(resolver, &name).await {
                        Ok(r) => r,
                        Err(e) => {
                            note(e);
                            continue;
                        }
                    };
                    any_srv |= !records.is_empty();
                    for srv in srv_order(&records, random_pick) {
                        let found =
                            addresses(resolver, &srv.target, srv.port, protocol, &mut note).await;
                        push_new(&mut peers, found);
                    }
                }
                if !any_srv {
                    let protocol = protocols.first().copied().unwrap_or(Protocol::Udp);
                    let port = default_port(protocol);
                    let found = addresses(resolver, &host, port, protocol, &mut note).await;
                    push_new(&mut peers, found);
                }
                (host, peers)
            }
        };
        if targets.is_empty() {
            return Err(DnsError::NoRecords {
                host,
                detail: last_error.map(|e| format!(" ({e})")).unwrap_or_default(),
            });
        }
        tracing::debug!(%uri, ?targets, "resolved");
        if let Some(names) = &self.tls_names {
            for peer in targets.iter().filter(|p| p.protocol == Protocol::Tls) {
                names.insert(peer.addr, &host);
            }
        }
        Ok(targets)
    }
}

fn push_new(peers: &mut Vec<Peer>, found: Vec<Peer>) {
    for p in found {
        if !peers.contains(&p) {
            peers.push(p);
        }
    }
}

/// Fully qualified, so no search domain is appended.
fn fqdn(name: &str) -> String {
    format!("{}.", name.trim_end_matches('.'))
}

/// A "no such record" answer is an empty list, anything else an error text.
fn no_records_ok<T>(
    result: Result<hickory_resolver::lookup::Lookup, hickory_resolver::net::NetError>,
    read: impl Fn(&RData) -> Option<T>,
) -> Result<Vec<T>, String> {
    match result {
        Ok(lookup) => Ok(lookup
            .answers()
            .iter()
            .filter_map(|r| read(&r.data))
            .collect()),
        Err(e) if e.is_no_records_found() || e.is_nx_domain() => Ok(Vec::new()),
        Err(e) => Err(e.to_string()),
    }
}

async fn naptr_records(resolver: &TokioResolver, host: &str) -> Result<Vec<Naptr>, String> {
    let result = resolver.lookup(fqdn(host), RecordType::NAPTR).await;
    no_records_ok(result, |data| match data {
        RData::NAPTR(n) => Some(Naptr {
            order: n.order,
            preference: n.preference,
            flags: String::from_utf8_lossy(&n.flags).into_owned(),
            service: String::from_utf8_lossy(&n.services).into_owned(),
            replacement: n.replacement.to_ascii(),
        }),
        _ => None,
    })
}

async fn srv_records(resolver: &TokioResolver, name: &str) -> Result<Vec<Srv>, String> {
    let result = resolver.lookup(fqdn(name), RecordType::SRV).await;
    no_records_ok(result, |data| match data {
        RData::SRV(s) => Some(Srv {
            priority: s.priority,
            weight: s.weight,
            port: s.port,
            target: s.target.to_ascii(),
        }),
        _ => None,
    })
}

/// A and AAAA records of `host` as peers on `port`; a numeric `host` as is.
async fn addresses(
    resolver: &TokioResolver,
    host: &str,
    port: u16,
    protocol: Protocol,
    note: &mut impl FnMut(String),
) -> Vec<Peer> {
    if let Ok(ip) = host.trim_end_matches('.').parse::<IpAddr>() {
        return vec![Peer {
            protocol,
            addr: SocketAddr::new(ip, port),
        }];
    }
    match resolver.lookup_ip(fqdn(host)).await {
        Ok(ips) => ips
            .iter()
            .map(|ip| Peer {
                protocol,
                addr: SocketAddr::new(ip, port),
            })
            .collect(),
        Err(e) => {
            note(e.to_string());
            Vec::new()
        }
    }
}

#[cfg(test)]
mod tests;
