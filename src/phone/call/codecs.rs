//! The codecs a call offers and accepts: the account's `codecs` setting
//! (config names, first preferred) as the media layer's [`Codec`]s. Pure;
//! the SDP that carries them is `sip::sdp`'s.

use crate::config::AudioCodec;
use crate::rtp_types::Codec;

/// The account's list as codecs, in its order.
pub fn offered(list: &[AudioCodec]) -> Vec<Codec> {
    list.iter()
        .map(|c| match c {
            AudioCodec::Opus => Codec::Opus,
            AudioCodec::G722 => Codec::G722,
            AudioCodec::Pcma => Codec::Pcma,
            AudioCodec::Pcmu => Codec::Pcmu,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_accounts_order_is_kept() {
        assert_eq!(
            offered(&AudioCodec::DEFAULT),
            vec![Codec::Pcmu, Codec::Pcma, Codec::G722]
        );
        assert_eq!(
            offered(&[AudioCodec::G722, AudioCodec::Pcma]),
            vec![Codec::G722, Codec::Pcma]
        );
    }
}
