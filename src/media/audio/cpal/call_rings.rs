//! A call's ends of the pump's rings: the microphone ([`RingSource`]) and
//! the speaker ([`RingSink`]). The rings run at the pump's mix rate (the
//! call output's rate); each end converts between that and the rate the
//! call asks for (8 kHz through `read` / `write`, the codec's rate through
//! `read_at` / `write_at`), so a G.722 or Opus call reaches the sound card
//! without passing through 8 kHz. The converters are band-limited
//! (`resample::BandLimited`): a 16 kHz call keeps its band to 7 kHz and
//! the card plays no image of it. They own the converters and nothing
//! else; they must not touch the devices or the mix.

use super::super::resample::BandLimited;
use super::super::{Sink, Source};
use crate::media::jitter::FRAME;
use rtrb::{Consumer, Producer};

/// The narrowband rate of `read` / `write`.
const NARROW: u32 = 8000;

/// A converter between the mix rate and a call's rate, remade when the
/// call's rate changes.
struct Conv {
    rate: u32,
    r: BandLimited,
}

fn conv(slot: &mut Option<Conv>, from: u32, to: u32, rate: u32) -> &mut BandLimited {
    if slot.as_ref().is_none_or(|c| c.rate != rate) {
        *slot = None;
    }
    &mut slot
        .get_or_insert_with(|| Conv {
            rate,
            r: BandLimited::new(from, to),
        })
        .r
}

/// A call's microphone fed by the pump at `mix_rate`.
pub(super) struct RingSource {
    rx: Consumer<i16>,
    mix_rate: u32,
    /// Beyond this many queued samples the oldest are dropped (bounds
    /// latency when the call fell behind the device).
    max_queue: usize,
    down: Option<Conv>,
    /// Converted samples not yet handed out.
    pending: Vec<f32>,
}

impl RingSource {
    pub(super) fn new(rx: Consumer<i16>, mix_rate: u32, max_queue: usize) -> RingSource {
        RingSource {
            rx,
            mix_rate,
            max_queue,
            down: None,
            pending: Vec::new(),
        }
    }
}

impl Source for RingSource {
    fn read(&mut self, frame: &mut [i16; FRAME]) {
        self.read_at(NARROW, frame);
    }

    fn read_at(&mut self, rate: u32, frame: &mut [i16]) -> bool {
        while self.rx.slots() > self.max_queue {
            let _ = self.rx.pop();
        }
        if rate == self.mix_rate {
            self.down = None;
            self.pending.clear();
            for s in frame.iter_mut() {
                *s = self.rx.pop().unwrap_or(0);
            }
            return true;
        }
        let down = conv(&mut self.down, self.mix_rate, rate, rate);
        while self.pending.len() < frame.len() {
            let x = self.rx.pop().map_or(0.0, f32::from);
            down.process(&[x], &mut self.pending);
        }
        for (s, &v) in frame.iter_mut().zip(&self.pending) {
            *s = v.round().clamp(-32768.0, 32767.0) as i16;
        }
        self.pending.drain(..frame.len());
        true
    }
}

/// A call's speaker drained by the pump at `mix_rate`.
pub(super) struct RingSink {
    tx: Producer<i16>,
    mix_rate: u32,
    up: Option<Conv>,
    buf: Vec<f32>,
}

impl RingSink {
    pub(super) fn new(tx: Producer<i16>, mix_rate: u32) -> RingSink {
        RingSink {
            tx,
            mix_rate,
            up: None,
            buf: Vec::new(),
        }
    }
}

impl Sink for RingSink {
    fn write(&mut self, frame: &[i16; FRAME]) {
        self.write_at(NARROW, frame);
    }

    fn write_at(&mut self, rate: u32, frame: &[i16]) -> bool {
        if rate == self.mix_rate {
            self.up = None;
            for &s in frame {
                if self.tx.push(s).is_err() {
                    break;
                }
            }
            return true;
        }
        let up = conv(&mut self.up, rate, self.mix_rate, rate);
        self.buf.clear();
        let input: Vec<f32> = frame.iter().map(|&s| f32::from(s)).collect();
        up.process(&input, &mut self.buf);
        for &v in &self.buf {
            if self
                .tx
                .push(v.round().clamp(-32768.0, 32767.0) as i16)
                .is_err()
            {
                break;
            }
        }
        true
    }
}
