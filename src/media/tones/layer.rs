//! [`Layer`]: puts a generated pattern into a 20 ms audio frame, either
//! replacing the frame (a crossfade of [`RAMP`] samples each way: call
//! progress tones over the received audio, music over the microphone) or
//! mixed on top of it (the call-waiting beep). Switching patterns releases
//! the old one (it fades out) while the new one starts from its ramp.

use super::player::{ramp_at, PatternPlayer};
use super::{Pattern, RATE};
use crate::media::jitter::FRAME;

/// How a layer combines with the audio under it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LayerMode {
    /// The pattern takes the place of the audio while it is set.
    Replace,
    /// The pattern is added to the audio.
    Mix,
}

/// One generated layer over a stream of frames.
#[derive(Debug, Clone)]
pub struct Layer {
    mode: LayerMode,
    current: Option<PatternPlayer>,
    /// Released players still fading out.
    leaving: Vec<PatternPlayer>,
    /// Weight of the generated signal against the audio (Replace mode),
    /// moving by 1/RAMP per sample towards 1 when a pattern is set, 0 when not.
    weight: f32,
    /// The sample rate of the frames it is applied to.
    rate: u32,
}

impl Layer {
    pub fn new(mode: LayerMode) -> Layer {
        Layer {
            mode,
            current: None,
            leaving: Vec::new(),
            weight: 0.0,
            rate: RATE,
        }
    }

    /// The frames from now on are at `rate` Hz (the call's codec changed):
    /// a pattern that is set goes on at the new rate from the start of
    /// its cadence, patterns fading out are dropped.
    pub fn set_rate(&mut self, rate: u32) {
        let rate = rate.max(1);
        if rate == self.rate {
            return;
        }
        self.rate = rate;
        self.leaving.clear();
        if let Some(p) = self.current.take() {
            self.current = Some(PatternPlayer::at_rate(*p.pattern(), rate));
        }
    }

    /// Plays `pattern` from its start, or stops with `None`. Setting the
    /// pattern already playing changes nothing (its cadence goes on).
    pub fn set(&mut self, pattern: Option<Pattern>) {
        let same = match (&self.current, &pattern) {
            (Some(cur), Some(p)) => cur.pattern() == p,
            (None, None) => true,
            _ => false,
        };
        if same {
            return;
        }
        if let Some(mut old) = self.current.take() {
            old.release();
            self.leaving.push(old);
        }
        let rate = self.rate;
        self.current = pattern.map(|p| PatternPlayer::at_rate(p, rate));
    }

    /// A pattern is set.
    pub fn is_set(&self) -> bool {
        self.current.is_some()
    }

    /// The layer changes the audio (set, or still fading out).
    pub fn is_active(&self) -> bool {
        self.current.is_some() || !self.leaving.is_empty() || self.weight > 0.0
    }

    /// Applies the layer to `frame` (nothing when inactive).
    pub fn apply(&mut self, frame: &mut [i16]) {
        if !self.is_active() {
            return;
        }
        for chunk in frame.chunks_mut(CHUNK) {
            self.apply_chunk(chunk);
        }
        self.leaving.retain(|p| !p.is_done());
    }

    fn apply_chunk(&mut self, frame: &mut [i16]) {
        let mut generated = [0.0f32; CHUNK];
        let generated = &mut generated[..frame.len()];
        if let Some(p) = self.current.as_mut() {
            p.add_to(generated);
        }
        for p in &mut self.leaving {
            p.add_to(generated);
        }
        let step = 1.0 / ramp_at(self.rate) as f32;
        let target = if self.current.is_some() { 1.0 } else { 0.0 };
        for (s, &g) in frame.iter_mut().zip(generated.iter()) {
            let under = f32::from(*s);
            let out = match self.mode {
                LayerMode::Mix => under + g,
                LayerMode::Replace => {
                    self.weight = if target > self.weight {
                        (self.weight + step).min(target)
                    } else {
                        (self.weight - step).max(target)
                    };
                    under * (1.0 - self.weight) + g
                }
            };
            *s = out.round().clamp(-32768.0, 32767.0) as i16;
        }
    }
}

/// Samples generated at a time (one 8 kHz frame), on the stack.
const CHUNK: usize = FRAME;

#[cfg(test)]
mod tests {
    use super::super::{TonePlan, HOLD_MELODY};
    use super::*;
    use crate::media::tone::{goertzel_power, max_step, sine};

    /// Runs `frames` 160-sample frames of `audio` through the layer.
    fn run(layer: &mut Layer, audio: &[i16]) -> Vec<i16> {
        let mut out = audio.to_vec();
        for chunk in out.chunks_mut(160) {
            layer.apply(chunk);
        }
        out
    }

    #[test]
    fn a_16_khz_layer_plays_the_same_tone_and_cadence() {
        let plan = TonePlan::ETSI;
        let mut layer = Layer::new(LayerMode::Replace);
        layer.set_rate(16_000);
        layer.set(Some(plan.pattern(super::super::Tone::Busy)));
        let mut out = Vec::new();
        for _ in 0..50 {
            let mut f = [0i16; 320];
            layer.apply(&mut f);
            out.extend_from_slice(&f);
        }
        // Busy: 425 Hz, 500 ms on then 500 ms off, at 16 kHz.
        assert!(goertzel_power(&out[800..7200], 16_000, 425.0) > 0.02);
        assert!(goertzel_power(&out[8800..15200], 16_000, 425.0) < 1e-4);
    }

    #[test]
    fn replace_crossfades_both_ways_without_clicks() {
        // Received audio: a 300 Hz sine at half scale (max step ≈ 3860).
        let audio = sine(300.0, 0.6, 8000);
        let mut layer = Layer::new(LayerMode::Replace);
        assert!(!layer.is_active());
        let mut out = run(&mut layer, &audio[..800]);
        assert_eq!(out, &audio[..800], "inactive layer passes audio through");
        layer.set(Some(TonePlan::ETSI.ringback));
        out.extend(run(&mut layer, &audio[800..3200]));
        let tone_part = &out[1200..3200];
        assert!(goertzel_power(tone_part, 8000, 425.0) > 0.025);
        assert!(goertzel_power(tone_part, 8000, 300.0) < 1e-4);
        layer.set(None);
        assert!(layer.is_active());
        out.extend(run(&mut layer, &audio[3200..]));
        assert!(!layer.is_active());
        assert_eq!(&out[3400..], &audio[3400..]);
        assert!(max_step(&out) < 4500, "{}", max_step(&out));
    }

    #[test]
    fn switching_tones_releases_the_old_one_and_same_tone_keeps_cadence() {
        let mut layer = Layer::new(LayerMode::Replace);
        layer.set(Some(TonePlan::ETSI.busy));
        let mut out = run(&mut layer, &[0; 3200]);
        // Busy again: no restart, so its pause comes at 0.5 s as planned.
        layer.set(Some(TonePlan::ETSI.busy));
        out.extend(run(&mut layer, &[0; 1600]));
        assert!(out[4000..4800].iter().all(|&x| x == 0));
        layer.set(Some(TonePlan::ETSI.congestion));
        out.extend(run(&mut layer, &[0; 3200]));
        assert!(goertzel_power(&out[4900..6800], 8000, 425.0) > 0.025);
        assert!(max_step(&out) < 2800);
    }

    #[test]
    fn mix_adds_on_top() {
        let audio = sine(1000.0, 0.25, 8000);
        let mut layer = Layer::new(LayerMode::Mix);
        layer.set(Some(TonePlan::ETSI.waiting));
        let out = run(&mut layer, &audio);
        assert!(goertzel_power(&out[..1600], 8000, 1000.0) > 0.1);
        assert!(goertzel_power(&out[..1600], 8000, 425.0) > 0.015);
        // After the 200 ms beep only the audio is left.
        assert_eq!(&out[1640..], &audio[1640..]);
        let mut hold = Layer::new(LayerMode::Mix);
        hold.set(Some(HOLD_MELODY));
        hold.set(None);
        let quiet = run(&mut hold, &[0; 320]);
        assert!(quiet[40..].iter().all(|&x| x == 0));
        assert!(!hold.is_active());
    }
}
