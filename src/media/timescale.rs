//! Time-scale modification of the playout in the spirit of WebRTC's NetEQ
//! (WSOLA: waveform-similarity overlap-add): lengthen audio by one pitch
//! period ([`expand`], played when the buffer runs below its target) or
//! shorten it by one ([`accelerate`], when it stands above), and find
//! where a synthetic continuation lines up with real audio
//! ([`best_shift`], for the click-free merge after a loss).
//!
//! Pure arithmetic on sample slices: it knows nothing of packets, sequence
//! numbers or when to stretch (the jitter buffer, `super::jitter`,
//! decides that); it never changes the pitch, only how many periods play.

/// Normalised cross-correlation of `a` and `b` over their common length:
/// 1 for the same waveform, 0 when either is silent.
pub fn similarity(a: &[f32], b: &[f32]) -> f32 {
    let (mut ab, mut aa, mut bb) = (0.0f32, 0.0f32, 0.0f32);
    for (&x, &y) in a.iter().zip(b) {
        ab += x * y;
        aa += x * x;
        bb += y * y;
    }
    if aa <= f32::EPSILON || bb <= f32::EPSILON {
        0.0
    } else {
        ab / (aa * bb).sqrt()
    }
}

/// Mean power of `s`, in (sample units)².
pub fn power(s: &[i16]) -> f32 {
    if s.is_empty() {
        return 0.0;
    }
    s.iter().map(|&x| f32::from(x).powi(2)).sum::<f32>() / s.len() as f32
}

fn floats(s: &[i16]) -> Vec<f32> {
    s.iter().map(|&x| f32::from(x)).collect()
}

/// `from` fading out into `to` fading in over their common length
/// (linear weights that never reach either end, so the first sample is
/// nearly `from`'s and the last nearly `to`'s).
pub fn crossfade(from: &[f32], to: &[f32]) -> Vec<f32> {
    let n = from.len().min(to.len());
    (0..n)
        .map(|i| {
            let w = (i + 1) as f32 / (n + 1) as f32;
            from[i] * (1.0 - w) + to[i] * w
        })
        .collect()
}

/// Rounds and saturates to 16 bits.
pub fn to_i16(v: f32) -> i16 {
    v.round().clamp(-32768.0, 32767.0) as i16
}

/// A lag and how well the waveform repeats at it (see [`similarity`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Lag {
    pub lag: usize,
    pub similarity: f32,
}

/// The lag in `min..=max` at which the start of `ahead` best repeats the
/// end of `past` (the period to play once more). `None` when either is
/// shorter than `min`.
pub fn expand_lag(past: &[i16], ahead: &[i16], min: usize, max: usize) -> Option<Lag> {
    let max = max.min(past.len()).min(ahead.len());
    if min == 0 || min > max {
        return None;
    }
    let (p, a) = (floats(past), floats(ahead));
    let mut best: Option<Lag> = None;
    for lag in min..=max {
        let s = similarity(&a[..lag], &p[p.len() - lag..]);
        if best.is_none_or(|b| s > b.similarity) {
            best = Some(Lag { lag, similarity: s });
        }
    }
    best
}

/// The `lag` samples to play between `past` and `ahead` that lengthen the
/// audio by one period: `ahead`'s first period fading out into `past`'s
/// last fading in, so it starts where `past` left off and ends where
/// `ahead` begins. `lag` must not exceed either length.
pub fn expand(past: &[i16], ahead: &[i16], lag: usize) -> Vec<i16> {
    let lag = lag.min(past.len()).min(ahead.len());
    let from = floats(&ahead[..lag]);
    let to = floats(&past[past.len() - lag..]);
    crossfade(&from, &to).into_iter().map(to_i16).collect()
}

/// The lag in `min..=max` (at most half of `ahead`) at which `ahead`'s
/// second period best repeats its first. `None` when `ahead` is too short.
pub fn accelerate_lag(ahead: &[i16], min: usize, max: usize) -> Option<Lag> {
    let max = max.min(ahead.len() / 2);
    if min == 0 || min > max {
        return None;
    }
    let a = floats(ahead);
    let mut best: Option<Lag> = None;
    for lag in min..=max {
        let s = similarity(&a[..lag], &a[lag..2 * lag]);
        if best.is_none_or(|b| s > b.similarity) {
            best = Some(Lag { lag, similarity: s });
        }
    }
    best
}

/// `ahead` shortened by `lag` samples at its start: its first two periods
/// become one (the first fading out into the second), so the result starts
/// where `ahead` did and goes on from `ahead[2 * lag]` unchanged.
/// `2 * lag` must not exceed `ahead.len()`.
pub fn accelerate(ahead: &[i16], lag: usize) -> Vec<i16> {
    let lag = lag.min(ahead.len() / 2);
    let from = floats(&ahead[..lag]);
    let to = floats(&ahead[lag..2 * lag]);
    let mut out: Vec<i16> = crossfade(&from, &to).into_iter().map(to_i16).collect();
    out.extend_from_slice(&ahead[2 * lag..]);
    out
}

/// The pitch period of `s` in `min..=max` (leaving at least `min`
/// samples to compare): the lag at which `s` best repeats itself.
pub fn period(s: &[i16], min: usize, max: usize) -> Option<usize> {
    let max = max.min(s.len().saturating_sub(min));
    if min == 0 || min > max {
        return None;
    }
    let f = floats(s);
    let mut best: Option<(usize, f32)> = None;
    for lag in min..=max {
        let sim = similarity(&f[..f.len() - lag], &f[lag..]);
        // A multiple of the period repeats as well: keep the shortest.
        if best.is_none_or(|b| sim > b.1 + 1e-4) {
            best = Some((lag, sim));
        }
    }
    best.map(|b| b.0)
}

/// Where a synthetic continuation and real audio line up best, within
/// `span` samples either way, compared over `window` samples: `(extra,
/// skip)`, with one of them 0: play `synth[..extra]` first, or skip
/// `real[..skip]`, then cross-fade `synth[extra..]` into `real[skip..]`.
/// `synth` needs `span + window` samples and `real` as many.
pub fn best_shift(synth: &[f32], real: &[f32], span: usize, window: usize) -> (usize, usize) {
    let mut best = ((0, 0), f32::MIN);
    for d in 0..=span {
        for (extra, skip) in [(d, 0), (0, d)] {
            if extra + window > synth.len() || skip + window > real.len() {
                continue;
            }
            let s = similarity(&synth[extra..extra + window], &real[skip..skip + window]);
            if s > best.1 {
                best = ((extra, skip), s);
            }
        }
    }
    best.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::tone::{goertzel_power, max_step, sine};

    /// Zero crossings per second of `s` at 8 kHz, halved: its frequency.
    fn frequency(s: &[i16]) -> f64 {
        let crossings = s.windows(2).filter(|w| (w[0] < 0) != (w[1] < 0)).count();
        crossings as f64 / 2.0 / (s.len() as f64 / 8000.0)
    }

    #[test]
    fn a_stretched_sine_keeps_its_frequency_and_has_no_click() {
        for freq in [210.0, 440.0, 600.0, 1000.0] {
            let src = sine(freq, 0.1, 8000);
            let (past, ahead) = src.split_at(400);
            let lag = expand_lag(past, ahead, 40, 120).unwrap();
            assert!(lag.similarity > 0.95, "{freq}: {lag:?}");
            let mut out = past.to_vec();
            out.extend(expand(past, ahead, lag.lag));
            out.extend_from_slice(ahead);
            assert_eq!(out.len(), src.len() + lag.lag);
            // No step larger than the sine's own steepest (plus a little).
            let allowed = f64::from(max_step(&src)) * 1.1;
            assert!(
                f64::from(max_step(&out)) <= allowed,
                "{freq}: step {} > {allowed}",
                max_step(&out)
            );
            // The same tone, a period longer.
            let f = frequency(&out[300..out.len() - 100]);
            assert!((f - freq).abs() < freq * 0.03, "{freq}: {f}");
            // At about the level of the input (a half-scale sine: 0.125).
            assert!(goertzel_power(&out[350..350 + 240], 8000, freq) > 0.1);
        }
    }

    #[test]
    fn accelerate_shortens_by_the_lag_it_found_without_a_click() {
        for freq in [210.0, 440.0, 1000.0] {
            let src = sine(freq, 0.05, 8000);
            let lag = accelerate_lag(&src, 40, 120).unwrap();
            assert!(lag.similarity > 0.95, "{freq}: {lag:?}");
            let out = accelerate(&src, lag.lag);
            assert_eq!(out.len(), src.len() - lag.lag);
            let allowed = f64::from(max_step(&src)) * 1.1;
            assert!(f64::from(max_step(&out)) <= allowed, "{freq}");
            let f = frequency(&out);
            assert!((f - freq).abs() < freq * 0.05, "{freq}: {f}");
        }
    }

    #[test]
    fn accelerate_shortens_by_the_asked_amount() {
        let src = sine(500.0, 0.05, 8000);
        for lag in [40, 64, 120] {
            assert_eq!(accelerate(&src, lag).len(), src.len() - lag);
            // What follows the merged periods is the input, unchanged.
            assert_eq!(accelerate(&src, lag)[lag..], src[2 * lag..]);
        }
    }

    #[test]
    fn the_best_shift_lines_a_continuation_up_with_real_audio() {
        let src: Vec<f32> = sine(400.0, 0.05, 8000).into_iter().map(f32::from).collect();
        // A continuation 7 samples behind the real audio's phase: play 7 more.
        assert_eq!(best_shift(&src[13..], &src[20..], 10, 40), (7, 0));
        // 6 samples ahead of it: skip 6 of the real audio.
        assert_eq!(best_shift(&src[26..], &src[20..], 10, 40), (0, 6));
        assert_eq!(best_shift(&[], &src, 10, 40), (0, 0));
    }

    #[test]
    fn the_period_of_a_tone_is_found() {
        // 8000 / 100 = 80 samples; 8000 / 160 = 50.
        assert_eq!(period(&sine(100.0, 0.02, 8000), 40, 120), Some(80));
        assert_eq!(period(&sine(160.0, 0.02, 8000), 40, 120), Some(50));
        assert_eq!(period(&[1; 50], 40, 120), None);
    }

    #[test]
    fn silence_has_no_similarity_and_short_input_no_lag() {
        assert_eq!(similarity(&[0.0; 10], &[1.0; 10]), 0.0);
        assert!(expand_lag(&[1; 30], &[1; 30], 40, 120).is_none());
        assert!(accelerate_lag(&[1; 70], 40, 120).is_none());
        assert_eq!(power(&[]), 0.0);
        assert_eq!(power(&[3, -3]), 9.0);
    }
}
