//! Media: RTP/RTCP sessions, the jitter buffer with loss concealment, G.711
//! codecs, audio backends (cpal, null, WAV file) behind one trait, and the
//! in-process echo reflector. Knows nothing about SIP: it is told where to
//! send, which codec and which direction.

use serde::Serialize;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use tokio::sync::mpsc;

/// Errors of the media layer.
#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    #[error("network error: {0}")]
    Io(#[from] std::io::Error),
    #[error("audio: {0}")]
    Audio(String),
}

pub type Result<T, E = MediaError> = std::result::Result<T, E>;

/// Which audio backend to use (CONTROL.md `[audio] backend`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum BackendKind {
    #[default]
    Cpal,
    Null,
    File,
}

/// Audio settings (CONTROL.md `[audio]`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AudioConfig {
    pub backend: BackendKind,
    /// file backend: WAV played as the microphone, looped.
    pub input: Option<PathBuf>,
    /// file backend: each call's playout as `<call-id>.wav` here.
    pub output_dir: Option<PathBuf>,
}

/// Audio codecs we negotiate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Codec {
    Pcmu,
    Pcma,
}

impl Codec {
    /// Static RTP payload type.
    pub fn payload_type(self) -> u8 {
        match self {
            Codec::Pcmu => 0,
            Codec::Pcma => 8,
        }
    }
    /// SDP encoding name.
    pub fn name(self) -> &'static str {
        match self {
            Codec::Pcmu => "PCMU",
            Codec::Pcma => "PCMA",
        }
    }
    pub fn clock_rate(self) -> u32 {
        8000
    }
    /// By SDP encoding name (case-insensitive) and clock rate.
    pub fn from_name(name: &str, rate: u32) -> Option<Codec> {
        match (name.to_ascii_uppercase().as_str(), rate) {
            ("PCMU", 8000) => Some(Codec::Pcmu),
            ("PCMA", 8000) => Some(Codec::Pcma),
            _ => None,
        }
    }
}

/// Media direction (SDP a=sendrecv etc.), from our side's point of view.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Direction {
    #[default]
    SendRecv,
    SendOnly,
    RecvOnly,
    Inactive,
}

/// Where and how to send: the outcome of SDP offer/answer.
#[derive(Debug, Clone, PartialEq)]
pub struct RtpParams {
    /// Remote RTP address (RTCP goes to port + 1).
    pub remote: SocketAddr,
    pub codec: Codec,
    /// Payload type to use for `codec` (normally its static one).
    pub payload_type: u8,
    /// RFC 4733 telephone-event payload type, when the peer takes it.
    pub dtmf_payload_type: Option<u8>,
    pub direction: Direction,
}

/// Per-call media statistics (CONTROL.md `stats`).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct MediaStats {
    pub rx_packets: u64,
    pub lost: u64,
    pub jitter_ms: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rtt_ms: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mos: Option<f64>,
}

/// Things the media layer reports up.
#[derive(Debug, Clone, PartialEq)]
pub enum MediaEvent {
    /// An RFC 4733 digit was received (once per event, at its end).
    Dtmf(char),
}

/// A bound RTP socket and its RTCP neighbour (even port, port + 1).
#[derive(Debug)]
pub struct RtpSockets {}

impl RtpSockets {
    /// Binds an even RTP port and the RTCP port above it on `ip`.
    pub async fn bind(ip: IpAddr) -> Result<RtpSockets> {
        let _ = ip;
        todo!()
    }
    pub fn rtp_addr(&self) -> SocketAddr {
        todo!()
    }
}

/// The phone's audio: one per process, opened from config. Probes cpal and
/// falls back to null with one warning when no device works.
#[derive(Clone, Debug)]
pub struct AudioSystem {}

impl AudioSystem {
    pub fn open(config: &AudioConfig) -> Result<AudioSystem> {
        let _ = config;
        todo!()
    }
    /// Which backend is in use after probing (e.g. cpal fell back to null).
    pub fn backend(&self) -> BackendKind {
        todo!()
    }
}

/// Handle to one call's running media task.
#[derive(Debug)]
pub struct MediaSession {}

impl MediaSession {
    /// Starts sending and receiving on `sockets` with `params`, audio to and
    /// from `audio` for the call named `call_id` (file backend: its WAV name).
    pub fn start(
        sockets: RtpSockets,
        params: RtpParams,
        audio: &AudioSystem,
        call_id: &str,
        events: mpsc::UnboundedSender<MediaEvent>,
    ) -> Result<MediaSession> {
        let _ = (sockets, params, audio, call_id, events);
        todo!()
    }
    /// New remote address / codec / direction (re-INVITE).
    pub fn update(&self, params: RtpParams) {
        let _ = params;
        todo!()
    }
    /// Mute: stop sending audio (keeps receiving).
    pub fn set_mute(&self, on: bool) {
        let _ = on;
        todo!()
    }
    /// Sends RFC 4733 digits.
    pub fn send_dtmf(&self, digits: &str) {
        let _ = digits;
        todo!()
    }
    pub fn stats(&self) -> MediaStats {
        todo!()
    }
    /// Stops the task and finishes the call's recording (WAV header written).
    pub async fn stop(self) {
        todo!()
    }
}

/// The in-process far end of the built-in `echo` target: answers RTP by
/// sending every packet back to where it came from.
#[derive(Debug)]
pub struct EchoReflector {}

impl EchoReflector {
    pub async fn start(ip: IpAddr) -> Result<EchoReflector> {
        let _ = ip;
        todo!()
    }
    pub fn rtp_addr(&self) -> SocketAddr {
        todo!()
    }
}
