//! The call's media as the actor keeps it: our side of the SDP offer/answer,
//! the RTP ports and the session on them, the built-in echo peer and the
//! negotiated telephone-event payload type. Starting and updating the
//! session from SDP is the actor's (`outgoing.rs`, `incoming.rs`); nothing
//! of SIP signalling here.

use crate::media::{EchoReflector, MediaSession, RtpSockets};
use crate::sip::sdp::LocalMedia;

/// What the call knows of its media.
pub(super) struct CallMedia {
    /// What we offer and answer (address, codecs, direction, version).
    pub local: LocalMedia,
    /// The RTP ports, and the session once it runs.
    pub rtp: Rtp,
    /// The built-in echo peer of the `echo` target.
    pub echo: Option<EchoReflector>,
    /// Telephone-event payload type the peer takes (else DTMF goes as INFO).
    pub dtmf_pt: Option<u8>,
    /// We offered in a 2xx (to an INVITE without SDP): the answer comes in
    /// the ACK.
    pub answer_in_ack: bool,
}

/// The RTP side: ports first, then the session that takes them over.
pub(super) enum Rtp {
    /// No ports (not bound yet, the session ended, or it did not start).
    None,
    /// Ports bound, no session yet: early media or the first SDP starts it.
    Bound(RtpSockets),
    /// The session runs.
    Running(MediaSession),
}

impl CallMedia {
    pub fn new(local: LocalMedia) -> Self {
        CallMedia {
            local,
            rtp: Rtp::None,
            echo: None,
            dtmf_pt: None,
            answer_in_ack: false,
        }
    }

    /// The running session, if any.
    pub fn session(&self) -> Option<&MediaSession> {
        match &self.rtp {
            Rtp::Running(session) => Some(session),
            _ => None,
        }
    }

    /// The running session, taken out to stop it.
    pub fn take_session(&mut self) -> Option<MediaSession> {
        match std::mem::replace(&mut self.rtp, Rtp::None) {
            Rtp::Running(session) => Some(session),
            other => {
                self.rtp = other;
                None
            }
        }
    }

    /// The bound ports, taken out to start a session on them.
    pub fn take_sockets(&mut self) -> Option<RtpSockets> {
        match std::mem::replace(&mut self.rtp, Rtp::None) {
            Rtp::Bound(sockets) => Some(sockets),
            other => {
                self.rtp = other;
                None
            }
        }
    }
}
