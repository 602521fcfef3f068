//! [`Polyphase`]: converts a stream of samples from one rate to another
//! by a ratio `L/M` of whole numbers (up by `L`, low-pass, down by `M`),
//! in polyphase form: only the taps that meet a sample are computed. Two
//! designs share the one filter loop ([`Polyphase::process`]):
//!
//! - [`Polyphase::new`], the conference's, for rates that divide each
//!   other (8 → 16 or 48 kHz, 16 → 48 kHz and back): one Blackman
//!   windowed-sinc of [`TAPS_PER_PHASE`] taps per phase. It keeps a
//!   wideband member's 4-7 kHz band within a decibel or so and stops the
//!   images and aliases a linear interpolator lets through (an 8 kHz
//!   member's 1 kHz reappearing at 7 kHz for a G.722 member, a G.722
//!   member's 6 kHz at 10 kHz for an Opus one).
//! - [`Polyphase::band_limited`], the sound card's, for any two rates (a
//!   call's 8/16/48 kHz and a device's 44.1 or 48 kHz): a Kaiser-windowed
//!   sinc flat to 7/16 of the lower rate (7 kHz of a 16 kHz call) and
//!   about [`STOP_DB`] down from half the lower rate on, so neither images
//!   nor aliases reach the band (a few ms of delay at 8 kHz).
//!
//! Plain arithmetic on `f32` samples: no audio, rates or frames of its own.

/// Taps per phase of the conference's filter: the transition band is
/// about a sixth of the lower rate wide (at 16 kHz: flat to ~6.5 kHz,
/// stopped from ~8.5 kHz).
pub const TAPS_PER_PHASE: usize = 32;

/// How far [`Polyphase::band_limited`] stops images and aliases, in dB.
pub const STOP_DB: f64 = 70.0;

/// Where [`Polyphase::band_limited`]'s pass band ends, as a fraction of
/// the lower rate (its stop band starts at half of it).
const PASS_EDGE: f64 = 0.4375;

/// A polyphase resampler by `up / down`.
#[derive(Debug, Clone)]
pub struct Polyphase {
    /// Outputs are taken at `down` steps of the input made `up` times
    /// denser.
    up: usize,
    down: usize,
    /// The low-pass at `up` times the input rate, scaled by `up`, laid
    /// out phase by phase: phase `p`'s `window` taps (`p`, `p + up`, ...
    /// of the filter) at `p * window`, in reverse, so that each lines up
    /// with the last `window` inputs oldest first.
    taps: Vec<f32>,
    /// The last inputs, newest last (twice the window, compacted in place).
    hist: Vec<f32>,
    /// Window length in input samples (taps per phase).
    window: usize,
    /// Where the next output lies past the newest input, in steps of the
    /// denser rate (an output is due while it is below `up`).
    next: usize,
}

impl Polyphase {
    /// The conference's converter from `from` Hz to `to` Hz when one
    /// divides the other (and they differ); `None` otherwise.
    pub fn new(from: u32, to: u32) -> Option<Polyphase> {
        let (up, factor) = match (from, to) {
            (0, _) | (_, 0) => return None,
            (f, t) if t > f && t % f == 0 => (true, (t / f) as usize),
            (f, t) if f > t && f % t == 0 => (false, (f / t) as usize),
            _ => return None,
        };
        let len = factor * TAPS_PER_PHASE;
        // Cut-off just under the lower rate's Nyquist, at the higher rate.
        let taps = windowed_sinc(0.46 / factor as f64, len);
        let (l, m) = if up { (factor, 1) } else { (1, factor) };
        Some(Polyphase::with_taps(l, m, taps))
    }

    /// A band-limited converter from `from` Hz to `to` Hz, any two rates
    /// (`None` when one is zero). Equal rates still go through the
    /// low-pass: callers pass samples on unchanged themselves.
    pub fn band_limited(from: u32, to: u32) -> Option<Polyphase> {
        if from == 0 || to == 0 {
            return None;
        }
        let g = gcd(from, to);
        let (l, m) = ((to / g) as usize, (from / g) as usize);
        // The filter runs at `l * from` Hz; the lower rate is
        // `max(l, m)` times slower.
        let dense = l.max(m) as f64;
        let pass = PASS_EDGE / dense;
        let stop = 0.5 / dense;
        // Kaiser's estimate of the length for STOP_DB over the transition.
        let len = ((STOP_DB - 8.0) / (2.285 * 2.0 * std::f64::consts::PI * (stop - pass))).ceil()
            as usize
            + 1;
        let window = len.div_ceil(l);
        let taps = kaiser_sinc((pass + stop) / 2.0, l * window, kaiser_beta(STOP_DB));
        Some(Polyphase::with_taps(l, m, taps))
    }

    /// The converter by `up / down` with the low-pass `taps` (unity gain
    /// at DC, `up * window` long).
    fn with_taps(up: usize, down: usize, taps: Vec<f64>) -> Polyphase {
        let window = taps.len().div_ceil(up).max(1);
        let mut phases = vec![0.0; up * window];
        for (i, t) in taps.iter().enumerate() {
            let (p, k) = (i % up, i / up);
            phases[p * window + window - 1 - k] = (t * up as f64) as f32;
        }
        Polyphase {
            up,
            down,
            taps: phases,
            hist: vec![0.0; window],
            window,
            next: down - 1,
        }
    }

    /// Input samples per output sample.
    pub fn step_ratio(&self) -> f64 {
        self.down as f64 / self.up as f64
    }

    /// Converts `input`, appending the output samples to `out`.
    pub fn process(&mut self, input: &[f32], out: &mut Vec<f32>) {
        for &x in input {
            if self.hist.len() >= 2 * self.window {
                self.hist.drain(..self.hist.len() - self.window);
            }
            self.hist.push(x);
            let recent = &self.hist[self.hist.len() - self.window..];
            // Output at phase p of this input: taps p, p + up, ...
            // against the inputs newest first.
            while self.next < self.up {
                let at = self.next * self.window;
                out.push(dot(recent, &self.taps[at..at + self.window]));
                self.next += self.down;
            }
            self.next -= self.up;
        }
    }
}

/// The sum of `a[i] * b[i]`, in four running sums (which the compiler
/// can keep in vector registers).
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0.0f32; 4];
    let (a4, b4) = (a.chunks_exact(4), b.chunks_exact(4));
    let tail: f32 = a4
        .remainder()
        .iter()
        .zip(b4.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in a4.zip(b4) {
        acc[0] += x[0] * y[0];
        acc[1] += x[1] * y[1];
        acc[2] += x[2] * y[2];
        acc[3] += x[3] * y[3];
    }
    (acc[0] + acc[1]) + (acc[2] + acc[3]) + tail
}

fn gcd(a: u32, b: u32) -> u32 {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

/// Kaiser's β for a stop band `db` down.
fn kaiser_beta(db: f64) -> f64 {
    if db > 50.0 {
        0.1102 * (db - 8.7)
    } else if db > 21.0 {
        0.5842 * (db - 21.0).powf(0.4) + 0.07886 * (db - 21.0)
    } else {
        0.0
    }
}

/// The modified Bessel function I₀ (its series; converges fast for the
/// β of a Kaiser window).
fn bessel_i0(x: f64) -> f64 {
    let (mut sum, mut term) = (1.0, 1.0);
    for k in 1..50 {
        let f = x / (2.0 * k as f64);
        term *= f * f;
        sum += term;
        if term < sum * 1e-12 {
            break;
        }
    }
    sum
}

/// A Kaiser-windowed (β) sinc low-pass at `fc` (cycles per sample),
/// `len` taps, unity gain at DC.
fn kaiser_sinc(fc: f64, len: usize, beta: f64) -> Vec<f64> {
    let norm = bessel_i0(beta);
    windowed(fc, len, |i, m| {
        let r = 2.0 * i / m - 1.0;
        bessel_i0(beta * (1.0 - r * r).max(0.0).sqrt()) / norm
    })
}

/// A Blackman-windowed sinc low-pass at `fc` (cycles per sample), `len`
/// taps, unity gain at DC.
fn windowed_sinc(fc: f64, len: usize) -> Vec<f64> {
    use std::f64::consts::PI;
    windowed(fc, len, |i, m| {
        0.42 - 0.5 * (2.0 * PI * i / m).cos() + 0.08 * (4.0 * PI * i / m).cos()
    })
}

/// The ideal low-pass at `fc` (cycles per sample), `len` taps centred,
/// times `window(i, len - 1)`, scaled to unity gain at DC.
fn windowed(fc: f64, len: usize, window: impl Fn(f64, f64) -> f64) -> Vec<f64> {
    use std::f64::consts::PI;
    let m = (len.max(2) - 1) as f64;
    let mut taps: Vec<f64> = (0..len)
        .map(|i| {
            let i = i as f64;
            let x = i - m / 2.0;
            let sinc = if x == 0.0 {
                2.0 * fc
            } else {
                (2.0 * PI * fc * x).sin() / (PI * x)
            };
            sinc * window(i, m)
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
        let mut r = Polyphase::new(from, to).unwrap();
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
        assert!(Polyphase::new(16_000, 48_000).is_some());
        assert!(Polyphase::new(48_000, 8000).is_some());
        assert!(Polyphase::new(44_100, 48_000).is_none());
        assert!(Polyphase::new(8000, 8000).is_none());
        assert!(Polyphase::new(0, 8000).is_none());
        assert!(Polyphase::band_limited(0, 8000).is_none());
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
