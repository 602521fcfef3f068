//! One call's media task: a fixed 20 ms clock that reads the microphone,
//! sends one RTP packet (audio or RFC 4733 event) and plays one frame from
//! the jitter buffer; concurrently it receives RTP (validated, into the
//! jitter buffer or the DTMF receiver) and RTCP, and sends SR/RR reports.
//!
//! What it receives is decided by [`super::inbound`] before it is read:
//! malformed datagrams are dropped, RTP and RTCP are taken only from the
//! peer's source (the SDP's address, or with symmetric RTP the latched
//! one, which is then also where we send), a new SSRC only after its
//! probation. A panic while handling one datagram drops it and restarts
//! the received stream (`guarded`); anything else that panics ends the
//! task, which `MediaSession`'s supervisor reports as `Failed`.
//!
//! The clock is a `tokio::time::interval` with `MissedTickBehavior::Burst`:
//! if the task is held up, the missed ticks run back to back, so the number
//! of frames sent and played always matches elapsed time (RTP timestamps
//! stay in step with the wall clock, a recording has the call's real
//! length, a sound card's microphone ring does not build up latency).
//! Generated audio (see [`super::tones`]) goes in on the same tick: a
//! call-progress tone replaces the jitter buffer's output in the speaker
//! (the buffer is still drained), the call-waiting beep is mixed over it,
//! and music on hold replaces the microphone in what is sent.
//! While the remote address is unknown (`0.0.0.0:0`) nothing is sent.
//! In a conference (a [`MemberPort`] is set) the tick trades frames with
//! the mix instead: the received frame goes into the mix, the mix (us and
//! the other members) is sent in place of the microphone, and the call's
//! own speaker gets silence (plus the call-waiting beep).
//! A recording (`recording.rs`), when set, gets each tick's sent audio
//! (left) and the jitter buffer's output (right), before local sounds.
//! All of this runs at the sample rate of the codec the session sends
//! with (`Codec::sample_rate`: 8 kHz G.711, 16 kHz G.722): a frame is
//! 20 ms at that rate, the jitter buffer is made anew when the rate
//! changes, and `call_audio.rs` converts for a backend at 8 kHz.
//! With RFC 2198 redundancy negotiated, each audio packet also carries
//! the frame before it (`red_send.rs`) and a received packet's redundant
//! blocks fill the places of packets that never came (`red_recv.rs`).
//! With SRTP keys (`secure.rs`) what is sent is protected and what is
//! received is checked, authenticated and decrypted before all of this.
//! The task never waits on anything but its sockets, its command channel
//! and the clock: the SIP side talks to it through [`MediaSession`]'s
//! non-blocking methods.

mod answer_rate;
mod call_audio;
mod decode_order;
pub mod recording;
mod red_recv;
mod red_send;
mod rtcp_io;
mod secure;
mod stun_probe;

use super::audio::{Sink, Source};
use super::codec::{Decoder, Encoder};
use super::conference::MemberPort;
use super::dtmf::{DtmfReceiver, DtmfSender};
use super::inbound::{self, source_verdict, Latch, RtpView, SsrcLock, SsrcVerdict};
use super::jitter::JitterBuffer;
use super::level::LevelMeter;
use super::rtcp_stats::{mos, ReceiverStats};
use super::sockets::rtcp_of;
use super::tones::{Layer, LayerMode, Tone, TonePlan, HOLD_MELODY};
use super::{Codec, Direction, MediaEvent, MediaStats, RtpParams};
use bytes::Bytes;
use call_audio::CallAudio;
use decode_order::{DecodeOrder, Held, Out, Taken};
use recording::Recording;
use rtcp_io::{Reception, RtcpState};
use rtp::header::Header;
use rtp::packet::Packet;
use std::net::SocketAddr;
use std::panic::AssertUnwindSafe;
use std::time::{Duration, Instant};
use tokio::net::UdpSocket;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::{interval, interval_at, MissedTickBehavior};
use webrtc_util::marshal::Marshal;

/// The frame clock.
pub const TICK: Duration = Duration::from_millis(20);
/// Nominal RTCP report interval (RFC 3550 minimum).
pub const RTCP_INTERVAL: Duration = Duration::from_secs(5);
/// Comfort noise (RFC 3389): accepted, carries no audio for us.
const PT_CN: u8 = 13;
/// Ticks between `stats()` updates.
const STATS_EVERY: u32 = 5;
/// Samples of the longest frame: 20 ms at 48 kHz.
const MAX_FRAME: usize = 960;
/// The most frames missing in a row that the decoder itself conceals
/// (100 ms); longer gaps are left to the playout.
const MAX_DECODER_GAP: u16 = 5;

/// Commands from the handle to the task.
#[derive(Debug)]
pub enum Command {
    Update(RtpParams),
    /// New parameters and the SRTP keys that go with them, at once.
    Secure(RtpParams, Option<crate::rtp_types::SrtpKeys>),
    Mute(bool),
    Dtmf(String),
    Tone(Option<Tone>),
    WaitingBeep(bool),
    HoldMusic(bool),
    /// Join (port) or leave (`None`) a conference.
    Conference(Option<MemberPort>),
    /// Start (or switch to) a recording, or stop recording with `None`.
    Record(Option<Recording>),
    /// Ask this STUN server where a NAT maps the RTP socket now.
    Stun(SocketAddr, oneshot::Sender<Option<SocketAddr>>),
    Stop(oneshot::Sender<()>),
}

/// Tunables (tests shorten the RTCP interval).
#[derive(Debug, Clone, Copy)]
pub struct Options {
    pub rtcp_interval: Duration,
    /// Symmetric RTP: latch RTP and RTCP onto the first valid source and
    /// send there (`[phone] symmetric_rtp`).
    pub symmetric: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            rtcp_interval: RTCP_INTERVAL,
            symmetric: true,
        }
    }
}

/// Everything the task owns besides its sockets.
pub struct Session {
    params: RtpParams,
    /// Microphone and speaker at the call's rate.
    audio: CallAudio,
    encoder: Encoder,
    decoder: Decoder,
    events: mpsc::UnboundedSender<MediaEvent>,
    stats_tx: watch::Sender<MediaStats>,
    ssrc: u32,
    seq: u16,
    /// RTP timestamp of the next frame.
    ts: u32,
    /// Timestamp of the telephone-event being sent.
    event_ts: u32,
    marker_next: bool,
    muted: bool,
    dtmf_tx: DtmfSender,
    dtmf_rx: DtmfReceiver,
    jb: JitterBuffer,
    rx: ReceiverStats,
    /// The SSRC played and the one on probation.
    ssrc_lock: SsrcLock,
    /// Datagrams of the SSRC on probation, taken if it wins.
    held: Vec<Vec<u8>>,
    /// Where RTP and RTCP are taken from (and, symmetric, sent to).
    rtp_latch: Latch,
    rtcp_latch: Latch,
    symmetric: bool,
    rtcp: RtcpState,
    epoch: Instant,
    ticks: u32,
    payload: Vec<u8>,
    /// Call-progress tones: replace the received audio in the speaker.
    tone: Layer,
    /// Call-waiting beep: mixed over the speaker.
    beep: Layer,
    /// Music on hold: replaces the microphone in what we send.
    hold_music: Layer,
    plan: &'static TonePlan,
    /// The conference this call is a member of.
    conference: Option<MemberPort>,
    /// The call recording: what we send (left) and receive (right).
    recording: Option<Recording>,
    /// SRTP: the contexts, and what failed authentication.
    secure: secure::Secure,
    /// A STUN question on the RTP socket, while one is open.
    stun: Option<stun_probe::StunProbe>,
    /// Our RTP socket's address (for a STUN question's server family).
    rtp_local: Option<SocketAddr>,
    /// Packets of a stateful codec waiting to be decoded in sequence
    /// order, and the frames recovered by in-band FEC.
    order: DecodeOrder,
    fec_recovered: u64,
    /// RED: the last frame sent, the packets received lately, and the
    /// missing packets a redundant block filled.
    red_tx: red_send::RedSend,
    red_rx: red_recv::Received,
    red_recovered: u64,
    /// Frames filled by the decoder's own concealment (Opus).
    decoder_concealed: u64,
    /// Whether the call's rate is settled (see `answer_rate.rs`).
    rate_settled: bool,
    /// Levels of what is sent and what is played, for `stats`.
    sent_level: LevelMeter,
    played_level: LevelMeter,
}

impl Session {
    pub fn new(
        params: RtpParams,
        source: Box<dyn Source>,
        sink: Box<dyn Sink>,
        events: mpsc::UnboundedSender<MediaEvent>,
        stats_tx: watch::Sender<MediaStats>,
    ) -> Session {
        let jb = playout(&params);
        let rate_settled = answer_rate::has_peer(&params);
        Session {
            encoder: Encoder::for_peer(params.codec, params.opus),
            decoder: Decoder::new(params.codec),
            params,
            audio: CallAudio::new(source, sink),
            events,
            stats_tx,
            ssrc: rand::random(),
            seq: rand::random(),
            ts: rand::random(),
            event_ts: 0,
            marker_next: true,
            muted: false,
            dtmf_tx: DtmfSender::new(),
            dtmf_rx: DtmfReceiver::default(),
            jb,
            rx: ReceiverStats::default(),
            ssrc_lock: SsrcLock::default(),
            held: Vec::new(),
            rtp_latch: Latch::Open,
            rtcp_latch: Latch::Open,
            symmetric: true,
            rtcp: RtcpState::default(),
            epoch: Instant::now(),
            ticks: 0,
            payload: Vec::with_capacity(MAX_FRAME),
            tone: Layer::new(LayerMode::Replace),
            beep: Layer::new(LayerMode::Mix),
            hold_music: Layer::new(LayerMode::Replace),
            plan: &TonePlan::ETSI,
            conference: None,
            recording: None,
            secure: secure::Secure::default(),
            stun: None,
            rtp_local: None,
            order: DecodeOrder::default(),
            fec_recovered: 0,
            red_tx: red_send::RedSend::default(),
            red_rx: red_recv::Received::default(),
            red_recovered: 0,
            decoder_concealed: 0,
            rate_settled,
            sent_level: LevelMeter::default(),
            played_level: LevelMeter::default(),
        }
    }

    /// The task: runs until `Stop` or until every handle is gone.
    pub async fn run(
        mut self,
        rtp: UdpSocket,
        rtcp: UdpSocket,
        mut commands: mpsc::UnboundedReceiver<Command>,
        options: Options,
    ) {
        self.symmetric = options.symmetric;
        self.rtp_local = rtp.local_addr().ok();
        let mut clock = interval(TICK);
        clock.set_missed_tick_behavior(MissedTickBehavior::Burst);
        let first_report = tokio::time::Instant::now() + options.rtcp_interval / 2;
        let mut reports = interval_at(first_report, options.rtcp_interval);
        reports.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut rtp_buf = vec![0u8; 2048];
        let mut rtcp_buf = vec![0u8; 2048];
        let mut reply = None;
        loop {
            tokio::select! {
                _ = clock.tick() => {
                    self.stun_tick(&rtp).await;
                    self.on_tick(&rtp).await
                }
                r = rtp.recv_from(&mut rtp_buf) => match r {
                    Ok((n, from)) if self.stun_answered(&rtp_buf[..n], from) => {}
                    Ok((n, from)) => self.guarded("RTP", from, |s| s.on_rtp_datagram(&rtp_buf[..n], from)),
                    Err(e) => tracing::debug!("RTP receive: {e}"),
                },
                r = rtcp.recv_from(&mut rtcp_buf) => match r {
                    Ok((n, from)) => self.guarded("RTCP", from, |s| s.on_rtcp_datagram(&rtcp_buf[..n], from)),
                    Err(e) => tracing::debug!("RTCP receive: {e}"),
                },
                _ = reports.tick() => self.send_report(&rtcp, false).await,
                cmd = commands.recv() => match cmd {
                    Some(Command::Stop(tx)) => {
                        reply = Some(tx);
                        break;
                    }
                    Some(cmd) => self.on_command(cmd),
                    None => break,
                },
            }
        }
        self.send_report(&rtcp, true).await;
        self.audio.finish();
        if let Some(mut r) = self.recording.take() {
            r.finish();
        }
        self.publish_stats();
        if let Some(tx) = reply {
            let _ = tx.send(());
        }
    }

    fn on_command(&mut self, cmd: Command) {
        match cmd {
            Command::Secure(params, keys) => {
                self.secure.set(keys);
                self.on_command(Command::Update(params));
            }
            Command::Update(params) => {
                if !sends(self.params.direction) && sends(params.direction) {
                    self.marker_next = true;
                }
                // A new address from SDP: latch afresh onto the new peer.
                if params.remote != self.params.remote {
                    self.rtp_latch = Latch::Open;
                }
                if rtcp_negotiated(&params) != rtcp_negotiated(&self.params) {
                    self.rtcp_latch = Latch::Open;
                }
                if params.codec != self.encoder.codec() {
                    self.encoder = Encoder::new(params.codec);
                }
                // An answer or re-INVITE may change what the peer receives.
                self.encoder.set_peer(params.opus);
                if let Some(rate) = answer_rate::settle(&self.params, self.rate_settled, &params) {
                    // The answer's rate, not our offer's guess: what was
                    // recorded so far is brought to it.
                    self.audio.convert_to(rate);
                    if let Some(r) = &mut self.recording {
                        r.convert_to(rate);
                    }
                }
                self.rate_settled |= answer_rate::has_peer(&params);
                if params.codec.sample_rate() != self.params.codec.sample_rate() {
                    // Audio at another rate: playout starts afresh at it.
                    self.jb = playout(&params);
                }
                self.jb.set_recovery_frames(recovery_frames(&params));
                self.params = params;
            }
            Command::Mute(on) => {
                if self.muted && !on {
                    self.marker_next = true;
                }
                self.muted = on;
            }
            Command::Dtmf(digits) => {
                if self.params.dtmf_payload_type.is_none() {
                    tracing::warn!("peer takes no telephone-event: DTMF {digits:?} not sent");
                } else if self.dtmf_tx.queue(&digits) == 0 {
                    tracing::debug!("no DTMF digits in {digits:?}");
                }
            }
            Command::Tone(tone) => self.tone.set(tone.map(|t| self.plan.pattern(t))),
            Command::WaitingBeep(on) => self.beep.set(on.then_some(self.plan.waiting)),
            Command::HoldMusic(on) => self.hold_music.set(on.then_some(HOLD_MELODY)),
            Command::Conference(port) => self.conference = port,
            Command::Record(rec) => {
                // Replacing the old recording finalises it.
                if let Some(mut old) = std::mem::replace(&mut self.recording, rec) {
                    old.finish();
                }
            }
            Command::Stun(server, reply) => {
                // A newer question replaces an open one (which gets `None`).
                let probe =
                    stun_probe::StunProbe::new(server, self.rtp_local, reply, Instant::now());
                if let Some(old) = self.stun.replace(probe) {
                    old.finish(None);
                }
            }
            Command::Stop(_) => {}
        }
    }

    /// Sends the open STUN question's next try when it is due.
    async fn stun_tick(&mut self, rtp: &UdpSocket) {
        let Some(probe) = self.stun.as_mut() else {
            return;
        };
        match probe.due(Instant::now()) {
            stun_probe::Due::Send(request, server) => {
                if let Err(e) = rtp.send_to(&request, server).await {
                    tracing::debug!(%server, error = %e, "STUN request not sent");
                }
            }
            stun_probe::Due::Wait => {}
            stun_probe::Due::GaveUp => {
                tracing::info!("no answer from the STUN server");
                if let Some(p) = self.stun.take() {
                    p.finish(None);
                }
            }
        }
    }

    /// Whether `packet` is the answer to the open STUN question (then
    /// taken here, never seen by the RTP checks).
    fn stun_answered(&mut self, packet: &[u8], from: SocketAddr) -> bool {
        let mapped = self.stun.as_ref().and_then(|p| p.answer(packet, from));
        match (mapped, self.stun.take()) {
            (Some(addr), Some(p)) => {
                p.finish(Some(addr));
                true
            }
            (_, open) => {
                self.stun = open;
                false
            }
        }
    }

    async fn on_tick(&mut self, rtp: &UdpSocket) {
        let rate = self.params.codec.sample_rate();
        let n = self.params.codec.frame_samples().min(MAX_FRAME);
        self.tone.set_rate(rate);
        self.beep.set_rate(rate);
        self.hold_music.set_rate(rate);
        let mut mic_buf = [0i16; MAX_FRAME];
        let mic = &mut mic_buf[..n];
        self.audio.read(rate, mic);
        let mut speaker_buf = [0i16; MAX_FRAME];
        let speaker = &mut speaker_buf[..n];
        self.decode_in_order(true);
        // Packets held back behind a missing one are part of the delay
        // the playout stands at, though not decoded yet.
        let waiting = self.order.waiting() * self.jb.frame_len();
        self.jb.set_upstream(waiting);
        self.jb.pop(speaker);
        // The recording's right channel: the peer, before any local sound.
        let received_buf = speaker_buf;
        let received = &received_buf[..n];
        let speaker = &mut speaker_buf[..n];
        if let Some(port) = &mut self.conference {
            // Our own microphone was read all the same (and is dropped),
            // so it is current when the call leaves the conference.
            // At the codec's sample rate: the port converts to the mix rate.
            let mut mix = [0i16; MAX_FRAME];
            let mix = &mut mix[..n];
            if port.exchange_at(rate, speaker, receives(self.params.direction), mix) {
                mic.copy_from_slice(mix);
                speaker.fill(0);
            } else {
                self.conference = None;
            }
        }
        // Music on hold is sent even while muted (the microphone is not).
        let music = self.hold_music.is_active();
        if music && self.muted {
            mic.fill(0);
        }
        self.hold_music.apply(mic);
        self.tone.apply(speaker);
        self.beep.apply(speaker);
        self.audio.write(rate, speaker);
        self.played_level.feed(speaker);

        let ts = self.ts;
        self.ts = self.ts.wrapping_add(self.params.codec.frame_ticks());
        let can_send = sends(self.params.direction) && routable(self.params.remote);
        let event = match self.params.dtmf_payload_type {
            Some(pt) if can_send => self.dtmf_tx.tick().map(|e| (pt, e)),
            _ => None,
        };
        let audio_sent = event.is_none() && can_send && (!self.muted || music);
        if let Some((pt, ev)) = event {
            if ev.marker {
                self.event_ts = ts;
            }
            self.payload.clear();
            self.payload.extend_from_slice(&ev.payload.to_bytes());
            self.send_rtp(rtp, pt, ev.marker, self.event_ts).await;
            // Audio after an event starts a new talkspurt.
            self.marker_next = true;
        } else if audio_sent {
            self.payload.clear();
            self.encoder.encode(mic, &mut self.payload);
            let marker = std::mem::take(&mut self.marker_next);
            let pt = match self.params.red_payload_type {
                Some(red) => {
                    let at = (self.seq, ts, self.params.codec.frame_ticks());
                    self.red_tx
                        .wrap(self.params.payload_type, at, &mut self.payload);
                    red
                }
                None => self.params.payload_type,
            };
            self.send_rtp(rtp, pt, marker, ts).await;
        } else {
            self.marker_next = true;
        }
        self.sent_level.feed(if audio_sent { mic } else { &[] });
        if let Some(r) = &mut self.recording {
            // The left channel is the audio actually sent: silence while
            // muted, on hold, without a remote address or during an event.
            if !audio_sent {
                mic.fill(0);
            }
            r.write_at(rate, mic, received);
        }

        self.ticks = self.ticks.wrapping_add(1);
        if self.ticks.is_multiple_of(STATS_EVERY) {
            self.publish_stats();
        }
    }

    async fn send_rtp(&mut self, rtp: &UdpSocket, pt: u8, marker: bool, ts: u32) {
        let packet = Packet {
            header: Header {
                version: 2,
                marker,
                payload_type: pt,
                sequence_number: self.seq,
                timestamp: ts,
                ssrc: self.ssrc,
                ..Header::default()
            },
            payload: Bytes::copy_from_slice(&self.payload),
        };
        self.seq = self.seq.wrapping_add(1);
        let Ok(bytes) = packet.marshal() else {
            return;
        };
        let Some(bytes) = self.secure.protect_rtp(&bytes) else {
            return;
        };
        let to = self.rtp_latch.target(self.params.remote, self.symmetric);
        match rtp.send_to(&bytes, to).await {
            Ok(_) => {
                self.rtcp.packets_sent = self.rtcp.packets_sent.wrapping_add(1);
                self.rtcp.octets_sent = self
                    .rtcp
                    .octets_sent
                    .wrapping_add(self.payload.len() as u32);
                self.rtcp.sent_since_report = true;
            }
            Err(e) => tracing::debug!("RTP send to {to}: {e}"),
        }
    }

    /// Runs one datagram's handling; a panic in it (a parser or decoder
    /// meeting input nobody foresaw) costs that datagram and restarts the
    /// received stream, never the task: the call keeps its audio.
    pub(super) fn guarded(&mut self, what: &str, from: SocketAddr, f: impl FnOnce(&mut Self)) {
        if let Err(panic) = std::panic::catch_unwind(AssertUnwindSafe(|| f(self))) {
            tracing::warn!(
                "{what} datagram from {from} failed in the receive path ({}): dropped, stream restarted",
                super::panic_reason(panic.as_ref())
            );
            self.restart_stream();
        }
    }

    /// Starts the received stream's playout afresh: jitter buffer, DTMF
    /// receiver, packets held for a new SSRC. Its source, its SSRC and the
    /// counters `stats` reports stay (plain numbers, consistent whatever
    /// failed).
    fn restart_stream(&mut self) {
        self.jb = playout(&self.params);
        self.decoder = Decoder::new(self.decoder.codec());
        self.order.reset();
        self.dtmf_rx = DtmfReceiver::default();
        self.held.clear();
    }

    /// Whether a datagram from `from` is taken, by the stream's latch.
    fn from_peer(
        latch: &mut Latch,
        negotiated: SocketAddr,
        from: SocketAddr,
        symmetric: bool,
    ) -> bool {
        let verdict = source_verdict(*latch, negotiated, from, symmetric);
        if let inbound::SourceVerdict::Latch(addr) = verdict {
            tracing::debug!("media latched onto {addr} (SDP named {negotiated})");
        }
        latch.apply(verdict)
    }

    fn on_rtcp(&mut self, data: &[u8], from: SocketAddr) {
        if let Err(e) = inbound::rtcp(data) {
            // Checked here first so a malformed datagram cannot latch.
            tracing::trace!("RTCP from {from} dropped: {e}");
            return;
        }
        let negotiated = rtcp_negotiated(&self.params);
        if !Self::from_peer(&mut self.rtcp_latch, negotiated, from, self.symmetric) {
            tracing::trace!("RTCP from {from} dropped: not the peer's source");
            return;
        }
        if self.rtcp.on_datagram(self.ssrc, data) {
            tracing::debug!("peer sent RTCP BYE");
        }
        if let Some(fraction) = self.rtcp.peer_fraction_lost.take() {
            self.encoder.on_peer_loss(fraction);
        }
    }

    pub(super) fn on_rtp(&mut self, data: &[u8], from: SocketAddr) {
        let packet = match inbound::rtp(data) {
            Ok(p) => p,
            Err(e) => {
                tracing::trace!("RTP from {from} dropped: {e}");
                return;
            }
        };
        let (packet, redundant) = match red_recv::split(packet, self.params.red_payload_type) {
            Ok(split) => split,
            Err(e) => {
                tracing::trace!("RED from {from} dropped: {e}");
                return;
            }
        };
        let Some(codec) = self.payload_kind(packet.payload_type) else {
            return;
        };
        let negotiated = self.params.remote;
        if !Self::from_peer(&mut self.rtp_latch, negotiated, from, self.symmetric) {
            tracing::trace!("RTP from {from} dropped: not the peer's source");
            return;
        }
        match self.ssrc_lock.step(packet.ssrc, packet.sequence) {
            SsrcVerdict::Accept => {
                self.held.clear();
                self.take_redundant(&packet, &redundant);
                self.take(&packet, codec);
            }
            SsrcVerdict::Probation { restart } => {
                if restart {
                    self.held.clear();
                }
                self.held.push(data.to_vec());
            }
            SsrcVerdict::Switch => {
                tracing::debug!("remote SSRC changed to {:#010x}", packet.ssrc);
                self.rx.reset();
                self.dtmf_rx = DtmfReceiver::default();
                for held in std::mem::take(&mut self.held) {
                    let red = self.params.red_payload_type;
                    let Some((p, blocks)) = inbound::rtp(&held)
                        .ok()
                        .and_then(|p| red_recv::split(p, red).ok())
                    else {
                        continue;
                    };
                    if let Some(c) = self.payload_kind(p.payload_type) {
                        self.take_redundant(&p, &blocks);
                        self.take(&p, c);
                    }
                }
                self.take_redundant(&packet, &redundant);
                self.take(&packet, codec);
            }
        }
    }

    /// What a payload type carries for us: `Some(Some(codec))` audio,
    /// `Some(None)` a telephone-event or comfort noise, `None` nothing we
    /// take. The negotiated codec, or the other static G.711 (a peer may
    /// switch between the codecs of its answer without a re-INVITE).
    fn payload_kind(&self, pt: u8) -> Option<Option<Codec>> {
        if pt == self.params.payload_type {
            Some(Some(self.params.codec))
        } else if self.params.dtmf_payload_type == Some(pt) || pt == PT_CN {
            Some(None)
        } else {
            [Codec::Pcmu, Codec::Pcma]
                .into_iter()
                .find(|c| c.payload_type() == pt)
                .map(Some)
        }
    }

    /// Takes a packet of the played stream: statistics, then the DTMF
    /// receiver, and the jitter buffer: directly for G.711, through the
    /// reorder stage for a codec with state (decoded in sequence order).
    fn take(&mut self, packet: &RtpView<'_>, codec: Option<Codec>) {
        let now = Instant::now();
        let clock = f64::from(self.params.codec.clock_rate());
        let arrival = (now.duration_since(self.epoch).as_secs_f64() * clock) as u64 as u32;
        self.rx
            .on_packet(packet.sequence, packet.timestamp, arrival);
        let is_event = self.params.dtmf_payload_type == Some(packet.payload_type);
        let audio = if is_event {
            for digit in self.dtmf_rx.on_packet(packet.timestamp, packet.payload) {
                let _ = self.events.send(MediaEvent::Dtmf(digit));
            }
            None
        } else if let Some(codec) = codec.filter(|_| receives(self.params.direction)) {
            // Not at the rate the call plays at (a codec of the offer the
            // peer did not answer with): nothing to play.
            (codec.sample_rate() == self.params.codec.sample_rate()).then_some(codec)
        } else {
            None
        };
        if let Some(codec) = audio.filter(|&c| c != self.decoder.codec()) {
            self.decoder = Decoder::new(codec);
            self.order.reset();
        }
        if stateful(self.decoder.codec()) {
            if audio == Some(Codec::Opus) && crate::media::opus::fec_in(packet.payload) {
                // It carries the frame before it as FEC: when that one's
                // turn has passed (concealed without it), the delay is too
                // short for FEC to help, as for a late RED copy.
                let previous = packet.sequence.wrapping_sub(1);
                self.jb.copy_missed_turn(packet.ssrc, previous);
            }
            let held = Held {
                payload: audio.map_or_else(Vec::new, |_| packet.payload.to_vec()),
                audio: audio.is_some(),
            };
            if self.order.push(packet.ssrc, packet.sequence, held) == Taken::Late {
                // Its place was given up: the playout concealed it, and
                // must hear that it came late, as for a stateless codec.
                self.jb.arrived_late(packet.ssrc, packet.sequence);
            }
            // Only what follows in order: a gap is given up at the tick
            // that plays it, as the packet may still come before then.
            self.decode_in_order(false);
            return;
        }
        let mut samples = Vec::new();
        if let Some(codec) = audio {
            samples.reserve(codec.frame_samples());
            self.decoder.decode(packet.payload, &mut samples);
        }
        self.jb.push(packet.ssrc, packet.sequence, samples);
    }

    /// Decodes what waits in the reorder stage, in sequence order, into
    /// the jitter buffer. A packet still missing when its playout turn
    /// comes is filled for the decoder's sake: from the in-band FEC of the
    /// packet after it when that is here (Opus), else by the decoder's own
    /// concealment for up to [`MAX_DECODER_GAP`] in a row; G.722 (and
    /// longer gaps) are left to the playout's concealer, the decoder only
    /// keeping its state in step over them. A fill whose
    /// turn has already passed only keeps the decoder in step (the
    /// playout has concealed it). Gaps are given up only when `at_tick`
    /// (just before the playout takes its frame): between ticks a missing
    /// packet may still arrive in time.
    fn decode_in_order(&mut self, at_tick: bool) {
        let Some(ssrc) = self.order.ssrc() else {
            return;
        };
        // A gap is filled only at its turn, for every codec: a packet
        // that comes in the tick before it still gets its place (and one
        // that misses it reaches `arrived_late`, which grows the delay).
        let hold = (self.jb.target_ms() / 20) as usize;
        while let Some(out) = if at_tick {
            self.order.pop(self.jb.next_to_play(), hold)
        } else {
            self.order.pop_in_order()
        } {
            let mut frame = Vec::with_capacity(self.decoder.codec().frame_samples());
            match out {
                Out::Packet(seq, held) => {
                    if held.audio {
                        self.decoder.decode(&held.payload, &mut frame);
                    }
                    self.jb.push(ssrc, seq, frame);
                }
                Out::Gap { seq, next, run } => {
                    let fec = next.is_some_and(|n| self.decoder.recover(&n, &mut frame));
                    if !fec && (run > MAX_DECODER_GAP || !self.decoder.conceal(&mut frame)) {
                        // The playout conceals it; the decoder's state
                        // still moves on over it (G.722).
                        self.decoder.skip_frame();
                        continue;
                    }
                    let passed = self
                        .jb
                        .next_to_play()
                        .is_some_and(|t| t.wrapping_sub(seq) as i16 > 0);
                    if passed {
                        // Kept the decoder in step; the playout concealed it.
                        continue;
                    }
                    if self.jb.push_filled(ssrc, seq, frame) == super::jitter::Pushed::Accepted {
                        if fec {
                            self.fec_recovered += 1;
                        } else {
                            self.decoder_concealed += 1;
                        }
                    }
                }
            }
        }
    }

    async fn send_report(&mut self, rtcp: &UdpSocket, bye: bool) {
        if !routable(self.params.remote) {
            self.publish_stats();
            return;
        }
        let rx = Reception {
            ssrc: self.ssrc_lock.current(),
            stats: &mut self.rx,
        };
        let Some(report) = self.rtcp.report(self.ssrc, self.ts, rx, bye) else {
            return;
        };
        let Some(bytes) = self.secure.protect_rtcp(&report) else {
            return;
        };
        let to = self
            .rtcp_latch
            .target(rtcp_negotiated(&self.params), self.symmetric);
        if let Err(e) = rtcp.send_to(&bytes, to).await {
            tracing::debug!("RTCP send to {to}: {e}");
        }
        self.publish_stats();
    }

    pub(super) fn publish_stats(&self) {
        let received = self.rx.received();
        let lost = self.rx.cumulative_lost();
        let rtt_ms = self.rtcp.rtt_ms;
        let mos = (received > 0).then(|| {
            let loss = lost as f64 / (received + lost) as f64;
            let m = mos(loss, rtt_ms, f64::from(self.jb.target_ms()));
            (m * 100.0).round() / 100.0
        });
        self.stats_tx.send_replace(MediaStats {
            rx_packets: received,
            lost,
            jitter_ms: (self.rx.jitter_ms(self.params.codec.clock_rate()) * 100.0).round() / 100.0,
            rtt_ms: rtt_ms.map(|r| (r * 10.0).round() / 10.0),
            mos,
            srtp_dropped: self.secure.dropped,
            fec_recovered: self.fec_recovered,
            red_recovered: self.red_recovered,
            concealed_frames: self.jb.stats().concealed_frames + self.decoder_concealed,
            playout_ms: self.jb.playout_ms(),
            mic_level: Some(self.sent_level.dbfs()),
            speaker_level: Some(self.played_level.dbfs()),
        });
    }
}

/// Where the peer's SDP says its RTCP is: `a=rtcp`, else RTP port + 1.
pub(super) fn rtcp_negotiated(params: &RtpParams) -> SocketAddr {
    params.rtcp.unwrap_or_else(|| rtcp_of(params.remote))
}

/// A remote address we may send to: not yet known (`0.0.0.0:0`, the
/// unspecified address or port 0, e.g. before the answer) means no RTP or
/// RTCP goes out at all.
fn routable(addr: SocketAddr) -> bool {
    !addr.ip().is_unspecified() && addr.port() != 0
}

/// A fresh playout for the call's codec and loss recovery.
fn playout(params: &RtpParams) -> JitterBuffer {
    let mut jb = JitterBuffer::with_rate(params.codec.sample_rate());
    jb.set_recovery_frames(recovery_frames(params));
    jb
}

/// How many frames after its own a lost packet's copy arrives: one with
/// RFC 2198 redundancy (each packet carries the frame before it), else
/// none.
fn recovery_frames(params: &RtpParams) -> usize {
    usize::from(params.red_payload_type.is_some())
}

/// Whether a codec's decoder has state (its packets are decoded in
/// sequence order, see `decode_order.rs`).
fn stateful(codec: Codec) -> bool {
    matches!(codec, Codec::G722 | Codec::Opus)
}

fn sends(d: Direction) -> bool {
    matches!(d, Direction::SendRecv | Direction::SendOnly)
}

fn receives(d: Direction) -> bool {
    matches!(d, Direction::SendRecv | Direction::RecvOnly)
}
