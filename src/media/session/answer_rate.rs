//! When an outgoing call's audio rate is settled by the answer.
//!
//! An outgoing call's media starts before the answer (ringback and busy
//! tones reach the speaker) at the rate of the codec we offered first, a
//! guess. The first parameters with a peer address are the answer's: from
//! then on the call runs at the answered codec's rate, and what was
//! recorded before (the file backend's playout WAV, a `record` file) is
//! brought to that rate too, so the recording's WAV rate is the answer's
//! codec rate. Later codec changes (a re-INVITE) keep the documented rule:
//! frames at another rate are converted to the file's rate. A pure
//! decision; the session applies it.

use crate::media::RtpParams;
use std::net::SocketAddr;

/// Whether the parameters name a peer (we are past the offer).
pub fn has_peer(params: &RtpParams) -> bool {
    routable(params.remote)
}

/// The rate recordings must be converted to when `next` replaces `now`:
/// `Some(rate)` when `next` is the first with a peer (`settled` false so
/// far) and its codec runs at another rate than the guess.
pub fn settle(now: &RtpParams, settled: bool, next: &RtpParams) -> Option<u32> {
    if settled || !has_peer(next) {
        return None;
    }
    let rate = next.codec.sample_rate();
    (rate != now.codec.sample_rate()).then_some(rate)
}

fn routable(addr: SocketAddr) -> bool {
    !addr.ip().is_unspecified() && addr.port() != 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::{Codec, Direction};

    fn params(remote: &str, codec: Codec) -> RtpParams {
        RtpParams {
            remote: remote.parse().unwrap(),
            rtcp: None,
            codec,
            payload_type: codec.payload_type(),
            dtmf_payload_type: None,
            direction: Direction::SendRecv,
            red_payload_type: None,
            opus: Default::default(),
        }
    }

    #[test]
    fn only_the_first_peer_at_another_rate_settles() {
        let none = "0.0.0.0:0";
        let peer = "192.0.2.1:4000";
        let cases = [
            // (now, settled, next, expected)
            ((none, Codec::G722), false, (peer, Codec::Pcmu), Some(8000)),
            (
                (none, Codec::Pcmu),
                false,
                (peer, Codec::G722),
                Some(16_000),
            ),
            ((none, Codec::Pcmu), false, (peer, Codec::Pcma), None),
            ((none, Codec::G722), false, (none, Codec::Pcmu), None),
            ((peer, Codec::G722), true, (peer, Codec::Pcmu), None),
            ((none, Codec::G722), true, (peer, Codec::Pcmu), None),
        ];
        for (i, (now, settled, next, want)) in cases.into_iter().enumerate() {
            let got = settle(&params(now.0, now.1), settled, &params(next.0, next.1));
            assert_eq!(got, want, "case {i}");
        }
        assert!(has_peer(&params(peer, Codec::Pcmu)));
        assert!(!has_peer(&params(none, Codec::Pcmu)));
    }
}
