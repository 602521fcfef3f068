//! TCP side of the transport: the accept loop, one reader task per
//! connection (framing, ping answers, 400/close policy, the idle and read
//! deadlines of [`limits`](super::limits)), the table of open
//! connections by peer address used to send, and the RFC 5626 CRLF
//! keep-alive sent on one of them.

use super::framer::Framer;
use super::limits::{read_deadline, ConnTable, Permit};
use super::stream_frames::handle_frames;
use super::{Inbound, Peer, Protocol};
use crate::sip::{Result, SipError};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

type Writer = Arc<tokio::sync::Mutex<OwnedWriteHalf>>;

#[derive(Clone)]
struct Conn {
    id: u64,
    writer: Writer,
    /// Our end of the connection (address and port it leaves from).
    local: Option<SocketAddr>,
}

/// Open TCP connections by peer address (cheap to clone).
#[derive(Clone)]
pub struct Connections {
    map: Arc<Mutex<HashMap<SocketAddr, Conn>>>,
    next_id: Arc<AtomicU64>,
    inbound: mpsc::UnboundedSender<Inbound>,
    token: CancellationToken,
    accepted: ConnTable,
}

impl Connections {
    pub fn new(
        inbound: mpsc::UnboundedSender<Inbound>,
        token: CancellationToken,
        accepted: ConnTable,
    ) -> Self {
        Connections {
            map: Arc::default(),
            next_id: Arc::default(),
            inbound,
            token,
            accepted,
        }
    }

    pub async fn accept_loop(self, listener: TcpListener) {
        loop {
            let accepted = tokio::select! {
                _ = self.token.cancelled() => break,
                a = listener.accept() => a,
            };
            match accepted {
                Ok((stream, addr)) => match self.accepted.admit(addr.ip()) {
                    Ok(permit) => {
                        tracing::debug!(peer = %addr, "TCP connection accepted");
                        self.register(stream, addr, Some(permit));
                    }
                    Err(refusal) => {
                        // Dropping the stream closes it at once.
                        tracing::debug!(peer = %addr, reason = refusal.reason(), "TCP connection refused");
                    }
                },
                Err(e) => {
                    tracing::debug!(error = %e, "TCP accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
    }

    /// Starts the reader of a connection and makes it the one to send to
    /// `addr`. `permit`: the place an accepted connection holds until it
    /// closes (none for a connection we opened).
    fn register(&self, stream: TcpStream, addr: SocketAddr, permit: Option<Permit>) -> Writer {
        let _ = stream.set_nodelay(true);
        let local = stream.local_addr().ok();
        let (read, write) = stream.into_split();
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let writer: Writer = Arc::new(tokio::sync::Mutex::new(write));
        let conn = Conn {
            id,
            writer: writer.clone(),
            local,
        };
        self.lock().insert(addr, conn);
        tokio::spawn(
            self.clone()
                .read_loop(id, addr, read, writer.clone(), permit),
        );
        writer
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<SocketAddr, Conn>> {
        self.map.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Writes `bytes` to the connection with `addr`, connecting if needed.
    pub async fn send(&self, bytes: &[u8], addr: SocketAddr) -> Result<()> {
        let existing = self.lock().get(&addr).cloned();
        let (writer, id) = match existing {
            Some(conn) => (conn.writer, Some(conn.id)),
            None => {
                let stream = tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(addr))
                    .await
                    .map_err(|_| {
                        SipError::Io(std::io::Error::new(
                            std::io::ErrorKind::TimedOut,
                            format!("TCP connect to {addr} timed out"),
                        ))
                    })??;
                tracing::debug!(peer = %addr, "TCP connection opened");
                (self.register(stream, addr, None), None)
            }
        };
        let result = writer.lock().await.write_all(bytes).await;
        if let Err(e) = result {
            if let Some(id) = id {
                self.forget(addr, id);
            }
            return Err(e.into());
        }
        Ok(())
    }

    /// Our end of the open connection with `addr` (the address and port a
    /// server sees it come from when no NAT is on the way).
    pub fn local_of(&self, addr: SocketAddr) -> Option<SocketAddr> {
        self.lock().get(&addr).and_then(|c| c.local)
    }

    /// An RFC 5626 CRLF keep-alive ("\r\n\r\n") on the open connection
    /// with `addr`: keeps it, and a NAT's binding of it, alive. Never opens
    /// a connection: an error when none is open or the write fails.
    pub async fn ping(&self, addr: SocketAddr) -> Result<()> {
        let Some(conn) = self.lock().get(&addr).cloned() else {
            return Err(SipError::Closed);
        };
        let result = conn.writer.lock().await.write_all(b"\r\n\r\n").await;
        if let Err(e) = result {
            self.forget(addr, conn.id);
            return Err(e.into());
        }
        Ok(())
    }

    fn forget(&self, addr: SocketAddr, id: u64) {
        let mut map = self.lock();
        if map.get(&addr).is_some_and(|c| c.id == id) {
            map.remove(&addr);
        }
    }

    async fn read_loop(
        self,
        id: u64,
        addr: SocketAddr,
        mut read: OwnedReadHalf,
        writer: Writer,
        permit: Option<Permit>,
    ) {
        let peer = Peer {
            protocol: Protocol::Tcp,
            addr,
        };
        let limits = *self.accepted.limits();
        let accepted = permit.is_some();
        let mut framer = Framer::default();
        let mut buf = vec![0u8; 16 * 1024];
        let mut last_activity = Instant::now();
        let mut pending_since = None;
        'conn: loop {
            let deadline = read_deadline(&limits, accepted, last_activity, pending_since);
            let n = tokio::select! {
                _ = self.token.cancelled() => break,
                _ = sleep_until(deadline) => {
                    let reason = if pending_since.is_some() { "incomplete message" } else { "idle" };
                    tracing::debug!(%addr, reason, "closing TCP connection: timed out");
                    break;
                }
                r = read.read(&mut buf) => match r {
                    Ok(0) | Err(_) => break,
                    Ok(n) => n,
                },
            };
            last_activity = Instant::now();
            if !framer.pending() {
                pending_since = Some(last_activity);
            }
            framer.push(&buf[..n]);
            let handled = handle_frames(&mut framer, &writer, &self.inbound, peer, "TCP").await;
            if handled.close {
                break 'conn;
            }
            // What is left is the start of the next message.
            if !framer.pending() {
                pending_since = None;
            } else if handled.completed {
                pending_since = Some(last_activity);
            }
        }
        self.forget(addr, id);
        let _ = writer.lock().await.shutdown().await;
        drop(permit);
        tracing::debug!(%addr, "TCP connection closed");
    }
}

/// Waits until `deadline`; for ever when there is none.
async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}
