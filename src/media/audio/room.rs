//! A simulated room for the file backend (docs/control.md `[audio]
//! room_echo_ms`, `room_echo_db`): what a call's speaker plays comes back
//! into the same call's microphone, delayed and attenuated, as a
//! loudspeaker's sound reaches the microphone beside it. It lets the echo
//! canceller be tested and measured end to end without a sound card.
//!
//! Owns only the echo path between one call's sink and source (a
//! single-producer ring from the sink to the source of the same call);
//! must not touch what the wrapped backend reads or records.

use super::{AudioBackend, Sink, Source};
use crate::config::RoomEcho;
use crate::media::jitter::FRAME;
use crate::media::{BackendKind, Result};
use std::collections::VecDeque;
use std::sync::Arc;

/// The plain rate of [`Source::read`] and [`Sink::write`].
const BACKEND_RATE: u32 = 8000;
/// Frames in flight from the sink to the source (a second at 20 ms).
const RING_FRAMES: usize = 50;

/// A backend whose calls hear their own playout as room echo.
#[derive(Debug)]
pub struct RoomBackend {
    inner: Arc<dyn AudioBackend>,
    room: RoomEcho,
}

impl RoomBackend {
    pub fn new(inner: Arc<dyn AudioBackend>, room: RoomEcho) -> RoomBackend {
        RoomBackend { inner, room }
    }
}

impl AudioBackend for RoomBackend {
    fn kind(&self) -> BackendKind {
        self.inner.kind()
    }

    delegate_to_inner!();

    fn open_call(&self, call_id: &str) -> Result<(Box<dyn Source>, Box<dyn Sink>)> {
        let (source, sink) = self.inner.open_call(call_id)?;
        let (tx, rx) = rtrb::RingBuffer::new(RING_FRAMES);
        Ok((
            Box::new(RoomSource {
                inner: source,
                played: rx,
                air: VecDeque::new(),
                rate: 0,
                room: self.room,
            }),
            Box::new(RoomSink {
                inner: sink,
                played: tx,
            }),
        ))
    }
}

/// The gain of `level_db`.
pub fn gain(level_db: f32) -> f32 {
    10f32.powf(level_db / 20.0)
}

/// The speaker: every frame also goes into the room.
struct RoomSink {
    inner: Box<dyn Sink>,
    played: rtrb::Producer<(u32, Vec<i16>)>,
}

impl RoomSink {
    fn send_to_room(&mut self, rate: u32, frame: &[i16]) {
        // A full ring means the microphone is not being read: the oldest
        // sound is lost, as it would be in a room.
        let _ = self.played.push((rate, frame.to_vec()));
    }
}

impl Sink for RoomSink {
    fn write(&mut self, frame: &[i16; FRAME]) {
        self.send_to_room(BACKEND_RATE, frame);
        self.inner.write(frame);
    }

    fn write_at(&mut self, rate: u32, frame: &[i16]) -> bool {
        if !self.inner.write_at(rate, frame) {
            return false;
        }
        self.send_to_room(rate, frame);
        true
    }

    fn finish(&mut self) {
        self.inner.finish();
    }
}

/// The microphone: the wrapped source plus the room's echo.
struct RoomSource {
    inner: Box<dyn Source>,
    played: rtrb::Consumer<(u32, Vec<i16>)>,
    /// Sound on its way from the speaker, at `rate`.
    air: VecDeque<i16>,
    rate: u32,
    room: RoomEcho,
}

impl RoomSource {
    fn add_echo(&mut self, rate: u32, frame: &mut [i16]) {
        if rate != self.rate {
            self.rate = rate;
            self.air.clear();
            let delay = rate as usize * self.room.delay_ms as usize / 1000;
            self.air.extend(std::iter::repeat_n(0, delay));
        }
        while let Ok((r, played)) = self.played.pop() {
            if r == rate {
                self.air.extend(played);
            } else {
                // Played at another rate (the codec changed): as much silence.
                let n = played.len() * rate as usize / r.max(1) as usize;
                self.air.extend(std::iter::repeat_n(0, n));
            }
        }
        let g = gain(self.room.level_db);
        for s in frame.iter_mut() {
            let echo = f32::from(self.air.pop_front().unwrap_or(0)) * g;
            *s = (f32::from(*s) + echo).round().clamp(-32768.0, 32767.0) as i16;
        }
    }
}

impl Source for RoomSource {
    fn read(&mut self, frame: &mut [i16; FRAME]) {
        self.inner.read(frame);
        self.add_echo(BACKEND_RATE, frame);
    }

    fn read_at(&mut self, rate: u32, frame: &mut [i16]) -> bool {
        if !self.inner.read_at(rate, frame) {
            return false;
        }
        self.add_echo(rate, frame);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::audio::null::NullBackend;

    #[test]
    fn the_playout_comes_back_delayed_and_attenuated() {
        let room = RoomEcho {
            delay_ms: 60,
            level_db: -6.0,
        };
        let backend = RoomBackend::new(Arc::new(NullBackend), room);
        let (mut source, mut sink) = backend.open_call("r").unwrap();
        let mut mic = Vec::new();
        for k in 0..10i16 {
            let mut frame = [0i16; FRAME];
            source.read(&mut frame);
            mic.extend_from_slice(&frame);
            let played: [i16; FRAME] = std::array::from_fn(|i| 1000 + k * 100 + (i % 7) as i16);
            sink.write(&played);
        }
        // 60 ms at 8 kHz is 480 samples.
        assert!(mic[..480].iter().all(|&s| s == 0), "silent before the echo");
        let want = |s: i16| (f32::from(s) * gain(-6.0)).round() as i16;
        assert_eq!(mic[480], want(1000));
        assert_eq!(mic[480 + FRAME + 3], want(1100 + 3));
    }

    #[test]
    fn gain_of_minus_20_db_is_a_tenth() {
        assert!((gain(-20.0) - 0.1).abs() < 1e-6);
        assert!((gain(0.0) - 1.0).abs() < 1e-6);
    }
}
