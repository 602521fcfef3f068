//! The account's audio codecs in order of preference (`[[account]]
//! codecs`): which codecs its calls offer and accept, first preferred.
//! Only the setting; the SDP is `sip::sdp`'s, the codecs `media`'s, and
//! `phone` maps these names onto them.

/// A codec name the config takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AudioCodec {
    /// Opus, 48 kHz fullband.
    Opus,
    /// ITU-T G.722, 16 kHz wideband.
    G722,
    /// G.711 A-law.
    Pcma,
    /// G.711 μ-law.
    Pcmu,
}

impl AudioCodec {
    /// The list when the key is not set: G.711 first, as offers always
    /// were, then G.722 (taken when a peer prefers it).
    pub const DEFAULT: [AudioCodec; 3] = [AudioCodec::Pcmu, AudioCodec::Pcma, AudioCodec::G722];

    /// The values the config takes, as they are written there.
    pub const VALUES: &'static str = "\"opus\", \"G722\", \"PCMA\" or \"PCMU\"";

    /// Parses one name (case-insensitive).
    pub fn parse(value: &str) -> Option<Self> {
        match value.to_ascii_uppercase().as_str() {
            "OPUS" => Some(Self::Opus),
            "G722" => Some(Self::G722),
            "PCMA" => Some(Self::Pcma),
            "PCMU" => Some(Self::Pcmu),
            _ => None,
        }
    }

    /// Parses the whole list: at least one codec, none twice.
    pub fn parse_list(values: &[String]) -> Result<Vec<Self>, String> {
        if values.is_empty() {
            return Err("must name at least one codec".into());
        }
        let mut out = Vec::with_capacity(values.len());
        for v in values {
            let codec = Self::parse(v)
                .ok_or_else(|| format!("unknown codec `{v}` (expected {})", Self::VALUES))?;
            if out.contains(&codec) {
                return Err(format!("codec `{v}` is named twice"));
            }
            out.push(codec);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(v: &[&str]) -> Result<Vec<AudioCodec>, String> {
        AudioCodec::parse_list(&v.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn lists_parse_in_order_and_bad_ones_say_why() {
        use AudioCodec::*;
        assert_eq!(list(&["G722", "pcmu"]), Ok(vec![G722, Pcmu]));
        assert_eq!(list(&["PCMA"]), Ok(vec![Pcma]));
        assert_eq!(list(&["opus", "G722"]), Ok(vec![Opus, G722]));
        assert!(list(&[]).unwrap_err().contains("at least one"));
        assert!(list(&["G729"])
            .unwrap_err()
            .contains("unknown codec `G729`"));
        assert!(list(&["PCMU", "pcmu"]).unwrap_err().contains("twice"));
        assert_eq!(AudioCodec::DEFAULT, [Pcmu, Pcma, G722]);
    }
}
