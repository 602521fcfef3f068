//! Opus (RFC 7587) through the `opus` crate (libopus 1.6, built from the
//! sources `opusic-sys` vendors): one encoder and one decoder per session,
//! 48 kHz mono, 20 ms frames. The encoder is set up for what the peer
//! receives ([`Encoder::configure`], as `opus_adapt` decides from its
//! SDP): in-band FEC (a coarse copy of each frame in the next packet)
//! when the peer uses it, its band and bitrate limits; the decoder
//! recovers a lost frame from the packet after it ([`Decoder::recover`])
//! and conceals with libopus's own PLC ([`Decoder::conceal`]). Knows no
//! RTP: the session decides when a frame is missing.

use super::opus_adapt::{LossAdapter, MaxBand, PeerSetup, Tuning};
use opus::{Application, Bandwidth, Bitrate, Channels, Signal};

/// Audio rate and RTP clock.
pub const RATE: u32 = 48_000;
/// Samples of a 20 ms frame.
pub const FRAME: usize = 960;
/// The largest packet libopus writes.
const MAX_PACKET: usize = 1275;
/// Samples of the longest packet a peer may send (120 ms).
const MAX_DECODED: usize = 5760;

/// An Opus encoder set up for calls: VoIP mode, in-band FEC on until
/// [`Encoder::configure`] sets it up for a peer.
#[derive(Debug)]
pub struct Encoder {
    inner: Option<opus::Encoder>,
    buf: Box<[u8; MAX_PACKET]>,
}

impl Default for Encoder {
    fn default() -> Self {
        Encoder::new()
    }
}

impl Encoder {
    pub fn new() -> Encoder {
        let inner = opus::Encoder::new(RATE, Channels::Mono, Application::Voip)
            .and_then(|mut e| {
                e.set_signal(Signal::Voice)?;
                let start = LossAdapter::initial();
                e.set_bitrate(Bitrate::Bits(start.bitrate))?;
                e.set_inband_fec(true)?;
                e.set_packet_loss_perc(start.loss_perc)?;
                Ok(e)
            })
            .inspect_err(|e| tracing::error!("opus encoder: {e}"))
            .ok();
        Encoder {
            inner,
            buf: Box::new([0; MAX_PACKET]),
        }
    }

    /// Sets the encoder up for a peer: FEC, band and VBR as `setup`
    /// says, then the tuning `t`.
    pub fn configure(&mut self, setup: PeerSetup, t: Tuning) {
        let Some(enc) = self.inner.as_mut() else {
            return;
        };
        let set = enc
            .set_inband_fec(setup.fec)
            .and_then(|()| enc.set_max_bandwidth(bandwidth(setup.max_band)))
            .and_then(|()| enc.set_vbr(setup.vbr));
        if let Err(e) = set {
            tracing::debug!("opus setup {setup:?}: {e}");
        }
        self.tune(t);
    }

    /// Plans for `t`: the expected loss (FEC) and the bitrate.
    pub fn tune(&mut self, t: Tuning) {
        let Some(enc) = self.inner.as_mut() else {
            return;
        };
        let set = enc
            .set_bitrate(Bitrate::Bits(t.bitrate))
            .and_then(|()| enc.set_packet_loss_perc(t.loss_perc));
        if let Err(e) = set {
            tracing::debug!("opus tuning {t:?}: {e}");
        }
    }

    /// Encodes one 20 ms frame (960 samples), appending the packet to
    /// `out`; nothing if libopus refuses it.
    pub fn encode(&mut self, pcm: &[i16], out: &mut Vec<u8>) {
        let Some(enc) = self.inner.as_mut() else {
            return;
        };
        match enc.encode(pcm, &mut self.buf[..]) {
            Ok(n) => out.extend_from_slice(&self.buf[..n]),
            Err(e) => tracing::debug!("opus encode: {e}"),
        }
    }
}

/// libopus's name for a band.
fn bandwidth(band: MaxBand) -> Bandwidth {
    match band {
        MaxBand::Narrow => Bandwidth::Narrowband,
        MaxBand::Medium => Bandwidth::Mediumband,
        MaxBand::Wide => Bandwidth::Wideband,
        MaxBand::SuperWide => Bandwidth::Superwideband,
        MaxBand::Full => Bandwidth::Fullband,
    }
}

/// An Opus decoder.
#[derive(Debug)]
pub struct Decoder {
    inner: Option<opus::Decoder>,
    buf: Box<[i16; MAX_DECODED]>,
}

impl Default for Decoder {
    fn default() -> Self {
        Decoder::new()
    }
}

impl Decoder {
    pub fn new() -> Decoder {
        Decoder {
            inner: opus::Decoder::new(RATE, Channels::Mono)
                .inspect_err(|e| tracing::error!("opus decoder: {e}"))
                .ok(),
            buf: Box::new([0; MAX_DECODED]),
        }
    }

    /// Decodes one packet, appending its samples to `out`; a packet
    /// libopus cannot read appends nothing (the playout conceals it).
    pub fn decode(&mut self, packet: &[u8], out: &mut Vec<i16>) {
        self.run(packet, MAX_DECODED, false, out);
    }

    /// The frame lost just before `next` (20 ms), from the FEC data `next`
    /// carries; `false` (nothing appended) when it carries none.
    pub fn recover(&mut self, next: &[u8], out: &mut Vec<i16>) -> bool {
        fec_in(next) && self.run(next, FRAME, true, out)
    }

    /// 20 ms of libopus's concealment (after a loss with no FEC).
    pub fn conceal(&mut self, out: &mut Vec<i16>) -> bool {
        self.run(&[], FRAME, false, out)
    }

    fn run(&mut self, packet: &[u8], len: usize, fec: bool, out: &mut Vec<i16>) -> bool {
        let Some(dec) = self.inner.as_mut() else {
            return false;
        };
        match dec.decode(packet, &mut self.buf[..len], fec) {
            Ok(n) => {
                out.extend_from_slice(&self.buf[..n.min(len)]);
                n > 0
            }
            Err(e) => {
                tracing::trace!("opus decode: {e}");
                false
            }
        }
    }
}

/// Whether a one-frame packet carries LBRR (FEC) data. Only SILK and
/// hybrid frames (TOC config below 16) can; their range-coded header
/// starts with one VAD flag per SILK frame (one for 10 and 20 ms, two for
/// 40, three for 60) and then the LBRR flag, each coded at probability
/// 1/2 from a fresh range coder, so they are the leading bits of the
/// byte after the TOC (RFC 6716 §4.2.3 and §4.1). Packets of several
/// frames (codes 1-3) are not read here: `false`.
pub(super) fn fec_in(packet: &[u8]) -> bool {
    let Some(&toc) = packet.first() else {
        return false;
    };
    let config = toc >> 3;
    if config >= 16 || toc & 3 != 0 {
        return false;
    }
    let silk_frames = if config < 12 {
        match config % 4 {
            2 => 2,
            3 => 3,
            _ => 1,
        }
    } else {
        1
    };
    packet
        .get(1)
        .is_some_and(|&b| b & (0x80 >> silk_frames) != 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::tone::{goertzel_power, sine};

    #[test]
    fn a_tone_round_trips_at_48_khz_and_fec_recovers_a_lost_frame() {
        let tone = sine(6000.0, 1.0, RATE);
        let (mut enc, mut dec) = (Encoder::new(), Decoder::new());
        let packets: Vec<Vec<u8>> = tone
            .chunks(FRAME)
            .map(|f| {
                let mut p = Vec::new();
                enc.encode(f, &mut p);
                p
            })
            .collect();
        assert_eq!(packets.len(), 50);
        assert!(packets.iter().all(|p| !p.is_empty() && p.len() < 400));
        let mut out = Vec::new();
        let mut recovered = 0;
        for (i, p) in packets.iter().enumerate() {
            if i == 30 {
                continue; // lost
            }
            if i == 31 && dec.recover(p, &mut out) {
                recovered += 1;
            }
            dec.decode(p, &mut out);
        }
        assert_eq!(recovered, 1, "no FEC in packet 31");
        assert_eq!(out.len(), 50 * FRAME);
        assert!(goertzel_power(&out[FRAME * 5..], RATE, 6000.0) > 0.05);
        // Garbage decodes to nothing, never a panic.
        let mut junk = Vec::new();
        dec.decode(&[0xff, 0xff, 0xff], &mut junk);
        assert!(dec.conceal(&mut junk));
    }
}
