//! The audio codecs of a session behind one pair of types: [`Encoder`]
//! turns one 20 ms frame at the codec's sample rate into an RTP payload,
//! [`Decoder`] turns a payload back into samples. Codecs with state (their
//! predictors) keep it here, one encoder for what a session sends and one
//! decoder for what it receives; stateless G.711 is [`super::g711`].
//! Knows no RTP, sockets or SDP.

use super::{g711, Codec};

/// What a session encodes with.
#[derive(Debug, Clone)]
pub struct Encoder {
    codec: Codec,
}

impl Encoder {
    pub fn new(codec: Codec) -> Encoder {
        Encoder { codec }
    }

    pub fn codec(&self) -> Codec {
        self.codec
    }

    /// Encodes one frame (`codec.frame_samples()` samples), appending the
    /// payload to `out`.
    pub fn encode(&mut self, pcm: &[i16], out: &mut Vec<u8>) {
        g711::encode(self.codec, pcm, out);
    }
}

/// What a session decodes with.
#[derive(Debug, Clone)]
pub struct Decoder {
    codec: Codec,
}

impl Decoder {
    pub fn new(codec: Codec) -> Decoder {
        Decoder { codec }
    }

    pub fn codec(&self) -> Codec {
        self.codec
    }

    /// Decodes one payload, appending samples at the codec's sample rate
    /// to `out`. Any bytes decode: a payload from the network never fails.
    pub fn decode(&mut self, payload: &[u8], out: &mut Vec<i16>) {
        g711::decode(self.codec, payload, out);
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
}
