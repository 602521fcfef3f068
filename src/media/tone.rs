//! Test tones and tone detection for the media unit tests: a sine generator
//! and a Goertzel filter, to check which tone a buffer contains. Compiled
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
