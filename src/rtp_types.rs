//! The RTP stream both sides of the SDP/media boundary speak of: the codecs
//! we negotiate ([`Codec`]: payload type, SDP encoding name, clock rate), the
//! media [`Direction`], the negotiated [`RtpParams`] (where to send, with
//! which codec and payload types, in which direction), the SRTP keys of
//! SDES ([`SrtpKeys`], `srtp_keys.rs`) and the peer's Opus receive
//! parameters ([`OpusPeerParams`], `opus_peer.rs`).
//!
//! `sip::sdp` produces these from an offer/answer and `media` runs a session
//! on them; neither may depend on the other (`sip` knows no media, `media`
//! knows no SIP), so the types live here, below both. They are the same
//! facts at both levels, so a copy in `sdp` mapped by `phone` would only add
//! a conversion. A leaf: plain data and its small lookups, no IO, nothing
//! else of the crate; `media` re-exports them for its users.

mod opus_peer;
mod srtp_keys;

pub use opus_peer::OpusPeerParams;
pub use srtp_keys::{CryptoSuite, KeySalt, SrtpKeys, KEY_LEN, SALT_LEN};
use std::net::SocketAddr;

/// Audio codecs we negotiate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Codec {
    Pcmu,
    Pcma,
    /// ITU-T G.722, 64 kbit/s: 16 kHz audio on an 8000 Hz RTP clock
    /// (RFC 3551 §4.5.2).
    G722,
    /// Opus (RFC 7587): 48 kHz on a 48 kHz clock, mono here, written
    /// `opus/48000/2` in SDP as the RFC requires; a dynamic payload type.
    Opus,
}

impl Codec {
    /// Static RTP payload type.
    pub fn payload_type(self) -> u8 {
        match self {
            Codec::Pcmu => 0,
            Codec::Pcma => 8,
            Codec::G722 => 9,
            Codec::Opus => 111,
        }
    }
    /// SDP encoding name.
    pub fn name(self) -> &'static str {
        match self {
            Codec::Pcmu => "PCMU",
            Codec::Pcma => "PCMA",
            Codec::G722 => "G722",
            Codec::Opus => "opus",
        }
    }
    /// RTP clock rate: the rate of its RTP timestamps and the rate its
    /// `a=rtpmap` names (8000 for G.722 too, by RFC 3551's rule).
    pub fn clock_rate(self) -> u32 {
        match self {
            Codec::Opus => 48_000,
            _ => 8000,
        }
    }
    /// The `a=rtpmap` encoding: name, clock rate and, for Opus, the two
    /// channels RFC 7587 always names.
    pub fn rtpmap(self) -> String {
        match self {
            Codec::Opus => format!("{}/{}/2", self.name(), self.clock_rate()),
            _ => format!("{}/{}", self.name(), self.clock_rate()),
        }
    }
    /// The `a=fmtp` parameters we send with it: Opus asks for in-band FEC
    /// and says we play out up to 48 kHz.
    pub fn fmtp(self) -> Option<&'static str> {
        match self {
            Codec::Opus => Some("maxplaybackrate=48000;sprop-maxcapturerate=48000;useinbandfec=1"),
            _ => None,
        }
    }
    /// The rate of the audio it carries, at which a call's audio path
    /// runs (jitter buffer, concealment, tones, recording, file backend).
    /// The same as the clock rate for G.711; 16 kHz for G.722.
    pub fn sample_rate(self) -> u32 {
        match self {
            Codec::Pcmu | Codec::Pcma => 8000,
            Codec::G722 => 16_000,
            Codec::Opus => 48_000,
        }
    }
    /// RTP timestamp units per 20 ms frame.
    pub fn frame_ticks(self) -> u32 {
        self.clock_rate() / 50
    }
    /// Audio samples per 20 ms frame.
    pub fn frame_samples(self) -> usize {
        (self.sample_rate() / 50) as usize
    }
    /// By SDP encoding name (case-insensitive) and clock rate. G.722 is
    /// also taken at 16000, which some peers write against RFC 3551.
    pub fn from_name(name: &str, rate: u32) -> Option<Codec> {
        match (name.to_ascii_uppercase().as_str(), rate) {
            ("PCMU", 8000) => Some(Codec::Pcmu),
            ("PCMA", 8000) => Some(Codec::Pcma),
            ("G722", 8000 | 16_000) => Some(Codec::G722),
            ("OPUS", 48_000) => Some(Codec::Opus),
            _ => None,
        }
    }
}

#[cfg(test)]
mod codec_tests {
    use super::Codec;

    #[test]
    fn g722_has_an_8000_hz_clock_and_16_khz_audio() {
        let c = Codec::from_name("g722", 8000).unwrap();
        assert_eq!(c, Codec::G722);
        assert_eq!(Codec::from_name("G722", 16_000), Some(Codec::G722));
        assert_eq!((c.payload_type(), c.name()), (9, "G722"));
        assert_eq!((c.clock_rate(), c.sample_rate()), (8000, 16_000));
        assert_eq!((c.frame_ticks(), c.frame_samples()), (160, 320));
        assert_eq!(Codec::Pcmu.frame_samples(), 160);
        assert_eq!(Codec::from_name("PCMU", 16_000), None);
    }

    #[test]
    fn opus_runs_at_48_khz_and_names_two_channels() {
        let c = Codec::from_name("OPUS", 48_000).unwrap();
        assert_eq!(c, Codec::Opus);
        assert_eq!(c.rtpmap(), "opus/48000/2");
        assert_eq!(Codec::Pcmu.rtpmap(), "PCMU/8000");
        assert_eq!((c.frame_ticks(), c.frame_samples()), (960, 960));
        assert!(c.fmtp().unwrap().contains("useinbandfec=1"));
        assert_eq!(Codec::G722.fmtp(), None);
        assert_eq!(Codec::from_name("opus", 8000), None);
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
    /// RFC 2198 redundancy (RED) payload type, when both sides take it:
    /// each packet then carries the previous frame of `codec` too.
    pub red_payload_type: Option<u8>,
    /// The peer's Opus receive parameters (its `a=fmtp` for `codec` when
    /// that is Opus; the RFC's defaults otherwise): what our encoder may
    /// send it.
    pub opus: OpusPeerParams,
}
