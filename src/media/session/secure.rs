//! SRTP in the media task (RFC 3711): what the session sends is protected
//! just before it leaves, what it receives is checked in the clear part
//! ([`inbound::srtp`], [`inbound::srtcp`]), taken only from the peer's
//! source ([`source_verdict`], not yet applied), then authenticated and
//! decrypted, and only then handled as plain RTP/RTCP (where the latch is
//! applied: a forged packet cannot move it). A packet that fails
//! authentication is dropped and counted (`srtp_dropped` in the stats),
//! logged only at the 1st, 2nd, 4th, 8th… failure. Owns [`Secure`], the
//! session's SRTP state; it never logs or shows key material.

use super::super::inbound::{self, source_verdict, SourceVerdict};
use super::super::srtp::SrtpSession;
use super::Session;
use crate::rtp_types::SrtpKeys;
use std::borrow::Cow;
use std::net::SocketAddr;

/// Whether and how the session's media are protected.
#[derive(Default)]
enum Mode {
    /// Plain RTP (no keys negotiated).
    #[default]
    Plain,
    /// SRTP with these keys.
    Srtp(Box<(SrtpKeys, SrtpSession)>),
    /// Keys were negotiated but no context could be made of them: nothing
    /// is sent or taken (never plain RTP in place of SRTP).
    Failed,
}

/// The session's SRTP state.
#[derive(Default)]
pub(super) struct Secure {
    mode: Mode,
    /// SRTP and SRTCP packets dropped for failing authentication.
    pub dropped: u64,
}

impl Secure {
    /// Takes the keys of the latest offer/answer. The same keys keep the
    /// contexts (and their rollover counters); new keys start new ones.
    pub fn set(&mut self, keys: Option<SrtpKeys>) {
        let Some(keys) = keys else {
            self.mode = Mode::Plain;
            return;
        };
        if let Mode::Srtp(active) = &self.mode {
            if active.0 == keys {
                return;
            }
        }
        self.mode = match SrtpSession::from_keys(&keys) {
            Ok(session) => Mode::Srtp(Box::new((keys, session))),
            Err(e) => {
                tracing::warn!("SRTP not set up, no media sent or taken: {e}");
                Mode::Failed
            }
        };
    }

    /// The authentication tag length of what the peer sends, when its
    /// media are SRTP (`Some(0)`: keys that could not be used).
    fn tag_len(&self) -> Option<usize> {
        match &self.mode {
            Mode::Plain => None,
            Mode::Srtp(active) => Some(active.0.suite.tag_len()),
            Mode::Failed => Some(0),
        }
    }

    /// The RTP packet as it goes on the wire; `None`: not to be sent.
    pub fn protect_rtp<'a>(&mut self, packet: &'a [u8]) -> Option<Cow<'a, [u8]>> {
        match &mut self.mode {
            Mode::Plain => Some(Cow::Borrowed(packet)),
            Mode::Srtp(active) => active.1.protect_rtp(packet).ok().map(Cow::Owned),
            Mode::Failed => None,
        }
    }

    /// The RTCP compound as it goes on the wire; `None`: not to be sent.
    pub fn protect_rtcp<'a>(&mut self, packet: &'a [u8]) -> Option<Cow<'a, [u8]>> {
        match &mut self.mode {
            Mode::Plain => Some(Cow::Borrowed(packet)),
            Mode::Srtp(active) => active.1.protect_rtcp(packet).ok().map(Cow::Owned),
            Mode::Failed => None,
        }
    }

    fn unprotect(&mut self, rtcp: bool, data: &[u8], from: SocketAddr) -> Option<Vec<u8>> {
        let Mode::Srtp(active) = &mut self.mode else {
            return None;
        };
        let plain = if rtcp {
            active.1.unprotect_rtcp(data)
        } else {
            active.1.unprotect_rtp(data)
        };
        match plain {
            Ok(plain) => Some(plain),
            Err(e) => {
                self.dropped = self.dropped.saturating_add(1);
                if self.dropped.is_power_of_two() {
                    let what = if rtcp { "SRTCP" } else { "SRTP" };
                    tracing::warn!(
                        "{what} from {from} dropped: {e} ({} dropped so far)",
                        self.dropped
                    );
                }
                None
            }
        }
    }
}

impl Session {
    /// Starts the session with SRTP keys (`None`: plain RTP).
    pub fn with_srtp(mut self, keys: Option<SrtpKeys>) -> Session {
        self.secure.set(keys);
        self
    }

    /// A datagram on the RTP port: plain RTP, or SRTP checked, from the
    /// peer and authenticated before it is decrypted and handled.
    pub(super) fn on_rtp_datagram(&mut self, data: &[u8], from: SocketAddr) {
        let Some(tag) = self.secure.tag_len() else {
            return self.on_rtp(data, from);
        };
        if let Err(e) = inbound::srtp(data, tag) {
            tracing::trace!("SRTP from {from} dropped: {e}");
            return;
        }
        let verdict = source_verdict(self.rtp_latch, self.params.remote, from, self.symmetric);
        if verdict == SourceVerdict::Drop {
            tracing::trace!("SRTP from {from} dropped: not the peer's source");
            return;
        }
        if let Some(plain) = self.secure.unprotect(false, data, from) {
            self.on_rtp(&plain, from);
        }
    }

    /// A datagram on the RTCP port, as [`Self::on_rtp_datagram`].
    pub(super) fn on_rtcp_datagram(&mut self, data: &[u8], from: SocketAddr) {
        let Some(tag) = self.secure.tag_len() else {
            return self.on_rtcp(data, from);
        };
        if let Err(e) = inbound::srtcp(data, tag) {
            tracing::trace!("SRTCP from {from} dropped: {e}");
            return;
        }
        let negotiated = super::rtcp_negotiated(&self.params);
        let verdict = source_verdict(self.rtcp_latch, negotiated, from, self.symmetric);
        if verdict == SourceVerdict::Drop {
            tracing::trace!("SRTCP from {from} dropped: not the peer's source");
            return;
        }
        if let Some(plain) = self.secure.unprotect(true, data, from) {
            self.on_rtcp(&plain, from);
        }
    }
}
