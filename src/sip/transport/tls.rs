//! TLS side of the transport: connections we open to servers (a registrar,
//! an outbound proxy, a `sips:` target), one per server address, used for
//! our requests, our responses and the requests the server sends back on it
//! (connection reuse as RFC 5923 describes, what a PBX expects of a phone
//! behind NAT). A certificate that does not verify fails the send with the
//! reason ([`client::describe`]) and never falls back to plain text; after
//! a failure the next attempt waits out a back-off ([`retry_after`]). Keeps
//! connections alive with RFC 5626 CRLF pings.
//!
//! Knows nothing about transactions or accounts: the names to check
//! certificates against come from the resolver ([`TlsNames`]), the client
//! settings from the phone ([`TlsClient`]).

mod client;

pub use client::{describe, ClientIdentity, TlsClient, TlsConfigError, TlsSettings};

use super::framer::Framer;
use super::stream_frames::handle_frames;
use super::{Inbound, Peer, Protocol};
use crate::sip::{Result, SipError};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt, ReadHalf, WriteHalf};
use tokio::net::TcpStream;
use tokio::sync::{broadcast, mpsc};
use tokio::time::Instant;
use tokio_rustls::client::TlsStream;
use tokio_rustls::rustls::pki_types::ServerName;
use tokio_util::sync::CancellationToken;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// RFC 5626 §4.4.1 suggests keep-alives every 95–120 s on TCP; NAT boxes
/// often forget a TCP mapping sooner, so ping more often.
const KEEPALIVE: Duration = Duration::from_secs(30);

type Stream = TlsStream<TcpStream>;
type Writer = Arc<tokio::sync::Mutex<WriteHalf<Stream>>>;

/// The wait before connecting again to a server after `failures`
/// consecutive failed attempts: 1 s doubling up to 60 s.
pub fn retry_after(failures: u32) -> Duration {
    Duration::from_secs(1u64 << failures.saturating_sub(1).min(6)).min(Duration::from_secs(60))
}

/// Host names of server addresses, for SNI and the certificate check: the
/// resolver notes under which name it found an address. An address nobody
/// named is checked as an IP address. Cheap to clone.
#[derive(Clone, Default, Debug)]
pub struct TlsNames(Arc<Mutex<HashMap<SocketAddr, String>>>);

impl TlsNames {
    /// Notes that `addr` was found as `host`.
    pub fn insert(&self, addr: SocketAddr, host: &str) {
        self.lock().insert(addr, host.to_ascii_lowercase());
    }

    /// The name `addr` was found as, if any.
    pub fn get(&self, addr: SocketAddr) -> Option<String> {
        self.lock().get(&addr).cloned()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<SocketAddr, String>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[derive(Clone)]
struct Conn {
    id: u64,
    writer: Writer,
}

/// The last failure to reach a server.
#[derive(Debug, Clone)]
struct Failure {
    reason: String,
    count: u32,
    retry_at: Instant,
}

/// Open TLS connections by server address (cheap to clone).
#[derive(Clone)]
pub struct TlsConnections {
    /// Made at the first connection unless given.
    client: Arc<OnceLock<Result<TlsClient, String>>>,
    names: TlsNames,
    map: Arc<Mutex<HashMap<SocketAddr, Conn>>>,
    failures: Arc<Mutex<HashMap<SocketAddr, Failure>>>,
    /// Held per server while connecting, so concurrent sends to it share
    /// one handshake (and a slow server holds up no other).
    connecting: Arc<Mutex<HashMap<SocketAddr, Arc<tokio::sync::Mutex<()>>>>>,
    next_id: Arc<AtomicU64>,
    inbound: mpsc::UnboundedSender<Inbound>,
    closed: broadcast::Sender<SocketAddr>,
    token: CancellationToken,
}

impl TlsConnections {
    /// Connections made with `client`, or (`None`) with the system's roots
    /// read at the first connection.
    pub fn new(
        client: Option<TlsClient>,
        inbound: mpsc::UnboundedSender<Inbound>,
        token: CancellationToken,
    ) -> Self {
        let cell = OnceLock::new();
        if let Some(client) = client {
            let _ = cell.set(Ok(client));
        }
        TlsConnections {
            client: Arc::new(cell),
            names: TlsNames::default(),
            map: Arc::default(),
            failures: Arc::default(),
            connecting: Arc::default(),
            next_id: Arc::default(),
            inbound,
            closed: broadcast::channel(16).0,
            token,
        }
    }

    /// Where the resolver notes the host names of the addresses it finds.
    pub fn names(&self) -> &TlsNames {
        &self.names
    }

    /// Why the last attempt to reach `addr` failed, while no connection
    /// to it is open (`TLS: certificate of pbx.example not trusted: unknown CA …`).
    pub fn failure(&self, addr: SocketAddr) -> Option<String> {
        lock(&self.failures)
            .get(&addr)
            .map(|f| format!("TLS: {}", f.reason))
    }

    /// Whether a connection to `addr` is open.
    pub fn is_connected(&self, addr: SocketAddr) -> bool {
        lock(&self.map).contains_key(&addr)
    }

    /// Addresses of servers whose connection closed (to register again).
    pub fn closed(&self) -> broadcast::Receiver<SocketAddr> {
        self.closed.subscribe()
    }

    /// Writes `bytes` to the connection with `addr`, connecting if needed.
    pub async fn send(&self, bytes: &[u8], addr: SocketAddr) -> Result<()> {
        let (writer, id) = match self.existing(addr) {
            Some(conn) => (conn.writer, conn.id),
            None => {
                let gate = lock(&self.connecting).entry(addr).or_default().clone();
                let _connecting = gate.lock().await;
                match self.existing(addr) {
                    Some(conn) => (conn.writer, conn.id),
                    None => self.connect(addr).await?,
                }
            }
        };
        let result = writer.lock().await.write_all(bytes).await;
        if let Err(e) = result {
            self.forget(addr, id);
            return Err(e.into());
        }
        Ok(())
    }

    fn existing(&self, addr: SocketAddr) -> Option<Conn> {
        lock(&self.map).get(&addr).cloned()
    }

    /// Connects and completes the handshake, or fails with the reason (and
    /// waits out the back-off of earlier failures first: no new attempt
    /// before it, the last reason instead).
    async fn connect(&self, addr: SocketAddr) -> Result<(Writer, u64)> {
        if let Some(f) = lock(&self.failures).get(&addr) {
            if Instant::now() < f.retry_at {
                return Err(SipError::Tls(f.reason.clone()));
            }
        }
        let name = self.names.get(addr);
        let shown = name.clone().unwrap_or_else(|| addr.ip().to_string());
        match self.handshake(addr, name.as_deref(), &shown).await {
            Ok(stream) => {
                lock(&self.failures).remove(&addr);
                tracing::debug!(peer = %addr, server = %shown, "TLS connection opened");
                Ok(self.register(stream, addr))
            }
            Err(reason) => {
                self.note_failure(addr, reason.clone());
                Err(SipError::Tls(reason))
            }
        }
    }

    /// Remembers why `addr` failed us; new attempts wait out the back-off.
    fn note_failure(&self, addr: SocketAddr, reason: String) {
        tracing::warn!(peer = %addr, "TLS: {reason}");
        let mut failures = lock(&self.failures);
        let count = failures.get(&addr).map_or(0, |f| f.count) + 1;
        failures.insert(
            addr,
            Failure {
                reason,
                count,
                retry_at: Instant::now() + retry_after(count),
            },
        );
    }

    async fn handshake(
        &self,
        addr: SocketAddr,
        name: Option<&str>,
        shown: &str,
    ) -> std::result::Result<Stream, String> {
        let server_name = match name {
            Some(host) => ServerName::try_from(host.to_string())
                .map_err(|e| format!("bad server name {host}: {e}"))?,
            None => ServerName::IpAddress(addr.ip().into()),
        };
        let tcp = tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(addr))
            .await
            .map_err(|_| format!("connecting to {addr} timed out"))?
            .map_err(|e| format!("cannot connect to {addr}: {e}"))?;
        let _ = tcp.set_nodelay(true);
        let client = self
            .client
            .get_or_init(|| TlsClient::system().map_err(|e| e.to_string()))
            .as_ref()
            .map_err(|e| format!("no TLS client: {e}"))?;
        let connector = client.connector(shown);
        let tls = tokio::time::timeout(HANDSHAKE_TIMEOUT, connector.connect(server_name, tcp))
            .await
            .map_err(|_| format!("handshake with {shown} timed out"))?;
        tls.map_err(|e| match rustls_error(&e) {
            Some(error) => describe(error, shown),
            None => format!("handshake with {shown} failed: {e}"),
        })
    }

    fn register(&self, stream: Stream, addr: SocketAddr) -> (Writer, u64) {
        let (read, write) = tokio::io::split(stream);
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let writer: Writer = Arc::new(tokio::sync::Mutex::new(write));
        let conn = Conn {
            id,
            writer: writer.clone(),
        };
        lock(&self.map).insert(addr, conn);
        tokio::spawn(self.clone().read_loop(id, addr, read, writer.clone()));
        (writer, id)
    }

    fn forget(&self, addr: SocketAddr, id: u64) {
        let mut map = lock(&self.map);
        if map.get(&addr).is_some_and(|c| c.id == id) {
            map.remove(&addr);
            let _ = self.closed.send(addr);
        }
    }

    async fn read_loop(
        self,
        id: u64,
        addr: SocketAddr,
        mut read: ReadHalf<Stream>,
        writer: Writer,
    ) {
        let peer = Peer {
            protocol: Protocol::Tls,
            addr,
        };
        let mut framer = Framer::default();
        let mut buf = vec![0u8; 16 * 1024];
        let mut keepalive = tokio::time::interval_at(Instant::now() + KEEPALIVE, KEEPALIVE);
        'conn: loop {
            let n = tokio::select! {
                _ = self.token.cancelled() => break,
                _ = keepalive.tick() => {
                    if writer.lock().await.write_all(b"\r\n\r\n").await.is_err() {
                        break;
                    }
                    continue;
                }
                r = read.read(&mut buf) => match r {
                    Ok(0) => break,
                    Ok(n) => n,
                    Err(e) => {
                        // A server refusing us after the handshake (TLS 1.3
                        // client certificate checks) says why in an alert.
                        if let Some(error) = rustls_error(&e) {
                            let server = self.names.get(addr).unwrap_or_else(|| addr.ip().to_string());
                            self.note_failure(addr, describe(error, &server));
                        }
                        break;
                    }
                },
            };
            framer.push(&buf[..n]);
            if handle_frames(&mut framer, &writer, &self.inbound, peer, "TLS")
                .await
                .close
            {
                break 'conn;
            }
        }
        self.forget(addr, id);
        let _ = writer.lock().await.shutdown().await;
        tracing::debug!(%addr, "TLS connection closed");
    }
}

/// Resolves when `closed` (from [`TlsConnections::closed`]) reports the
/// connection to `addr` closed, or may have (missed reports); never once
/// the transport is gone.
pub async fn closed_to(closed: &mut broadcast::Receiver<SocketAddr>, addr: SocketAddr) {
    loop {
        match closed.recv().await {
            Ok(a) if a == addr => return,
            Ok(_) => {}
            Err(broadcast::error::RecvError::Lagged(_)) => return,
            Err(broadcast::error::RecvError::Closed) => std::future::pending().await,
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The rustls error inside a failed handshake's IO error.
fn rustls_error(e: &std::io::Error) -> Option<&tokio_rustls::rustls::Error> {
    e.get_ref()?.downcast_ref()
}

#[cfg(test)]
mod tests;
