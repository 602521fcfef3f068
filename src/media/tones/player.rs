//! [`PatternPlayer`]: renders a [`Pattern`] sample by sample from the moment
//! it is created. Every tone segment rises and falls over [`RAMP`] samples
//! (a trapezoid envelope), so segment edges do not click; [`release`]
//! fades the player out over the same length wherever it is.
//!
//! [`release`]: PatternPlayer::release

use super::{Pattern, RATE};

/// Ramp length in samples (5 ms at 8 kHz; the same 5 ms at other rates).
pub const RAMP: u32 = 40;
/// Most frequencies a segment can sum.
const MAX_FREQS: usize = 2;

/// One running pattern.
#[derive(Debug, Clone)]
pub struct PatternPlayer {
    pattern: Pattern,
    /// Current segment.
    seg: usize,
    /// Sample position in the current segment.
    pos: u32,
    /// Oscillator phases in cycles, continuous across segments.
    phases: [f64; MAX_FREQS],
    /// Samples left of the release ramp, once released.
    release: Option<u32>,
    /// Output sample rate.
    rate: u32,
    /// [`RAMP`] at `rate`.
    ramp: u32,
}

impl PatternPlayer {
    /// Starts `pattern` at the beginning of its first segment.
    pub fn new(pattern: Pattern) -> PatternPlayer {
        PatternPlayer::at_rate(pattern, RATE)
    }

    /// Starts `pattern` rendered at `rate` Hz (the call's sample rate).
    pub fn at_rate(pattern: Pattern, rate: u32) -> PatternPlayer {
        let rate = rate.max(1);
        PatternPlayer {
            pattern,
            seg: 0,
            pos: 0,
            phases: [0.0; MAX_FREQS],
            release: None,
            rate,
            ramp: ramp_at(rate),
        }
    }

    /// The rate it renders at.
    pub fn rate(&self) -> u32 {
        self.rate
    }

    pub fn pattern(&self) -> &Pattern {
        &self.pattern
    }

    /// Fades out over [`RAMP`] samples; [`is_done`](Self::is_done) after.
    pub fn release(&mut self) {
        if self.release.is_none() {
            self.release = Some(self.ramp);
        }
    }

    pub fn is_released(&self) -> bool {
        self.release.is_some()
    }

    /// Released and faded out (or a pattern with nothing to play).
    pub fn is_done(&self) -> bool {
        self.release == Some(0) || self.pattern.period_samples() == 0
    }

    /// Adds the next `out.len()` samples (in i16 units) to `out`.
    pub fn add_to(&mut self, out: &mut [f32]) {
        if self.is_done() {
            return;
        }
        for o in out.iter_mut() {
            *o += self.next_sample();
        }
    }

    fn segment_len(&self, i: usize) -> u32 {
        self.pattern
            .segments
            .get(i)
            .map_or(0, |s| s.ms.saturating_mul(self.rate) / 1000)
    }

    fn next_sample(&mut self) -> f32 {
        let gain = match self.release.as_mut() {
            Some(0) => return 0.0,
            Some(left) => {
                *left -= 1;
                (*left + 1) as f32 / self.ramp as f32
            }
            None => 1.0,
        };
        // Skip empty segments (the caller made sure the period is not 0).
        let n = self.pattern.segments.len();
        let mut guard = 0;
        while self.pos >= self.segment_len(self.seg) && guard <= n {
            self.pos = 0;
            self.seg = (self.seg + 1) % n.max(1);
            guard += 1;
        }
        let len = self.segment_len(self.seg);
        let Some(segment) = self.pattern.segments.get(self.seg) else {
            return 0.0;
        };
        let freqs = &segment.freqs[..segment.freqs.len().min(MAX_FREQS)];
        let mut value = 0.0f64;
        for (phase, &f) in self.phases.iter_mut().zip(freqs) {
            value += (*phase * std::f64::consts::TAU).sin();
            *phase = (*phase + f / f64::from(self.rate)).fract();
        }
        let to_end = len.saturating_sub(1).saturating_sub(self.pos);
        let edge = self.pos.min(to_end).saturating_add(1);
        let envelope = (edge as f32 / self.ramp as f32).min(1.0);
        self.pos += 1;
        if freqs.is_empty() {
            return 0.0;
        }
        let amplitude = self.pattern.level * 32767.0 / freqs.len() as f32;
        value as f32 * amplitude * envelope * gain
    }
}

/// [`RAMP`] (5 ms) in samples at `rate`.
pub fn ramp_at(rate: u32) -> u32 {
    (u64::from(RAMP) * u64::from(rate) / u64::from(RATE)).max(1) as u32
}

#[cfg(test)]
mod tests {
    use super::super::{Segment, Tone, TonePlan};
    use super::*;
    use crate::media::tone::goertzel_power;
    use crate::media::tone::max_step;

    fn render(p: &mut PatternPlayer, n: usize) -> Vec<i16> {
        let mut buf = vec![0.0f32; n];
        p.add_to(&mut buf);
        buf.iter().map(|&x| x.round() as i16).collect()
    }

    #[test]
    fn busy_cadence_on_and_off_at_the_right_samples() {
        let mut p = PatternPlayer::new(TonePlan::ETSI.pattern(Tone::Busy));
        let s = render(&mut p, 16000);
        // Starts from zero: no click.
        assert!(s[0].abs() < 300, "{}", s[0]);
        let on = &s[..4000];
        let off = &s[4000..8000];
        assert!(goertzel_power(on, 8000, 425.0) > 0.025);
        assert!(off.iter().all(|&x| x == 0));
        assert!(goertzel_power(&s[8000..12000], 8000, 425.0) > 0.025);
        // Peak is the plan's level.
        let peak = on.iter().map(|x| x.unsigned_abs()).max().unwrap_or(0);
        assert!((8000..8300).contains(&peak), "{peak}");
        // The sine's own slope is at most 2π·425/8000·8192 ≈ 2734.
        assert!(max_step(&s) < 2800, "{}", max_step(&s));
    }

    #[test]
    fn release_fades_out_without_a_click() {
        let mut p = PatternPlayer::new(TonePlan::ETSI.pattern(Tone::Ringback));
        let _ = render(&mut p, 1000);
        p.release();
        assert!(p.is_released() && !p.is_done());
        let s = render(&mut p, 200);
        assert!(p.is_done());
        assert!(s[RAMP as usize..].iter().all(|&x| x == 0));
        assert!(max_step(&s) < 2800);
    }

    #[test]
    fn empty_patterns_play_silence_and_do_not_hang() {
        let mut p = PatternPlayer::new(Pattern {
            segments: &[],
            level: 0.5,
        });
        assert!(p.is_done());
        assert!(render(&mut p, 10).iter().all(|&x| x == 0));
        let mut q = PatternPlayer::new(Pattern {
            segments: &[
                Segment { freqs: &[], ms: 0 },
                Segment {
                    freqs: &[440.0, 480.0, 999.0],
                    ms: 10,
                },
            ],
            level: 0.5,
        });
        let s = render(&mut q, 400);
        assert!(goertzel_power(&s, 8000, 440.0) > 0.002);
        assert!(goertzel_power(&s, 8000, 999.0) < 1e-4);
    }
}
