//! What the audio on either side of a bridged gap says about the level
//! across it: each side's level, a side that has fallen silent right at
//! its edge (a word that ended just before the gap, or starts just after
//! it), a sound that began in the last milliseconds before the gap (then
//! it is already under way in the gap, at the level after it) and, the
//! mirror case, one that ends in the first milliseconds after it (under
//! way in the gap at the level before it).
//! Pure: it measures and decides, [`super::Plc::interpolate`] applies.

/// A side whose last (first) 10 ms are this much quieter than its pitch
/// period as a whole has fallen silent at the edge (−12 dB).
const SILENT_EDGE: f32 = 0.25;
/// An onset: the past's last 2.5 ms this much louder than the 10 ms
/// before them (+12 dB), and the audio after the gap as much louder than
/// the past; an offset the same, mirrored.
const ONSET_RISE: f32 = 4.0;

/// How the two sides of one gap are to be weighted.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Edges {
    /// Scales the past's continuation: below 1 when the past ends in
    /// silence.
    pub past_gain: f32,
    /// Scales the future's side likewise when the future starts in
    /// silence.
    pub future_gain: f32,
    /// Where the past's continuation ends, relative to where it starts
    /// (towards the future's level where that is lower).
    pub down: f32,
    /// Where the future's side starts, relative to where it ends.
    pub up: f32,
    /// A sound began just before the gap: the future's side, at full
    /// level, takes over within the first 5 ms.
    pub onset: bool,
    /// A sound ends just after the gap: the past's side, at full level,
    /// hands over only in the last 5 ms.
    pub offset: bool,
}

impl Edges {
    /// Both sides as they are: a gap inside an erasure already under way.
    pub const FLAT: Edges = Edges {
        past_gain: 1.0,
        future_gain: 1.0,
        down: 1.0,
        up: 1.0,
        onset: false,
        offset: false,
    };

    /// Measures `past` (the history, ending where the gap begins; its
    /// last `past_period` samples are the period the continuation
    /// repeats) and `future` (the audio after the gap; its first
    /// `future_period` samples are the period repeated backwards).
    /// `ten_ms` is 10 ms in samples.
    pub fn measure(
        past: &[f32],
        past_period: usize,
        future: &[f32],
        future_period: usize,
        ten_ms: usize,
    ) -> Edges {
        let tail = |n: usize| &past[past.len() - n.min(past.len())..];
        let head = |n: usize| &future[..n.min(future.len())];
        let (past_gain, past_level) = side(rms(tail(past_period)), rms(tail(ten_ms)));
        let (future_gain, future_level) = side(rms(head(future_period)), rms(head(ten_ms)));
        let ratio = |to: f32, from: f32| {
            if from <= 1.0 {
                1.0
            } else {
                (to.max(1.0) / from).min(1.0)
            }
        };
        let quarter = (ten_ms / 4).max(1);
        let onset = past.len() >= ten_ms + quarter && {
            let last = rms(tail(quarter));
            let before = rms(&tail(ten_ms + quarter)[..ten_ms]);
            last > ONSET_RISE * before.max(1.0) && future_level > ONSET_RISE * past_level.max(1.0)
        };
        let offset = future.len() >= ten_ms + quarter && {
            let first = rms(head(quarter));
            let after = rms(&head(ten_ms + quarter)[quarter..]);
            first > ONSET_RISE * after.max(1.0) && past_level > ONSET_RISE * future_level.max(1.0)
        };
        Edges {
            past_gain,
            future_gain,
            down: ratio(future_level, past_level),
            up: ratio(past_level, future_level),
            onset,
            offset,
        }
    }

    /// The past's continuation's gain `k` samples into a gap of `gap`:
    /// from where it starts to `down`, evenly in decibels (as a voice
    /// decays); at full level throughout before an offset.
    pub fn past_at(&self, k: usize, gap: usize) -> f32 {
        if self.offset {
            return self.past_gain;
        }
        self.past_gain * self.down.powf((k + 1) as f32 / gap as f32)
    }

    /// The future's side's gain `k` samples into a gap of `gap`: from
    /// `up` linearly to full level where the future begins; at full level
    /// throughout after an onset.
    pub fn future_at(&self, k: usize, gap: usize) -> f32 {
        if self.onset {
            return self.future_gain;
        }
        self.future_gain * (1.0 + (self.up - 1.0) * (gap - k) as f32 / gap as f32)
    }

    /// The future's side's share of the mix `k` samples into a gap of
    /// `gap`: evenly across the gap, over the first 5 ms (`ten_ms / 2`)
    /// after an onset, over the last 5 ms before an offset.
    pub fn future_share(&self, k: usize, gap: usize, ten_ms: usize) -> f32 {
        let short = (ten_ms / 2).max(1).min(gap.max(1));
        let (start, span) = if self.onset {
            (0, short)
        } else if self.offset {
            (gap - short, short)
        } else {
            (0, gap)
        };
        if k < start {
            return 0.0;
        }
        ((k - start + 1) as f32 / (span + 1) as f32).min(1.0)
    }
}

/// One side's gain and level from its whole period's level and its edge's:
/// a silent edge scales the side down to the edge's level.
fn side(period: f32, edge: f32) -> (f32, f32) {
    if edge < SILENT_EDGE * period {
        ((edge.max(1.0) / period.max(1.0)).min(1.0), edge)
    } else {
        (1.0, period)
    }
}

fn rms(s: &[f32]) -> f32 {
    (s.iter().map(|v| v * v).sum::<f32>() / s.len().max(1) as f32).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(n: usize, amp: f32) -> Vec<f32> {
        (0..n)
            .map(|i| amp * (i as f32 * 2.0 * std::f32::consts::PI * 440.0 / 8000.0).sin())
            .collect()
    }

    #[test]
    fn equal_sides_are_left_alone() {
        let e = Edges::measure(&tone(390, 3000.0), 80, &tone(160, 3000.0), 80, 80);
        assert!(
            (e.down - 1.0).abs() < 0.05 && (e.up - 1.0).abs() < 0.05,
            "{e:?}"
        );
        assert_eq!((e.past_gain, e.future_gain, e.onset), (1.0, 1.0, false));
        assert!((e.past_at(159, 160) - e.down).abs() < 1e-6);
        assert!((e.future_share(79, 160, 80) - 0.5).abs() < 0.01);
    }

    #[test]
    fn a_past_that_ends_in_silence_is_not_continued() {
        // A period of sound, then the last 10 ms silent.
        let mut past = tone(310, 3000.0);
        past.extend(vec![0.0; 80]);
        let e = Edges::measure(&past, 120, &tone(160, 3000.0), 80, 80);
        assert!(e.past_gain < 0.01, "{e:?}");
        // And the future's side fades in from that silence.
        assert!(e.up < 0.01, "{e:?}");
        assert!(!e.onset);
    }

    #[test]
    fn a_future_that_starts_in_silence_is_not_carried_back() {
        let mut future = vec![0.0; 80];
        future.extend(tone(80, 3000.0));
        let e = Edges::measure(&tone(390, 3000.0), 80, &future, 120, 80);
        assert!(e.future_gain < 0.01, "{e:?}");
        assert!(e.down < 0.01, "{e:?}");
    }

    #[test]
    fn a_sound_starting_just_before_the_gap_is_an_onset() {
        // Silence, then a sound rising in the last 2.5 ms of the past; loud after the gap.
        let mut past = vec![0.0; 370];
        past.extend(tone(20, 1000.0));
        let e = Edges::measure(&past, 80, &tone(160, 3000.0), 80, 80);
        assert!(e.onset, "{e:?}");
        // The future's side at full level from the start, taking over in 5 ms.
        assert_eq!(e.future_at(0, 160), 1.0);
        assert_eq!(e.future_share(40, 160, 80), 1.0);
        // A steady quiet past before a loud future is no onset.
        let e = Edges::measure(&tone(390, 100.0), 80, &tone(160, 3000.0), 80, 80);
        assert!(!e.onset);
        assert!(e.future_at(0, 160) < 0.1);
    }

    #[test]
    fn a_sound_ending_just_after_the_gap_is_an_offset() {
        // Loud before the gap; after it 2.5 ms of the sound, then silence.
        let mut future = tone(20, 3000.0);
        future.extend(vec![0.0; 140]);
        let e = Edges::measure(&tone(390, 12000.0), 80, &future, 80, 80);
        assert!(e.offset && !e.onset, "{e:?}");
        // The past's side at full level, handing over in the last 5 ms.
        assert_eq!(e.past_at(159, 160), 1.0);
        assert_eq!(e.future_share(119, 160, 80), 0.0);
        assert!(e.future_share(159, 160, 80) > 0.9);
    }

    #[test]
    fn the_past_decays_evenly_in_decibels() {
        let e = Edges::measure(&tone(390, 3000.0), 80, &tone(160, 30.0), 80, 80);
        // 40 dB down over the gap: 20 dB down half way.
        let half = e.past_at(79, 160);
        assert!((20.0 * half.log10() + 20.0).abs() < 1.0, "{half}");
    }
}
