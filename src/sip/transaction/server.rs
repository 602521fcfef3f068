//! Server transactions (RFC 3261 §17.2, RFC 6026): one task per request.
//! INVITE: 100 Trying at once, timers G, H, I for non-2xx, 2xx
//! retransmission until the ACK (or `AckTimeout`), CANCEL handling.
//! Non-INVITE: timer J. Retransmitted requests get the last response again.

use super::dispatch::Cmd;
use super::key::{AckKey, ServerKey};
use super::{Incoming, Reply, ServerTxHandle, Timers};
use crate::sip::headers;
use crate::sip::msg::{Method, Request, Response, SipMessage, StatusCode};
use crate::sip::transport::{Peer, Transport};
use crate::timer::sleep_opt;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::Instant;

/// What the endpoint task forwards to a server transaction. Boxed, as are
/// the responses on the transaction's channels: a channel allocates room
/// for 32 messages at a time, and a transaction lives 32 s after its last
/// message, so inline messages cost kilobytes per transaction at a high
/// call rate.
#[derive(Debug)]
pub enum ServerNet {
    /// A retransmission of the request, or an ACK.
    Request(Box<Request>),
    /// A CANCEL for this INVITE, with the CANCEL's own transaction.
    Cancel {
        request: Box<Request>,
        cancel: ServerTxHandle,
    },
}

/// Everything a server transaction task owns.
pub struct ServerCtx {
    pub transport: Transport,
    pub timers: Timers,
    pub request: Request,
    pub peer: Peer,
    pub up: mpsc::UnboundedSender<Incoming>,
    pub cmd: mpsc::UnboundedSender<Cmd>,
    pub key: ServerKey,
    pub id: u64,
    pub net: mpsc::UnboundedReceiver<ServerNet>,
    pub net_tx: mpsc::UnboundedSender<ServerNet>,
    pub responses: mpsc::UnboundedReceiver<Box<Reply>>,
    /// Weak, so that the TU dropping every handle is noticed.
    pub handle: mpsc::WeakUnboundedSender<Box<Reply>>,
}

/// The last response, kept to answer retransmitted requests and (UDP) to
/// retransmit: a provisional one as it was sent, the final one serialized
/// once. A final response is kept for 64·T1 after it was sent, so at a
/// high call rate thousands are kept at once; as bytes each is one
/// allocation instead of a parsed message's many.
enum Last {
    None,
    Provisional(Response),
    Final(Box<[u8]>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Proceeding,
    Completed,
    Confirmed,
    Accepted,
}

/// The earliest of the timers that are set.
fn earliest(timers: &[Option<Instant>]) -> Option<Instant> {
    timers.iter().flatten().min().copied()
}

pub async fn run(mut ctx: ServerCtx) {
    let ack_key = if ctx.request.method == Method::Invite {
        ctx.invite().await
    } else {
        ctx.non_invite().await;
        None
    };
    if let Some(key) = ack_key {
        let _ = ctx.cmd.send(Cmd::AckDone { key, id: ctx.id });
    }
    let _ = ctx.cmd.send(Cmd::ServerDone {
        key: ctx.key.clone(),
        id: ctx.id,
    });
}

impl ServerCtx {
    /// Sending is boxed: a transport's send future (TCP, TLS) is kilobytes,
    /// and inline it would make every transaction task that large for its
    /// whole life.
    async fn send(&self, response: &Response) {
        let message = SipMessage::Response(response.clone());
        if let Err(e) = Box::pin(self.transport.send(&message, &self.peer)).await {
            tracing::debug!(error = %e, peer = %self.peer.addr, "sending response failed");
        }
    }

    async fn send_last(&self, last: &Last) {
        let sent = match last {
            Last::None => return,
            Last::Provisional(response) => return self.send(response).await,
            Last::Final(bytes) => Box::pin(self.transport.send_bytes(bytes, &self.peer)).await,
        };
        if let Err(e) = sent {
            tracing::debug!(error = %e, peer = %self.peer.addr, "resending a response failed");
        }
    }

    /// Keeps `response`, just sent, as the transaction's last one: a final
    /// one serialized, and the request's headers and body let go (nothing
    /// after the final response reads them).
    fn keep(&mut self, response: Response) -> Last {
        if response.status_code.code() < 200 {
            return Last::Provisional(response);
        }
        self.request.headers = Default::default();
        self.request.body = Vec::new();
        Last::Final(
            SipMessage::Response(response)
                .to_bytes()
                .to_vec()
                .into_boxed_slice(),
        )
    }

    fn reliable(&self) -> bool {
        self.peer.protocol.is_reliable()
    }

    /// The TU dropped every handle without a final response.
    fn abandoned(&self) -> Response {
        tracing::debug!(method = %self.request.method, "no final response from the TU: 500");
        headers::response_to(
            &self.request,
            StatusCode::ServerInternalError,
            Some(&headers::new_tag()),
        )
    }

    /// Returns the ACK key it registered, if any.
    async fn invite(&mut self) -> Option<AckKey> {
        let t = self.timers;
        let reliable = self.reliable();
        // Kept for the 2xx's ACK timeout, after the request is let go.
        let mut call_id = headers::call_id(&self.request).ok();
        let trying = headers::response_to(&self.request, StatusCode::Trying, None);
        self.send(&trying).await;
        let mut last = Last::Provisional(trying);
        let mut state = State::Proceeding;
        let mut tu_open = true;
        let mut interval = t.t1;
        let mut retransmit: Option<Instant> = None; // G, or 2xx retransmission
        let mut give_up: Option<Instant> = None; // H
        let mut end: Option<Instant> = None; // I, or end of Accepted
        let mut acked = false;
        let mut ack_key = None;
        let mut sent_to_tag: Option<String> = None;
        loop {
            // Told once this response is handed to the transport.
            let mut on_sent = None;
            let response = tokio::select! {
                msg = self.net.recv() => {
                    let Some(msg) = msg else { break };
                    match msg {
                        ServerNet::Request(r) if r.method == Method::Ack => match state {
                            State::Completed => {
                                state = State::Confirmed;
                                retransmit = None;
                                give_up = None;
                                end = Some(Instant::now() + if reliable { Duration::ZERO } else { t.t4 });
                            }
                            State::Accepted if !acked => {
                                let to_tag = headers::to_tag(&*r);
                                if sent_to_tag.is_some() && to_tag != sent_to_tag {
                                    tracing::debug!("ACK with a foreign To tag ignored");
                                    continue;
                                }
                                acked = true;
                                retransmit = None;
                                let _ = self.up.send(Incoming::Ack { request: *r, peer: self.peer });
                            }
                            _ => {}
                        },
                        ServerNet::Request(_) => {
                            // Retransmitted INVITE: repeat the last response.
                            if state != State::Confirmed {
                                self.send_last(&last).await;
                            }
                        }
                        ServerNet::Cancel { request, cancel } => {
                            let ok = headers::response_to(&request, StatusCode::OK, Some(&headers::new_tag()));
                            let _ = cancel.respond(ok);
                            if state == State::Proceeding {
                                if let Some(tx) = self.handle.upgrade() {
                                    let _ = self.up.send(Incoming::Cancel {
                                        request: *request,
                                        invite: ServerTxHandle { tx },
                                    });
                                }
                            }
                        }
                    }
                    continue;
                }
                r = self.responses.recv(), if tu_open => match r {
                    Some(r) => {
                        let Reply { response, sent } = *r;
                        on_sent = sent;
                        response
                    }
                    None => {
                        tu_open = false;
                        if state != State::Proceeding {
                            continue;
                        }
                        self.abandoned()
                    }
                },
                // One timer for the three (one sleep in the task, not three).
                _ = sleep_opt(earliest(&[retransmit, give_up, end])) => {
                    let now = Instant::now();
                    if give_up.is_some_and(|at| at <= now) {
                        tracing::debug!("timer H: no ACK for the final response");
                        break;
                    }
                    if end.is_some_and(|at| at <= now) {
                        if state == State::Accepted && !acked {
                            if let Some(call_id) = call_id.take() {
                                let _ = self.up.send(Incoming::AckTimeout { call_id });
                            }
                        }
                        break;
                    }
                    self.send_last(&last).await;
                    interval = (interval * 2).min(t.t2);
                    retransmit = Some(Instant::now() + interval);
                    continue;
                }
            };
            if state != State::Proceeding {
                tracing::debug!(
                    code = response.status_code.code(),
                    "response after the final one ignored"
                );
                continue;
            }
            let code = response.status_code.code();
            if (200..300).contains(&code) && ack_key.is_none() {
                // Registered before the 2xx leaves, so the ACK cannot overtake it.
                if let Ok(key) = AckKey::of(&self.request) {
                    let _ = self.cmd.send(Cmd::ExpectAck {
                        key: key.clone(),
                        id: self.id,
                        tx: self.net_tx.clone(),
                    });
                    ack_key = Some(key);
                }
            }
            self.send(&response).await;
            if let Some(sent) = on_sent.take() {
                let _ = sent.send(());
            }
            if (200..300).contains(&code) {
                sent_to_tag = headers::to_tag(&response);
            }
            last = self.keep(response);
            if code < 200 {
                continue;
            }
            interval = t.t1;
            if code < 300 {
                state = State::Accepted;
                retransmit = (!reliable).then(|| Instant::now() + interval);
                end = Some(Instant::now() + t.t1 * 64);
            } else {
                state = State::Completed;
                retransmit = (!reliable).then(|| Instant::now() + interval);
                give_up = Some(Instant::now() + t.t1 * 64);
            }
        }
        ack_key
    }

    async fn non_invite(&mut self) {
        let t = self.timers;
        let mut last = Last::None;
        let mut tu_open = true;
        let mut timer_j: Option<Instant> = None;
        loop {
            // Told once this response is handed to the transport.
            let mut on_sent = None;
            let response = tokio::select! {
                msg = self.net.recv() => {
                    match msg {
                        None => break,
                        Some(ServerNet::Request(_)) => self.send_last(&last).await,
                        Some(ServerNet::Cancel { cancel, request }) => {
                            // Not an INVITE: nothing to cancel.
                            let ok = headers::response_to(&request, StatusCode::OK, Some(&headers::new_tag()));
                            let _ = cancel.respond(ok);
                        }
                    }
                    continue;
                }
                r = self.responses.recv(), if tu_open => match r {
                    Some(r) => {
                        let Reply { response, sent } = *r;
                        on_sent = sent;
                        response
                    }
                    None => {
                        tu_open = false;
                        if timer_j.is_some() {
                            continue;
                        }
                        self.abandoned()
                    }
                },
                _ = sleep_opt(timer_j) => break,
            };
            if timer_j.is_some() {
                continue; // already final
            }
            let code = response.status_code.code();
            self.send(&response).await;
            if let Some(sent) = on_sent.take() {
                let _ = sent.send(());
            }
            last = self.keep(response);
            if code >= 200 {
                let wait = if self.reliable() {
                    Duration::ZERO
                } else {
                    t.t1 * 64
                };
                timer_j = Some(Instant::now() + wait);
            }
        }
    }
}
