//! The audio codecs of a session behind one pair of types: [`Encoder`]
//! turns one 20 ms frame at the codec's sample rate into an RTP payload,
//! [`Decoder`] turns a payload back into samples. Codecs with state (their
//! predictors) keep it here, one encoder for what a session sends and one
//! decoder for what it receives; stateless G.711 is [`super::g711`].
//! Knows no RTP, sockets or SDP.

use super::opus_adapt::{self, LossAdapter};
use super::{g711, g722, opus, Codec};
use crate::rtp_types::OpusPeerParams;

/// What a session encodes with.
#[derive(Debug)]
pub struct Encoder {
    codec: Codec,
    state: EncoderState,
}

#[derive(Debug)]
enum EncoderState {
    Stateless,
    G722(Box<g722::Encoder>),
    Opus(opus::Encoder, LossAdapter),
}

impl Encoder {
    pub fn new(codec: Codec) -> Encoder {
        let state = match codec {
            Codec::Pcmu | Codec::Pcma => EncoderState::Stateless,
            Codec::G722 => EncoderState::G722(Box::default()),
            Codec::Opus => {
                let peer = OpusPeerParams::default();
                let mut e = opus::Encoder::new();
                let adapter = LossAdapter::new(peer);
                e.configure(opus_adapt::peer_setup(&peer), adapter.tuning());
                EncoderState::Opus(e, adapter)
            }
        };
        Encoder { codec, state }
    }

    /// An encoder for `codec` set up for a peer receiving `peer` (see
    /// [`Encoder::set_peer`]).
    pub fn for_peer(codec: Codec, peer: OpusPeerParams) -> Encoder {
        let mut e = Encoder::new(codec);
        e.set_peer(peer);
        e
    }

    /// Sets Opus up for what the peer receives (its SDP's receive
    /// parameters, RFC 7587): FEC, band, VBR and the bitrate cap, the
    /// loss adaptation started afresh when they changed. The other codecs
    /// have nothing to set.
    pub fn set_peer(&mut self, peer: OpusPeerParams) {
        if let EncoderState::Opus(e, adapter) = &mut self.state {
            if *adapter.peer() != peer {
                *adapter = LossAdapter::new(peer);
                tracing::debug!("opus: peer receives {peer:?}");
                e.configure(opus_adapt::peer_setup(&peer), adapter.tuning());
            }
        }
    }

    pub fn codec(&self) -> Codec {
        self.codec
    }

    /// The peer reported losing `fraction_lost` (RTCP's /256) of what we
    /// send: Opus re-plans its FEC and bitrate (see
    /// [`super::opus_adapt`]); the other codecs have nothing to adapt.
    pub fn on_peer_loss(&mut self, fraction_lost: u8) {
        if let EncoderState::Opus(e, adapter) = &mut self.state {
            if let Some(t) = adapter.on_report(fraction_lost) {
                tracing::debug!("opus: peer lost {fraction_lost}/256, now {t:?}");
                e.tune(t);
            }
        }
    }

    /// Encodes one frame (`codec.frame_samples()` samples), appending the
    /// payload to `out`.
    pub fn encode(&mut self, pcm: &[i16], out: &mut Vec<u8>) {
        match &mut self.state {
            EncoderState::Stateless => g711::encode(self.codec, pcm, out),
            EncoderState::G722(e) => e.encode(pcm, out),
            EncoderState::Opus(e, _) => e.encode(pcm, out),
        }
    }
}

/// What a session decodes with.
#[derive(Debug)]
pub struct Decoder {
    codec: Codec,
    state: DecoderState,
}

#[derive(Debug)]
enum DecoderState {
    Stateless,
    G722(Box<g722::Decoder>),
    Opus(opus::Decoder),
}

impl Decoder {
    pub fn new(codec: Codec) -> Decoder {
        let state = match codec {
            Codec::Pcmu | Codec::Pcma => DecoderState::Stateless,
            Codec::G722 => DecoderState::G722(Box::default()),
            Codec::Opus => DecoderState::Opus(opus::Decoder::new()),
        };
        Decoder { codec, state }
    }

    pub fn codec(&self) -> Codec {
        self.codec
    }

    /// Decodes one payload, appending samples at the codec's sample rate
    /// to `out`. Any bytes decode: a payload from the network never fails.
    pub fn decode(&mut self, payload: &[u8], out: &mut Vec<i16>) {
        match &mut self.state {
            DecoderState::Stateless => g711::decode(self.codec, payload, out),
            DecoderState::G722(d) => d.decode(payload, out),
            DecoderState::Opus(d) => d.decode(payload, out),
        }
    }

    /// The frame lost just before `next`, from the in-band FEC `next`
    /// carries (Opus); `false` when the codec has none or `next` carries
    /// none. Called before `next` itself is decoded.
    pub fn recover(&mut self, next: &[u8], out: &mut Vec<i16>) -> bool {
        match &mut self.state {
            DecoderState::Opus(d) => d.recover(next, out),
            _ => false,
        }
    }

    /// One frame of the codec's own concealment for a frame that never
    /// came (Opus: libopus's PLC, which keeps its state in step); `false`
    /// when the codec has none (the playout's concealer covers it).
    pub fn conceal(&mut self, out: &mut Vec<i16>) -> bool {
        match &mut self.state {
            DecoderState::Opus(d) => d.conceal(out),
            _ => false,
        }
    }

    /// A frame that never came and that the playout conceals: a decoder
    /// with state moves it on over the frame, so the packets after the
    /// gap decode in step with the far encoder (G.722: see
    /// `g722/bridge.rs`; the estimate it decodes is not played).
    pub fn skip_frame(&mut self) {
        if let DecoderState::G722(d) = &mut self.state {
            let mut scratch = Vec::with_capacity(self.codec.frame_samples());
            d.bridge(self.codec.frame_samples(), &mut scratch);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn g711_frames_round_trip_through_the_codec_types() {
        for codec in [Codec::Pcmu, Codec::Pcma] {
            let pcm: Vec<i16> = (0..codec.frame_samples() as i16).map(|i| i * 50).collect();
            let mut payload = Vec::new();
            Encoder::new(codec).encode(&pcm, &mut payload);
            assert_eq!(payload.len(), 160);
            let mut back = Vec::new();
            Decoder::new(codec).decode(&payload, &mut back);
            assert_eq!(back.len(), pcm.len());
            for (a, b) in pcm.iter().zip(&back) {
                assert!((a - b).abs() <= 8 + a.abs() / 16, "{a} {b}");
            }
        }
    }

    #[test]
    fn g722_frames_are_160_bytes_of_320_samples_and_keep_state() {
        let tone = crate::media::tone::sine(6000.0, 0.2, 16_000);
        let (mut enc, mut dec) = (Encoder::new(Codec::G722), Decoder::new(Codec::G722));
        let mut out = Vec::new();
        for frame in tone.chunks(Codec::G722.frame_samples()) {
            let mut payload = Vec::new();
            enc.encode(frame, &mut payload);
            assert_eq!(payload.len(), 160);
            dec.decode(&payload, &mut out);
        }
        assert_eq!(out.len(), tone.len());
        let p = crate::media::tone::goertzel_power(&out[640..], 16_000, 6000.0);
        assert!(p > 0.1, "{p}");
    }

    /// Speech-like sound at 48 kHz: syllables (a 3 Hz envelope) of a
    /// voiced buzz whose pitch glides 120-200 Hz, harmonics up to 20 kHz,
    /// with a little hiss; loud, wide band, many bits.
    fn speechlike(secs: usize) -> Vec<i16> {
        use std::f64::consts::PI;
        let mut x: u32 = 0x1234_5678;
        let mut phase = 0.0f64;
        (0..secs * 48_000)
            .map(|i| {
                x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                let t = i as f64 / 48_000.0;
                let pitch = 160.0 + 40.0 * (2.0 * PI * 0.7 * t).sin();
                phase += 2.0 * PI * pitch / 48_000.0;
                let harmonics = (20_000.0 / pitch) as u32;
                let buzz: f64 = (1..=harmonics)
                    .map(|k| (phase * f64::from(k)).sin() / f64::from(k).sqrt())
                    .sum();
                let envelope = (2.0 * PI * 3.0 * t).sin().max(0.0);
                let hiss = f64::from((x >> 16) as i16) / 16.0;
                ((buzz * 1500.0 + hiss) * envelope).clamp(-32_000.0, 32_000.0) as i16
            })
            .collect()
    }

    /// The audio band of an Opus packet's TOC (RFC 6716 §3.1): 0 NB,
    /// 1 MB, 2 WB, 3 SWB, 4 FB.
    fn toc_band(toc: u8) -> u8 {
        match toc >> 3 {
            c @ 0..12 => c / 4,
            c @ 12..16 => 3 + (c - 12) / 2,
            c => [0, 2, 3, 4][usize::from((c - 16) / 4)],
        }
    }

    /// (mean payload bytes, widest band, packets with FEC) of 3 s of
    /// [`speechlike`] through an encoder set up for `peer`, the first second left
    /// out (the encoder settles).
    fn opus_for(peer: OpusPeerParams) -> (usize, u8, usize) {
        let mut enc = Encoder::for_peer(Codec::Opus, peer);
        let packets: Vec<Vec<u8>> = speechlike(3)
            .chunks(Codec::Opus.frame_samples())
            .map(|f| {
                let mut p = Vec::new();
                enc.encode(f, &mut p);
                p
            })
            .skip(50)
            .collect();
        assert_eq!(packets.len(), 100);
        let bytes = packets.iter().map(Vec::len).sum::<usize>() / packets.len();
        let band = packets.iter().map(|p| toc_band(p[0])).max().unwrap();
        let fec = packets.iter().filter(|p| opus::fec_in(p)).count();
        (bytes, band, fec)
    }

    #[test]
    fn opus_keeps_to_what_the_peer_receives() {
        // The peer's cap, band and FEC (12 kbit/s is 30 bytes a packet).
        let capped = OpusPeerParams {
            max_average_bitrate: Some(12_000),
            max_playback_rate: 16_000,
            inband_fec: false,
            ..Default::default()
        };
        let (bytes, band, fec) = opus_for(capped);
        assert!(bytes <= 33, "{bytes} bytes a packet over a 12 kbit/s cap");
        assert!(band <= 2, "band {band} over wideband");
        assert_eq!(fec, 0, "FEC for a peer that does not use it");
        // Without the cap (the start's 40 kbit/s, room for FEC), FEC as
        // the peer asks: in nearly every packet, or none.
        let wide = OpusPeerParams {
            max_average_bitrate: None,
            ..capped
        };
        let (_, band, fec) = opus_for(OpusPeerParams {
            inband_fec: true,
            ..wide
        });
        assert!(band <= 2 && fec > 30, "band {band}, {fec} packets with FEC");
        let (_, _, fec) = opus_for(wide);
        assert_eq!(fec, 0, "FEC for a peer that does not use it");
        // A narrowband player gets narrowband.
        let (_, band, _) = opus_for(OpusPeerParams {
            max_playback_rate: 8000,
            ..capped
        });
        assert_eq!(band, 0);
        // No limits named: the start's 40 kbit/s, full band.
        let (bytes, band, _) = opus_for(OpusPeerParams::default());
        assert!(bytes >= 45, "{bytes} bytes a packet uncapped");
        assert!(band > 2, "band {band} uncapped");
    }
}
