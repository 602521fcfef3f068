//! The account's media encryption policy (`[[account]] media_encryption`):
//! whether a call's RTP is plain, SRTP only, or SRTP when the peer takes
//! it. Only the setting; what an offer and an answer carry for it is
//! `sip::sdp_crypto`'s, the protection itself `media::srtp`'s.

/// `media_encryption = "none" | "srtp" | "srtp-optional"`.
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
    /// The values the config takes, as they are written there.
    pub const VALUES: &'static str = "\"none\", \"srtp\" or \"srtp-optional\"";

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
