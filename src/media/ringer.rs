//! A ring with no call: a [`Pattern`] played on the speaker of its own
//! (the audio backend's ring stream, named like a call, e.g.
//! `callback-cb1`; on `[audio] ring_device` when one is set)
//! for at most a given time, stopped when the [`Ringer`] is dropped. What
//! the phone plays when something other than an incoming call wants the
//! user (a callback whose target is free). It knows no SIP and no calls.

use super::audio::Sink;
use super::jitter::FRAME;
use super::tones::{Pattern, PatternPlayer};
use super::AudioSystem;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// One frame's time at 8 kHz.
const TICK: Duration = Duration::from_millis(20);

/// A running ring; dropping it stops it (the stream is finished).
#[derive(Debug)]
pub struct Ringer {
    stop: CancellationToken,
}

impl Drop for Ringer {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

impl Ringer {
    /// Plays `pattern` on the stream `name` of `audio` for at most `limit`.
    /// Must be called inside a tokio runtime.
    pub fn start(
        audio: &AudioSystem,
        name: &str,
        pattern: Pattern,
        limit: Duration,
    ) -> super::Result<Ringer> {
        let sink = audio.open_ring(name)?;
        let stop = CancellationToken::new();
        tokio::spawn(ring(sink, PatternPlayer::new(pattern), limit, stop.clone()));
        Ok(Ringer { stop })
    }
}

async fn ring(
    mut sink: Box<dyn Sink>,
    mut player: PatternPlayer,
    limit: Duration,
    stop: CancellationToken,
) {
    let end = tokio::time::Instant::now() + limit;
    let mut clock = tokio::time::interval(TICK);
    clock.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = stop.cancelled() => break,
            _ = tokio::time::sleep_until(end) => break,
            _ = clock.tick() => {
                sink.write(&frame(&mut player));
            }
        }
    }
    sink.finish();
}

/// The next frame of `player`, clipped to 16 bits.
fn frame(player: &mut PatternPlayer) -> [i16; FRAME] {
    let mut acc = [0.0f32; FRAME];
    player.add_to(&mut acc);
    acc.map(|s| s.clamp(f32::from(i16::MIN), f32::from(i16::MAX)) as i16)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::tones::RECALL;

    #[test]
    fn frames_carry_the_recall_then_silence() {
        let mut p = PatternPlayer::new(RECALL);
        let first = frame(&mut p);
        assert!(first.iter().any(|s| s.unsigned_abs() > 1000), "no tone");
        // 840 ms of beeps, then a pause: frame 50 (1 s in) is silent.
        let mut later = first;
        for _ in 0..50 {
            later = frame(&mut p);
        }
        assert!(later.iter().all(|s| s.unsigned_abs() < 10), "{later:?}");
    }
}
