//! Test tones and tone detection for the media unit tests: a sine generator,
//! a Goertzel filter (which tone a buffer contains), the largest step
//! between neighbouring samples (a click), and an 8 kHz tone source and a
//! sink that keeps what it is given, for the audio path's tests. Compiled
//! only with `cfg(test)`; the integration tests have their WAV-level
//! counterparts in `tests/support/tone.rs`.

/// A sine of `freq` Hz, `secs` seconds long at `rate` Hz, at half full scale.
pub fn sine(freq: f64, secs: f64, rate: u32) -> Vec<i16> {
    let n = (secs * f64::from(rate)).round().max(0.0) as usize;
    let w = 2.0 * std::f64::consts::PI * freq / f64::from(rate);
    (0..n)
        .map(|i| ((w * i as f64).sin() * 16384.0).round() as i16)
        .collect()
}

/// Power of the `freq` component of `samples` (Goertzel), as the mean square
/// of that component with full scale = 1.0: a sine of amplitude `a` (as a
/// fraction of full scale) gives about `a² / 2`. Empty input gives 0.
pub fn goertzel_power(samples: &[i16], rate: u32, freq: f64) -> f64 {
    let n = samples.len();
    if n == 0 || rate == 0 {
        return 0.0;
    }
    let w = 2.0 * std::f64::consts::PI * freq / f64::from(rate);
    let coeff = 2.0 * w.cos();
    let (mut s1, mut s2) = (0.0f64, 0.0f64);
    for &x in samples {
        let s0 = f64::from(x) / 32768.0 + coeff * s1 - s2;
        s2 = s1;
        s1 = s0;
    }
    let mag2 = s1 * s1 + s2 * s2 - coeff * s1 * s2;
    2.0 * mag2 / (n as f64 * n as f64)
}

/// The largest step between two neighbouring samples: a click shows as a
/// step far above what the signal's own slope gives.
pub fn max_step(s: &[i16]) -> i32 {
    s.windows(2)
        .map(|w| (i32::from(w[1]) - i32::from(w[0])).abs())
        .max()
        .unwrap_or(0)
}

/// An 8 kHz-only microphone playing samples in order.
pub struct ToneSource(pub Vec<i16>, pub usize);

impl super::audio::Source for ToneSource {
    fn read(&mut self, frame: &mut [i16; super::jitter::FRAME]) {
        frame.copy_from_slice(&self.0[self.1..self.1 + super::jitter::FRAME]);
        self.1 += super::jitter::FRAME;
    }
}

/// An 8 kHz-only speaker keeping what it is given.
pub struct Keep(pub std::sync::Arc<std::sync::Mutex<Vec<i16>>>);

impl super::audio::Sink for Keep {
    fn write(&mut self, frame: &[i16; super::jitter::FRAME]) {
        self.0
            .lock()
            .expect("kept samples")
            .extend_from_slice(frame);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn goertzel_finds_the_tone() {
        let s = sine(600.0, 0.5, 8000);
        assert_eq!(s.len(), 4000);
        let p600 = goertzel_power(&s, 8000, 600.0);
        let p1400 = goertzel_power(&s, 8000, 1400.0);
        assert!((p600 - 0.125).abs() < 0.01, "{p600}");
        assert!(p1400 < 1e-4, "{p1400}");
        assert_eq!(goertzel_power(&[], 8000, 600.0), 0.0);
    }
}
