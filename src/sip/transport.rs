//! SIP transport: UDP and TCP sockets bound on one address (IPv4 or IPv6),
//! TLS connections we open to servers ([`tls`]), TCP stream framing by Content-Length, CRLF keep-alive, and the answer 400 /
//! drop policy for malformed input. Knows nothing about transactions.
//!
//! Inbound requests get RFC 3581 `received`/`rport` filled in before they go
//! up. TCP connections are remembered by peer address, so responses and later
//! requests to that peer reuse them; sending to a TCP peer without a
//! connection opens one. An in-memory variant ([`Transport::memory`]) lets the
//! layers above be tested without sockets.
//!
//! Connections accepted on TCP are held to [`ConnLimits`] (how many, and
//! how long they may idle or take over a message).
//!
//! On the wildcard address the transport still tells each peer a real
//! address: [`Transport::local_addr_for`] asks the OS which source address
//! routes to the peer; the choice itself is [`local_addr`]'s. Behind a NAT
//! it also remembers, per server, the public address that server sees us
//! at (learned by the registration from `received`/`rport`, decided by
//! [`super::address::nat`]), which [`Transport::contact_addr_for`] then names.

mod framer;
/// The TCP/TLS stream framer, reachable only so that `tests/fuzz_parsers.rs`
/// can feed it random chunkings; the phone uses it inside the transport.
#[doc(hidden)]
pub use framer::{Frame, FrameError, Framer};
mod inspect;
pub mod limits;
mod start_line;
mod stream_frames;
mod tcp;
pub mod tls;

// The fresh identifiers a caller of the transport puts into a request.
pub use super::headers::{new_branch, new_call_id, new_tag};
pub use inspect::MAX_MESSAGE;
pub use limits::ConnLimits;

use super::address::local_addr;
use super::msg::{self, SipMessage};
use super::trace::{SipTrace, TraceDirection, Tracer};
use super::{Result, SipError};
use inspect::{inspect, Verdict};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use tokio::net::{TcpListener, UdpSocket};
use tokio::sync::{broadcast, mpsc};
use tokio_util::sync::{CancellationToken, DropGuard};

/// Transport protocol of a hop.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Protocol {
    Udp,
    Tcp,
    /// TLS over TCP (RFC 3261 §26.2, `sips:` and `;transport=tls`).
    Tls,
}

impl Protocol {
    /// Whether the protocol is reliable (no retransmissions needed).
    pub fn is_reliable(self) -> bool {
        matches!(self, Protocol::Tcp | Protocol::Tls)
    }

    /// The token used in Via headers ("UDP", "TCP", "TLS").
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Udp => "UDP",
            Protocol::Tcp => "TCP",
            Protocol::Tls => "TLS",
        }
    }
}

/// The top Via value of a request we send from `local` over `protocol`:
/// sent-by = `local`, `rport` (RFC 3581) and `branch`.
pub fn via(local: SocketAddr, protocol: Protocol, branch: &str) -> String {
    format!(
        "SIP/2.0/{} {local};rport;branch={branch}",
        protocol.as_str()
    )
}

/// The far end of a hop: where a message came from or is to be sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Peer {
    pub protocol: Protocol,
    pub addr: SocketAddr,
}

/// A message received from the network, already parsed.
#[derive(Debug)]
pub struct Inbound {
    pub message: SipMessage,
    pub peer: Peer,
}

/// Handle to the transport (cheap to clone). The sockets close when the last
/// clone is dropped.
#[derive(Clone)]
pub struct Transport {
    inner: Arc<Inner>,
}

struct Inner {
    local: SocketAddr,
    kind: Kind,
    tracer: Tracer,
    /// The public address each server (by [`public_key`]) sees us at, when
    /// that differs from ours: a NAT's mapping.
    public: Mutex<HashMap<Peer, SocketAddr>>,
    _shutdown: DropGuard,
}

/// A server's key in the public-address table: an IPv4 address seen
/// through a dual-stack socket is the IPv4 address, as the OS routes it.
fn public_key(peer: &Peer) -> Peer {
    Peer {
        protocol: peer.protocol,
        addr: local_addr::route_target(peer.addr),
    }
}

enum Kind {
    Net {
        udp: Arc<UdpSocket>,
        tcp: tcp::Connections,
        tls: tls::TlsConnections,
    },
    Memory(mpsc::UnboundedSender<(SipMessage, Peer)>),
}

impl std::fmt::Debug for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match self.inner.kind {
            Kind::Net { .. } => "net",
            Kind::Memory(_) => "memory",
        };
        write!(f, "Transport({kind} {})", self.inner.local)
    }
}

impl Transport {
    /// Binds UDP and TCP on `listen` (port 0: one free port that both get),
    /// with the default [`ConnLimits`]; TLS connections are checked against
    /// the system's roots only.
    pub async fn bind(listen: SocketAddr) -> Result<(Transport, mpsc::UnboundedReceiver<Inbound>)> {
        Self::bind_with(listen, ConnLimits::default(), None).await
    }

    /// Binds UDP and TCP on `listen`; connections accepted on TCP are held
    /// to `limits`. `tls_client`: the TLS client to open connections with;
    /// `None`: the system's roots, read at the first TLS connection (a
    /// phone that never uses TLS never holds them).
    pub async fn bind_with(
        listen: SocketAddr,
        limits: ConnLimits,
        tls_client: Option<tls::TlsClient>,
    ) -> Result<(Transport, mpsc::UnboundedReceiver<Inbound>)> {
        let (udp, listener) = bind_pair(listen).await?;
        let local = udp.local_addr()?;
        let udp = Arc::new(udp);
        let (inbound_tx, mut raw_rx) = mpsc::unbounded_channel::<Inbound>();
        let token = CancellationToken::new();
        // Everything received passes the tracer on its way up.
        let tracer = Tracer::default();
        let (traced_tx, inbound_rx) = mpsc::unbounded_channel();
        let in_tracer = tracer.clone();
        tokio::spawn(async move {
            while let Some(inbound) = raw_rx.recv().await {
                in_tracer.record(TraceDirection::In, &inbound.message, &inbound.peer);
                if traced_tx.send(inbound).is_err() {
                    break;
                }
            }
        });
        let tcp = tcp::Connections::new(
            inbound_tx.clone(),
            token.clone(),
            limits::ConnTable::new(limits),
        );
        let tls = tls::TlsConnections::new(tls_client, inbound_tx.clone(), token.clone());
        tokio::spawn(udp_loop(udp.clone(), inbound_tx, token.clone()));
        tokio::spawn(tcp.clone().accept_loop(listener));
        let inner = Inner {
            local,
            kind: Kind::Net { udp, tcp, tls },
            tracer,
            public: Mutex::default(),
            _shutdown: token.drop_guard(),
        };
        tracing::debug!(%local, "SIP transport bound (UDP+TCP)");
        Ok((
            Transport {
                inner: Arc::new(inner),
            },
            inbound_rx,
        ))
    }

    /// A transport without sockets: every sent message appears on the
    /// returned receiver; inbound messages are whatever the caller feeds to
    /// the layer above. Sending fails once the receiver is dropped.
    pub fn memory(local: SocketAddr) -> (Transport, mpsc::UnboundedReceiver<(SipMessage, Peer)>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let inner = Inner {
            local,
            kind: Kind::Memory(tx),
            tracer: Tracer::default(),
            public: Mutex::default(),
            _shutdown: CancellationToken::new().drop_guard(),
        };
        (
            Transport {
                inner: Arc::new(inner),
            },
            rx,
        )
    }

    /// Subscribes to the trace of every message sent and received.
    pub fn trace(&self) -> broadcast::Receiver<Arc<SipTrace>> {
        self.inner.tracer.subscribe()
    }

    /// The bound address (same port for UDP and TCP); the wildcard when
    /// listening on it. What a message names is [`Self::local_addr_for`].
    pub fn local_addr(&self) -> SocketAddr {
        self.inner.local
    }

    /// The address we tell `peer` (Via sent-by, Contact, SDP): the bound
    /// address, or on the wildcard the source address the OS routes to
    /// `peer` from, on our port ([`local_addr::advertised`]). Asked anew
    /// each time, so it follows the host's address changes.
    pub fn local_addr_for(&self, peer: SocketAddr) -> SocketAddr {
        let listen = self.inner.local;
        if !local_addr::needs_route(listen) {
            return listen;
        }
        let route = match self.inner.kind {
            Kind::Net { .. } => route_source(local_addr::route_target(peer)),
            Kind::Memory(_) => None,
        };
        local_addr::advertised(listen, peer, route)
    }

    /// The public address `peer` sees us at, if one was learned (we are
    /// behind a NAT on the way to it).
    pub fn public_addr(&self, peer: &Peer) -> Option<SocketAddr> {
        let table = self
            .inner
            .public
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        table.get(&public_key(peer)).copied()
    }

    /// Remembers (`Some`) or forgets (`None`) the public address `peer`
    /// sees us at.
    pub fn set_public_addr(&self, peer: &Peer, public: Option<SocketAddr>) {
        let mut table = self
            .inner
            .public
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        match public {
            Some(addr) => table.insert(public_key(peer), addr),
            None => table.remove(&public_key(peer)),
        };
    }

    /// The address our Contact names toward `peer`: the public address it
    /// sees us at when one was learned, else [`Self::local_addr_for`]
    /// ([`super::address::nat::contact_addr`]). Via and SDP keep the local address.
    pub fn contact_addr_for(&self, peer: &Peer) -> SocketAddr {
        super::address::nat::contact_addr(self.local_addr_for(peer.addr), self.public_addr(peer))
    }

    /// A Via for a request we send: sent-by = the bound address, `rport`,
    /// and `branch` (normally from [`new_branch`]); see [`via`]. On a
    /// wildcard address that names no reachable host: use [`Self::via_to`].
    pub fn via(&self, protocol: Protocol, branch: &str) -> msg::Via {
        msg::Via::new(via(self.inner.local, protocol, branch))
    }

    /// A Via for a request we send to `peer`: sent-by = our address toward
    /// it ([`Self::local_addr_for`]), `rport`, and `branch`; see [`via`].
    pub fn via_to(&self, peer: &Peer, branch: &str) -> msg::Via {
        msg::Via::new(via(self.local_addr_for(peer.addr), peer.protocol, branch))
    }

    /// Our end of the open TCP connection with `peer` (address and port it
    /// leaves from): what a server that sees no NAT reports in
    /// `received`/`rport`. `None` for UDP, TLS, or no connection.
    pub fn connection_local_addr(&self, peer: &Peer) -> Option<SocketAddr> {
        match (&self.inner.kind, peer.protocol) {
            (Kind::Net { tcp, .. }, Protocol::Tcp) => tcp.local_of(peer.addr),
            _ => None,
        }
    }

    /// An RFC 5626 CRLF keep-alive on the open TCP connection with `peer`;
    /// an error when there is none (it opens none) or for another protocol.
    pub async fn ping(&self, peer: &Peer) -> Result<()> {
        match (&self.inner.kind, peer.protocol) {
            (Kind::Net { tcp, .. }, Protocol::Tcp) => tcp.ping(peer.addr).await,
            _ => Err(SipError::Closed),
        }
    }

    /// The TLS connections (`None` on the in-memory transport): where the
    /// server names to check certificates against are given and why the
    /// last connection to a server failed.
    pub fn tls(&self) -> Option<&tls::TlsConnections> {
        match &self.inner.kind {
            Kind::Net { tls, .. } => Some(tls),
            Kind::Memory(_) => None,
        }
    }

    /// Sends a message to `peer` (TCP, TLS: reuses the connection it came
    /// on or opens one).
    pub async fn send(&self, message: &SipMessage, peer: &Peer) -> Result<()> {
        match &self.inner.kind {
            Kind::Memory(tx) => tx
                .send((message.clone(), *peer))
                .map_err(|_| SipError::Closed),
            Kind::Net { udp, tcp, tls } => {
                let bytes = message.to_bytes();
                if bytes.len() > MAX_MESSAGE {
                    return Err(SipError::Parse(format!(
                        "message of {} bytes is too large to send",
                        bytes.len()
                    )));
                }
                tracing::trace!(to = %peer.addr, proto = peer.protocol.as_str(), line = %message.start_line(), "send");
                self.inner.tracer.record(TraceDirection::Out, message, peer);
                match peer.protocol {
                    Protocol::Udp => {
                        udp.send_to(&bytes, peer.addr).await?;
                        Ok(())
                    }
                    Protocol::Tcp => tcp.send(&bytes, peer.addr).await,
                    Protocol::Tls => tls.send(&bytes, peer.addr).await,
                }
            }
        }
    }

    /// Sends a message already serialized (a server transaction's final
    /// response, kept as bytes for its retransmissions): as [`Self::send`],
    /// without parsing it again unless the SIP ladder is watched.
    pub async fn send_bytes(&self, bytes: &[u8], peer: &Peer) -> Result<()> {
        let parsed = || {
            SipMessage::try_from(bytes)
                .map_err(|e| SipError::Parse(format!("a serialized message does not parse: {e}")))
        };
        match &self.inner.kind {
            Kind::Memory(tx) => tx.send((parsed()?, *peer)).map_err(|_| SipError::Closed),
            Kind::Net { udp, tcp, tls } => {
                if self.inner.tracer.watched() {
                    if let Ok(message) = parsed() {
                        self.inner
                            .tracer
                            .record(TraceDirection::Out, &message, peer);
                    }
                }
                match peer.protocol {
                    Protocol::Udp => {
                        udp.send_to(bytes, peer.addr).await?;
                        Ok(())
                    }
                    Protocol::Tcp => tcp.send(bytes, peer.addr).await,
                    Protocol::Tls => tls.send(bytes, peer.addr).await,
                }
            }
        }
    }
}

/// The source address the OS would send from to reach `target`: a UDP
/// socket connected to it (nothing is sent) reports its local address.
/// `None` when there is no route.
fn route_source(target: SocketAddr) -> Option<std::net::IpAddr> {
    let any: SocketAddr = if target.is_ipv4() {
        (std::net::Ipv4Addr::UNSPECIFIED, 0).into()
    } else {
        (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
    };
    let socket = std::net::UdpSocket::bind(any).ok()?;
    socket.connect(target).ok()?;
    socket.local_addr().ok().map(|a| a.ip())
}

async fn bind_pair(listen: SocketAddr) -> Result<(UdpSocket, TcpListener)> {
    const ATTEMPTS: usize = 20;
    let mut last_err = None;
    for _ in 0..ATTEMPTS {
        let udp = UdpSocket::bind(listen).await?;
        let port = udp.local_addr()?.port();
        match TcpListener::bind(SocketAddr::new(listen.ip(), port)).await {
            Ok(listener) => return Ok((udp, listener)),
            Err(e) if listen.port() == 0 && e.kind() == std::io::ErrorKind::AddrInUse => {
                last_err = Some(e);
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(last_err
        .unwrap_or_else(|| std::io::Error::other("no free port for UDP and TCP"))
        .into())
}

async fn udp_loop(
    udp: Arc<UdpSocket>,
    inbound: mpsc::UnboundedSender<Inbound>,
    token: CancellationToken,
) {
    let mut buf = vec![0u8; 65_536];
    loop {
        let received = tokio::select! {
            _ = token.cancelled() => break,
            r = udp.recv_from(&mut buf) => r,
        };
        let (n, src) = match received {
            Ok(r) => r,
            Err(e) => {
                // ICMP port unreachable and the like surface here on some systems.
                tracing::debug!(error = %e, "UDP receive error");
                continue;
            }
        };
        let data = &buf[..n];
        if data
            .iter()
            .all(|b| matches!(b, b'\r' | b'\n' | b' ' | b'\t' | 0))
        {
            continue; // keep-alive
        }
        let peer = Peer {
            protocol: Protocol::Udp,
            addr: src,
        };
        match inspect(data, &peer) {
            Verdict::Deliver(message) => {
                if inbound.send(Inbound { message, peer }).is_err() {
                    break;
                }
            }
            Verdict::Reject(bytes) => {
                tracing::debug!(from = %src, "answering 400 to a malformed request");
                if let Err(e) = udp.send_to(&bytes, src).await {
                    tracing::debug!(error = %e, "sending 400 failed");
                }
            }
            Verdict::Drop(reason) => tracing::debug!(from = %src, %reason, "dropped UDP message"),
        }
    }
}

#[cfg(test)]
mod limit_tests;
#[cfg(test)]
mod tests;
