//! The peer's Opus receive parameters (RFC 7587 §6.1) from its media
//! description: the `a=fmtp` of the negotiated Opus payload type (found
//! by [`MediaDescription::fmtp`], as RED finds its own) read into
//! [`OpusPeerParams`]. A parameter that is missing keeps the RFC's
//! default, one out of range is clamped to the RFC's range, one that is
//! malformed is ignored: this is network input, read without panics.
//! Pure; what the encoder makes of them is `media::opus_adapt`'s. Knows
//! nothing of our own offer's `a=fmtp` (that is `Codec::fmtp`).

use super::sdp::MediaDescription;
use crate::rtp_types::OpusPeerParams;

/// The peer's receive parameters for Opus on payload type `pt` of
/// `remote`: the RFC's defaults for what its `a=fmtp` does not say.
pub fn peer_params(remote: &MediaDescription, pt: u8) -> OpusPeerParams {
    remote.fmtp(pt).map(parse).unwrap_or_default()
}

/// An Opus `a=fmtp` value (`maxplaybackrate=16000;useinbandfec=1`) read
/// over the defaults.
pub fn parse(fmtp: &str) -> OpusPeerParams {
    let mut p = OpusPeerParams::default();
    for (key, value) in fmtp
        .split(';')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.trim(), v.trim()))
    {
        let is = |name: &str| key.eq_ignore_ascii_case(name);
        if is("maxaveragebitrate") {
            if let Some(v) = number(value, OpusPeerParams::BITRATE_RANGE) {
                p.max_average_bitrate = Some(v);
            }
        } else if is("maxplaybackrate") {
            if let Some(v) = number(value, OpusPeerParams::PLAYBACK_RANGE) {
                p.max_playback_rate = v;
            }
        } else if is("useinbandfec") {
            p.inband_fec = flag(value).unwrap_or(p.inband_fec);
        } else if is("usedtx") {
            p.dtx = flag(value).unwrap_or(p.dtx);
        } else if is("cbr") {
            p.cbr = flag(value).unwrap_or(p.cbr);
        }
    }
    p
}

/// A decimal number clamped to `(lo, hi)`; `None` if it is not one.
fn number(value: &str, (lo, hi): (u32, u32)) -> Option<u32> {
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    // All digits: too long for a u64 is far above any range's top.
    let n = value.parse::<u64>().unwrap_or(u64::MAX);
    Some(n.clamp(u64::from(lo), u64::from(hi)) as u32)
}

/// `0` or `1`; `None` for anything else.
fn flag(value: &str) -> Option<bool> {
    match value {
        "0" => Some(false),
        "1" => Some(true),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sip::sdp::SessionDescription;

    fn line(attrs: &str) -> MediaDescription {
        let text = format!("v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 111 0\r\na=rtpmap:111 opus/48000/2\r\n{attrs}");
        SessionDescription::parse(&text).unwrap().media.remove(0)
    }

    fn params(rate: Option<u32>, playback: u32, fec: bool, dtx: bool, cbr: bool) -> OpusPeerParams {
        OpusPeerParams {
            max_average_bitrate: rate,
            max_playback_rate: playback,
            inband_fec: fec,
            dtx,
            cbr,
        }
    }

    #[test]
    fn parse_table() {
        let d = OpusPeerParams::default();
        let cases: &[(&str, OpusPeerParams)] = &[
            ("", d),
            (
                "maxaveragebitrate=12000;useinbandfec=0;maxplaybackrate=16000",
                params(Some(12_000), 16_000, false, false, false),
            ),
            (
                "maxplaybackrate=48000;sprop-maxcapturerate=48000;useinbandfec=1",
                params(None, 48_000, true, false, false),
            ),
            (
                " usedtx=1 ; cbr=1 ;stereo=0; ptime=20",
                params(None, 48_000, false, true, true),
            ),
            (
                "MaxAverageBitrate=20000",
                params(Some(20_000), 48_000, false, false, false),
            ),
            // Out of range: clamped to the RFC's ranges.
            (
                "maxaveragebitrate=100",
                params(Some(6000), 48_000, false, false, false),
            ),
            (
                "maxaveragebitrate=9999999",
                params(Some(510_000), 48_000, false, false, false),
            ),
            (
                "maxaveragebitrate=99999999999999999999999999",
                params(Some(510_000), 48_000, false, false, false),
            ),
            ("maxplaybackrate=0", params(None, 8000, false, false, false)),
            (
                "maxplaybackrate=96000",
                params(None, 48_000, false, false, false),
            ),
            // Malformed: ignored, the others still read.
            (
                "maxaveragebitrate=-5;maxplaybackrate=16k;useinbandfec=1",
                params(None, 48_000, true, false, false),
            ),
            ("maxaveragebitrate=;useinbandfec=yes;cbr=2;usedtx", d),
            ("maxaveragebitrate=1 2;;=;==;\u{e9}=1", d),
            ("useinbandfec=1;useinbandfec=0", d),
        ];
        for (i, (fmtp, want)) in cases.iter().enumerate() {
            assert_eq!(parse(fmtp), *want, "case {i}: {fmtp:?}");
        }
    }

    #[test]
    fn the_fmtp_of_the_negotiated_payload_type_only() {
        let remote = line("a=fmtp:0 maxaveragebitrate=8000\r\na=fmtp:111 maxaveragebitrate=12000;useinbandfec=1\r\n");
        assert_eq!(
            peer_params(&remote, 111),
            params(Some(12_000), 48_000, true, false, false)
        );
        // Another payload type's fmtp, or none: the defaults.
        assert_eq!(peer_params(&remote, 96), OpusPeerParams::default());
        assert_eq!(peer_params(&line(""), 111), OpusPeerParams::default());
        // A prefix of the number is not the payload type.
        let remote = line("a=fmtp:1111 maxaveragebitrate=12000\r\n");
        assert_eq!(peer_params(&remote, 111), OpusPeerParams::default());
        let remote = line("a=fmtp:111\r\n");
        assert_eq!(peer_params(&remote, 111), OpusPeerParams::default());
    }

    #[test]
    fn an_answer_and_an_offer_carry_the_peers_parameters() {
        use crate::rtp_types::Codec;
        use crate::sip::sdp::{answer, read_answer, LocalMedia};
        let local = LocalMedia {
            codecs: vec![Codec::Opus, Codec::Pcmu],
            ..crate::sip::sdp::tests::local()
        };
        let sdp = |m: &str, attrs: &str| {
            format!("v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP {m}\r\n{attrs}")
        };
        let capped = sdp(
            "96",
            "a=rtpmap:96 opus/48000/2\r\na=fmtp:96 maxaveragebitrate=12000;useinbandfec=0;maxplaybackrate=16000\r\n",
        );
        let want = params(Some(12_000), 16_000, false, false, false);
        let neg = read_answer(&capped, &local).unwrap();
        assert_eq!((neg.params.codec, neg.params.opus), (Codec::Opus, want));
        let (_, neg) = answer(&capped, &local).unwrap();
        assert_eq!(neg.params.opus, want);
        // Opus without an fmtp: the RFC's defaults; another codec: the same.
        let bare = sdp("111", "a=rtpmap:111 opus/48000/2\r\n");
        let neg = read_answer(&bare, &local).unwrap();
        assert_eq!(neg.params.opus, OpusPeerParams::default());
        let pcmu = sdp("0", "a=fmtp:0 maxaveragebitrate=12000\r\n");
        let neg = read_answer(&pcmu, &local).unwrap();
        assert_eq!(
            (neg.params.codec, neg.params.opus),
            (Codec::Pcmu, OpusPeerParams::default())
        );
    }
}
