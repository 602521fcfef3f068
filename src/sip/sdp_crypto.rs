//! SDES key exchange for SRTP (RFC 4568): the `a=crypto` attribute (parse and
//! print), the account's `media_encryption` policy, and the offer/answer
//! decisions that follow from it: what transport profile and crypto lines
//! an offer carries, how an incoming offer is answered (or refused with
//! 488), and whether a peer's answer to our offer is acceptable. Pure: no
//! IO, no SRTP processing (that is `media::srtp`), and it must never print
//! key material in `Debug` or error text.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;

pub use crate::config::MediaEncryption;
pub use crate::rtp_types::{CryptoSuite, KeySalt, SrtpKeys, KEY_LEN, SALT_LEN};

/// Transport profile of a plain RTP audio line.
pub const PROTO_PLAIN: &str = "RTP/AVP";
/// Transport profile of an SRTP audio line.
pub const PROTO_SAVP: &str = "RTP/SAVP";

/// One `a=crypto` attribute with a supported suite.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CryptoAttr {
    pub tag: u32,
    pub suite: CryptoSuite,
    pub keys: KeySalt,
}

/// Why an `a=crypto` value could not be used. Never holds key bytes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CryptoError {
    #[error("a=crypto: {0}")]
    Syntax(&'static str),
}

/// Parses the value of an `a=crypto:` attribute (the text after the colon).
/// `Ok(None)` for a well-formed line whose suite, key parameters or session
/// parameters termphone does not support (the offerer may list others).
pub fn parse_crypto(value: &str) -> Result<Option<CryptoAttr>, CryptoError> {
    let mut fields = value.split_ascii_whitespace();
    let tag = fields
        .next()
        .ok_or(CryptoError::Syntax("missing tag"))?
        .parse::<u32>()
        .map_err(|_| CryptoError::Syntax("bad tag"))?;
    if tag > 999_999_999 {
        return Err(CryptoError::Syntax("bad tag"));
    }
    let suite_name = fields.next().ok_or(CryptoError::Syntax("missing suite"))?;
    let key_params = fields.next().ok_or(CryptoError::Syntax("missing key"))?;
    let Some(suite) = CryptoSuite::from_name(suite_name) else {
        return Ok(None);
    };
    // Several key parameters (`;`-separated) mean MKIs: not supported.
    if key_params.contains(';') {
        return Ok(None);
    }
    let inline = key_params
        .strip_prefix("inline:")
        .ok_or(CryptoError::Syntax("key method is not inline"))?;
    let mut parts = inline.split('|');
    let encoded = parts.next().unwrap_or_default();
    // Lifetime and MKI: a lifetime is harmless, an MKI changes the packet
    // format and is not supported.
    let mut with_mki = false;
    for part in parts {
        if part.contains(':') {
            with_mki = true;
        }
    }
    // Session parameters (UNENCRYPTED_SRTP, KDR, ...) change the processing.
    if with_mki || fields.next().is_some() {
        return Ok(None);
    }
    let bytes = STANDARD
        .decode(encoded)
        .map_err(|_| CryptoError::Syntax("key is not base64"))?;
    let keys = KeySalt::from_concat(&bytes).ok_or(CryptoError::Syntax("wrong key length"))?;
    Ok(Some(CryptoAttr { tag, suite, keys }))
}

/// Prints an `a=crypto` attribute value (without `a=crypto:`).
pub fn format_crypto(attr: &CryptoAttr) -> String {
    format!(
        "{} {} inline:{}",
        attr.tag,
        attr.suite.name(),
        STANDARD.encode(attr.keys.concat())
    )
}

/// What our offer's audio line carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfferMedia {
    /// The `m=` line's transport profile.
    pub proto: &'static str,
    /// The `a=crypto` lines, in order (empty for plain RTP).
    pub crypto: Vec<CryptoAttr>,
}

/// The offer for `policy`, with one fresh key per supported suite (from
/// `keys`, called once per suite). "srtp" offers `RTP/SAVP`; "srtp-optional"
/// offers `RTP/AVP` with `a=crypto` lines (best-effort SRTP, as baresip's
/// `mediaenc=srtp` does), so that a peer without SRTP still answers.
pub fn offer_media(policy: MediaEncryption, mut keys: impl FnMut() -> KeySalt) -> OfferMedia {
    let proto = match policy {
        MediaEncryption::None => {
            return OfferMedia {
                proto: PROTO_PLAIN,
                crypto: Vec::new(),
            };
        }
        MediaEncryption::Srtp => PROTO_SAVP,
        MediaEncryption::SrtpOptional => PROTO_PLAIN,
    };
    let crypto = CryptoSuite::ALL
        .into_iter()
        .zip(1u32..)
        .map(|(suite, tag)| CryptoAttr {
            tag,
            suite,
            keys: keys(),
        })
        .collect();
    OfferMedia { proto, crypto }
}

/// How an incoming offer's audio line is answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AnswerMedia {
    /// Plain RTP with this transport profile.
    Plain,
    /// SRTP: the answer echoes `proto` and carries `crypto` (the chosen
    /// offered tag and suite with our own key); media uses `keys`.
    Srtp {
        proto: &'static str,
        crypto: CryptoAttr,
        keys: SrtpKeys,
    },
}

/// Why an offer or answer does not fit the account's policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum EncryptionMismatch {
    #[error("the peer offers plain RTP and this account requires SRTP")]
    PlainOffered,
    #[error("the peer offers SRTP and this account does not use it")]
    SrtpNotEnabled,
    #[error("the peer offers SRTP without a supported crypto suite")]
    NoSupportedSuite,
    #[error("the peer answered without SRTP and this account requires it")]
    PlainAnswered,
    #[error("the peer's SRTP answer does not match a crypto line we offered")]
    AnswerMismatch,
}

/// Decides the answer to an offered audio line with transport profile
/// `proto` and the supported `crypto` lines it carried (in their order).
/// An `Err` is answered with 488. `our_key` supplies our own key for the
/// chosen suite.
pub fn answer_media(
    policy: MediaEncryption,
    proto: &str,
    crypto: &[CryptoAttr],
    our_key: impl FnOnce(CryptoSuite) -> KeySalt,
) -> Result<AnswerMedia, EncryptionMismatch> {
    let savp = proto.eq_ignore_ascii_case(PROTO_SAVP);
    if policy == MediaEncryption::None {
        return if savp {
            Err(EncryptionMismatch::SrtpNotEnabled)
        } else {
            Ok(AnswerMedia::Plain)
        };
    }
    let Some(chosen) = crypto.first() else {
        return match (policy, savp) {
            (MediaEncryption::SrtpOptional, false) => Ok(AnswerMedia::Plain),
            (_, true) => Err(EncryptionMismatch::NoSupportedSuite),
            _ => Err(EncryptionMismatch::PlainOffered),
        };
    };
    let local = our_key(chosen.suite);
    Ok(AnswerMedia::Srtp {
        proto: if savp { PROTO_SAVP } else { PROTO_PLAIN },
        crypto: CryptoAttr {
            tag: chosen.tag,
            suite: chosen.suite,
            keys: local.clone(),
        },
        keys: SrtpKeys {
            suite: chosen.suite,
            local,
            remote: chosen.keys.clone(),
        },
    })
}

/// Checks the peer's answer (`crypto`: its supported crypto lines) to our
/// `offer`. `Ok(None)` means plain RTP; an `Err` ends the call with its text.
pub fn accept_answer(
    policy: MediaEncryption,
    offer: &OfferMedia,
    crypto: &[CryptoAttr],
) -> Result<Option<SrtpKeys>, EncryptionMismatch> {
    if offer.crypto.is_empty() {
        return Ok(None);
    }
    let Some(answered) = crypto.first() else {
        return match policy {
            MediaEncryption::Srtp => Err(EncryptionMismatch::PlainAnswered),
            _ => Ok(None),
        };
    };
    let ours = offer
        .crypto
        .iter()
        .find(|ours| ours.tag == answered.tag && ours.suite == answered.suite)
        .ok_or(EncryptionMismatch::AnswerMismatch)?;
    Ok(Some(SrtpKeys {
        suite: ours.suite,
        local: ours.keys.clone(),
        remote: answered.keys.clone(),
    }))
}

/// The supported `a=crypto` lines among a media section's other attribute
/// lines (each without `a=`), in their order. Malformed ones are skipped,
/// as lines of a suite we do not support are (RFC 4568 §7.1.1: the answerer
/// takes one it understands).
pub fn crypto_attrs<'a>(attributes: impl IntoIterator<Item = &'a String>) -> Vec<CryptoAttr> {
    attributes
        .into_iter()
        .filter_map(|a| a.strip_prefix("crypto:"))
        .filter_map(|value| parse_crypto(value).ok().flatten())
        .collect()
}

/// A line of a SIP message or SDP body with the key material of an
/// `a=crypto` attribute replaced by `<redacted>` (for traces and logs);
/// other lines are returned as they are.
pub fn redact_line(line: &str) -> std::borrow::Cow<'_, str> {
    let Some(value) = line.strip_prefix("a=crypto:") else {
        return std::borrow::Cow::Borrowed(line);
    };
    let redacted: Vec<String> = value
        .split(' ')
        .map(|field| match field.find("inline:") {
            Some(at) => format!("{}inline:<redacted>", &field[..at]),
            None => field.to_string(),
        })
        .collect();
    std::borrow::Cow::Owned(format!("a=crypto:{}", redacted.join(" ")))
}

impl Default for OfferMedia {
    /// Plain RTP: no crypto lines.
    fn default() -> Self {
        OfferMedia {
            proto: PROTO_PLAIN,
            crypto: Vec::new(),
        }
    }
}

/// Our side of SDES for one call: the account's policy and the keys our
/// offers carry. Made once per call, so every re-offer (hold, resume, a
/// new address, a session refresh) carries the same keys (RFC 4568 §7.1.4
/// allows keeping them), and our answers use our key of the suite the
/// peer chose: the media session keeps its contexts.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LocalCrypto {
    pub policy: MediaEncryption,
    pub offer: OfferMedia,
}

impl LocalCrypto {
    /// The policy with fresh keys for our offers.
    pub fn new(policy: MediaEncryption) -> Self {
        LocalCrypto {
            policy,
            offer: offer_media(policy, KeySalt::random),
        }
    }

    /// How an offered audio line is answered ([`answer_media`]).
    pub fn answer(
        &self,
        proto: &str,
        crypto: &[CryptoAttr],
    ) -> Result<AnswerMedia, EncryptionMismatch> {
        answer_media(self.policy, proto, crypto, |suite| {
            self.offer
                .crypto
                .iter()
                .find(|ours| ours.suite == suite)
                .map(|ours| ours.keys.clone())
                .unwrap_or_else(KeySalt::random)
        })
    }

    /// Whether the peer's answer to our offer fits ([`accept_answer`]).
    pub fn accept(&self, crypto: &[CryptoAttr]) -> Result<Option<SrtpKeys>, EncryptionMismatch> {
        accept_answer(self.policy, &self.offer, crypto)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(fill: u8) -> KeySalt {
        KeySalt {
            key: [fill; KEY_LEN],
            salt: [fill.wrapping_add(1); SALT_LEN],
        }
    }

    // RFC 4568 §9.1's example key.
    const RFC_LINE: &str =
        "1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|2^20|1:4";

    #[test]
    fn parse_table() {
        let b64 = STANDARD.encode(keys(7).concat());
        let good = |suite: CryptoSuite, tag| {
            Ok(Some(CryptoAttr {
                tag,
                suite,
                keys: keys(7),
            }))
        };
        let cases: Vec<(String, Result<Option<CryptoAttr>, CryptoError>)> = vec![
            (
                format!("1 AES_CM_128_HMAC_SHA1_80 inline:{b64}"),
                good(CryptoSuite::AesCm128HmacSha1_80, 1),
            ),
            (
                format!("2 AES_CM_128_HMAC_SHA1_32 inline:{b64}|2^31"),
                good(CryptoSuite::AesCm128HmacSha1_32, 2),
            ),
            (
                format!("3  AES_CM_128_HMAC_SHA1_80   inline:{b64}  "),
                good(CryptoSuite::AesCm128HmacSha1_80, 3),
            ),
            // Unsupported but well formed: skipped.
            (format!("1 AES_256_CM_HMAC_SHA1_80 inline:{b64}"), Ok(None)),
            (RFC_LINE.to_owned(), Ok(None)), // MKI
            (
                format!("1 AES_CM_128_HMAC_SHA1_80 inline:{b64} UNENCRYPTED_SRTP"),
                Ok(None),
            ),
            (
                format!("1 AES_CM_128_HMAC_SHA1_80 inline:{b64};inline:{b64}"),
                Ok(None),
            ),
            // Malformed.
            ("".to_owned(), Err(CryptoError::Syntax("missing tag"))),
            (
                "x AES_CM_128_HMAC_SHA1_80 inline:AA".to_owned(),
                Err(CryptoError::Syntax("bad tag")),
            ),
            ("1".to_owned(), Err(CryptoError::Syntax("missing suite"))),
            (
                "1 AES_CM_128_HMAC_SHA1_80".to_owned(),
                Err(CryptoError::Syntax("missing key")),
            ),
            (
                "1 AES_CM_128_HMAC_SHA1_80 uri:x".to_owned(),
                Err(CryptoError::Syntax("key method is not inline")),
            ),
            (
                "1 AES_CM_128_HMAC_SHA1_80 inline:!!!!".to_owned(),
                Err(CryptoError::Syntax("key is not base64")),
            ),
            (
                "1 AES_CM_128_HMAC_SHA1_80 inline:AAAA".to_owned(),
                Err(CryptoError::Syntax("wrong key length")),
            ),
        ];
        for (line, want) in cases {
            assert_eq!(parse_crypto(&line), want, "{line}");
        }
    }

    #[test]
    fn format_round_trips_and_debug_hides_keys() {
        for suite in CryptoSuite::ALL {
            let attr = CryptoAttr {
                tag: 4,
                suite,
                keys: KeySalt::random(),
            };
            let line = format_crypto(&attr);
            assert!(line.starts_with(&format!("4 {} inline:", suite.name())));
            assert_eq!(parse_crypto(&line), Ok(Some(attr.clone())));
            let encoded = line.rsplit(':').next().unwrap().to_owned();
            assert!(!format!("{attr:?}").contains(&encoded));
        }
    }

    #[test]
    fn random_keys_differ() {
        assert_ne!(KeySalt::random(), KeySalt::random());
    }

    #[test]
    fn policy_parse() {
        assert_eq!(MediaEncryption::parse("none"), Some(MediaEncryption::None));
        assert_eq!(MediaEncryption::parse("srtp"), Some(MediaEncryption::Srtp));
        assert_eq!(
            MediaEncryption::parse("srtp-optional"),
            Some(MediaEncryption::SrtpOptional)
        );
        assert_eq!(MediaEncryption::parse("SRTP"), None);
    }

    #[test]
    fn offer_table() {
        let cases = [
            (MediaEncryption::None, PROTO_PLAIN, 0),
            (MediaEncryption::Srtp, PROTO_SAVP, 2),
            (MediaEncryption::SrtpOptional, PROTO_PLAIN, 2),
        ];
        for (policy, proto, lines) in cases {
            let mut n = 0u8;
            let offer = offer_media(policy, || {
                n += 1;
                keys(n)
            });
            assert_eq!(offer.proto, proto, "{policy:?}");
            assert_eq!(offer.crypto.len(), lines, "{policy:?}");
            if lines == 2 {
                assert_eq!(offer.crypto[0].suite, CryptoSuite::AesCm128HmacSha1_80);
                assert_eq!(offer.crypto[1].suite, CryptoSuite::AesCm128HmacSha1_32);
                assert_ne!(offer.crypto[0].keys, offer.crypto[1].keys);
                assert_ne!(offer.crypto[0].tag, offer.crypto[1].tag);
            }
        }
    }

    type AnswerCase<'a> = (
        MediaEncryption,
        &'a str,
        &'a [CryptoAttr],
        Result<AnswerMedia, EncryptionMismatch>,
    );
    type AcceptCase<'a> = (
        MediaEncryption,
        &'a OfferMedia,
        &'a [CryptoAttr],
        Result<Option<SrtpKeys>, EncryptionMismatch>,
    );

    #[test]
    fn answer_table() {
        use EncryptionMismatch::*;
        use MediaEncryption as P;
        let offered = [CryptoAttr {
            tag: 9,
            suite: CryptoSuite::AesCm128HmacSha1_32,
            keys: keys(1),
        }];
        let srtp = |proto| {
            Ok(AnswerMedia::Srtp {
                proto,
                crypto: CryptoAttr {
                    tag: 9,
                    suite: CryptoSuite::AesCm128HmacSha1_32,
                    keys: keys(2),
                },
                keys: SrtpKeys {
                    suite: CryptoSuite::AesCm128HmacSha1_32,
                    local: keys(2),
                    remote: keys(1),
                },
            })
        };
        let cases: [AnswerCase; 12] = [
            (P::None, PROTO_PLAIN, &[], Ok(AnswerMedia::Plain)),
            (P::None, PROTO_PLAIN, &offered, Ok(AnswerMedia::Plain)),
            (P::None, PROTO_SAVP, &offered, Err(SrtpNotEnabled)),
            (P::None, PROTO_SAVP, &[], Err(SrtpNotEnabled)),
            (P::Srtp, PROTO_PLAIN, &[], Err(PlainOffered)),
            (P::Srtp, PROTO_SAVP, &[], Err(NoSupportedSuite)),
            (P::Srtp, PROTO_SAVP, &offered, srtp(PROTO_SAVP)),
            (P::Srtp, PROTO_PLAIN, &offered, srtp(PROTO_PLAIN)),
            (P::SrtpOptional, PROTO_PLAIN, &[], Ok(AnswerMedia::Plain)),
            (P::SrtpOptional, PROTO_SAVP, &[], Err(NoSupportedSuite)),
            (P::SrtpOptional, PROTO_PLAIN, &offered, srtp(PROTO_PLAIN)),
            (P::SrtpOptional, "rtp/savp", &offered, srtp(PROTO_SAVP)),
        ];
        for (policy, proto, crypto, want) in cases {
            assert_eq!(
                answer_media(policy, proto, crypto, |_| keys(2)),
                want,
                "{policy:?} {proto} {}",
                crypto.len()
            );
        }
    }

    #[test]
    fn accept_answer_table() {
        use EncryptionMismatch::*;
        use MediaEncryption as P;
        let mut n = 0u8;
        let offer = offer_media(P::Srtp, || {
            n += 1;
            keys(n)
        });
        let plain_offer = offer_media(P::None, || keys(0));
        let answer = |tag, suite| CryptoAttr {
            tag,
            suite,
            keys: keys(50),
        };
        let second = [answer(2, CryptoSuite::AesCm128HmacSha1_32)];
        let wrong_suite = [answer(2, CryptoSuite::AesCm128HmacSha1_80)];
        let unknown_tag = [answer(7, CryptoSuite::AesCm128HmacSha1_80)];
        let cases: [AcceptCase; 7] = [
            (P::None, &plain_offer, &[], Ok(None)),
            (P::Srtp, &offer, &[], Err(PlainAnswered)),
            (P::SrtpOptional, &offer, &[], Ok(None)),
            (
                P::Srtp,
                &offer,
                &second,
                Ok(Some(SrtpKeys {
                    suite: CryptoSuite::AesCm128HmacSha1_32,
                    local: keys(2),
                    remote: keys(50),
                })),
            ),
            (P::Srtp, &offer, &wrong_suite, Err(AnswerMismatch)),
            (P::Srtp, &offer, &unknown_tag, Err(AnswerMismatch)),
            (P::SrtpOptional, &offer, &unknown_tag, Err(AnswerMismatch)),
        ];
        for (policy, offer, crypto, want) in cases {
            assert_eq!(
                accept_answer(policy, offer, crypto),
                want,
                "{policy:?} {crypto:?}"
            );
        }
    }

    #[test]
    fn crypto_attrs_takes_supported_lines_in_order() {
        let b64 = STANDARD.encode(keys(3).concat());
        let other: Vec<String> = vec![
            "sendrecv".into(),
            format!("crypto:1 AES_256_CM_HMAC_SHA1_80 inline:{b64}"),
            "crypto:2 AES_CM_128_HMAC_SHA1_80 inline:!!".into(),
            format!("crypto:3 AES_CM_128_HMAC_SHA1_32 inline:{b64}"),
            format!("crypto:4 AES_CM_128_HMAC_SHA1_80 inline:{b64}"),
        ];
        let got = crypto_attrs(&other);
        assert_eq!(got.iter().map(|c| c.tag).collect::<Vec<_>>(), vec![3, 4]);
        assert_eq!(got[0].suite, CryptoSuite::AesCm128HmacSha1_32);
    }

    #[test]
    fn redact_line_hides_every_key() {
        let cases = [
            (
                "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|2^20|1:4",
                "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:<redacted>",
            ),
            (
                "a=crypto:2 AES_CM_128_HMAC_SHA1_32 inline:QUJD;inline:REVG",
                "a=crypto:2 AES_CM_128_HMAC_SHA1_32 inline:<redacted>",
            ),
            ("a=sendrecv", "a=sendrecv"),
            ("m=audio 4000 RTP/SAVP 0", "m=audio 4000 RTP/SAVP 0"),
        ];
        for (line, want) in cases {
            assert_eq!(redact_line(line), want, "{line}");
        }
    }

    #[test]
    fn local_crypto_keeps_its_keys_for_answers_and_re_offers() {
        let ours = LocalCrypto::new(MediaEncryption::Srtp);
        assert_eq!(ours.offer.proto, PROTO_SAVP);
        let offered = [CryptoAttr {
            tag: 5,
            suite: CryptoSuite::AesCm128HmacSha1_32,
            keys: keys(9),
        }];
        let Ok(AnswerMedia::Srtp {
            crypto, keys: got, ..
        }) = ours.answer(PROTO_SAVP, &offered)
        else {
            panic!("SRTP offer not answered with SRTP");
        };
        assert_eq!(crypto.tag, 5);
        assert_eq!(
            got.local, ours.offer.crypto[1].keys,
            "our key of that suite"
        );
        assert_eq!(got.remote, keys(9));
        // The same again (a re-INVITE): the same key.
        let Ok(AnswerMedia::Srtp { keys: again, .. }) = ours.answer(PROTO_SAVP, &offered) else {
            panic!("second answer");
        };
        assert_eq!(again, got);
        assert_eq!(LocalCrypto::default().offer, OfferMedia::default());
        assert_eq!(ours.accept(&[]), Err(EncryptionMismatch::PlainAnswered));
    }
}
