//! The SRTP keys a call's SDP negotiates (SDES, RFC 4568) as both sides of
//! the SDP/media boundary speak of them: the crypto suite, a master key and
//! salt, and the pair a session uses (ours to protect, the peer's to
//! unprotect). Plain data: `sip::sdp_crypto` reads and writes them in
//! `a=crypto`, `media::srtp` runs the contexts on them. `Debug` never shows
//! key bytes, and nothing here prints or logs them.

/// Master key length of the AES_CM_128 suites, in bytes.
pub const KEY_LEN: usize = 16;
/// Master salt length of the AES_CM_128 suites, in bytes.
pub const SALT_LEN: usize = 14;

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

    /// The suite of an `a=crypto` name.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|suite| suite.name() == name)
    }

    /// Bytes of the authentication tag an SRTP packet carries.
    pub fn tag_len(self) -> usize {
        match self {
            Self::AesCm128HmacSha1_80 => 10,
            Self::AesCm128HmacSha1_32 => 4,
        }
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

    /// Key and salt from their concatenation (the `inline:` bytes).
    pub fn from_concat(bytes: &[u8]) -> Option<Self> {
        if bytes.len() != KEY_LEN + SALT_LEN {
            return None;
        }
        let (key, salt) = bytes.split_at(KEY_LEN);
        Some(Self {
            key: key.try_into().ok()?,
            salt: salt.try_into().ok()?,
        })
    }

    /// Key and salt concatenated (the `inline:` bytes).
    pub fn concat(&self) -> Vec<u8> {
        let mut bytes = Vec::with_capacity(KEY_LEN + SALT_LEN);
        bytes.extend_from_slice(&self.key);
        bytes.extend_from_slice(&self.salt);
        bytes
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_shows_no_key_bytes() {
        let keys = SrtpKeys {
            suite: CryptoSuite::AesCm128HmacSha1_80,
            local: KeySalt {
                key: [0xAB; KEY_LEN],
                salt: [0xCD; SALT_LEN],
            },
            remote: KeySalt::random(),
        };
        let shown = format!("{keys:?}");
        assert!(!shown.contains("171") && !shown.contains("AB") && !shown.contains("205"));
        assert!(shown.contains("<redacted>"));
    }

    #[test]
    fn concat_round_trips() {
        let k = KeySalt::random();
        assert_eq!(KeySalt::from_concat(&k.concat()), Some(k));
        assert_eq!(KeySalt::from_concat(&[0; 29]), None);
    }

    #[test]
    fn suite_names_and_tags() {
        for suite in CryptoSuite::ALL {
            assert_eq!(CryptoSuite::from_name(suite.name()), Some(suite));
        }
        assert_eq!(CryptoSuite::AesCm128HmacSha1_80.tag_len(), 10);
        assert_eq!(CryptoSuite::AesCm128HmacSha1_32.tag_len(), 4);
    }
}
