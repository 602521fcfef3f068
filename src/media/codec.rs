//! The audio codecs of a session behind one pair of types: [`Encoder`]
//! turns one 20 ms frame at the codec's sample rate into an RTP payload,
//! [`Decoder`] turns a payload back into samples. Codecs with state (their
//! predictors) keep it here, one encoder for what a session sends and one
//! decoder for what it receives; stateless G.711 is [`super::g711`].
//! Knows no RTP, sockets or SDP.

use super::{g711, g722, opus, Codec};

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
    Opus(opus::Encoder, super::opus_adapt::LossAdapter),
}

impl Encoder {
    pub fn new(codec: Codec) -> Encoder {
        let state = match codec {
            Codec::Pcmu | Codec::Pcma => EncoderState::Stateless,
            Codec::G722 => EncoderState::G722(Box::default()),
            Codec::Opus => EncoderState::Opus(opus::Encoder::new(), Default::default()),
        };
        Encoder { codec, state }
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
}
