//! ITU-T G.722 at 64 kbit/s: 16 kHz audio in two sub-bands (a quadrature
//! mirror filter splits and joins them), the lower coded with 6-bit ADPCM,
//! the upper with 2-bit ADPCM, one byte per pair of input samples (so a
//! 20 ms frame of 320 samples is 160 bytes). The RTP clock of G.722 is
//! 8000 Hz although it samples at 16 kHz (RFC 3551 §4.5.2); that quirk
//! belongs to [`crate::rtp_types::Codec`], not here.
//!
//! [`Encoder`] and [`Decoder`] each keep the state of both bands and of
//! their filter; the predictor they share is `g722/band.rs`. Integer
//! arithmetic throughout, as the Recommendation specifies, so what we
//! encode decodes the same in any conforming decoder. Any byte string
//! decodes: nothing here can fail or panic on input from the network.
//! A frame that never came is bridged by `g722/bridge.rs`
//! ([`Decoder::bridge`]), which keeps the decoder's state moving with the
//! encoder's over the gap.

mod band;
mod bridge;

use band::{saturate, Band, Kind, IHN, IHP, ILN, ILP, Q6, QM2, QM4, QM6, QMF};

/// A G.722 encoder (64 kbit/s mode).
#[derive(Debug, Clone)]
pub struct Encoder {
    low: Band,
    high: Band,
    /// Transmit QMF delay line.
    x: [i32; 24],
}

impl Default for Encoder {
    fn default() -> Self {
        Encoder::new()
    }
}

impl Encoder {
    pub fn new() -> Encoder {
        Encoder {
            low: Band::new(Kind::Low),
            high: Band::new(Kind::High),
            x: [0; 24],
        }
    }

    /// Encodes 16 kHz samples (an even count; a last odd sample is
    /// dropped), appending one byte per pair to `out`.
    pub fn encode(&mut self, pcm: &[i16], out: &mut Vec<u8>) {
        for pair in pcm.chunks_exact(2) {
            out.push(self.encode_pair(i32::from(pair[0]), i32::from(pair[1])));
        }
    }

    fn encode_pair(&mut self, a: i32, b: i32) -> u8 {
        // Transmit QMF: two samples in, one low- and one high-band sample out.
        self.x.copy_within(2.., 0);
        self.x[22] = a;
        self.x[23] = b;
        let (mut sumodd, mut sumeven) = (0i32, 0i32);
        for i in 0..12 {
            sumodd += self.x[2 * i] * QMF[i];
            sumeven += self.x[2 * i + 1] * QMF[11 - i];
        }
        let xlow = (sumeven + sumodd) >> 14;
        let xhigh = (sumeven - sumodd) >> 14;

        // Low band: SUBTRA, QUANTL, INVQAL, LOGSCL/SCALEL, block 4.
        let el = saturate(xlow - self.low.s);
        let wd = if el >= 0 { el } else { -(el + 1) };
        let mut i = 1;
        while i < 30 && wd >= (Q6[i] * self.low.det) >> 12 {
            i += 1;
        }
        let ilow = if el < 0 { ILN[i] } else { ILP[i] };
        let ril = ilow >> 2;
        let dlow = (self.low.det * QM4[ril as usize]) >> 15;
        self.low.adapt_scale(ril);
        self.low.update(dlow);

        // High band: SUBTRA, QUANTH, INVQAH, LOGSCH/SCALEH, block 4.
        let eh = saturate(xhigh - self.high.s);
        let wd = if eh >= 0 { eh } else { -(eh + 1) };
        let mih = if wd >= (564 * self.high.det) >> 12 {
            2
        } else {
            1
        };
        let ihigh = if eh < 0 { IHN[mih] } else { IHP[mih] };
        let dhigh = (self.high.det * QM2[ihigh as usize]) >> 15;
        self.high.adapt_scale(ihigh);
        self.high.update(dhigh);

        ((ihigh << 6) | ilow) as u8
    }
}

/// A G.722 decoder (64 kbit/s mode).
#[derive(Debug, Clone)]
pub struct Decoder {
    low: Band,
    high: Band,
    /// Receive QMF delay line.
    x: [i32; 24],
    /// The latest output, for [`Decoder::bridge`] (oldest first).
    history: Vec<i16>,
    /// Samples bridged since the last frame decoded.
    bridged: usize,
}

impl Default for Decoder {
    fn default() -> Self {
        Decoder::new()
    }
}

impl Decoder {
    pub fn new() -> Decoder {
        Decoder {
            low: Band::new(Kind::Low),
            high: Band::new(Kind::High),
            x: [0; 24],
            history: Vec::new(),
            bridged: 0,
        }
    }

    /// Decodes `bytes`, appending two 16 kHz samples per byte to `out`.
    pub fn decode(&mut self, bytes: &[u8], out: &mut Vec<i16>) {
        self.bridged = 0;
        self.decode_codes(bytes, out);
    }

    /// Decodes without ending a bridged stretch (see `g722/bridge.rs`).
    fn decode_codes(&mut self, bytes: &[u8], out: &mut Vec<i16>) {
        let start = out.len();
        out.reserve(2 * bytes.len());
        for &code in bytes {
            let (a, b) = self.decode_byte(code);
            out.push(a);
            out.push(b);
        }
        self.remember(&out[start..]);
    }

    fn decode_byte(&mut self, code: u8) -> (i16, i16) {
        let code = i32::from(code);
        let ilow = code & 0x3F;
        let ihigh = (code >> 6) & 0x03;

        // Low band: INVQBL and RECONS give the output; INVQAL adapts.
        let wd2 = (self.low.det * QM6[ilow as usize]) >> 15;
        let rlow = (self.low.s + wd2).clamp(-16384, 16383);
        let ril = ilow >> 2;
        let dlow = (self.low.det * QM4[ril as usize]) >> 15;
        self.low.adapt_scale(ril);
        self.low.update(dlow);

        // High band.
        let dhigh = (self.high.det * QM2[ihigh as usize]) >> 15;
        let rhigh = (dhigh + self.high.s).clamp(-16384, 16383);
        self.high.adapt_scale(ihigh);
        self.high.update(dhigh);

        // Receive QMF: the two bands back into two 16 kHz samples.
        self.x.copy_within(2.., 0);
        self.x[22] = rlow + rhigh;
        self.x[23] = rlow - rhigh;
        let (mut xout1, mut xout2) = (0i32, 0i32);
        for i in 0..12 {
            xout2 += self.x[2 * i] * QMF[i];
            xout1 += self.x[2 * i + 1] * QMF[11 - i];
        }
        (saturate(xout1 >> 11) as i16, saturate(xout2 >> 11) as i16)
    }
}

#[cfg(test)]
mod tests;
