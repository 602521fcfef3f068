//! Packet loss concealment in the spirit of ITU-T G.711 Appendix I: on a
//! missing stretch, repeat the last pitch period(s) found by autocorrelation,
//! widen to two and three periods as the loss goes on (after 30 and 40
//! ms), attenuate after 10 ms and fade to silence at 60 ms; when real
//! audio returns, overlap-add it with the synthetic continuation so
//! neither edge clicks.
//!
//! When the audio after a gap is already at hand (the jitter buffer holds
//! the next packet), [`Plc::interpolate`] bridges the gap from both sides
//! instead: the continuation of the past cross-fades into the future's
//! first period repeated backwards, each side fading towards the other's
//! level where that is lower (evenly in decibels on the past's side), a
//! side that falls silent at its edge not carried into the gap, and a
//! sound that began just before the gap taken up at once from the
//! future's side (`edges`). [`Plc::merge`] joins real audio after
//! an extrapolated gap where the continuation lines up with it
//! (`super::timescale::best_shift`), so the join neither clicks nor
//! cancels.
//!
//! The concealer sees every output sample in order: real audio through
//! [`Plc::good`] or [`Plc::merge`], missing audio through [`Plc::conceal`]
//! or [`Plc::interpolate`]. Knows nothing of packets or timing.

mod edges;

use super::timescale;
use edges::Edges;

/// History kept for pitch search and the pitch buffer (48.75 ms).
const HIST_LEN: usize = 390;
/// Pitch search range in samples (5 ms .. 15 ms at 8 kHz).
const PITCH_MIN: usize = 40;
const PITCH_MAX: usize = 120;
/// Correlation window (20 ms).
const CORR_LEN: usize = 160;
/// Samples per 10 ms.
const TEN_MS: usize = 80;
/// The repeated stretch widens from one pitch period to two after this
/// many 10 ms steps of an erasure, and to three 10 ms later.
const ONE_PERIOD_UNTIL: usize = 3;
/// After this many concealed samples the output is silent (60 ms).
const FADE_END: usize = 6 * TEN_MS;

/// Concealment state for one received stream (8 kHz by default; at
/// another rate every length above scales with it, [`Plc::with_rate`]).
#[derive(Debug, Clone)]
pub struct Plc {
    /// Lengths at the stream's rate.
    lens: Lens,
    history: Vec<f32>,
    /// Samples concealed in the current erasure; 0 when not concealing.
    erased: usize,
    pitch: usize,
    /// The last three pitch periods of history when the erasure began.
    pitch_buf: Vec<f32>,
}

impl Default for Plc {
    fn default() -> Self {
        Plc::new()
    }
}

/// The lengths of the 8 kHz constants at one rate.
#[derive(Debug, Clone, Copy)]
struct Lens {
    hist: usize,
    pitch_min: usize,
    pitch_max: usize,
    corr: usize,
    ten_ms: usize,
    fade_end: usize,
}

impl Lens {
    fn at(rate: u32) -> Lens {
        let k = |n: usize| (n * rate.max(8000) as usize / 8000).max(1);
        Lens {
            hist: k(HIST_LEN),
            pitch_min: k(PITCH_MIN),
            pitch_max: k(PITCH_MAX),
            corr: k(CORR_LEN),
            ten_ms: k(TEN_MS),
            fade_end: k(FADE_END),
        }
    }
}

impl Plc {
    /// A concealer for 8 kHz audio.
    pub fn new() -> Plc {
        Plc::with_rate(8000)
    }

    /// A concealer for audio at `rate` Hz (8 kHz and up): the same
    /// durations (pitch range, fades) in samples of that rate.
    pub fn with_rate(rate: u32) -> Plc {
        let lens = Lens::at(rate);
        Plc {
            lens,
            history: vec![0.0; lens.hist],
            erased: 0,
            pitch: lens.pitch_max,
            pitch_buf: Vec::new(),
        }
    }

    /// True while an erasure is in progress.
    pub fn concealing(&self) -> bool {
        self.erased > 0
    }

    /// Passes real audio through (in place), blending its start with the
    /// synthetic signal when an erasure just ended.
    pub fn good(&mut self, samples: &mut [i16]) {
        if self.erased > 0 {
            let ten_ms = self.lens.ten_ms;
            let extra = (self.erased / ten_ms).saturating_sub(1) * (ten_ms * 2 / 5);
            let ola = (self.pitch / 4 + extra).min(ten_ms).min(samples.len());
            for (i, s) in samples.iter_mut().take(ola).enumerate() {
                let w = (i + 1) as f32 / (ola + 1) as f32;
                let synth = self.synth(self.erased + i);
                *s = clamp(f32::from(*s) * w + synth * (1.0 - w));
            }
            self.erased = 0;
        }
        self.push_history(samples.iter().map(|&s| f32::from(s)));
    }

    /// Fills `out` with the concealment continuation of the signal.
    pub fn conceal(&mut self, out: &mut [i16]) {
        if self.erased == 0 {
            self.start_erasure(false);
        }
        for s in out.iter_mut() {
            *s = clamp(self.synth(self.erased));
            self.erased += 1;
        }
        self.push_history(out.iter().map(|&s| f32::from(s)));
    }

    /// Real audio after an extrapolated gap, joined where the synthetic
    /// continuation lines up with it: up to half a pitch period more of
    /// the continuation, or as much less of `samples`, then a cross-fade
    /// of a period (at most 10 ms) into `samples`. Returns what to play
    /// (`samples` itself, blended as by [`Plc::good`], when no erasure was
    /// in progress, the concealment had faded out, or `samples` is short).
    pub fn merge(&mut self, mut samples: Vec<i16>) -> Vec<i16> {
        if self.erased == 0 || self.erased >= self.lens.fade_end || samples.is_empty() {
            self.good(&mut samples);
            return samples;
        }
        let p = self.pitch;
        let half = p / 2;
        let ola = p
            .min(self.lens.ten_ms)
            .min(samples.len().saturating_sub(half));
        if ola == 0 {
            self.good(&mut samples);
            return samples;
        }
        let synth: Vec<f32> = (0..half + ola)
            .map(|k| self.synth(self.erased + k))
            .collect();
        let real: Vec<f32> = samples.iter().map(|&s| f32::from(s)).collect();
        // Positive: play more of the continuation; negative: skip some real audio.
        let (extra, skip) = timescale::best_shift(&synth, &real, half, ola);
        let mut out: Vec<i16> = synth[..extra].iter().map(|&v| clamp(v)).collect();
        let joined = timescale::crossfade(&synth[extra..extra + ola], &real[skip..skip + ola]);
        out.extend(joined.into_iter().map(clamp));
        out.extend_from_slice(&samples[skip + ola..]);
        self.erased = 0;
        self.push_history(out.iter().map(|&s| f32::from(s)));
        out
    }

    /// Bridges a gap of `gap` samples before `future` (the audio that
    /// follows it, already at hand): the continuation of the past
    /// cross-fades into `future`'s first pitch period (at `future`'s own
    /// pitch) repeated backwards,
    /// so the bridge starts where the past left off and ends where
    /// `future` begins. Returns the bridge, exactly `gap` samples (a
    /// bridge made longer or shorter to bring the two into phase measured
    /// worse: a listener, and PESQ, mind the shifted timing more).
    pub fn interpolate(&mut self, gap: usize, future: &[i16]) -> Vec<i16> {
        let fresh = self.erased == 0;
        if fresh {
            self.start_erasure(true);
        }
        let p = self.pitch;
        if future.len() < p {
            let mut out = vec![0i16; gap];
            self.conceal(&mut out);
            return out;
        }
        let forward: Vec<f32> = (0..gap).map(|k| self.synth(self.erased + k)).collect();
        // `future` repeated backwards at its own pitch (the voice may have
        // moved during the gap): `j` samples before its start.
        let p = timescale::period(future, self.lens.pitch_min, self.lens.pitch_max).unwrap_or(p);
        let back: Vec<f32> = (0..gap)
            .map(|k| f32::from(future[(p - (gap - k) % p) % p]))
            .collect();
        // Each side fades towards the other's level where the other is
        // quieter, neither is carried past an edge where it falls silent,
        // and a sound that began just before the gap is under way in it
        // (`edges`): a word that ends or starts in the gap is not carried
        // across it at full level.
        let edges = if fresh {
            let future: Vec<f32> = future.iter().map(|&s| f32::from(s)).collect();
            Edges::measure(&self.history, self.pitch, &future, p, self.lens.ten_ms)
        } else {
            Edges::FLAT
        };
        let ten_ms = self.lens.ten_ms;
        let out: Vec<i16> = (0..gap)
            .map(|k| {
                let w = edges.future_share(k, gap, ten_ms);
                let past = forward[k] * edges.past_at(k, gap);
                let future = back[k] * edges.future_at(k, gap);
                clamp(past * (1.0 - w) + future * w)
            })
            .collect();
        self.erased = 0;
        self.push_history(out.iter().map(|&s| f32::from(s)));
        out
    }

    /// Freezes the pitch and the periods to repeat. A `bridge` (one gap
    /// with the audio after it at hand) takes the lag that best predicts
    /// the last 10 ms, the pitch right where the past ends (the future's
    /// side, at its own pitch, meets it half way); an
    /// extrapolation, which may run on for several frames, takes the
    /// period at which the recent audio best repeats itself (normalised
    /// on both sides), which holds the voice's pitch better.
    fn start_erasure(&mut self, bridge: bool) {
        self.pitch = if bridge {
            // Over the last 10 ms only: the pitch where the past ends.
            let lens = Lens {
                corr: self.lens.ten_ms,
                ..self.lens
            };
            find_pitch(&self.history, lens)
        } else {
            let l = self.lens;
            let recent: Vec<i16> = self.history[l.hist - l.corr - l.pitch_max..]
                .iter()
                .map(|&v| clamp(v))
                .collect();
            timescale::period(&recent, l.pitch_min, l.pitch_max).unwrap_or(l.pitch_max)
        };
        let start = self.lens.hist - 3 * self.pitch;
        self.pitch_buf = self.history[start..].to_vec();
    }

    /// Synthetic sample `k` samples into the erasure.
    fn synth(&self, k: usize) -> f32 {
        let ten_ms = self.lens.ten_ms;
        if k >= self.lens.fade_end || self.pitch_buf.is_empty() {
            return 0.0;
        }
        let p = self.pitch;
        let value = |periods: usize| {
            let span = periods * p;
            let base = self.pitch_buf.len() - span;
            self.pitch_buf[base + k % span]
        };
        // One period for the first 30 ms, two up to 40 ms, then three; each
        // widening is cross-faded over a quarter period. (G.711 Appendix I
        // widens at 10 and 20 ms; holding one period longer keeps the
        // voice steadier through bursts of two and three frames, and by
        // 30 ms the level is already falling.)
        let fade = (p / 4).max(1);
        let v = if k < ONE_PERIOD_UNTIL * ten_ms {
            value(1)
        } else if k < (ONE_PERIOD_UNTIL + 1) * ten_ms {
            blend(value(1), value(2), k - ONE_PERIOD_UNTIL * ten_ms, fade)
        } else {
            blend(
                value(2),
                value(3),
                k - (ONE_PERIOD_UNTIL + 1) * ten_ms,
                fade,
            )
        };
        // Full level for 10 ms, then down 20 % per 10 ms: silent at 60 ms.
        let gain = if k < ten_ms {
            1.0
        } else {
            1.0 - 0.2 * (k - ten_ms) as f32 / ten_ms as f32
        };
        v * gain.max(0.0)
    }

    fn push_history(&mut self, samples: impl Iterator<Item = f32>) {
        self.history.extend(samples);
        let excess = self.history.len().saturating_sub(self.lens.hist);
        self.history.drain(..excess);
    }
}

fn blend(old: f32, new: f32, i: usize, len: usize) -> f32 {
    if i >= len {
        new
    } else {
        let w = (i + 1) as f32 / (len + 1) as f32;
        old * (1.0 - w) + new * w
    }
}

fn clamp(v: f32) -> i16 {
    v.round().clamp(-32768.0, 32767.0) as i16
}

/// The lag in the pitch range that best predicts the last 20 ms of
/// `hist` (normalised cross-correlation).
fn find_pitch(hist: &[f32], lens: Lens) -> usize {
    let end = hist.len();
    let window = &hist[end - lens.corr..];
    let mut best = lens.pitch_max;
    let mut best_score = f32::MIN;
    for lag in lens.pitch_min..=lens.pitch_max {
        let lagged = &hist[end - lens.corr - lag..end - lag];
        let (mut corr, mut energy) = (0.0f32, 0.0f32);
        for (a, b) in window.iter().zip(lagged) {
            corr += a * b;
            energy += b * b;
        }
        if energy <= 0.0 {
            continue;
        }
        let score = corr / energy.sqrt();
        if score > best_score {
            best_score = score;
            best = lag;
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::tone::max_step;
    use crate::media::tone::sine;

    fn energy(s: &[i16]) -> f64 {
        s.iter().map(|&x| f64::from(x).powi(2)).sum::<f64>() / s.len() as f64
    }

    /// Runs a sine through the concealer with `lost` frames missing.
    fn run(freq: f64, lost: &[usize]) -> (Vec<i16>, Vec<i16>) {
        let src = sine(freq, 0.4, 8000);
        let mut plc = Plc::new();
        let mut out = Vec::new();
        for (i, frame) in src.chunks(160).enumerate() {
            let mut f = frame.to_vec();
            if lost.contains(&i) {
                plc.conceal(&mut f);
            } else {
                plc.good(&mut f);
            }
            out.extend(f);
        }
        (src, out)
    }

    #[test]
    fn lost_frame_in_a_sine_is_not_a_click() {
        for freq in [440.0, 600.0, 1000.0, 1400.0, 210.0] {
            let (src, out) = run(freq, &[10]);
            let concealed = &out[1600..1760];
            let before = energy(&out[1440..1600]);
            let after = energy(&out[1760..1920]);
            let e = energy(concealed);
            assert!(
                e > 0.7 * before && e < 1.3 * before,
                "{freq}: {e} vs {before}"
            );
            assert!(after > 0.8 * before, "{freq}: {after}");
            let allowed = max_step(&src) as f64 * 1.5;
            assert!(
                f64::from(max_step(&out[1400..2000])) <= allowed,
                "{freq}: step {} > {allowed}",
                max_step(&out[1400..2000])
            );
        }
    }

    #[test]
    fn a_voice_concealed_over_several_frames_keeps_its_pitch() {
        // A voice-like tone: 125 Hz (a 64-sample period) with harmonics.
        let src: Vec<i16> = (0..3200)
            .map(|i| {
                let t = i as f64 / 8000.0;
                let v: f64 = (1..=6)
                    .map(|h| {
                        (2.0 * std::f64::consts::PI * 125.0 * f64::from(h) * t).sin() / f64::from(h)
                    })
                    .sum();
                (v * 6000.0) as i16
            })
            .collect();
        let mut plc = Plc::new();
        let mut out = Vec::new();
        for (i, frame) in src.chunks(160).enumerate() {
            let mut f = frame.to_vec();
            if (10..13).contains(&i) {
                plc.conceal(&mut f);
            } else {
                plc.good(&mut f);
            }
            out.extend(f);
        }
        // The second lost frame still repeats at the voice's period.
        let concealed = &out[1760..1920];
        assert_eq!(timescale::period(concealed, PITCH_MIN, PITCH_MAX), Some(64));
        let f: Vec<f32> = concealed.iter().map(|&s| f32::from(s)).collect();
        assert!(timescale::similarity(&f[64..], &f[..96]) > 0.95);
    }

    #[test]
    fn a_bridge_keeps_the_pitch_the_voice_has_where_the_gap_begins() {
        // A voice-like tone gliding from 100 Hz (an 80-sample period) to
        // 125 Hz (64 samples) 12.5 ms before a gap at sample 1600.
        let mut phase = 0.0f64;
        let src: Vec<i16> = (0..3200)
            .map(|i| {
                let f0 = if i < 1500 { 100.0 } else { 125.0 };
                phase += 2.0 * std::f64::consts::PI * f0 / 8000.0;
                let v: f64 = (1..=6)
                    .map(|h| (phase * f64::from(h)).sin() / f64::from(h))
                    .sum();
                (v * 6000.0) as i16
            })
            .collect();
        let mut plc = Plc::new();
        for f in src[..1600].chunks(160) {
            plc.merge(f.to_vec());
        }
        let bridge = plc.interpolate(160, &src[1760..1920]);
        assert_eq!(timescale::period(&bridge, PITCH_MIN, PITCH_MAX), Some(64));
        let f: Vec<f32> = bridge.iter().map(|&s| f32::from(s)).collect();
        assert!(timescale::similarity(&f[64..], &f[..96]) > 0.9);
    }

    #[test]
    fn long_loss_fades_to_silence() {
        let (_, out) = run(500.0, &[5, 6, 7, 8, 9]);
        // 60 ms into the erasure the output is silent.
        assert!(out[800 + 480..1600].iter().all(|&s| s == 0));
        // It faded rather than stopping dead.
        assert!(energy(&out[800 + 160..800 + 320]) > 0.0);
        // And audio comes back.
        assert!(energy(&out[1760..1920]) > 1e6);
    }

    /// Like [`run`], but the frame after each lost one is at hand: the
    /// gap is bridged from both sides.
    fn run_bridged(freq: f64, lost: &[usize]) -> (Vec<i16>, Vec<i16>) {
        let src = sine(freq, 0.4, 8000);
        let frames: Vec<&[i16]> = src.chunks(160).collect();
        let mut plc = Plc::new();
        let mut out = Vec::new();
        for (i, frame) in frames.iter().enumerate() {
            if lost.contains(&i) {
                out.extend(plc.interpolate(160, frames[i + 1]));
            } else {
                out.extend(plc.merge(frame.to_vec()));
            }
        }
        (src, out)
    }

    #[test]
    fn a_bridged_gap_keeps_the_tone_and_has_no_click() {
        for freq in [210.0, 440.0, 600.0, 1000.0, 1400.0] {
            let (src, out) = run_bridged(freq, &[10]);
            assert_eq!(out.len(), src.len());
            let before = energy(&out[1440..1600]);
            let e = energy(&out[1600..1760]);
            assert!(
                e > 0.6 * before && e < 1.3 * before,
                "{freq}: {e} vs {before}"
            );
            // The bridge ends where the next frame begins: that frame is untouched.
            assert_eq!(out[1760..1920], src[1760..1920]);
            let allowed = f64::from(max_step(&src)) * 1.5;
            assert!(
                f64::from(max_step(&out[1400..2000])) <= allowed,
                "{freq}: step {} > {allowed}",
                max_step(&out[1400..2000])
            );
            let p = crate::media::tone::goertzel_power(&out[1600..1760], 8000, freq);
            assert!(p > 0.05, "{freq}: {p}");
        }
    }

    #[test]
    fn a_word_that_ends_in_a_bridged_gap_is_not_carried_across_it() {
        // Loud tone up to the gap, a far quieter one after it.
        let loud = sine(440.0, 0.2, 8000);
        let quiet: Vec<i16> = sine(440.0, 0.2, 8000).iter().map(|&s| s / 30).collect();
        let mut plc = Plc::new();
        for f in loud.chunks(160) {
            plc.merge(f.to_vec());
        }
        let bridge = plc.interpolate(160, &quiet[..160]);
        let before = energy(&loud[loud.len() - 160..]);
        // Fading towards the quiet side: the second half is well below the past.
        assert!(
            energy(&bridge[80..]) < 0.2 * before,
            "{}",
            energy(&bridge[80..]) / before
        );
        // Yet the bridge starts where the past left off (no drop to silence).
        assert!(energy(&bridge[..10]) > 0.5 * before);
        // The other way round: a word starting in the gap fades in.
        let mut plc = Plc::new();
        for f in quiet.chunks(160) {
            plc.merge(f.to_vec());
        }
        let bridge = plc.interpolate(160, &loud[..160]);
        assert!(energy(&bridge[..80]) < 0.2 * before);
        assert!(energy(&bridge[120..]) > 0.5 * before);
    }

    #[test]
    fn the_merge_after_a_loss_has_no_click() {
        for freq in [210.0, 440.0, 600.0, 1000.0] {
            let src = sine(freq, 0.4, 8000);
            let mut plc = Plc::new();
            let mut out = Vec::new();
            for (i, frame) in src.chunks(160).enumerate() {
                if i == 10 || i == 11 {
                    let mut f = vec![0i16; 160];
                    plc.conceal(&mut f);
                    out.extend(f);
                } else {
                    out.extend(plc.merge(frame.to_vec()));
                }
            }
            // At most half a period longer or shorter.
            assert!(out.len().abs_diff(src.len()) <= 60, "{freq}: {}", out.len());
            let allowed = f64::from(max_step(&src)) * 1.5;
            let join = &out[1600 + 200..1600 + 520];
            assert!(
                f64::from(max_step(join)) <= allowed,
                "{freq}: step {} > {allowed}",
                max_step(join)
            );
            assert!(!plc.concealing());
        }
    }

    #[test]
    fn concealing_silence_stays_silent() {
        let mut plc = Plc::new();
        let mut f = [5i16; 160];
        plc.conceal(&mut f);
        assert!(f.iter().all(|&s| s == 0));
        assert!(plc.concealing());
        let mut g = [100i16; 160];
        plc.good(&mut g);
        assert!(!plc.concealing());
        assert_eq!(g[159], 100);
    }
}
