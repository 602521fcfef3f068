//! The RTP stream both sides of the SDP/media boundary speak of: the codecs
//! we negotiate ([`Codec`]: payload type, SDP encoding name, clock rate), the
//! media [`Direction`], the negotiated [`RtpParams`] (where to send, with
//! which codec and payload types, in which direction) and the SRTP keys of
//! SDES ([`SrtpKeys`], `srtp_keys.rs`).
//!
//! `sip::sdp` produces these from an offer/answer and `media` runs a session
//! on them; neither may depend on the other (`sip` knows no media, `media`
//! knows no SIP), so the types live here, below both. They are the same
//! facts at both levels, so a copy in `sdp` mapped by `phone` would only add
//! a conversion. A leaf: plain data and its small lookups, no IO, nothing
//! else of the crate; `media` re-exports them for its users.

mod srtp_keys;

pub use srtp_keys::{CryptoSuite, KeySalt, SrtpKeys, KEY_LEN, SALT_LEN};
use std::net::SocketAddr;

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
    /// RTP clock rate: the rate of its RTP timestamps and the rate its
    /// `a=rtpmap` names.
    pub fn clock_rate(self) -> u32 {
        8000
    }
    /// The rate of the audio it carries, at which a call's audio path
    /// runs (jitter buffer, concealment, tones, recording, file backend).
    /// The same as the clock rate for G.711.
    pub fn sample_rate(self) -> u32 {
        8000
    }
    /// RTP timestamp units per 20 ms frame.
    pub fn frame_ticks(self) -> u32 {
        self.clock_rate() / 50
    }
    /// Audio samples per 20 ms frame.
    pub fn frame_samples(self) -> usize {
        (self.sample_rate() / 50) as usize
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
    /// Remote RTP address.
    pub remote: SocketAddr,
    /// Remote RTCP address when the peer names one (RFC 3605 `a=rtcp`);
    /// `None`: RTCP goes to the RTP address's port + 1.
    pub rtcp: Option<SocketAddr>,
    pub codec: Codec,
    /// Payload type to use for `codec` (normally its static one).
    pub payload_type: u8,
    /// RFC 4733 telephone-event payload type, when the peer takes it.
    pub dtmf_payload_type: Option<u8>,
    pub direction: Direction,
}
