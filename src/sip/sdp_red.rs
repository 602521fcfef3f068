//! RFC 2198 redundancy (RED) in SDP offer/answer, as pure decisions:
//! what our offer adds for the preferred codec ([`offered`]), and whether
//! the peer's offer or answer takes RED with the codec negotiated
//! ([`accepted`]): a `red` rtpmap at that codec's clock among the line's
//! formats whose `a=fmtp` (if any) names only that codec's payload type
//! (we send and take the previous frame of the same codec). The lines
//! themselves are written by [`super::sdp`] ([`Red::rtpmap`],
//! [`Red::fmtp`]). Knows nothing of RTP packets (`media::red` has the
//! payload format) or of accounts (`LocalMedia::red` says whether to).

use super::sdp::MediaDescription;
use crate::rtp_types::Codec;

/// The dynamic payload type of `red` in our offers (clear of the
/// telephone-event's 101 and Opus' 111).
pub const RED_PAYLOAD_TYPE: u8 = 122;

/// RED as it goes into an SDP: its payload type, over the primary codec.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Red {
    pub payload_type: u8,
    /// The payload type of the codec it carries (primary and redundant).
    pub primary_type: u8,
    pub codec: Codec,
}

impl Red {
    /// The `a=rtpmap` value: `122 red/8000`.
    pub fn rtpmap(&self) -> String {
        format!("{} red/{}", self.payload_type, self.codec.clock_rate())
    }
    /// The `a=fmtp` value: `122 0/0` (one redundant block of the codec).
    pub fn fmtp(&self) -> String {
        format!(
            "{} {}/{}",
            self.payload_type, self.primary_type, self.primary_type
        )
    }
}

/// RED in our offer: over the preferred codec (the first), when RED is on.
pub fn offered(on: bool, codecs: &[(u8, Codec)]) -> Option<Red> {
    let (primary_type, codec) = *codecs.first().filter(|_| on)?;
    Some(Red {
        payload_type: RED_PAYLOAD_TYPE,
        primary_type,
        codec,
    })
}

/// The RED payload type the peer's line takes with the negotiated codec
/// (`primary_type` / `codec`), when RED is on here; `None`: plain RTP.
pub fn accepted(
    on: bool,
    remote: &MediaDescription,
    primary_type: u8,
    codec: Codec,
) -> Option<Red> {
    if !on {
        return None;
    }
    let payload_type = remote
        .rtpmaps
        .iter()
        .filter(|m| remote.formats.contains(&m.payload_type))
        .filter(|m| m.name.eq_ignore_ascii_case("red") && m.clock_rate == codec.clock_rate())
        .map(|m| m.payload_type)
        .find(|&pt| fmtp_fits(remote, pt, primary_type))?;
    Some(Red {
        payload_type,
        primary_type,
        codec,
    })
}

/// Whether the `a=fmtp` of `red_pt` (when there is one) names only
/// `primary_type`, one to five times.
fn fmtp_fits(remote: &MediaDescription, red_pt: u8, primary_type: u8) -> bool {
    let Some(value) = remote.fmtp(red_pt) else {
        return true;
    };
    let pts: Vec<Option<u8>> = value
        .split('/')
        .map(|p| p.trim().parse::<u8>().ok())
        .collect();
    (1..=5).contains(&pts.len()) && pts.iter().all(|&p| p == Some(primary_type))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sip::sdp::SessionDescription;

    fn line(m: &str, attrs: &str) -> MediaDescription {
        let text = format!("v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP {m}\r\n{attrs}");
        SessionDescription::parse(&text).unwrap().media.remove(0)
    }

    #[test]
    fn offered_over_the_preferred_codec_only_when_on() {
        let codecs = [(111, Codec::Opus), (0, Codec::Pcmu)];
        let red = offered(true, &codecs).unwrap();
        assert_eq!(red.rtpmap(), "122 red/48000");
        assert_eq!(red.fmtp(), "122 111/111");
        let red = offered(true, &codecs[1..]).unwrap();
        assert_eq!(
            (red.rtpmap(), red.fmtp()),
            ("122 red/8000".into(), "122 0/0".into())
        );
        assert_eq!(offered(false, &codecs), None);
        assert_eq!(offered(true, &[]), None);
    }

    /// (on, m= formats, attributes, negotiated pt/codec, RED pt taken)
    type Case = (bool, &'static str, &'static str, (u8, Codec), Option<u8>);

    #[test]
    fn accepted_table() {
        let cases: [Case; 11] = [
            (
                true,
                "0 122",
                "a=rtpmap:122 red/8000\r\na=fmtp:122 0/0\r\n",
                (0, Codec::Pcmu),
                Some(122),
            ),
            // Off here: never.
            (
                false,
                "0 122",
                "a=rtpmap:122 red/8000\r\na=fmtp:122 0/0\r\n",
                (0, Codec::Pcmu),
                None,
            ),
            // No red at all.
            (
                true,
                "0 101",
                "a=rtpmap:101 telephone-event/8000\r\n",
                (0, Codec::Pcmu),
                None,
            ),
            // Another payload type, no fmtp (the blocks name their types).
            (
                true,
                "0 99",
                "a=rtpmap:99 RED/8000\r\n",
                (0, Codec::Pcmu),
                Some(99),
            ),
            // Redundancy of another codec than the one negotiated.
            (
                true,
                "0 8 122",
                "a=rtpmap:122 red/8000\r\na=fmtp:122 8/8\r\n",
                (0, Codec::Pcmu),
                None,
            ),
            (
                true,
                "0 8 122",
                "a=rtpmap:122 red/8000\r\na=fmtp:122 8/0\r\n",
                (0, Codec::Pcmu),
                None,
            ),
            // Wrong clock for the codec.
            (
                true,
                "111 122",
                "a=rtpmap:111 opus/48000/2\r\na=rtpmap:122 red/8000\r\n",
                (111, Codec::Opus),
                None,
            ),
            (
                true,
                "111 63",
                "a=rtpmap:111 opus/48000/2\r\na=rtpmap:63 red/48000\r\na=fmtp:63 111/111\r\n",
                (111, Codec::Opus),
                Some(63),
            ),
            // An rtpmap for a format not on the m= line.
            (
                true,
                "0",
                "a=rtpmap:122 red/8000\r\n",
                (0, Codec::Pcmu),
                None,
            ),
            // A malformed fmtp: not taken.
            (
                true,
                "0 122",
                "a=rtpmap:122 red/8000\r\na=fmtp:122 0/x\r\n",
                (0, Codec::Pcmu),
                None,
            ),
            (
                true,
                "0 122",
                "a=rtpmap:122 red/8000\r\na=fmtp:122 0/0/0/0/0/0\r\n",
                (0, Codec::Pcmu),
                None,
            ),
        ];
        for (i, (on, m, attrs, (pt, codec), want)) in cases.into_iter().enumerate() {
            let got = accepted(on, &line(m, attrs), pt, codec).map(|r| r.payload_type);
            assert_eq!(got, want, "case {i}");
        }
    }

    #[test]
    fn offer_and_answer_carry_red_only_when_on() {
        use crate::sip::sdp::{answer, offer, read_answer, LocalMedia};
        let local = |red: bool| LocalMedia {
            red,
            ..crate::sip::sdp::tests::local()
        };
        let ours = offer(&local(true));
        assert!(
            ours.contains("m=audio 4000 RTP/AVP 0 8 122 101\r\n"),
            "{ours}"
        );
        assert!(
            ours.contains("a=rtpmap:122 red/8000\r\na=fmtp:122 0/0\r\n"),
            "{ours}"
        );
        let plain = offer(&local(false));
        assert!(!plain.contains("red"), "{plain}");
        // A peer (on too) answers it with red; one that is off does not.
        let (text, neg) = answer(&ours, &local(true)).unwrap();
        assert_eq!(neg.params.red_payload_type, Some(122));
        assert!(
            text.contains("RTP/AVP 0 122 101\r\n") && text.contains("a=fmtp:122 0/0"),
            "{text}"
        );
        assert_eq!(
            read_answer(&text, &local(true))
                .unwrap()
                .params
                .red_payload_type,
            Some(122)
        );
        // Off here: an answer with red is read as plain.
        assert_eq!(
            read_answer(&text, &local(false))
                .unwrap()
                .params
                .red_payload_type,
            None
        );
        let (text, neg) = answer(&ours, &local(false)).unwrap();
        assert_eq!(neg.params.red_payload_type, None);
        assert!(!text.contains("red"), "{text}");
        assert_eq!(
            read_answer(&text, &local(true))
                .unwrap()
                .params
                .red_payload_type,
            None
        );
    }
}
