//! The call actor: one task per call (per SIP dialog), owning its dialog, its
//! media session and its state. The manager talks to it through a
//! [`CallHandle`]; it reports every change of its [`CallInfo`] back up.
//! Outgoing calls (INVITE, auth, CANCEL, ACK), incoming calls (ringing,
//! answer, reject, caller CANCEL), BYE either way, the peer's re-INVITE,
//! reliable provisional responses and UPDATE (`reliable.rs`), and the
//! built-in `echo` target.
//!
//! The actor's state comes in parts, each next to the code that decides on
//! it: the outgoing set-up, our re-INVITEs, transfers and session timer
//! (`step/`), the incoming set-up (`incoming.rs`), the media (`media.rs`),
//! the dialog and what signals in it (`signalling.rs`); the rest is the
//! channels.

mod addr_change;
mod call_completion;
mod codecs;
mod control;
mod echo_hold;
mod encryption;
mod failover;
mod in_dialog;
mod incoming;
mod media;
mod media_failure;
mod outgoing;
mod redirect;
mod reliable;
mod rtp_watch;
mod sdp_hosts;
mod session_timer;
mod signalling;
mod signalling_security;
mod srtp_retry;
mod step;
mod stun;
mod tls_failure;
mod transfer;

pub use transfer::DialogRef;

use super::diversion::DiversionReason;
use super::event::{CallDirection, CallInfo, CallState};
use super::{CallEnv, ManagerMsg};
use crate::command::CommandError;
use crate::config::Account;
use crate::media::{
    Codec, Conference, Direction, EchoReflector, MediaEvent, MediaSession, MemberId, RtpParams,
    RtpSockets, Tone,
};
use crate::sip::address::local_addr;
use crate::sip::auth::Credentials;
use crate::sip::dialog::Dialog;
use crate::sip::message::{self as m, add_header, set_body};
use crate::sip::msg::{Method, Request, Response, SipMessage};
use crate::sip::replaces::ReplacesParams;
use crate::sip::sdp::{self, LocalMedia, Negotiated};
use crate::sip::transaction::ServerTransaction;
use crate::sip::transport::Peer;
use crate::timer::sleep_opt;
use incoming::IncomingSetup;
use media::{CallMedia, Rtp};
use signalling::Signalling;
use std::sync::Arc;
use std::time::Duration;
pub(crate) use step::TimerConfig;
use step::{OutgoingSetup, Pending, Reinvite, Reliable, Sent, SessionTimer, Transfer};
use tokio::sync::{mpsc, oneshot};

/// SIP input the manager routes to a call.
#[derive(Debug)]
pub enum SipInput {
    /// An in-dialog request (BYE, re-INVITE, INFO, OPTIONS …).
    Request(Box<ServerTransaction>),
    /// ACK for our 2xx.
    Ack(Request),
    /// The caller cancelled its INVITE (the layer answered the CANCEL);
    /// the SIP cause of the CANCEL's `Reason`, if it had one.
    Cancel { sip_cause: Option<u16> },
    /// A response outside any live client transaction (2xx retransmission).
    Response(Response),
    /// Our 2xx was never ACKed.
    AckTimeout,
}

type Reply = oneshot::Sender<Result<(), CommandError>>;

/// How long the busy or congestion tone plays after a failed call.
const TONE_LINGER: Duration = Duration::from_secs(3);

/// What the manager asks of a call.
#[derive(Debug)]
pub enum CallMsg {
    Answer(Reply),
    Hangup(Reply),
    Reject(u16, Reply),
    Hold(Reply),
    Resume(Reply),
    Mute(bool, Reply),
    Dtmf(String, Reply),
    /// 302 to this URI before answering, with this Diversion reason.
    Deflect(String, DiversionReason, Reply),
    /// REFER the peer to this Refer-To value (blind, or with `?Replaces=`).
    Transfer(String, Reply),
    /// The dialog's identity, for an attended transfer that replaces it.
    DialogInfo(oneshot::Sender<Option<DialogRef>>),
    /// May an INVITE with these Replaces values take this call over?
    MayReplace(ReplacesParams, oneshot::Sender<step::ReplacesStep>),
    /// An INVITE with Replaces took this call over: BYE (or CANCEL) and end.
    Replaced,
    /// Progress of the call we placed for the peer's REFER: NOTIFY it.
    ReferProgress(u16, String),
    /// Mix the call-waiting beep into this call's audio.
    WaitingBeep(bool),
    /// Record both directions to this WAV file (None: stop).
    Record(Option<std::path::PathBuf>, Reply),
    /// Join (Some) or leave (None) the local conference.
    Conference(
        Option<Arc<Conference>>,
        oneshot::Sender<Result<Option<MemberId>, CommandError>>,
    ),
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
                CallMsg::Answer(r)
                | CallMsg::Hangup(r)
                | CallMsg::Reject(_, r)
                | CallMsg::Hold(r)
                | CallMsg::Resume(r)
                | CallMsg::Mute(_, r)
                | CallMsg::Dtmf(_, r)
                | CallMsg::Deflect(_, _, r)
                | CallMsg::Transfer(_, r)
                | CallMsg::Record(_, r) => Some(r),
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
    pub async fn hold(&self) -> Result<(), CommandError> {
        wait(self.request(CallMsg::Hold)).await
    }
    pub async fn resume(&self) -> Result<(), CommandError> {
        wait(self.request(CallMsg::Resume)).await
    }
    pub async fn mute(&self, on: bool) -> Result<(), CommandError> {
        wait(self.request(|r| CallMsg::Mute(on, r))).await
    }
    pub async fn dtmf(&self, digits: String) -> Result<(), CommandError> {
        wait(self.request(|r| CallMsg::Dtmf(digits, r))).await
    }
    pub async fn deflect(&self, to: String) -> Result<(), CommandError> {
        self.divert(to, DiversionReason::Deflection).await
    }
    /// 302 to `to` before answering, the Diversion saying why.
    pub async fn divert(&self, to: String, why: DiversionReason) -> Result<(), CommandError> {
        wait(self.request(|r| CallMsg::Deflect(to, why, r))).await
    }
    /// Resolves when the REFER is accepted (202); the call ends later, when
    /// the NOTIFY reports success.
    pub async fn transfer(&self, refer_to: String) -> Result<(), CommandError> {
        wait(self.request(|r| CallMsg::Transfer(refer_to, r))).await
    }
    pub async fn dialog_info(&self) -> Option<DialogRef> {
        let (tx, rx) = oneshot::channel();
        let _ = self.tx.send(CallMsg::DialogInfo(tx));
        rx.await.ok().flatten()
    }
    /// Whether an INVITE with Replaces `r` may take this call over
    /// (481 when the call is gone).
    pub async fn may_replace(&self, r: ReplacesParams) -> step::ReplacesStep {
        let (tx, rx) = oneshot::channel();
        let _ = self.tx.send(CallMsg::MayReplace(r, tx));
        rx.await.unwrap_or(step::ReplacesStep::Refuse(481))
    }
    pub fn replaced(&self) {
        let _ = self.tx.send(CallMsg::Replaced);
    }
    pub fn refer_progress(&self, code: u16, reason: String) {
        let _ = self.tx.send(CallMsg::ReferProgress(code, reason));
    }
    /// Joins the conference (resuming the call if held) or leaves it.
    pub async fn conference(
        &self,
        conference: Option<Arc<Conference>>,
    ) -> Result<Option<MemberId>, CommandError> {
        let (tx, rx) = oneshot::channel();
        if self.tx.send(CallMsg::Conference(conference, tx)).is_err() {
            return Err(CommandError::new(
                "no_such_call",
                format!("call {} has ended", self.id),
            ));
        }
        rx.await.unwrap_or_else(|_| {
            Err(CommandError::new(
                "no_such_call",
                "the call ended meanwhile",
            ))
        })
    }
    pub async fn record(&self, path: Option<std::path::PathBuf>) -> Result<(), CommandError> {
        wait(self.request(|r| CallMsg::Record(path, r))).await
    }
    pub fn waiting_beep(&self, on: bool) {
        let _ = self.tx.send(CallMsg::WaitingBeep(on));
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
    ReInvite,
    Refer,
}

/// An incoming INVITE with `Replaces` (RFC 3891): the call it names, as
/// the manager found it by Call-ID, and the tags to check.
#[derive(Debug, Clone)]
pub struct Replaces {
    pub call: CallHandle,
    /// Our tag in the named dialog.
    pub to_tag: String,
    /// The peer's tag in the named dialog.
    pub from_tag: String,
    /// `early-only`: the named dialog may not be a confirmed one (486).
    pub early_only: bool,
}

impl Replaces {
    /// Parses a Replaces header value, `call-id;to-tag=…;from-tag=…
    /// [;early-only]`, strictly ([`ReplacesParams::parse`]).
    pub fn parse(value: &str) -> Option<ReplacesParams> {
        ReplacesParams::parse(value)
    }

    /// The values of the named dialog, as the header gave them.
    pub fn params(&self, call_id: &str) -> ReplacesParams {
        ReplacesParams {
            call_id: call_id.to_string(),
            to_tag: self.to_tag.clone(),
            from_tag: self.from_tag.clone(),
            early_only: self.early_only,
        }
    }
}

/// How the call starts.
enum Start {
    Outgoing {
        target: String,
        next_hop: String,
        extra_headers: Vec<(String, String)>,
    },
    Incoming(Box<ServerTransaction>, Option<Replaces>),
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
    /// Our tag, the dialog, the last ACK, the digest state.
    sip: Signalling,
    /// UAC: the set-up of our INVITE until its final response.
    outgoing: OutgoingSetup,
    /// UAS: the INVITE we answer and how long it may ring.
    incoming: IncomingSetup,
    /// Our SDP, the RTP session, the echo peer.
    media: CallMedia,
    /// Our re-INVITEs: the hold we want, the one in flight or waiting.
    reinvite: Reinvite,
    /// Our transfer of the peer, and the peer's of us.
    transfer: Transfer,
    /// Reliable provisional responses (RFC 3262), ours and the peer's.
    reliable: Reliable,
    /// The session timer (RFC 4028): interval, refresher, deadlines.
    session_timer: SessionTimer,
    /// Media inactivity: when the call last received anything.
    rtp_watch: rtp_watch::RtpWatch,
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
        extra_headers: Vec<(String, String)>,
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
        let start = Start::Outgoing {
            target,
            next_hop,
            extra_headers,
        };
        Self::spawn(env, info, account, start)
    }

    /// Takes an incoming INVITE.
    pub fn incoming(
        env: Arc<CallEnv>,
        id: String,
        account: Account,
        tx: ServerTransaction,
        replaces: Option<Replaces>,
    ) -> (CallHandle, CallInfo) {
        let from = m::header(&tx.request.headers, "From")
            .unwrap_or_default()
            .to_string();
        let call_id = m::call_id(&tx.request.headers).unwrap_or_else(|_| m::new_call_id());
        let mut info = base_info(
            &id,
            &account,
            CallDirection::In,
            &m::uri_of(&from),
            m::display_name(&from),
            call_id,
            CallState::Ringing,
        );
        info.name =
            super::caller_name::from_headers(&tx.request.headers, account.trust_asserted_identity);
        Self::spawn(env, info, account, Start::Incoming(Box::new(tx), replaces))
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
        Self::spawn(env, info, account, Start::Echo)
    }

    fn spawn(
        env: Arc<CallEnv>,
        info: CallInfo,
        account: Account,
        start: Start,
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
            codecs: codecs::offered(&account.codecs),
            dtmf_payload_type: 101,
            direction: Direction::SendRecv,
            session_id: rand::random::<u32>() as u64,
            session_version: 1,
            crypto: crate::sip::sdp_crypto::LocalCrypto::new(account.media_encryption),
            red: account.red,
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
            sip: Signalling::new(),
            outgoing: OutgoingSetup::default(),
            incoming: IncomingSetup::default(),
            media: CallMedia::new(local),
            reinvite: Reinvite::default(),
            transfer: Transfer::default(),
            reliable: Reliable::default(),
            session_timer: SessionTimer::default(),
            rtp_watch: rtp_watch::RtpWatch::default(),
        };
        tokio::spawn(actor.run(start));
        (handle, snapshot)
    }

    fn publish(&self) {
        let _ = self
            .env
            .manager
            .send(ManagerMsg::CallUpdate(Box::new(self.info.clone())));
    }

    /// The call is over (only [`Self::end`] moves it to `Ended`).
    fn ended(&self) -> bool {
        self.info.state == CallState::Ended
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
        if self.ended() {
            return;
        }
        if let Some(media) = self.media.take_session() {
            self.info.stats = Some(media.stats());
            media.stop().await;
        }
        self.media.echo = None;
        self.info.state = CallState::Ended;
        self.info.ended_at = Some(now());
        self.info.end_reason = Some(reason.to_string());
        tracing::info!(call = %self.info.id, reason, "call ended");
        self.publish();
    }

    /// Ends the call at once for everyone watching, but lets the speaker
    /// play `tone` for a few seconds (busy, congestion) unless the user
    /// hangs up or the phone quits first.
    async fn end_with_tone(&mut self, reason: &str, tone: Tone) {
        let Some(media) = self.media.take_session() else {
            self.end(reason).await;
            return;
        };
        media.set_tone(Some(tone));
        self.info.stats = Some(media.stats());
        self.end(reason).await;
        let linger = tokio::time::sleep(TONE_LINGER);
        tokio::pin!(linger);
        loop {
            tokio::select! {
                _ = &mut linger => break,
                msg = self.rx.recv() => match msg {
                    Some(CallMsg::Hangup(reply)) => {
                        let _ = reply.send(Ok(()));
                        break;
                    }
                    None | Some(CallMsg::Shutdown) => break,
                    Some(other) => self.on_msg(other).await,
                },
            }
        }
        media.stop().await;
    }

    fn credentials(&self) -> Option<Credentials> {
        self.account.password.as_ref().map(|p| Credentials {
            user: self
                .account
                .auth_user
                .clone()
                .unwrap_or_else(|| self.account.user.clone()),
            password: p.clone(),
            scope: crate::sip::auth::AuthScope::for_account(
                &self.account.realms,
                &self.account.domain,
                self.account.proxy.as_deref(),
            ),
        })
    }

    /// Our Contact toward `peer`, naming the address that reaches us from
    /// it (behind a NAT, the public address it sees us at).
    fn contact(&self, peer: &Peer) -> String {
        crate::sip::registration::contact_for(
            &format!("sip:{}@{}", self.account.user, self.account.domain),
            self.env.endpoint.transport().contact_addr_for(peer),
            peer.protocol,
        )
    }

    /// A Via with a fresh branch for a request to `peer`.
    fn via(&self, peer: &Peer) -> String {
        m::via(
            self.env.endpoint.transport().local_addr_for(peer.addr),
            peer.protocol,
            &m::new_branch(),
        )
    }

    async fn run(mut self, start: Start) {
        let started = match start {
            Start::Outgoing {
                target,
                next_hop,
                extra_headers,
            } => self.start_outgoing(target, next_hop, extra_headers).await,
            Start::Incoming(tx, replaces) => self.start_incoming(*tx, replaces).await,
            Start::Echo => self.start_echo().await,
        };
        if let Err(reason) = started {
            self.end(&reason).await;
        }
        let mut stats_tick = tokio::time::interval(Duration::from_secs(1));
        stats_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut addr_tick = tokio::time::interval(crate::sip::address::change::POLL);
        addr_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        while !self.ended() {
            let ring = self.incoming.ring_deadline;
            let glare = self.reinvite.pending.glare_deadline();
            let reliable = self.reliable.deadline();
            let session = self.session_timer.deadline();
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
                    MediaEvent::Failed(reason) => self.on_media_failed(&reason).await,
                },
                _ = sleep_opt(ring) => {
                    self.incoming.ring_deadline = None;
                    if self.info.state == CallState::Ringing {
                        self.respond_invite(480);
                        self.end("no answer").await;
                    }
                }
                _ = sleep_opt(glare) => {
                    self.reinvite.pending = Pending::Idle;
                    self.send_reinvite().await;
                }
                _ = sleep_opt(reliable) => self.on_reliable_timer().await,
                _ = sleep_opt(session) => self.on_session_timer().await,
                _ = addr_tick.tick() => self.check_address().await,
                _ = stats_tick.tick() => {
                    if let Some(media) = self.media.session() {
                        let stats = media.stats();
                        if self.info.stats.as_ref() != Some(&stats) {
                            self.info.stats = Some(stats);
                            let _ = self.env.manager.send(ManagerMsg::Stats(self.info.id.clone(), self.info.stats.clone()));
                        }
                    }
                    self.watch_media().await;
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
            CallMsg::Answer(reply) => self.answer_or_wait(reply).await,
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
            CallMsg::Hold(reply) => self.set_hold(true, reply).await,
            CallMsg::Resume(reply) => self.set_hold(false, reply).await,
            CallMsg::Mute(on, reply) => {
                let r = self.mute(on);
                let _ = reply.send(r);
            }
            CallMsg::Dtmf(digits, reply) => {
                let r = self.dtmf(&digits).await;
                let _ = reply.send(r);
            }
            CallMsg::Deflect(to, why, reply) => {
                let r = self.deflect(&to, why).await;
                let _ = reply.send(r);
            }
            CallMsg::Transfer(refer_to, reply) => self.transfer(refer_to, reply).await,
            CallMsg::DialogInfo(reply) => {
                let _ = reply.send(self.dialog_ref());
            }
            CallMsg::MayReplace(r, reply) => {
                let _ = reply.send(self.replaces_verdict(&r));
            }
            CallMsg::Replaced => {
                if self.sip.dialog.is_some() {
                    self.send_bye().await;
                    self.end("replaced").await;
                } else {
                    // Our early dialog, picked up where it rang: the
                    // CANCEL ends it, telling the phones it still rings
                    // at that it was answered elsewhere.
                    self.cancel_picked_up().await;
                    self.end("picked up").await;
                }
            }
            CallMsg::ReferProgress(code, reason) => self.notify_refer(code, &reason).await,
            CallMsg::Conference(conference, reply) => {
                let r = self.set_conference(conference).await;
                let _ = reply.send(r);
            }
            CallMsg::Record(path, reply) => {
                let r = self.record(path);
                let _ = reply.send(r);
            }
            CallMsg::WaitingBeep(on) => {
                if let Some(media) = self.media.session() {
                    media.set_waiting_beep(on);
                }
            }
            CallMsg::Sip(input) => self.on_sip(*input).await,
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
        name: None,
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
        codec_rate: None,
        red: false,
        stats: None,
        sip_call_id,
        transfer_status: None,
        recording: None,
        local_sip: None,
        local_media: None,
        media_encryption: None,
        redirected_to: None,
        signalling: None,
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

/// A response to `req` (in a dialog, so no new To tag) without a body.
fn bodiless_response(req: &Request, code: u16) -> Response {
    let mut r = m::response(req, code, None);
    set_body(&mut r.headers, &mut r.body, None, Vec::new());
    r
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
