//! [`IntegerResampler`]: converts a stream of samples by a whole factor up
//! (8 → 16 or 48 kHz, 16 → 48 kHz) or down (the reverse) with one
//! windowed-sinc low-pass of [`TAPS_PER_PHASE`] taps per phase, in
//! polyphase form (only the taps that meet a sample are computed). It
//! keeps a wideband member's 4-7 kHz band within a decibel or so and
//! stops the images and aliases a linear interpolator lets through (an
//! 8 kHz member's 1 kHz reappearing at 7 kHz for a G.722 member, a G.722
//! member's 6 kHz at 10 kHz for an Opus one). Plain arithmetic on `f32`
//! samples: no audio, rates or frames of its own.

/// Taps per phase: the transition band is about a sixth of the lower
/// rate wide (at 16 kHz: flat to ~6.5 kHz, stopped from ~8.5 kHz).
pub const TAPS_PER_PHASE: usize = 32;

/// A polyphase up- or down-sampler by a whole factor.
#[derive(Debug, Clone)]
pub struct IntegerResampler {
    /// `true`: `factor` outputs per input; `false`: one per `factor` inputs.
    up: bool,
    factor: usize,
    /// The low-pass at the higher rate, `factor * TAPS_PER_PHASE` long.
    taps: Vec<f32>,
    /// The last inputs, newest last (twice the window, compacted in place).
    hist: Vec<f32>,
    /// Window length in input samples.
    window: usize,
    /// Inputs since the last output (down).
    phase: usize,
}

impl IntegerResampler {
    /// The converter from `from` Hz to `to` Hz when one divides the other
    /// (and they differ); `None` otherwise.
    pub fn new(from: u32, to: u32) -> Option<IntegerResampler> {
        let (up, factor) = match (from, to) {
            (0, _) | (_, 0) => return None,
            (f, t) if t > f && t % f == 0 => (true, (t / f) as usize),
            (f, t) if f > t && f % t == 0 => (false, (f / t) as usize),
            _ => return None,
        };
        let len = factor * TAPS_PER_PHASE;
        // Cut-off just under the lower rate's Nyquist, at the higher rate.
        let fc = 0.46 / factor as f64;
        let taps = windowed_sinc(fc, len);
        let window = if up { TAPS_PER_PHASE } else { len };
        Some(IntegerResampler {
            up,
            factor,
            taps: taps
                .into_iter()
                .map(|t| (t * if up { factor as f64 } else { 1.0 }) as f32)
                .collect(),
            hist: vec![0.0; window],
            window,
            phase: 0,
        })
    }

    /// Converts `input`, appending the output samples to `out`.
    pub fn process(&mut self, input: &[f32], out: &mut Vec<f32>) {
        for &x in input {
            if self.hist.len() >= 2 * self.window {
                self.hist.drain(..self.hist.len() - self.window);
            }
            self.hist.push(x);
            let recent = &self.hist[self.hist.len() - self.window..];
            if self.up {
                // Output p of this input: taps p, p + L, ... against the
                // inputs newest first.
                for p in 0..self.factor {
                    let y: f32 = recent
                        .iter()
                        .rev()
                        .zip(self.taps[p..].iter().step_by(self.factor))
                        .map(|(s, t)| s * t)
                        .sum();
                    out.push(y);
                }
            } else {
                self.phase += 1;
                if self.phase == self.factor {
                    self.phase = 0;
                    let y: f32 = recent
                        .iter()
                        .rev()
                        .zip(&self.taps)
                        .map(|(s, t)| s * t)
                        .sum();
                    out.push(y);
                }
            }
        }
    }
}

/// A Blackman-windowed sinc low-pass at `fc` (cycles per sample), `len`
/// taps, unity gain at DC.
fn windowed_sinc(fc: f64, len: usize) -> Vec<f64> {
    use std::f64::consts::PI;
    let m = (len.max(2) - 1) as f64;
    let mut taps: Vec<f64> = (0..len)
        .map(|i| {
            let x = i as f64 - m / 2.0;
            let sinc = if x == 0.0 {
                2.0 * fc
            } else {
                (2.0 * PI * fc * x).sin() / (PI * x)
            };
            let w = 0.42 - 0.5 * (2.0 * PI * i as f64 / m).cos()
                + 0.08 * (4.0 * PI * i as f64 / m).cos();
            sinc * w
        })
        .collect();
    let sum: f64 = taps.iter().sum();
    if sum != 0.0 {
        taps.iter_mut().for_each(|t| *t /= sum);
    }
    taps
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::tone::{goertzel_power, sine};

    fn run(from: u32, to: u32, freq: f64) -> Vec<i16> {
        let mut r = IntegerResampler::new(from, to).unwrap();
        let input: Vec<f32> = sine(freq, 0.5, from)
            .iter()
            .map(|&s| f32::from(s))
            .collect();
        let mut out = Vec::new();
        // In 20 ms pieces, as the ports feed it.
        for chunk in input.chunks(from as usize / 50) {
            r.process(chunk, &mut out);
        }
        assert_eq!(out.len(), input.len() * to as usize / from as usize);
        out.iter().map(|&x| x.round() as i16).collect()
    }

    #[test]
    fn only_whole_factors() {
        assert!(IntegerResampler::new(16_000, 48_000).is_some());
        assert!(IntegerResampler::new(48_000, 8000).is_some());
        assert!(IntegerResampler::new(44_100, 48_000).is_none());
        assert!(IntegerResampler::new(8000, 8000).is_none());
        assert!(IntegerResampler::new(0, 8000).is_none());
    }

    #[test]
    fn passes_the_band_and_stops_images_and_aliases() {
        // (from, to, tone in band, where its image or alias would be)
        let cases = [
            (16_000, 48_000, 6000.0, 10_000.0),
            (8000, 48_000, 1000.0, 7000.0),
            (8000, 16_000, 3000.0, 5000.0),
            (48_000, 16_000, 6000.0, 0.0),
            (48_000, 8000, 3000.0, 0.0),
        ];
        // A sine of half full scale: power 0.125.
        for (from, to, tone, image) in cases {
            let out = run(from, to, tone);
            let tail = &out[out.len() / 4..];
            let p = goertzel_power(tail, to, tone);
            assert!(p > 0.1, "{from}->{to}: {tone} Hz at {p}");
            if image > 0.0 {
                let q = goertzel_power(tail, to, image);
                assert!(q < 1e-6, "{from}->{to}: image at {image} Hz {q}");
            }
        }
        // Going down, what is above the new band is gone (not folded).
        let out = run(48_000, 16_000, 10_000.0);
        let tail = &out[out.len() / 4..];
        assert!(goertzel_power(tail, 16_000, 6000.0) < 1e-6);
        let out = run(48_000, 8000, 6000.0);
        let tail = &out[out.len() / 4..];
        assert!(goertzel_power(tail, 8000, 2000.0) < 1e-6);
    }
}
