//! SDES key exchange for SRTP (RFC 4568): the `a=crypto` attribute (parse and
//! print), the account's `media_encryption` policy, and the offer/answer
//! decisions that follow from it: what transport profile and crypto lines
//! an offer carries, how an incoming offer is answered (or refused with
//! 488), and whether a peer's answer to our offer is acceptable. Pure: no
//! IO, no SRTP processing (that is `media::srtp`), and it must never print
//! key material in `Debug` or error text.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;

/// Master key length of the AES_CM_128 suites, in bytes.
pub const KEY_LEN: usize = 16;
/// Master salt length of the AES_CM_128 suites, in bytes.
pub const SALT_LEN: usize = 14;

/// Transport profile of a plain RTP audio line.
pub const PROTO_PLAIN: &str = "RTP/AVP";
/// Transport profile of an SRTP audio line.
pub const PROTO_SAVP: &str = "RTP/SAVP";

/// The account's media encryption policy (`[account] media_encryption`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MediaEncryption {
    /// Plain RTP only (the default).
    #[default]
    None,
    /// SRTP only: never sends or accepts plain RTP.
    Srtp,
    /// SRTP when the peer takes it, plain RTP otherwise.
    SrtpOptional,
}

impl MediaEncryption {
    /// Parses the config value: `none`, `srtp` or `srtp-optional`.
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "none" => Some(Self::None),
            "srtp" => Some(Self::Srtp),
            "srtp-optional" => Some(Self::SrtpOptional),
            _ => None,
        }
    }
}

/// The SDES crypto suites termphone supports, in order of preference.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CryptoSuite {
    AesCm128HmacSha1_80,
    AesCm128HmacSha1_32,
}

impl CryptoSuite {
    /// Every supported suite, most preferred first.
    pub const ALL: [CryptoSuite; 2] = [Self::AesCm128HmacSha1_80, Self::AesCm128HmacSha1_32];

    /// The suite's name in `a=crypto`.
    pub fn name(self) -> &'static str {
        match self {
            Self::AesCm128HmacSha1_80 => "AES_CM_128_HMAC_SHA1_80",
            Self::AesCm128HmacSha1_32 => "AES_CM_128_HMAC_SHA1_32",
        }
    }

    fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|suite| suite.name() == name)
    }
}

/// A master key and salt. `Debug` never shows the bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct KeySalt {
    pub key: [u8; KEY_LEN],
    pub salt: [u8; SALT_LEN],
}

impl std::fmt::Debug for KeySalt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KeySalt(<redacted>)")
    }
}

impl KeySalt {
    /// Fresh key material from the operating system's CSPRNG.
    pub fn random() -> Self {
        use rand::TryRngCore as _;
        let mut bytes = [0u8; KEY_LEN + SALT_LEN];
        // The OS generator failing is not recoverable for a secure call;
        // the thread-local generator is a CSPRNG seeded from it as well.
        if rand::rngs::OsRng.try_fill_bytes(&mut bytes).is_err() {
            use rand::RngCore as _;
            rand::rng().fill_bytes(&mut bytes);
        }
        Self::from_concat(&bytes).unwrap_or(Self {
            key: [0; KEY_LEN],
            salt: [0; SALT_LEN],
        })
    }

    fn from_concat(bytes: &[u8]) -> Option<Self> {
        if bytes.len() != KEY_LEN + SALT_LEN {
            return None;
        }
        let (key, salt) = bytes.split_at(KEY_LEN);
        Some(Self {
            key: key.try_into().ok()?,
            salt: salt.try_into().ok()?,
        })
    }

    fn concat(&self) -> Vec<u8> {
        let mut bytes = Vec::with_capacity(KEY_LEN + SALT_LEN);
        bytes.extend_from_slice(&self.key);
        bytes.extend_from_slice(&self.salt);
        bytes
    }
}

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

/// Keys of a negotiated SRTP session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SrtpKeys {
    pub suite: CryptoSuite,
    /// Protects what we send.
    pub local: KeySalt,
    /// Unprotects what the peer sends.
    pub remote: KeySalt,
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
/// An `Err` is answered with 488. `our_key` supplies our own key.
pub fn answer_media(
    policy: MediaEncryption,
    proto: &str,
    crypto: &[CryptoAttr],
    our_key: impl FnOnce() -> KeySalt,
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
    let local = our_key();
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
                answer_media(policy, proto, crypto, || keys(2)),
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
}
