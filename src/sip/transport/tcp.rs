//! TCP side of the transport: the accept loop, one reader task per
//! connection (framing, ping answers, 400/close policy), and the table of
//! open connections by peer address used to send.

use super::framer::{Frame, Framer};
use super::inspect::{inspect, reject_or_drop, Verdict};
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
use tokio_util::sync::CancellationToken;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

type Writer = Arc<tokio::sync::Mutex<OwnedWriteHalf>>;

#[derive(Clone)]
struct Conn {
    id: u64,
    writer: Writer,
}

/// Open TCP connections by peer address (cheap to clone).
#[derive(Clone)]
pub struct Connections {
    map: Arc<Mutex<HashMap<SocketAddr, Conn>>>,
    next_id: Arc<AtomicU64>,
    inbound: mpsc::UnboundedSender<Inbound>,
    token: CancellationToken,
}

impl Connections {
    pub fn new(inbound: mpsc::UnboundedSender<Inbound>, token: CancellationToken) -> Self {
        Connections {
            map: Arc::default(),
            next_id: Arc::default(),
            inbound,
            token,
        }
    }

    pub async fn accept_loop(self, listener: TcpListener) {
        loop {
            let accepted = tokio::select! {
                _ = self.token.cancelled() => break,
                a = listener.accept() => a,
            };
            match accepted {
                Ok((stream, addr)) => {
                    tracing::debug!(peer = %addr, "TCP connection accepted");
                    self.register(stream, addr);
                }
                Err(e) => {
                    tracing::debug!(error = %e, "TCP accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
    }

    fn register(&self, stream: TcpStream, addr: SocketAddr) -> Writer {
        let _ = stream.set_nodelay(true);
        let (read, write) = stream.into_split();
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let writer: Writer = Arc::new(tokio::sync::Mutex::new(write));
        let conn = Conn {
            id,
            writer: writer.clone(),
        };
        self.lock().insert(addr, conn);
        tokio::spawn(self.clone().read_loop(id, addr, read, writer.clone()));
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
                (self.register(stream, addr), None)
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

    fn forget(&self, addr: SocketAddr, id: u64) {
        let mut map = self.lock();
        if map.get(&addr).is_some_and(|c| c.id == id) {
            map.remove(&addr);
        }
    }

    async fn read_loop(self, id: u64, addr: SocketAddr, mut read: OwnedReadHalf, writer: Writer) {
        let peer = Peer {
            protocol: Protocol::Tcp,
            addr,
        };
        let mut framer = Framer::default();
        let mut buf = vec![0u8; 16 * 1024];
        'conn: loop {
            let n = tokio::select! {
                _ = self.token.cancelled() => break,
                r = read.read(&mut buf) => match r {
                    Ok(0) | Err(_) => break,
                    Ok(n) => n,
                },
            };
            framer.push(&buf[..n]);
            loop {
                match framer.next_frame() {
                    Ok(None) => break,
                    Ok(Some(Frame::Ping)) => {
                        if writer.lock().await.write_all(b"\r\n").await.is_err() {
                            break 'conn;
                        }
                    }
                    Ok(Some(Frame::Message(bytes))) => match inspect(&bytes, &peer) {
                        Verdict::Deliver(message) => {
                            if self.inbound.send(Inbound { message, peer }).is_err() {
                                break 'conn;
                            }
                        }
                        Verdict::Reject(answer) => {
                            tracing::debug!(%addr, "answering 400 to a malformed request");
                            if writer.lock().await.write_all(&answer).await.is_err() {
                                break 'conn;
                            }
                        }
                        Verdict::Drop(reason) => {
                            tracing::debug!(%addr, %reason, "dropped TCP message")
                        }
                    },
                    Err(e) => {
                        tracing::debug!(%addr, reason = e.reason, "closing unframeable TCP connection");
                        if let Some(head) = e.head {
                            if let Verdict::Reject(answer) = reject_or_drop(&head, e.reason, &peer)
                            {
                                let _ = writer.lock().await.write_all(&answer).await;
                            }
                        }
                        break 'conn;
                    }
                }
            }
        }
        self.forget(addr, id);
        let _ = writer.lock().await.shutdown().await;
        tracing::debug!(%addr, "TCP connection closed");
    }
}
