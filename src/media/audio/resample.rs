//! [`BandLimited`]: the streaming sample-rate converter of the audio path,
//! between any two rates. It converts a call's rate to and from the sound
//! card's (`cpal.rs`), to and from the voice processing's 48 kHz
//! (`processing.rs`), a WAV's rate to a call's and a recording's frames
//! to its file's rate (`wav.rs`), and a conference party's rate to the mix
//! rate where the two do not divide each other (`conference/rate.rs`). It
//! is the band-limited polyphase filter of `conference/fir.rs`
//! ([`Polyphase::band_limited`], one filter loop for both): a wideband
//! call keeps its band up to 7 kHz within a fraction of a decibel, and no
//! image or alias gets through (about 70 dB down), for a few ms of delay.
//! Plain arithmetic on `f32` samples; it owns no audio, frames or devices.

use crate::media::conference::fir::Polyphase;

/// A band-limited converter from one rate to another ([`Polyphase::band_limited`]);
/// samples pass unchanged between equal rates.
#[derive(Debug, Clone)]
pub struct BandLimited(Option<Polyphase>);

impl BandLimited {
    pub fn new(from: u32, to: u32) -> BandLimited {
        BandLimited(match from == to {
            true => None,
            false => Polyphase::band_limited(from, to),
        })
    }

    /// Input samples per output sample.
    pub fn step_ratio(&self) -> f64 {
        self.0.as_ref().map_or(1.0, Polyphase::step_ratio)
    }

    /// Converts `input`, appending the output samples to `out`.
    pub fn process(&mut self, input: &[f32], out: &mut Vec<f32>) {
        match self.0.as_mut() {
            Some(p) => p.process(input, out),
            None => out.extend_from_slice(input),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::tone::{goertzel_power, sine};

    fn convert(samples: &[i16], from: u32, to: u32) -> Vec<i16> {
        let mut r = BandLimited::new(from, to);
        let input: Vec<f32> = samples.iter().map(|&s| f32::from(s) / 32768.0).collect();
        let mut out = Vec::new();
        r.process(&input, &mut out);
        out.iter().map(|&s| (s * 32767.0) as i16).collect()
    }

    #[test]
    fn down_keeps_speech_band_and_removes_alias() {
        let src = sine(1000.0, 1.0, 48000);
        let out = convert(&src, 48000, 8000);
        assert!((out.len() as i64 - 8000).abs() <= 2, "{}", out.len());
        assert!(goertzel_power(&out[200..], 8000, 1000.0) > 0.1);
        // 7 kHz folds to 1 kHz without the low-pass.
        let high = sine(7000.0, 1.0, 48000);
        let out = convert(&high, 48000, 8000);
        assert!(goertzel_power(&out[200..], 8000, 1000.0) < 1e-6);
    }

    #[test]
    fn up_and_identity() {
        let src = sine(600.0, 0.5, 8000);
        let up = convert(&src, 8000, 44100);
        assert!((up.len() as i64 - 22050).abs() <= 2);
        assert!(goertzel_power(&up, 44100, 600.0) > 0.1);
        let same = convert(&src, 8000, 8000);
        assert_eq!(same.len(), src.len());
    }

    /// The amplitude of the `freq` Hz sine in `x` (at `rate`) and what
    /// is left beside it, relative to it, in dB.
    fn tone_and_rest(x: &[f32], rate: u32, freq: f64) -> (f64, f64) {
        let w = 2.0 * std::f64::consts::PI * freq / f64::from(rate);
        let n = x.len() as f64;
        let (mut a, mut b) = (0.0, 0.0);
        for (i, &v) in x.iter().enumerate() {
            a += f64::from(v) * (w * i as f64).sin();
            b += f64::from(v) * (w * i as f64).cos();
        }
        let (a, b) = (2.0 * a / n, 2.0 * b / n);
        let rest: f64 = x
            .iter()
            .enumerate()
            .map(|(i, &v)| {
                let fit = a * (w * i as f64).sin() + b * (w * i as f64).cos();
                (f64::from(v) - fit).powi(2)
            })
            .sum();
        let amp = a.hypot(b);
        (amp, 10.0 * (rest / (n * amp * amp / 2.0)).log10())
    }

    /// The sound card's converter: a 7 kHz tone of a 16 kHz call to a
    /// 48 kHz card and back keeps its level within 0.5 dB, with nothing
    /// else (images, aliases) above -40 dB on the card or back in the call.
    #[test]
    fn band_limited_keeps_7_khz_and_lets_no_image_through() {
        for card in [48_000u32, 44_100] {
            let call: Vec<f32> = (0..16_000)
                .map(|i| {
                    0.5 * (2.0 * std::f64::consts::PI * 7000.0 * i as f64 / 16_000.0).sin() as f32
                })
                .collect();
            let (mut up, mut down) = (
                BandLimited::new(16_000, card),
                BandLimited::new(card, 16_000),
            );
            let (mut on_card, mut back) = (Vec::new(), Vec::new());
            // In 20 ms pieces, as the call's ring ends feed them.
            for piece in call.chunks(320) {
                let from = on_card.len();
                up.process(piece, &mut on_card);
                let fresh = on_card[from..].to_vec();
                down.process(&fresh, &mut back);
            }
            let n = card as usize;
            assert!(on_card.len().abs_diff(n) <= 2, "{card}: {}", on_card.len());
            assert!(back.len().abs_diff(16_000) <= 2, "{card}: {}", back.len());
            // Past the filters' start: whole cycles of 7 kHz (1 ms holds 7).
            let steady = |x: &[f32], rate: usize| x[rate / 10..rate / 10 + rate * 8 / 10].to_vec();
            let (amp, rest) = tone_and_rest(&steady(&on_card, n), card, 7000.0);
            assert!(
                (20.0 * (amp / 0.5).log10()).abs() < 0.25,
                "{card}: on the card {amp}"
            );
            assert!(rest < -40.0, "{card}: images on the card at {rest:.1} dB");
            let (amp, rest) = tone_and_rest(&steady(&back, 16_000), 16_000, 7000.0);
            assert!(
                (20.0 * (amp / 0.5).log10()).abs() < 0.5,
                "{card}: back {amp}"
            );
            assert!(
                rest < -40.0,
                "{card}: back with {rest:.1} dB beside the tone"
            );
        }
        // Equal rates: unchanged.
        let mut same = BandLimited::new(48_000, 48_000);
        let mut out = Vec::new();
        same.process(&[0.1, -0.2], &mut out);
        assert_eq!(out, [0.1, -0.2]);
        assert_eq!(same.step_ratio(), 1.0);
    }

    #[test]
    fn streaming_matches_one_shot() {
        let src: Vec<f32> = sine(300.0, 0.1, 44_100)
            .iter()
            .map(|&s| f32::from(s) / 32768.0)
            .collect();
        let mut a = BandLimited::new(44_100, 16_000);
        let mut one = Vec::new();
        a.process(&src, &mut one);
        let mut b = BandLimited::new(44_100, 16_000);
        let mut many = Vec::new();
        for chunk in src.chunks(37) {
            b.process(chunk, &mut many);
        }
        assert_eq!(one, many);
    }
}
