//! What the peer's `a=fmtp` says about the Opus it receives (RFC 7587
//! §6.1): the receive parameters that bound what we, the sender, encode.
//! Plain data with the RFC's defaults: `sip::sdp_opus` reads them from
//! the peer's SDP, `media::opus_adapt` turns them into encoder settings.
//! Knows no SDP text and no libopus.

/// The peer's Opus receive parameters. [`Default`] is what RFC 7587
/// assumes when the peer names none: no cap below the codec's own
/// maximum, playback up to 48 kHz, no in-band FEC wanted, no DTX, VBR.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpusPeerParams {
    /// `maxaveragebitrate`: the most bits per second on average the peer
    /// wants (6000..=510000); `None`: no cap named.
    pub max_average_bitrate: Option<u32>,
    /// `maxplaybackrate`: the highest audio rate the peer plays out, in
    /// Hz (8000..=48000).
    pub max_playback_rate: u32,
    /// `useinbandfec=1`: the peer's decoder uses in-band FEC.
    pub inband_fec: bool,
    /// `usedtx=1`: the peer prefers discontinuous transmission.
    pub dtx: bool,
    /// `cbr=1`: the peer asks for a constant bitrate.
    pub cbr: bool,
}

impl OpusPeerParams {
    /// The range RFC 7587 gives `maxaveragebitrate`.
    pub const BITRATE_RANGE: (u32, u32) = (6000, 510_000);
    /// The range RFC 7587 gives `maxplaybackrate`.
    pub const PLAYBACK_RANGE: (u32, u32) = (8000, 48_000);
}

impl Default for OpusPeerParams {
    fn default() -> Self {
        OpusPeerParams {
            max_average_bitrate: None,
            max_playback_rate: 48_000,
            inband_fec: false,
            dtx: false,
            cbr: false,
        }
    }
}
