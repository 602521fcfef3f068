//! What a stream transport (TCP, TLS) does with the frames one read has
//! completed: a CRLF ping is answered with a pong, a message is inspected
//! and delivered, answered with a 400 or dropped, and an unframeable
//! stream is answered (when a request head could be read) and closed.
//! Owns no connection: reading, deadlines and the connection table stay
//! with the transports.

use super::framer::{Frame, Framer};
use super::inspect::{inspect, reject_or_drop, Verdict};
use super::{Inbound, Peer};
use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::sync::{mpsc, Mutex};

/// How the frames of one read went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Handled {
    /// At least one frame (ping or message) was complete.
    pub completed: bool,
    /// The connection is to be closed: the stream cannot be framed, the
    /// peer cannot be written to, or no one takes messages any more.
    pub close: bool,
}

/// Handles every complete frame in `framer`; `kind` names the transport
/// in the log ("TCP", "TLS").
pub(super) async fn handle_frames<W: AsyncWrite + Unpin>(
    framer: &mut Framer,
    writer: &Mutex<W>,
    inbound: &mpsc::UnboundedSender<Inbound>,
    peer: Peer,
    kind: &'static str,
) -> Handled {
    let addr = peer.addr;
    let mut completed = false;
    let close = loop {
        match framer.next_frame() {
            Ok(None) => break false,
            Ok(Some(Frame::Ping)) => {
                completed = true;
                if writer.lock().await.write_all(b"\r\n").await.is_err() {
                    break true;
                }
            }
            Ok(Some(Frame::Message(bytes))) => {
                completed = true;
                match inspect(&bytes, &peer) {
                    Verdict::Deliver(message) => {
                        if inbound.send(Inbound { message, peer }).is_err() {
                            break true;
                        }
                    }
                    Verdict::Reject(answer) => {
                        tracing::debug!(%addr, kind, "answering 400 to a malformed request");
                        if writer.lock().await.write_all(&answer).await.is_err() {
                            break true;
                        }
                    }
                    Verdict::Drop(reason) => {
                        tracing::debug!(%addr, kind, %reason, "dropped stream message")
                    }
                }
            }
            Err(e) => {
                tracing::debug!(%addr, kind, reason = e.reason, "closing unframeable connection");
                if let Some(head) = e.head {
                    if let Verdict::Reject(answer) = reject_or_drop(&head, e.reason, &peer) {
                        let _ = writer.lock().await.write_all(&answer).await;
                    }
                }
                break true;
            }
        }
    };
    Handled { completed, close }
}
