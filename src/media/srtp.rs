//! SRTP and SRTCP protection of one call's media (RFC 3711), over the
//! `webrtc-srtp` contexts: one context protects what we send with our
//! master key, one unprotects what the peer sends with its key. Owns only
//! the crypto step; it must not parse SDP (keys arrive as bytes from the
//! call) nor touch sockets, and it never logs key material.

use crate::rtp_types::{CryptoSuite, SrtpKeys};
use webrtc_srtp::context::Context;
use webrtc_srtp::protection_profile::ProtectionProfile;

/// The SRTP crypto suite of a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SrtpProfile {
    /// AES_CM_128_HMAC_SHA1_80.
    AesCm128Sha1_80,
    /// AES_CM_128_HMAC_SHA1_32.
    AesCm128Sha1_32,
}

impl SrtpProfile {
    /// The profile of an SDES crypto suite.
    pub fn of(suite: CryptoSuite) -> Self {
        match suite {
            CryptoSuite::AesCm128HmacSha1_80 => Self::AesCm128Sha1_80,
            CryptoSuite::AesCm128HmacSha1_32 => Self::AesCm128Sha1_32,
        }
    }

    fn profile(self) -> ProtectionProfile {
        match self {
            Self::AesCm128Sha1_80 => ProtectionProfile::Aes128CmHmacSha1_80,
            Self::AesCm128Sha1_32 => ProtectionProfile::Aes128CmHmacSha1_32,
        }
    }
}

/// Why SRTP could not be set up or a packet could not be (un)protected.
#[derive(Debug, thiserror::Error)]
pub enum SrtpError {
    #[error("SRTP: {0}")]
    Srtp(#[from] webrtc_srtp::Error),
}

/// The two SRTP contexts of one media session.
pub struct SrtpSession {
    outbound: Context,
    inbound: Context,
}

impl std::fmt::Debug for SrtpSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SrtpSession(<keys redacted>)")
    }
}

impl SrtpSession {
    /// Contexts for `profile` with our master key/salt and the peer's.
    pub fn new(
        profile: SrtpProfile,
        local_key: &[u8],
        local_salt: &[u8],
        remote_key: &[u8],
        remote_salt: &[u8],
    ) -> Result<Self, SrtpError> {
        let outbound = Context::new(local_key, local_salt, profile.profile(), None, None)?;
        let inbound = Context::new(remote_key, remote_salt, profile.profile(), None, None)?;
        Ok(Self { outbound, inbound })
    }

    /// Contexts for the keys a call's SDP negotiated.
    pub fn from_keys(keys: &SrtpKeys) -> Result<Self, SrtpError> {
        Self::new(
            SrtpProfile::of(keys.suite),
            &keys.local.key,
            &keys.local.salt,
            &keys.remote.key,
            &keys.remote.salt,
        )
    }

    /// Encrypts and authenticates one outgoing RTP packet.
    pub fn protect_rtp(&mut self, packet: &[u8]) -> Result<Vec<u8>, SrtpError> {
        Ok(self.outbound.encrypt_rtp(packet)?.to_vec())
    }

    /// Authenticates and decrypts one incoming SRTP packet. The caller checks
    /// the RTP header (not padding, which is encrypted) before this, and the
    /// whole packet after.
    pub fn unprotect_rtp(&mut self, packet: &[u8]) -> Result<Vec<u8>, SrtpError> {
        Ok(self.inbound.decrypt_rtp(packet)?.to_vec())
    }

    /// Encrypts and authenticates one outgoing RTCP compound packet.
    pub fn protect_rtcp(&mut self, packet: &[u8]) -> Result<Vec<u8>, SrtpError> {
        Ok(self.outbound.encrypt_rtcp(packet)?.to_vec())
    }

    /// Authenticates and decrypts one incoming SRTCP packet.
    pub fn unprotect_rtcp(&mut self, packet: &[u8]) -> Result<Vec<u8>, SrtpError> {
        Ok(self.inbound.decrypt_rtcp(packet)?.to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY_A: [u8; 16] = [1; 16];
    const SALT_A: [u8; 14] = [2; 14];
    const KEY_B: [u8; 16] = [3; 16];
    const SALT_B: [u8; 14] = [4; 14];

    fn pair(profile: SrtpProfile) -> (SrtpSession, SrtpSession) {
        let a = SrtpSession::new(profile, &KEY_A, &SALT_A, &KEY_B, &SALT_B).unwrap();
        let b = SrtpSession::new(profile, &KEY_B, &SALT_B, &KEY_A, &SALT_A).unwrap();
        (a, b)
    }

    fn rtp(seq: u16, payload: &[u8]) -> Vec<u8> {
        let mut packet = vec![0x80, 0x00];
        packet.extend_from_slice(&seq.to_be_bytes());
        packet.extend_from_slice(&(u32::from(seq) * 160).to_be_bytes());
        packet.extend_from_slice(&0x1234_5678u32.to_be_bytes());
        packet.extend_from_slice(payload);
        packet
    }

    #[test]
    fn loopback_pair_exchanges_encrypted_audio() {
        for (profile, tag_len) in [
            (SrtpProfile::AesCm128Sha1_80, 10),
            (SrtpProfile::AesCm128Sha1_32, 4),
        ] {
            let (mut a, mut b) = pair(profile);
            // A G.711 µ-law frame of a tone-like pattern.
            let audio: Vec<u8> = (0..160u16).map(|i| (i * 37 % 251) as u8).collect();
            for seq in 100..105u16 {
                let plain = rtp(seq, &audio);
                let wire = a.protect_rtp(&plain).unwrap();
                assert_eq!(wire.len(), plain.len() + tag_len);
                assert_eq!(wire[..12], plain[..12], "header stays clear");
                assert_ne!(wire[12..12 + audio.len()], audio[..], "payload encrypted");
                assert_eq!(b.unprotect_rtp(&wire).unwrap(), plain);
                // And the other way round.
                let back = b.protect_rtp(&plain).unwrap();
                assert_eq!(a.unprotect_rtp(&back).unwrap(), plain);
            }
        }
    }

    #[test]
    fn tampered_or_plain_packets_are_refused() {
        let (mut a, mut b) = pair(SrtpProfile::AesCm128Sha1_80);
        let plain = rtp(7, &[0xff; 160]);
        let mut wire = a.protect_rtp(&plain).unwrap();
        wire[20] ^= 1;
        assert!(b.unprotect_rtp(&wire).is_err());
        assert!(b.unprotect_rtp(&rtp(8, &[0xff; 160])).is_err());
        assert!(b.unprotect_rtp(&[0x80, 0, 0]).is_err());
    }

    #[test]
    fn rtcp_is_protected_as_srtcp() {
        let (mut a, mut b) = pair(SrtpProfile::AesCm128Sha1_80);
        // A receiver report without blocks: V=2, PT=201, length 1, SSRC.
        let rr = [0x80, 201, 0, 1, 0x12, 0x34, 0x56, 0x78];
        let wire = a.protect_rtcp(&rr).unwrap();
        assert_ne!(wire[..], rr[..]);
        assert_eq!(b.unprotect_rtcp(&wire).unwrap(), rr);
        let mut bad = wire.clone();
        bad[6] ^= 1;
        assert!(b.unprotect_rtcp(&bad).is_err());
    }
}
