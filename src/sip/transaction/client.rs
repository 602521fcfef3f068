//! Client transactions (RFC 3261 §17.1, RFC 6026): one task per request.
//! INVITE: timers A, B, D, the ACK for non-2xx, the Accepted state for 2xx.
//! Non-INVITE: timers E, F, K. Transport errors become a synthesized 503,
//! timer B/F a synthesized 408.

use super::dispatch::Cmd;
use super::key::ClientKey;
use super::Timers;
use crate::sip::headers;
use crate::sip::msg::{
    self, Header, HeadersExt, Method, Request, Response, SipMessage, StatusCode,
};
use crate::sip::transport::{Peer, Transport};
use crate::timer::sleep_opt;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::Instant;

/// Everything a client transaction task owns.
pub struct ClientCtx {
    pub transport: Transport,
    pub timers: Timers,
    pub request: Request,
    pub peer: Peer,
    /// Towards the TU; dropped after a final response that ends its interest.
    pub tu: Option<mpsc::UnboundedSender<Box<Response>>>,
    pub net: mpsc::UnboundedReceiver<Box<Response>>,
    pub cmd: mpsc::UnboundedSender<Cmd>,
    pub key: ClientKey,
    pub id: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Calling,
    Proceeding,
    Completed,
    Accepted,
}

impl ClientCtx {
    pub async fn run(mut self) {
        if self.request.method == Method::Invite {
            self.invite().await;
        } else {
            self.non_invite().await;
        }
        let _ = self.cmd.send(Cmd::ClientDone {
            key: self.key.clone(),
            id: self.id,
        });
    }

    fn deliver(&mut self, response: Box<Response>) {
        if let Some(tu) = &self.tu {
            let _ = tu.send(response);
        }
    }

    fn synthesize(&mut self, status: StatusCode) {
        tracing::debug!(
            code = status.code(),
            method = %self.request.method,
            "client transaction ends with a local response"
        );
        let response = headers::response_to(&self.request, status, None);
        self.deliver(Box::new(response));
        self.tu = None;
    }

    async fn send_request(&self) -> bool {
        let message = SipMessage::Request(self.request.clone());
        match self.transport.send(&message, &self.peer).await {
            Ok(()) => true,
            Err(e) => {
                tracing::debug!(error = %e, peer = %self.peer.addr, "sending request failed");
                false
            }
        }
    }

    /// Sends (or retransmits) the request; on a transport error the TU
    /// gets a synthesized 503 and this returns false: the transaction ends.
    async fn transmit(&mut self) -> bool {
        if self.send_request().await {
            return true;
        }
        self.synthesize(StatusCode::ServiceUnavailable);
        false
    }

    async fn invite(&mut self) {
        let t = self.timers;
        let reliable = self.peer.protocol.is_reliable();
        if !self.transmit().await {
            return;
        }
        let mut state = State::Calling;
        let mut interval = t.t1;
        let mut timer_a = (!reliable).then(|| Instant::now() + interval);
        let mut timer_b = Some(Instant::now() + t.t1 * 64);
        let mut end: Option<Instant> = None;
        let mut ack: Option<Request> = None;
        loop {
            tokio::select! {
                response = self.net.recv() => {
                    let Some(response) = response else { break };
                    let code = response.status_code.code();
                    match state {
                        State::Calling | State::Proceeding if code < 200 => {
                            state = State::Proceeding;
                            timer_a = None;
                            timer_b = None;
                            self.deliver(response);
                        }
                        State::Calling | State::Proceeding if code < 300 => {
                            state = State::Accepted;
                            timer_a = None;
                            timer_b = None;
                            end = Some(Instant::now() + t.t1 * 64);
                            self.deliver(response);
                        }
                        State::Calling | State::Proceeding => {
                            state = State::Completed;
                            timer_a = None;
                            timer_b = None;
                            let a = ack_for(&self.request, &response);
                            self.send_ack(&a).await;
                            ack = Some(a);
                            self.deliver(response);
                            self.tu = None;
                            end = Some(Instant::now() + if reliable { Duration::ZERO } else { Duration::from_secs(32) });
                        }
                        State::Accepted if (200..300).contains(&code) => self.deliver(response),
                        State::Completed if code >= 300 => {
                            if let Some(a) = &ack {
                                self.send_ack(a).await;
                            }
                        }
                        _ => {}
                    }
                }
                _ = sleep_opt(timer_a) => {
                    if !self.transmit().await {
                        return;
                    }
                    interval *= 2;
                    timer_a = Some(Instant::now() + interval);
                }
                _ = sleep_opt(timer_b) => {
                    self.synthesize(StatusCode::RequestTimeout);
                    return;
                }
                _ = sleep_opt(end) => break,
            }
        }
    }

    async fn send_ack(&self, ack: &Request) {
        let message = SipMessage::Request(ack.clone());
        if let Err(e) = self.transport.send(&message, &self.peer).await {
            tracing::debug!(error = %e, "sending ACK failed");
        }
    }

    async fn non_invite(&mut self) {
        let t = self.timers;
        let reliable = self.peer.protocol.is_reliable();
        if !self.transmit().await {
            return;
        }
        let mut state = State::Calling;
        let mut interval = t.t1;
        let mut timer_e = (!reliable).then(|| Instant::now() + interval);
        let mut timer_f = Some(Instant::now() + t.t1 * 64);
        let mut timer_k: Option<Instant> = None;
        loop {
            tokio::select! {
                response = self.net.recv() => {
                    let Some(response) = response else { break };
                    let code = response.status_code.code();
                    match state {
                        State::Calling | State::Proceeding if code < 200 => {
                            state = State::Proceeding;
                            self.deliver(response);
                        }
                        State::Calling | State::Proceeding => {
                            state = State::Completed;
                            timer_e = None;
                            timer_f = None;
                            self.deliver(response);
                            self.tu = None;
                            timer_k = Some(Instant::now() + if reliable { Duration::ZERO } else { t.t4 });
                        }
                        _ => {}
                    }
                }
                _ = sleep_opt(timer_e) => {
                    if !self.transmit().await {
                        return;
                    }
                    interval = if state == State::Proceeding { t.t2 } else { (interval * 2).min(t.t2) };
                    timer_e = Some(Instant::now() + interval);
                }
                _ = sleep_opt(timer_f) => {
                    self.synthesize(StatusCode::RequestTimeout);
                    return;
                }
                _ = sleep_opt(timer_k) => break,
            }
        }
    }
}

/// The ACK for a non-2xx final response (RFC 3261 §17.1.1.3): same
/// Request-URI, Call-ID, From, CSeq number and top Via (so the same branch)
/// as the INVITE, the response's To (with its tag), the INVITE's Route set.
pub fn ack_for(invite: &Request, response: &Response) -> Request {
    let mut headers = msg::Headers::default();
    if let Ok(via) = invite.top_via_header() {
        headers.push(Header::Via(via));
    }
    for header in invite.headers.iter() {
        match header {
            Header::From(_) | Header::CallId(_) | Header::Route(_) => headers.push(header.clone()),
            _ => {}
        }
    }
    if let Ok(to) = response.to_header() {
        headers.push(Header::To(to.clone()));
    }
    let seq = headers::cseq(invite).map(|(seq, _)| seq).unwrap_or(1);
    headers.push(Header::CSeq(msg::CSeq::new(format!("{seq} ACK"))));
    headers.push(Header::MaxForwards(msg::MaxForwards::new("70")));
    headers.push(Header::ContentLength(msg::ContentLength::new("0")));
    Request {
        method: Method::Ack,
        uri: invite.uri.clone(),
        version: msg::Version::V2,
        headers,
        body: Vec::new(),
    }
}
