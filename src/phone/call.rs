//! The call actor: one task per call (per SIP dialog), owning its dialog, its
//! media session and its state. The manager talks to it through a
//! [`CallHandle`]; it reports every change of its [`CallInfo`] back up.
//! Outgoing calls (INVITE, auth, CANCEL, ACK), incoming calls (ringing,
//! answer, reject, caller CANCEL), BYE either way, the peer's re-INVITE, and
//! the built-in `echo` target.

use super::event::{CallDirection, CallInfo, CallState};
use super::{CallEnv, ManagerMsg};
use crate::command::CommandError;
use crate::config::Account;
use crate::media::{Codec, Direction, EchoReflector, MediaEvent, MediaSession, RtpSockets};
use crate::sip::auth::{Credentials, DigestState};
use crate::sip::dialog::Dialog;
use crate::sip::message::{self as m, add_header, set_body};
use crate::sip::msg::{Method, Request, Response, SipMessage};
use crate::sip::sdp::{self, LocalMedia, Negotiated};
use crate::sip::transaction::ServerTransaction;
use crate::sip::transport::Peer;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

/// SIP input the manager routes to a call.
#[derive(Debug)]
pub enum SipInput {
    /// An in-dialog request (BYE, re-INVITE, INFO, OPTIONS …).
    Request(Box<ServerTransaction>),
    /// ACK for our 2xx.
    Ack(Request),
    /// The caller cancelled its INVITE (the layer answered the CANCEL).
    Cancel,
    /// A response outside any live client transaction (2xx retransmission).
    Response(Response),
    /// Our 2xx was never ACKed.
    AckTimeout,
}

type Reply = oneshot::Sender<Result<(), CommandError>>;

/// What the manager asks of a call.
#[derive(Debug)]
pub enum CallMsg {
    Answer(Reply),
    Hangup(Reply),
    Reject(u16, Reply),
    Sip(Box<SipInput>),
    /// The phone is quitting: end the call the quickest proper way.
    Shutdown,
}

/// Handle to a call actor (cheap to clone).
#[derive(Debug, Clone)]
pub struct CallHandle {
    pub id: String,
    tx: mpsc::UnboundedSender<CallMsg>,
}

impl CallHandle {
    fn request(
        &self,
        make: impl FnOnce(Reply) -> CallMsg,
    ) -> oneshot::Receiver<Result<(), CommandError>> {
        let (tx, rx) = oneshot::channel();
        if let Err(mpsc::error::SendError(msg)) = self.tx.send(make(tx)) {
            // The call already ended: answer the waiting command here.
            let reply = match msg {
                CallMsg::Answer(r) | CallMsg::Hangup(r) | CallMsg::Reject(_, r) => Some(r),
                _ => None,
            };
            if let Some(r) = reply {
                let _ = r.send(Err(CommandError::new(
                    "no_such_call",
                    format!("call {} has ended", self.id),
                )));
            }
        }
        rx
    }

    pub async fn answer(&self) -> Result<(), CommandError> {
        wait(self.request(CallMsg::Answer)).await
    }
    pub async fn hangup(&self) -> Result<(), CommandError> {
        wait(self.request(CallMsg::Hangup)).await
    }
    pub async fn reject(&self, code: u16) -> Result<(), CommandError> {
        wait(self.request(|r| CallMsg::Reject(code, r))).await
    }
    pub fn sip(&self, input: SipInput) {
        let _ = self.tx.send(CallMsg::Sip(Box::new(input)));
    }
    pub fn shutdown(&self) {
        let _ = self.tx.send(CallMsg::Shutdown);
    }
}

async fn wait(rx: oneshot::Receiver<Result<(), CommandError>>) -> Result<(), CommandError> {
    rx.await.unwrap_or_else(|_| {
        Err(CommandError::new(
            "no_such_call",
            "the call ended meanwhile",
        ))
    })
}

/// Which of our client transactions a response belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TxKind {
    Invite,
}

/// How the call was set up.
enum Setup {
    Outgoing { target: String, next_hop: String },
    Incoming(Box<ServerTransaction>),
    Echo,
}

/// The call actor.
pub struct CallActor {
    info: CallInfo,
    env: Arc<CallEnv>,
    account: Account,
    rx: mpsc::UnboundedReceiver<CallMsg>,
    responses_tx: mpsc::UnboundedSender<(TxKind, Response)>,
    responses: mpsc::UnboundedReceiver<(TxKind, Response)>,
    media_tx: mpsc::UnboundedSender<MediaEvent>,
    media_rx: mpsc::UnboundedReceiver<MediaEvent>,
    dialog: Option<Dialog>,
    /// UAC: the INVITE in flight and where it went.
    invite: Option<(Request, Peer)>,
    /// UAC: the ACK we sent for the 2xx (re-sent on 2xx retransmissions).
    last_ack: Option<(Request, Peer)>,
    /// UAS: the initial INVITE and its transaction.
    server_invite: Option<ServerTransaction>,
    /// UAS: an in-progress re-INVITE whose answer comes in the ACK.
    awaiting_ack_answer: bool,
    local_tag: String,
    local: LocalMedia,
    sockets: Option<RtpSockets>,
    media: Option<MediaSession>,
    echo: Option<EchoReflector>,
    digest: DigestState,
    got_provisional: bool,
    cancel_requested: bool,
    cancel_sent: bool,
    auth_attempts: u32,
    ring_deadline: Option<tokio::time::Instant>,
    done: bool,
}

fn now() -> String {
    crate::store::now_rfc3339()
}

impl CallActor {
    /// Starts an outgoing call to `target` (SIP URI) via `peer`.
    pub fn outgoing(
        env: Arc<CallEnv>,
        id: String,
        account: Account,
        target: String,
        next_hop: String,
    ) -> (CallHandle, CallInfo) {
        let info = base_info(
            &id,
            &account,
            CallDirection::Out,
            &target,
            None,
            m::new_call_id(),
            CallState::Dialing,
        );
        Self::spawn(env, info, account, Setup::Outgoing { target, next_hop })
    }

    /// Takes an incoming INVITE.
    pub fn incoming(
        env: Arc<CallEnv>,
        id: String,
        account: Account,
        tx: ServerTransaction,
    ) -> (CallHandle, CallInfo) {
        let from = m::header(&tx.request.headers, "From")
            .unwrap_or_default()
            .to_string();
        let call_id = m::call_id(&tx.request.headers).unwrap_or_else(|_| m::new_call_id());
        let info = base_info(
            &id,
            &account,
            CallDirection::In,
            &m::uri_of(&from),
            m::display_name(&from),
            call_id,
            CallState::Ringing,
        );
        Self::spawn(env, info, account, Setup::Incoming(Box::new(tx)))
    }

    /// The built-in echo test: an in-process peer that returns our audio.
    pub fn echo(env: Arc<CallEnv>, id: String, account: Account) -> (CallHandle, CallInfo) {
        let info = base_info(
            &id,
            &account,
            CallDirection::Out,
            "echo",
            None,
            m::new_call_id(),
            CallState::Dialing,
        );
        Self::spawn(env, info, account, Setup::Echo)
    }

    fn spawn(
        env: Arc<CallEnv>,
        info: CallInfo,
        account: Account,
        setup: Setup,
    ) -> (CallHandle, CallInfo) {
        let snapshot = info.clone();
        let (tx, rx) = mpsc::unbounded_channel();
        let (responses_tx, responses) = mpsc::unbounded_channel();
        let (media_tx, media_rx) = mpsc::unbounded_channel();
        let handle = CallHandle {
            id: info.id.clone(),
            tx,
        };
        let local = LocalMedia {
            addr: std::net::SocketAddr::new(env.media_ip, 0),
            codecs: vec![Codec::Pcmu, Codec::Pcma],
            dtmf_payload_type: 101,
            direction: Direction::SendRecv,
            session_id: rand::random::<u32>() as u64,
            session_version: 1,
        };
        let actor = CallActor {
            info,
            env,
            account,
            rx,
            responses_tx,
            responses,
            media_tx,
            media_rx,
            dialog: None,
            invite: None,
            last_ack: None,
            server_invite: None,
            awaiting_ack_answer: false,
            local_tag: m::new_tag(),
            local,
            sockets: None,
            media: None,
            echo: None,
            digest: DigestState::default(),
            got_provisional: false,
            cancel_requested: false,
            cancel_sent: false,
            auth_attempts: 0,
            ring_deadline: None,
            done: false,
        };
        tokio::spawn(actor.run(setup));
        (handle, snapshot)
    }

    fn publish(&self) {
        let _ = self
            .env
            .manager
            .send(ManagerMsg::CallUpdate(Box::new(self.info.clone())));
    }

    fn set_state(&mut self, state: CallState) {
        if self.info.state != state {
            self.info.state = state;
            if state == CallState::Active && self.info.answered_at.is_none() {
                self.info.answered_at = Some(now());
            }
            self.publish();
        }
    }

    async fn end(&mut self, reason: &str) {
        if self.done {
            return;
        }
        self.done = true;
        if let Some(media) = self.media.take() {
            self.info.stats = Some(media.stats());
            media.stop().await;
        }
        self.echo = None;
        self.info.state = CallState::Ended;
        self.info.ended_at = Some(now());
        self.info.end_reason = Some(reason.to_string());
        tracing::info!(call = %self.info.id, reason, "call ended");
        self.publish();
    }

    fn credentials(&self) -> Option<Credentials> {
        self.account.password.as_ref().map(|p| Credentials {
            user: self
                .account
                .auth_user
                .clone()
                .unwrap_or_else(|| self.account.user.clone()),
            password: p.clone(),
        })
    }

    fn contact(&self, protocol: crate::sip::transport::Protocol) -> String {
        crate::sip::registration::contact_for(
            &format!("sip:{}@{}", self.account.user, self.account.domain),
            self.env.endpoint.transport().local_addr(),
            protocol,
        )
    }

    fn via(&self, protocol: crate::sip::transport::Protocol) -> String {
        m::via(
            self.env.endpoint.transport().local_addr(),
            protocol,
            &m::new_branch(),
        )
    }

    async fn run(mut self, setup: Setup) {
        let started = match setup {
            Setup::Outgoing { target, next_hop } => self.start_outgoing(target, next_hop).await,
            Setup::Incoming(tx) => self.start_incoming(*tx).await,
            Setup::Echo => self.start_echo().await,
        };
        if let Err(reason) = started {
            self.end(&reason).await;
        }
        let mut stats_tick = tokio::time::interval(Duration::from_secs(1));
        stats_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        while !self.done {
            let ring = self.ring_deadline;
            tokio::select! {
                msg = self.rx.recv() => match msg {
                    Some(msg) => self.on_msg(msg).await,
                    None => { self.hangup().await; }
                },
                Some((kind, resp)) = self.responses.recv() => self.on_response(kind, resp).await,
                Some(ev) = self.media_rx.recv() => match ev {
                    MediaEvent::Dtmf(d) => {
                        let _ = self.env.manager.send(ManagerMsg::Dtmf(self.info.id.clone(), d));
                    }
                },
                _ = async { if let Some(at) = ring { tokio::time::sleep_until(at).await } else { std::future::pending::<()>().await } } => {
                    self.ring_deadline = None;
                    if self.info.state == CallState::Ringing {
                        self.respond_invite(480);
                        self.end("no answer").await;
                    }
                }
                _ = stats_tick.tick() => {
                    if let Some(media) = &self.media {
                        let stats = media.stats();
                        if self.info.stats.as_ref() != Some(&stats) {
                            self.info.stats = Some(stats);
                            let _ = self.env.manager.send(ManagerMsg::Stats(self.info.id.clone(), self.info.stats.clone()));
                        }
                    }
                }
            }
        }
        let _ = self
            .env
            .manager
            .send(ManagerMsg::CallGone(self.info.id.clone()));
    }

    async fn on_msg(&mut self, msg: CallMsg) {
        match msg {
            CallMsg::Answer(reply) => {
                let r = self.answer().await;
                let _ = reply.send(r);
            }
            CallMsg::Hangup(reply) => {
                self.hangup().await;
                let _ = reply.send(Ok(()));
            }
            CallMsg::Reject(code, reply) => {
                let r = if self.info.state == CallState::Ringing {
                    self.respond_invite(code);
                    self.end(&format!("rejected {code}")).await;
                    Ok(())
                } else {
                    Err(CommandError::new(
                        "bad_state",
                        format!("call {} is not ringing", self.info.id),
                    ))
                };
                let _ = reply.send(r);
            }
            CallMsg::Shutdown => self.hangup().await,
            CallMsg::Sip(input) => self.on_sip(*input).await,
        }
    }

    // ---------------------------------------------------------------- echo

    async fn start_echo(&mut self) -> Result<(), String> {
        let echo = EchoReflector::start(self.env.media_ip)
            .await
            .map_err(|e| e.to_string())?;
        let sockets = RtpSockets::bind(self.env.media_ip)
            .await
            .map_err(|e| e.to_string())?;
        let params = crate::media::RtpParams {
            remote: echo.rtp_addr(),
            codec: Codec::Pcmu,
            payload_type: Codec::Pcmu.payload_type(),
            dtmf_payload_type: Some(101),
            direction: Direction::SendRecv,
        };
        let media = MediaSession::start(
            sockets,
            params,
            &self.env.audio,
            &self.info.sip_call_id,
            self.media_tx.clone(),
        )
        .map_err(|e| e.to_string())?;
        self.echo = Some(echo);
        self.media = Some(media);
        self.info.codec = Some(Codec::Pcmu.name().to_string());
        self.set_state(CallState::Active);
        Ok(())
    }

    // ------------------------------------------------------------ outgoing

    async fn bind_media(&mut self) -> Result<(), String> {
        if self.sockets.is_none() && self.media.is_none() {
            let s = RtpSockets::bind(self.env.media_ip)
                .await
                .map_err(|e| format!("cannot open RTP port: {e}"))?;
            self.local.addr = s.rtp_addr();
            self.sockets = Some(s);
        }
        Ok(())
    }

    async fn start_outgoing(&mut self, target: String, next_hop: String) -> Result<(), String> {
        let peer = m::resolve(&next_hop).await.map_err(|e| e.to_string())?;
        self.bind_media().await?;
        let mut req = m::request(Method::Invite, &target).map_err(|e| e.to_string())?;
        let h = &mut req.headers;
        add_header(h, "Via", self.via(peer.protocol));
        add_header(h, "Max-Forwards", "70");
        let from_uri = format!("sip:{}@{}", self.account.user, self.account.domain);
        let from = match &self.account.display_name {
            Some(n) => format!("\"{n}\" <{from_uri}>;tag={}", self.local_tag),
            None => format!("<{from_uri}>;tag={}", self.local_tag),
        };
        add_header(h, "From", from);
        add_header(h, "To", format!("<{target}>"));
        add_header(h, "Call-ID", self.info.sip_call_id.clone());
        add_header(h, "CSeq", "1 INVITE");
        add_header(h, "Contact", self.contact(peer.protocol));
        add_header(h, "Allow", crate::sip::ALLOW);
        add_header(h, "User-Agent", crate::sip::USER_AGENT);
        let body = sdp::offer(&self.local).into_bytes();
        set_body(
            &mut req.headers,
            &mut req.body,
            Some("application/sdp"),
            body,
        );
        self.send_invite(req, peer).await
    }

    async fn send_invite(&mut self, req: Request, peer: Peer) -> Result<(), String> {
        let tx = self
            .env
            .endpoint
            .send_request(req.clone(), peer)
            .await
            .map_err(|e| format!("cannot send INVITE: {e}"))?;
        self.invite = Some((req, peer));
        self.got_provisional = false;
        forward_responses(tx, TxKind::Invite, self.responses_tx.clone());
        Ok(())
    }

    async fn on_response(&mut self, kind: TxKind, resp: Response) {
        let code = m::code(&resp);
        match kind {
            TxKind::Invite => match code {
                100 => {}
                101..=199 => {
                    self.got_provisional = true;
                    if self.cancel_requested && !self.cancel_sent {
                        self.send_cancel().await;
                    }
                    if let Some(body) = sdp_body(&resp) {
                        // Early media (183 with SDP).
                        self.apply_answer(&body, false).await;
                    }
                    if self.info.state == CallState::Dialing {
                        self.info.remote_name =
                            m::header(&resp.headers, "To").and_then(m::display_name);
                        self.set_state(CallState::Alerting);
                    }
                }
                200..=299 => {
                    if self.dialog.is_none() {
                        if let Some((invite, _)) = &self.invite {
                            match Dialog::from_uac(invite, &resp) {
                                Ok(d) => self.dialog = Some(d),
                                Err(e) => tracing::warn!(call = %self.info.id, "bad 2xx: {e}"),
                            }
                        }
                    }
                    self.ack_2xx(&resp).await;
                    if self.info.state == CallState::Active || self.done {
                        return; // retransmission
                    }
                    if self.cancel_requested {
                        self.send_bye().await;
                        self.end("cancelled").await;
                        return;
                    }
                    match sdp_body(&resp) {
                        Some(body) => self.apply_answer(&body, true).await,
                        None if self.media.is_some() => {}
                        None => {
                            tracing::warn!(call = %self.info.id, "2xx without SDP answer");
                        }
                    }
                    self.set_state(CallState::Active);
                }
                401 | 407 if !self.cancel_requested => {
                    self.auth_attempts += 1;
                    let Some(creds) = self.credentials().filter(|_| self.auth_attempts <= 2) else {
                        let reason = if self.auth_attempts > 2 {
                            "wrong password"
                        } else {
                            "no password configured"
                        };
                        self.end(&format!("{} {reason}", m::status_text(&resp)))
                            .await;
                        return;
                    };
                    let Some((invite, peer)) = self.invite.clone() else {
                        return;
                    };
                    match self.digest.authorize(&invite, &resp, &creds) {
                        Ok(req) => {
                            if let Err(e) = self.send_invite(req, peer).await {
                                self.end(&e).await;
                            }
                        }
                        Err(e) => self.end(&format!("{}: {e}", m::status_text(&resp))).await,
                    }
                }
                _ => {
                    let reason = if self.cancel_requested && code == 487 {
                        "cancelled".to_string()
                    } else {
                        m::status_text(&resp)
                    };
                    self.end(&reason).await;
                }
            },
        }
    }

    async fn ack_2xx(&mut self, resp: &Response) {
        let Some(dialog) = &self.dialog else { return };
        let Ok((cseq, _)) = m::cseq(&resp.headers) else {
            return;
        };
        let peer = match dialog.next_hop().await {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!(call = %self.info.id, "cannot route ACK: {e}");
                return;
            }
        };
        let ack = match &self.last_ack {
            Some((ack, _)) if m::cseq(&ack.headers).map(|c| c.0).ok() == Some(cseq) => ack.clone(),
            _ => match dialog.ack(cseq, &self.via(peer.protocol)) {
                Ok(a) => a,
                Err(e) => {
                    tracing::warn!(call = %self.info.id, "cannot build ACK: {e}");
                    return;
                }
            },
        };
        if let Err(e) = self
            .env
            .endpoint
            .send_stateless(SipMessage::Request(ack.clone()), &peer)
            .await
        {
            tracing::warn!(call = %self.info.id, "ACK not sent: {e}");
        }
        self.last_ack = Some((ack, peer));
    }

    /// Reads an SDP answer (ours was the offer) and starts or updates media.
    async fn apply_answer(&mut self, body: &str, final_answer: bool) {
        match sdp::read_answer(body, &self.local) {
            Ok(neg) => self.apply_negotiated(neg).await,
            Err(e) if final_answer => {
                tracing::warn!(call = %self.info.id, "unusable SDP answer: {e}");
            }
            Err(_) => {}
        }
    }

    async fn apply_negotiated(&mut self, neg: Negotiated) {
        self.info.codec = Some(neg.params.codec.name().to_string());
        let remote_held = neg.remote_held;
        if let Some(media) = &self.media {
            media.update(neg.params);
        } else if let Some(sockets) = self.sockets.take() {
            match MediaSession::start(
                sockets,
                neg.params,
                &self.env.audio,
                &self.info.sip_call_id,
                self.media_tx.clone(),
            ) {
                Ok(media) => self.media = Some(media),
                Err(e) => tracing::warn!(call = %self.info.id, "media did not start: {e}"),
            }
        }
        if self.info.remote_held != remote_held {
            self.info.remote_held = remote_held;
            self.publish();
        }
    }

    async fn send_cancel(&mut self) {
        let Some((invite, peer)) = self.invite.clone() else {
            return;
        };
        self.cancel_sent = true;
        let mut cancel = match m::request(Method::Cancel, &invite.uri.to_string()) {
            Ok(r) => r,
            Err(_) => return,
        };
        for name in ["Via", "Route"] {
            if let Some(v) = m::header(&invite.headers, name) {
                add_header(&mut cancel.headers, name, v);
            }
        }
        add_header(&mut cancel.headers, "Max-Forwards", "70");
        for name in ["From", "To", "Call-ID"] {
            if let Some(v) = m::header(&invite.headers, name) {
                add_header(&mut cancel.headers, name, v);
            }
        }
        let n = m::cseq(&invite.headers).map(|c| c.0).unwrap_or(1);
        add_header(&mut cancel.headers, "CSeq", format!("{n} CANCEL"));
        add_header(&mut cancel.headers, "User-Agent", crate::sip::USER_AGENT);
        set_body(&mut cancel.headers, &mut cancel.body, None, Vec::new());
        match self.env.endpoint.send_request(cancel, peer).await {
            Ok(tx) => drain(tx),
            Err(e) => tracing::warn!(call = %self.info.id, "CANCEL not sent: {e}"),
        }
    }

    /// BYE in a detached task (answers 401/407 once); the call ends at once.
    async fn send_bye(&mut self) {
        let Some(dialog) = self.dialog.as_mut() else {
            return;
        };
        let peer = match dialog.next_hop().await {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!(call = %self.info.id, "cannot route BYE: {e}");
                return;
            }
        };
        let via = m::via(
            self.env.endpoint.transport().local_addr(),
            peer.protocol,
            &m::new_branch(),
        );
        let Ok(mut bye) = dialog.request(Method::Bye, &via) else {
            return;
        };
        set_body(&mut bye.headers, &mut bye.body, None, Vec::new());
        let endpoint = self.env.endpoint.clone();
        let creds = self.credentials();
        let mut digest = std::mem::take(&mut self.digest);
        tokio::spawn(async move {
            let Ok(mut tx) = endpoint.send_request(bye.clone(), peer).await else {
                return;
            };
            while let Some(resp) = tx.next_response().await {
                let code = m::code(&resp);
                if code == 401 || code == 407 {
                    if let Some(creds) = &creds {
                        if let Ok(again) = digest.authorize(&bye, &resp, creds) {
                            if let Ok(tx2) = endpoint.send_request(again, peer).await {
                                drain(tx2);
                            }
                        }
                    }
                    return;
                }
                if code >= 200 {
                    return;
                }
            }
        });
    }

    // ------------------------------------------------------------ incoming

    async fn start_incoming(&mut self, tx: ServerTransaction) -> Result<(), String> {
        let offer = sdp_request_body(&tx.request);
        self.server_invite = Some(tx);
        if let Some(offer) = &offer {
            if let Err(e) = sdp::SessionDescription::parse(offer)
                .and_then(|s| s.audio().map(|_| ()).ok_or(sdp::SdpError::NoAudio))
            {
                self.respond_invite(488);
                return Err(format!("488 unusable offer: {e}"));
            }
        }
        self.respond_invite(180);
        self.ring_deadline =
            Some(tokio::time::Instant::now() + Duration::from_secs(self.env.ring_timeout_s.max(1)));
        Ok(())
    }

    /// Answers the initial INVITE with `code` (180, 200 handled in answer()).
    fn respond_invite(&mut self, code: u16) {
        let Some(tx) = &self.server_invite else {
            return;
        };
        let mut resp = m::response(&tx.request, code, Some(&self.local_tag));
        if (101..200).contains(&code) {
            add_header(&mut resp.headers, "Contact", self.contact(tx.peer.protocol));
        }
        set_body(&mut resp.headers, &mut resp.body, None, Vec::new());
        if let Err(e) = tx.handle.respond(resp) {
            tracing::warn!(call = %self.info.id, "response {code} not sent: {e}");
        }
    }

    async fn answer(&mut self) -> Result<(), CommandError> {
        if self.info.state != CallState::Ringing {
            return Err(CommandError::new(
                "bad_state",
                format!("call {} is not ringing", self.info.id),
            ));
        }
        let Some(tx) = self.server_invite.as_ref() else {
            return Err(CommandError::new("bad_state", "no INVITE to answer"));
        };
        let request = tx.request.clone();
        let protocol = tx.peer.protocol;
        self.bind_media()
            .await
            .map_err(|e| CommandError::new("media_error", e))?;
        let contact = self.contact(protocol);
        let body = match sdp_request_body(&request) {
            Some(offer) => match sdp::answer(&offer, &self.local) {
                Ok((answer, neg)) => {
                    self.apply_negotiated(neg).await;
                    answer
                }
                Err(e) => {
                    self.respond_invite(488);
                    self.end(&format!("488 {e}")).await;
                    return Err(CommandError::new(
                        "media_error",
                        format!("cannot answer: {e}"),
                    ));
                }
            },
            None => {
                // Offer in our 2xx, answer in the ACK.
                self.awaiting_ack_answer = true;
                sdp::offer(&self.local)
            }
        };
        let dialog = Dialog::from_uas(&request, &self.local_tag, &contact)
            .map_err(|e| CommandError::new("sip_error", e.to_string()))?;
        self.dialog = Some(dialog);
        let Some(tx) = self.server_invite.as_ref() else {
            return Err(CommandError::new("bad_state", "no INVITE to answer"));
        };
        let mut resp = m::response(&request, 200, Some(&self.local_tag));
        add_header(&mut resp.headers, "Contact", contact);
        add_header(&mut resp.headers, "Allow", crate::sip::ALLOW);
        set_body(
            &mut resp.headers,
            &mut resp.body,
            Some("application/sdp"),
            body.into_bytes(),
        );
        tx.handle
            .respond(resp)
            .map_err(|e| CommandError::new("sip_error", format!("200 OK not sent: {e}")))?;
        self.ring_deadline = None;
        self.set_state(CallState::Active);
        Ok(())
    }

    async fn hangup(&mut self) {
        match self.info.state {
            CallState::Ringing => {
                self.respond_invite(486);
                self.end("rejected 486").await;
            }
            CallState::Dialing | CallState::Alerting
                if self.dialog.is_none() && self.echo.is_none() =>
            {
                self.cancel_requested = true;
                if self.got_provisional && !self.cancel_sent {
                    self.send_cancel().await;
                }
                // The call ends when the INVITE gets its final answer (487);
                // before any provisional, CANCEL waits for the first one.
                if self.invite.is_none() {
                    self.end("cancelled").await;
                }
            }
            CallState::Ended => {}
            _ => {
                self.send_bye().await;
                self.end("local hangup").await;
            }
        }
    }

    async fn on_sip(&mut self, input: SipInput) {
        match input {
            SipInput::Cancel => {
                if self.info.state == CallState::Ringing {
                    self.respond_invite(487);
                    self.end("caller cancelled").await;
                }
            }
            SipInput::Ack(ack) => {
                if self.awaiting_ack_answer {
                    self.awaiting_ack_answer = false;
                    if let Some(body) = sdp_request_body(&ack) {
                        self.apply_answer(&body, true).await;
                    }
                }
            }
            SipInput::Response(resp) => {
                if m::code(&resp) >= 200 && m::code(&resp) < 300 {
                    if let Some((ack, peer)) = &self.last_ack {
                        let _ = self
                            .env
                            .endpoint
                            .send_stateless(SipMessage::Request(ack.clone()), peer)
                            .await;
                    }
                }
            }
            SipInput::AckTimeout => {
                tracing::warn!(call = %self.info.id, "no ACK for our 200 OK");
                self.send_bye().await;
                self.end("no ACK").await;
            }
            SipInput::Request(tx) => self.on_request(*tx).await,
        }
    }

    async fn on_request(&mut self, tx: ServerTransaction) {
        let req = &tx.request;
        let respond = |code: u16| {
            let mut r = m::response(req, code, None);
            set_body(&mut r.headers, &mut r.body, None, Vec::new());
            r
        };
        let Some(dialog) = self.dialog.as_mut() else {
            let _ = tx.handle.respond(respond(481));
            return;
        };
        if !dialog.accept_remote_cseq(req) {
            let _ = tx.handle.respond(respond(500));
            return;
        }
        match req.method {
            Method::Bye => {
                let _ = tx.handle.respond(respond(200));
                self.end("remote hangup").await;
            }
            Method::Invite => {
                dialog.refresh_target(&req.headers);
                let contact = dialog.local_contact.clone();
                self.local.session_version += 1;
                let body = match sdp_request_body(req) {
                    Some(offer) => match sdp::answer(&offer, &self.local) {
                        Ok((answer, neg)) => {
                            self.apply_negotiated(neg).await;
                            answer
                        }
                        Err(e) => {
                            tracing::warn!(call = %self.info.id, "re-INVITE refused: {e}");
                            let _ = tx.handle.respond(respond(488));
                            return;
                        }
                    },
                    None => {
                        self.awaiting_ack_answer = true;
                        sdp::offer(&self.local)
                    }
                };
                let mut resp = m::response(req, 200, None);
                add_header(&mut resp.headers, "Contact", contact);
                add_header(&mut resp.headers, "Allow", crate::sip::ALLOW);
                set_body(
                    &mut resp.headers,
                    &mut resp.body,
                    Some("application/sdp"),
                    body.into_bytes(),
                );
                let _ = tx.handle.respond(resp);
            }
            Method::Options => {
                let mut r = respond(200);
                add_header(&mut r.headers, "Allow", crate::sip::ALLOW);
                add_header(&mut r.headers, "Accept", crate::sip::ACCEPT);
                let _ = tx.handle.respond(r);
            }
            _ => {
                let mut r = respond(405);
                add_header(&mut r.headers, "Allow", crate::sip::ALLOW);
                let _ = tx.handle.respond(r);
            }
        }
    }
}

fn base_info(
    id: &str,
    account: &Account,
    direction: CallDirection,
    remote: &str,
    remote_name: Option<String>,
    sip_call_id: String,
    state: CallState,
) -> CallInfo {
    CallInfo {
        id: id.to_string(),
        account: account.name.clone(),
        direction,
        remote: remote.to_string(),
        remote_name,
        state,
        held: false,
        remote_held: false,
        muted: false,
        conference: false,
        started_at: now(),
        answered_at: None,
        ended_at: None,
        end_reason: None,
        codec: None,
        stats: None,
        sip_call_id,
    }
}

fn is_sdp(headers: &crate::sip::msg::Headers, body: &[u8]) -> bool {
    !body.is_empty()
        && m::header(headers, "Content-Type")
            .map(|ct| {
                ct.trim()
                    .to_ascii_lowercase()
                    .starts_with("application/sdp")
            })
            .unwrap_or(false)
}

fn sdp_body(resp: &Response) -> Option<String> {
    is_sdp(&resp.headers, &resp.body).then(|| String::from_utf8_lossy(&resp.body).into_owned())
}

fn sdp_request_body(req: &Request) -> Option<String> {
    is_sdp(&req.headers, &req.body).then(|| String::from_utf8_lossy(&req.body).into_owned())
}

fn forward_responses(
    mut tx: crate::sip::transaction::ClientTransaction,
    kind: TxKind,
    out: mpsc::UnboundedSender<(TxKind, Response)>,
) {
    tokio::spawn(async move {
        while let Some(resp) = tx.next_response().await {
            if out.send((kind, resp)).is_err() {
                break;
            }
        }
    });
}

/// Consumes a transaction's responses nobody waits for.
fn drain(mut tx: crate::sip::transaction::ClientTransaction) {
    tokio::spawn(async move { while tx.next_response().await.is_some() {} });
}
