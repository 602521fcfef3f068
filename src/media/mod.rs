//! Media: RTP/RTCP sessions, the jitter buffer with loss concealment, G.711
//! codecs, audio backends (cpal, null, WAV file) behind one trait, and the
//! in-process echo reflector. Knows nothing about SIP: it is told where to
//! send, which codec and which direction, in the types of
//! [`crate::rtp_types`] (re-exported here), and which audio backend, in the
//! `[audio]` settings of [`crate::config`].
//!
//! - [`g711`]: PCMU/PCMA sample codecs, [`g722`]: G.722, [`opus`]: Opus; [`codec`]: the encoder and decoder
//!   a session runs, whatever its codec; [`opus_adapt`]: Opus FEC and
//!   bitrate from the loss the peer's RTCP reports.
//! - [`jitter`] + [`plc`]: playout buffer and G.711 Appendix I style
//!   concealment.
//! - [`ringer`]: a ring with no call (the callback-when-free recall).
//! - [`rtcp_stats`]: RFC 3550 loss/jitter/RTT bookkeeping and the MOS
//!   estimate; `session/rtcp_io.rs` builds and reads the RTCP packets.
//! - [`dtmf`]: RFC 4733 telephone-event sender and receiver.
//! - [`inbound`]: what a session takes from the network, decided before it
//!   is read: RTP/RTCP validated against the datagram's length, then
//!   parsed; the source latch (SDP address, or symmetric RTP) and the SSRC
//!   probation, as pure functions.
//! - [`audio`]: the [`audio::AudioBackend`] trait and its null, file and
//!   cpal backends, resampler and WAV helpers.
//! - `session.rs`: the per-call task behind [`MediaSession`] (20 ms clock,
//!   `MissedTickBehavior::Burst`, see there; `session/recording.rs`: the
//!   stereo call recording behind [`MediaSession::set_recording`]);
//!   `echo.rs`: [`EchoReflector`];
//!   `sockets.rs`: the even/odd port pair behind [`RtpSockets`].
//! - `tone.rs` (unit tests only): sine generator and Goertzel detector.
//! - [`conference`]: a local conference mixed here ([`Conference`]),
//!   mix-minus, split, levels; member sessions exchange frames with it.
//! - [`stun`]: where a NAT maps an RTP socket (RFC 5389 Binding), asked
//!   through [`RtpSockets::stun_mapped`] before a session takes the socket.
//! - [`tones`]: call-progress tones ([`Tone`]), the call-waiting beep and
//!   music on hold, from the European (ETSI, 425 Hz) tone plan table.
//!
//! A [`MediaSession`] whose handle is dropped without [`MediaSession::stop`]
//! still ends cleanly (BYE sent, recording finalised) in the background.
//! A session task that panics is reported as [`MediaEvent::Failed`].

pub mod audio;
pub mod codec;
pub mod conference;
pub mod dtmf;
mod echo;
pub mod g711;
pub mod g722;
pub mod inbound;
pub mod jitter;
pub mod level;
pub mod opus;
pub mod opus_adapt;
pub mod plc;
pub mod red;
pub mod ringer;
pub mod rtcp_stats;
mod session;
mod sockets;
pub mod srtp;
pub mod stun;
pub mod timescale;
#[cfg(test)]
mod tone;
pub mod tones;

pub use crate::config::{AudioConfig, BackendKind};
pub use crate::rtp_types::{Codec, Direction, RtpParams, SrtpKeys};
pub use conference::{Conference, MemberId};
pub use tones::Tone;

use audio::{AudioBackend, Sink, Source};
use serde::Serialize;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::UdpSocket;
use tokio::sync::{mpsc, oneshot, watch};

/// Errors of the media layer.
#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    #[error("network error: {0}")]
    Io(#[from] std::io::Error),
    #[error("audio: {0}")]
    Audio(String),
}

pub type Result<T, E = MediaError> = std::result::Result<T, E>;

/// Per-call media statistics (docs/control.md `stats`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, serde::Deserialize)]
pub struct MediaStats {
    pub rx_packets: u64,
    pub lost: u64,
    pub jitter_ms: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rtt_ms: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mos: Option<f64>,
    /// SRTP/SRTCP packets dropped for failing authentication (left out
    /// while none were).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub srtp_dropped: u64,
    /// Lost Opus frames recovered from the in-band FEC of the packet after
    /// them (left out while none were).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub fec_recovered: u64,
    /// Lost packets filled from an RFC 2198 redundant block of a later
    /// packet (left out while none were).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub red_recovered: u64,
    /// 20 ms frames the playout filled by concealment (a missing packet,
    /// an underrun, a frame of added delay; left out while none were).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub concealed_frames: u64,
    /// How long received audio waits before it is played, in ms: the
    /// playout's depth (packets buffered or held for reordering, and
    /// samples ready) when the statistics were taken; left out while
    /// nothing is played.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub playout_ms: Option<u32>,
    /// The level of the audio sent (the microphone, or what replaces it)
    /// in dBFS, smoothed ([`level::LevelMeter`]); left out before the
    /// media run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mic_level: Option<f64>,
    /// The level of the audio played on the call's speaker in dBFS,
    /// smoothed like `mic_level`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub speaker_level: Option<f64>,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// Things the media layer reports up.
#[derive(Debug, Clone, PartialEq)]
pub enum MediaEvent {
    /// An RFC 4733 digit was received (once per event, at its end).
    Dtmf(char),
    /// The session's task failed (it panicked) and no longer sends or
    /// receives; the reason as the panic gave it. Sent once, never after
    /// [`MediaSession::stop`].
    Failed(String),
}

/// A bound RTP socket and its RTCP neighbour (even port, port + 1), and
/// whether the session on them uses symmetric RTP.
#[derive(Debug)]
pub struct RtpSockets {
    rtp: UdpSocket,
    rtcp: UdpSocket,
    symmetric: bool,
}

impl RtpSockets {
    /// Binds an even RTP port and the RTCP port above it on `ip`, with
    /// symmetric RTP on.
    pub async fn bind(ip: IpAddr) -> Result<RtpSockets> {
        let (rtp, rtcp) = sockets::bind_pair(ip).await?;
        Ok(RtpSockets {
            rtp,
            rtcp,
            symmetric: true,
        })
    }
    /// Symmetric RTP (RFC 4961) on or off for the session on these ports
    /// (`[phone] symmetric_rtp`). Off: RTP and RTCP are taken only from the
    /// addresses the peer's SDP names (RTCP: `a=rtcp`, else port + 1) and
    /// sent there. On: each is latched onto the source of the first valid
    /// packet, taken only from it from then on, and sent to it, so a peer
    /// behind a NAT gets our audio where its own comes from; a packet from
    /// the SDP's own address moves a latch that went elsewhere back to it.
    /// A new SDP address opens the latch again.
    pub fn symmetric(self, on: bool) -> RtpSockets {
        RtpSockets {
            symmetric: on,
            ..self
        }
    }
    pub fn rtp_addr(&self) -> SocketAddr {
        self.rtp
            .local_addr()
            .unwrap_or_else(|_| SocketAddr::new(IpAddr::from([0, 0, 0, 0]), 0))
    }
    /// The RTCP socket's address (RTP port + 1).
    pub fn rtcp_addr(&self) -> SocketAddr {
        sockets::rtcp_of(self.rtp_addr())
    }
    /// Where a NAT maps the RTP socket, asked of the STUN server `server`
    /// ([`stun::mapped_address`]); `None` when it does not answer.
    pub async fn stun_mapped(&self, server: SocketAddr) -> Option<SocketAddr> {
        stun::mapped_address(&self.rtp, server).await
    }
}

/// The phone's audio: one per process, opened from config. Probes cpal and
/// falls back to null with one warning when no device works.
#[derive(Clone, Debug)]
pub struct AudioSystem {
    backend: Arc<dyn AudioBackend>,
}

impl AudioSystem {
    pub fn open(config: &AudioConfig) -> Result<AudioSystem> {
        Ok(AudioSystem {
            backend: audio::open_backend(config)?,
        })
    }
    /// Which backend is in use after probing (e.g. cpal fell back to null).
    pub fn backend(&self) -> BackendKind {
        self.backend.kind()
    }
    /// A call's microphone and speaker (what [`MediaSession::start`] uses;
    /// also for local mixing such as conferences).
    pub fn open_call(&self, call_id: &str) -> Result<(Box<dyn Source>, Box<dyn Sink>)> {
        self.backend.open_call(call_id)
    }
    /// Uses device `id` (or the default) for `role` (`device`): the id
    /// chosen; an error when it is not there or the backend has none.
    pub fn set_device(
        &self,
        role: audio::devices::DeviceRole,
        id: Option<&str>,
    ) -> Result<Option<String>> {
        self.backend.set_device(role, id)
    }
    /// Changes a call's microphone / speaker gain (`gain`): the levels
    /// in dB after the change.
    pub fn set_gain(
        &self,
        call_id: &str,
        mic: Option<audio::gain::GainChange>,
        speaker: Option<audio::gain::GainChange>,
    ) -> Result<(i32, i32)> {
        self.backend.set_gain(call_id, mic, speaker)
    }
    /// Each sound device that disappears and what took its place
    /// (`device_fallback`); `None` without a sound card.
    pub fn device_fallbacks(
        &self,
    ) -> Option<tokio::sync::broadcast::Receiver<audio::devices::Fallback>> {
        self.backend.device_fallbacks()
    }
    /// The configured sound devices missing when the phone started and
    /// what took their place (`device_fallback`, replayed to each
    /// `events` subscriber); empty without a sound card.
    pub fn startup_fallbacks(&self) -> Vec<audio::devices::Fallback> {
        self.backend.startup_fallbacks()
    }
    /// The speaker of a ring with no call (`[audio] ring_device`).
    pub fn open_ring(&self, name: &str) -> Result<Box<dyn Sink>> {
        self.backend.open_ring(name)
    }
}

/// Handle to one call's running media task.
#[derive(Debug)]
pub struct MediaSession {
    commands: mpsc::UnboundedSender<session::Command>,
    stats: watch::Receiver<MediaStats>,
    task: tokio::task::JoinHandle<()>,
}

impl MediaSession {
    /// Starts sending and receiving on `sockets` with `params`, audio to and
    /// from `audio` for the call named `call_id` (file backend: its WAV name).
    /// Must be called inside a tokio runtime.
    ///
    /// The session may start before the remote address is known (an
    /// outgoing call before any SDP answer): with `remote` `0.0.0.0:0` (any
    /// unspecified address or port 0) no RTP or RTCP is sent whatever the
    /// direction; use [`Direction::Inactive`] to ignore received audio too.
    /// The speaker runs from the start, so [`MediaSession::set_tone`] plays
    /// ringback at once; [`MediaSession::update`] with the answer's address
    /// and direction then starts real sending and receiving.
    pub fn start(
        sockets: RtpSockets,
        params: RtpParams,
        audio: &AudioSystem,
        call_id: &str,
        events: mpsc::UnboundedSender<MediaEvent>,
    ) -> Result<MediaSession> {
        Self::start_with(sockets, params, audio, call_id, events, RTCP_INTERVAL)
    }

    /// [`MediaSession::start`] with a chosen RTCP report interval (the first
    /// report goes out after half of it).
    pub fn start_with(
        sockets: RtpSockets,
        params: RtpParams,
        audio: &AudioSystem,
        call_id: &str,
        events: mpsc::UnboundedSender<MediaEvent>,
        rtcp_interval: Duration,
    ) -> Result<MediaSession> {
        Self::start_secure_with(sockets, params, None, audio, call_id, events, rtcp_interval)
    }

    /// [`MediaSession::start`] with the SRTP keys the SDP negotiated
    /// (`None`: plain RTP): protected from the first packet on.
    pub fn start_secure(
        sockets: RtpSockets,
        params: RtpParams,
        srtp: Option<SrtpKeys>,
        audio: &AudioSystem,
        call_id: &str,
        events: mpsc::UnboundedSender<MediaEvent>,
    ) -> Result<MediaSession> {
        Self::start_secure_with(sockets, params, srtp, audio, call_id, events, RTCP_INTERVAL)
    }

    /// [`MediaSession::start_secure`] with a chosen RTCP report interval.
    pub fn start_secure_with(
        sockets: RtpSockets,
        params: RtpParams,
        srtp: Option<SrtpKeys>,
        audio: &AudioSystem,
        call_id: &str,
        events: mpsc::UnboundedSender<MediaEvent>,
        rtcp_interval: Duration,
    ) -> Result<MediaSession> {
        let runtime = tokio::runtime::Handle::try_current()
            .map_err(|e| MediaError::Io(std::io::Error::other(e)))?;
        let (source, sink) = audio.open_call(call_id)?;
        let (stats_tx, stats) = watch::channel(MediaStats::default());
        let (commands, rx) = mpsc::unbounded_channel();
        let session =
            session::Session::new(params, source, sink, events.clone(), stats_tx).with_srtp(srtp);
        let options = session::Options {
            rtcp_interval: rtcp_interval.max(Duration::from_millis(100)),
            symmetric: sockets.symmetric,
        };
        let inner = runtime.spawn(session.run(sockets.rtp, sockets.rtcp, rx, options));
        let task = runtime.spawn(supervise(inner, events));
        Ok(MediaSession {
            commands,
            stats,
            task,
        })
    }
    /// New remote address / codec / direction (re-INVITE).
    pub fn update(&self, params: RtpParams) {
        let _ = self.commands.send(session::Command::Update(params));
    }
    /// New parameters with the SRTP keys of the same offer/answer
    /// (`None`: plain RTP), taken at once: no packet goes out between them.
    pub fn update_secure(&self, params: RtpParams, srtp: Option<SrtpKeys>) {
        let _ = self.commands.send(session::Command::Secure(params, srtp));
    }
    /// Mute: stop sending audio (keeps receiving).
    pub fn set_mute(&self, on: bool) {
        let _ = self.commands.send(session::Command::Mute(on));
    }
    /// Sends RFC 4733 digits (0-9, *, #, A-D; others are skipped), one after
    /// the other. Needs `dtmf_payload_type` in the params.
    pub fn send_dtmf(&self, digits: &str) {
        let _ = self
            .commands
            .send(session::Command::Dtmf(digits.to_owned()));
    }
    /// Plays a call-progress tone ([`Tone`], ETSI cadence, see
    /// [`tones`]) in this call's speaker instead of the received audio;
    /// `None` returns to the received audio. The cadence starts when the
    /// tone is set (setting the tone already playing keeps its cadence);
    /// both switches crossfade over 5 ms. RTP keeps running as configured
    /// (the jitter buffer is still drained). Typical use: `Ringback` on 180
    /// without SDP, `None` when 183/200 brings early media or the call is
    /// answered, `Busy` (486/600) or `Congestion` (other failures) before
    /// hanging up.
    pub fn set_tone(&self, tone: Option<Tone>) {
        let _ = self.commands.send(session::Command::Tone(tone));
    }
    /// Call-waiting beep: while on, a 425 Hz beep of 200 ms, repeated every
    /// 3 s (first one at once), is mixed over this call's speaker audio.
    /// Only we hear it, nothing is sent.
    pub fn set_waiting_beep(&self, on: bool) {
        let _ = self.commands.send(session::Command::WaitingBeep(on));
    }
    /// Music on hold: while on, the peer is sent a soft generated melody
    /// ([`tones::HOLD_MELODY`]) instead of our microphone (when the
    /// direction lets us send, e.g. our hold with `a=sendonly`). It is sent
    /// even while muted; mute still silences the microphone afterwards.
    pub fn set_hold_music(&self, on: bool) {
        let _ = self.commands.send(session::Command::HoldMusic(on));
    }
    /// Joins `conference` (see [`Conference::join`]: a session already in
    /// a conference moves) or, with `None`, leaves any conference and goes
    /// back to this call's own microphone and speaker on the next tick.
    pub fn set_conference(&self, conference: Option<&Conference>) -> Option<MemberId> {
        match conference {
            Some(c) => Some(c.join(self)),
            None => {
                self.attach(None);
                None
            }
        }
    }
    /// Hands the task its conference port (dropping any previous one).
    fn attach(&self, port: Option<conference::MemberPort>) {
        let _ = self.commands.send(session::Command::Conference(port));
    }
    /// Call recording (docs/control.md `record`). `Some(path)`: from the next
    /// 20 ms tick, records the call to a WAV at `path` (parent directories
    /// created; 8 kHz, 16-bit, stereo). The left channel is what we send,
    /// exactly as sent: our microphone, the conference mix in a conference,
    /// music on hold, silence whenever no audio goes out (muted, held,
    /// during a DTMF event). The right channel is what we receive from the
    /// peer after the jitter buffer and concealment, before local sounds
    /// (call-progress tones, the call-waiting beep). The file is written
    /// as the call goes (its header kept up to date every 200 ms, so a
    /// crash leaves a playable file) and finalised by `None`, by another
    /// `Some` (which switches files) or when the session stops.
    ///
    /// The file is created here, synchronously: an error (e.g. a parent
    /// that is a file, no permission) is returned at once and any running
    /// recording carries on. `None` always succeeds.
    pub fn set_recording(&self, path: Option<PathBuf>) -> Result<()> {
        let rec = match path {
            Some(p) => Some(session::recording::Recording::create(&p)?),
            None => None,
        };
        let _ = self.commands.send(session::Command::Record(rec));
        Ok(())
    }
    /// Where a NAT maps the running session's RTP socket now, asked of
    /// the STUN server `server` on that socket (three tries, as
    /// [`RtpSockets::stun_mapped`]); `None` when it does not answer or the
    /// session is gone. The answer never reaches the RTP receive path.
    pub async fn stun_mapped(&self, server: SocketAddr) -> Option<SocketAddr> {
        let (tx, rx) = oneshot::channel();
        self.commands
            .send(session::Command::Stun(server, tx))
            .ok()?;
        rx.await.ok().flatten()
    }
    pub fn stats(&self) -> MediaStats {
        self.stats.borrow().clone()
    }
    /// Stops the task and finishes the call's recording (WAV header written).
    /// Sends RTCP BYE.
    pub async fn stop(self) {
        let (tx, rx) = oneshot::channel();
        if self.commands.send(session::Command::Stop(tx)).is_ok() {
            let _ = rx.await;
        }
        let _ = self.task.await;
    }
}

/// Waits for a session's task; when it panicked (anything that escaped
/// the per-datagram guard: the clock tick, audio, a command), logs the
/// reason and reports [`MediaEvent::Failed`] so the call does not go on
/// silently without media.
async fn supervise(task: tokio::task::JoinHandle<()>, events: mpsc::UnboundedSender<MediaEvent>) {
    match task.await {
        Ok(()) => {}
        Err(e) if e.is_panic() => {
            let reason = panic_reason(e.into_panic().as_ref());
            tracing::error!("media session failed: {reason}");
            let _ = events.send(MediaEvent::Failed(reason));
        }
        Err(e) => {
            tracing::error!("media session cancelled: {e}");
            let _ = events.send(MediaEvent::Failed("media task cancelled".into()));
        }
    }
}

/// The message a panic carried (`panic!` with a literal or a format).
fn panic_reason(panic: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = panic.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = panic.downcast_ref::<String>() {
        s.clone()
    } else {
        "panic without a message".to_string()
    }
}

/// Nominal RTCP report interval.
pub const RTCP_INTERVAL: Duration = session::RTCP_INTERVAL;

/// The in-process far end of the built-in `echo` target: answers RTP by
/// sending every packet back to where it came from.
#[derive(Debug)]
pub struct EchoReflector {
    inner: echo::Reflector,
}

impl EchoReflector {
    pub async fn start(ip: IpAddr) -> Result<EchoReflector> {
        Ok(EchoReflector {
            inner: echo::Reflector::start(ip).await?,
        })
    }
    pub fn rtp_addr(&self) -> SocketAddr {
        self.inner.rtp_addr()
    }
}

#[cfg(test)]
mod tests;
