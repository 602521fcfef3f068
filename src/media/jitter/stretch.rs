//! The jitter buffer's time-scale steps: when the delay must grow, the
//! playout plays one pitch period more ([`JitterBuffer::expand_once`],
//! NetEQ's preemptive expand); when it stands too high, one fewer
//! ([`JitterBuffer::accelerate_once`]). An expand adds a frame's worth, a
//! period a tick, then rests [`COOLDOWN_TICKS`]. A step is taken where the audio
//! repeats well (or is quiet), else put off to a later tick; after
//! [`MAX_TRIES`] ticks it is taken anyway. The arithmetic is
//! `super::super::timescale`; this part only picks the samples and keeps
//! the counts. It never touches packets that have not arrived.

use super::JitterBuffer;
use crate::media::timescale;

/// How well the waveform must repeat at the lag for a stretch.
const MIN_SIMILARITY: f32 = 0.6;
/// Below this mean power (about -50 dBov) any lag will do.
const QUIET_POWER: f32 = 10_000.0;
/// Ticks a stretch waits for audio that repeats well (0.4 s).
const MAX_TRIES: u32 = 20;
/// Ticks between the end of one expand and the start of the next (0.2 s):
/// a frame's worth at a time, as the delay grows by a frame at a time.
const COOLDOWN_TICKS: u32 = 10;

/// What the stretching remembers between ticks.
#[derive(Debug, Clone, Default)]
pub(super) struct State {
    /// The last samples played (for the period an expand repeats).
    past: Vec<i16>,
    /// Samples added (expand) not yet counted as a whole frame.
    added: usize,
    /// Samples taken out (accelerate) not yet counted as a whole frame.
    removed: usize,
    /// Ticks a pending stretch has waited.
    tries: u32,
    /// Samples still to add (expand), a pitch period a tick.
    pub(super) expand_pending: usize,
    /// Ticks before the next expand may start.
    cooldown: u32,
}

impl State {
    /// Notes a played frame (keeps the last `frame` samples).
    pub(super) fn played(&mut self, out: &[i16], frame: usize) {
        self.past.extend_from_slice(out);
        let excess = self.past.len().saturating_sub(frame);
        self.past.drain(..excess);
    }

    /// Counts a tick; true when no expand is under way and the last one
    /// ended at least [`COOLDOWN_TICKS`] ago.
    pub(super) fn cooled_down(&mut self) -> bool {
        self.cooldown = self.cooldown.saturating_sub(1);
        self.cooldown == 0 && self.expand_pending == 0
    }

    /// Whether a stretch at `lag` may go ahead now.
    fn take(&mut self, lag: timescale::Lag, power: f32) -> bool {
        if lag.similarity >= MIN_SIMILARITY || power < QUIET_POWER || self.tries >= MAX_TRIES {
            self.tries = 0;
            true
        } else {
            self.tries += 1;
            false
        }
    }
}

impl JitterBuffer {
    /// Pitch search range: 5 to 15 ms.
    fn lag_range(&self) -> (usize, usize) {
        (self.frame / 4, self.frame * 3 / 4)
    }

    /// Moves packets that are here (in order, none missing) into `ready`
    /// until it holds `want` samples. Never conceals.
    fn pull_present(&mut self, want: usize) {
        while self.ready.len() < want {
            let Some(next) = self.next else { return };
            if !self.play_present(next) {
                return;
            }
        }
    }

    /// Lengthens what is about to play by one pitch period.
    pub(super) fn expand_once(&mut self) {
        let (min, max) = self.lag_range();
        self.pull_present(max);
        let ahead: Vec<i16> = self.ready.iter().copied().take(max).collect();
        let past = &self.stretch.past;
        let Some(lag) = timescale::expand_lag(past, &ahead, min, max) else {
            return;
        };
        if !self.stretch.take(lag, timescale::power(&ahead)) {
            return;
        }
        let extra = timescale::expand(&self.stretch.past, &ahead, lag.lag);
        for s in extra.into_iter().rev() {
            self.ready.push_front(s);
        }
        self.stretch.expand_pending = self.stretch.expand_pending.saturating_sub(lag.lag);
        if self.stretch.expand_pending == 0 {
            self.stretch.cooldown = COOLDOWN_TICKS;
        }
        self.stretch.added += lag.lag;
        if self.stretch.added >= self.frame {
            self.stretch.added -= self.frame;
            self.stats.stretched_frames += 1;
        }
    }

    /// Shortens what is about to play by one pitch period, keeping a
    /// frame after it.
    pub(super) fn accelerate_once(&mut self) {
        let (min, max) = self.lag_range();
        self.pull_present(2 * max + self.frame);
        let ahead: Vec<i16> = self.ready.iter().copied().take(2 * max).collect();
        let Some(lag) = timescale::accelerate_lag(&ahead, min, max) else {
            return;
        };
        if self.ready.len() < 2 * lag.lag + self.frame
            || !self.stretch.take(lag, timescale::power(&ahead))
        {
            return;
        }
        let merged = timescale::accelerate(&ahead[..2 * lag.lag], lag.lag);
        self.ready.drain(..2 * lag.lag);
        for s in merged.into_iter().rev() {
            self.ready.push_front(s);
        }
        self.trim_pending = self.trim_pending.saturating_sub(lag.lag);
        self.stretch.removed += lag.lag;
        if self.stretch.removed >= self.frame {
            self.stretch.removed -= self.frame;
            self.stats.dropped_frames += 1;
        }
    }
}
