//! [`LocalAudio`]: our own microphone and speaker for a conference, at the
//! mix rate ([`MIX_RATE`]). A backend that takes frames at that rate itself
//! ([`Source::read_at`], [`Sink::write_at`]: the file backend, whose
//! `<conference>.wav` then records the wideband mix) gets them directly;
//! one that speaks only 8 kHz frames is converted here, one
//! [`RateAdapter`] each way. It owns the backend's source and sink of the
//! conference and nothing else; it must not touch the mix.

use super::mixer::{MIX_FRAME, MIX_RATE};
use super::rate::RateAdapter;
use crate::media::audio::{Sink, Source};
use crate::media::jitter::FRAME;

/// Our side's source and sink at the mix rate.
pub(super) struct LocalAudio {
    source: Box<dyn Source>,
    sink: Box<dyn Sink>,
    mic: Option<RateAdapter>,
    speaker: Option<RateAdapter>,
}

impl LocalAudio {
    pub(super) fn new(source: Box<dyn Source>, sink: Box<dyn Sink>) -> LocalAudio {
        LocalAudio {
            source,
            sink,
            mic: None,
            speaker: None,
        }
    }

    /// Fills `frame` with the microphone's next 20 ms at the mix rate.
    pub(super) fn read(&mut self, frame: &mut [i16; MIX_FRAME]) {
        if self.source.read_at(MIX_RATE, frame) {
            return;
        }
        let mut f = [0i16; FRAME];
        self.source.read(&mut f);
        self.mic
            .get_or_insert_with(|| RateAdapter::new(MIX_RATE))
            .from_mix(&f, frame);
    }

    /// Plays 20 ms of the mix on the speaker.
    pub(super) fn write(&mut self, frame: &[i16; MIX_FRAME]) {
        if self.sink.write_at(MIX_RATE, frame) {
            return;
        }
        let mut f = [0i16; FRAME];
        self.speaker
            .get_or_insert_with(|| RateAdapter::new(MIX_RATE))
            .to_mix(frame, &mut f);
        self.sink.write(&f);
    }

    /// Our part ended (finalises a file sink).
    pub(super) fn finish(&mut self) {
        self.sink.finish();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::tone::{goertzel_power, sine, Keep, ToneSource as Narrow};
    use std::sync::{Arc, Mutex};
    /// A source and sink at any rate.
    struct Wide(Vec<i16>, usize, Arc<Mutex<Vec<(u32, usize)>>>);
    impl Source for Wide {
        fn read(&mut self, _frame: &mut [i16; FRAME]) {
            panic!("read at 8 kHz");
        }
        fn read_at(&mut self, rate: u32, frame: &mut [i16]) -> bool {
            frame.copy_from_slice(&self.0[self.1..self.1 + frame.len()]);
            self.1 += frame.len();
            self.2.lock().unwrap().push((rate, frame.len()));
            true
        }
    }
    impl Sink for Wide {
        fn write(&mut self, _frame: &[i16; FRAME]) {
            panic!("write at 8 kHz");
        }
        fn write_at(&mut self, rate: u32, frame: &[i16]) -> bool {
            self.2.lock().unwrap().push((rate, frame.len()));
            true
        }
    }

    #[test]
    fn an_8_khz_backend_is_converted_and_a_wideband_one_gets_the_mix_rate() {
        let kept = Arc::new(Mutex::new(Vec::new()));
        let mut audio = LocalAudio::new(
            Box::new(Narrow(sine(700.0, 1.0, 8000), 0)),
            Box::new(Keep(Arc::clone(&kept))),
        );
        let speaker = sine(1200.0, 1.0, MIX_RATE);
        let mut mic = Vec::new();
        for n in 0..50 {
            let mut frame = [0i16; MIX_FRAME];
            audio.read(&mut frame);
            mic.extend_from_slice(&frame);
            let mut out = [0i16; MIX_FRAME];
            out.copy_from_slice(&speaker[n * MIX_FRAME..(n + 1) * MIX_FRAME]);
            audio.write(&out);
        }
        assert!(goertzel_power(&mic[MIX_FRAME * 5..], MIX_RATE, 700.0) > 0.05);
        let kept = kept.lock().unwrap();
        assert_eq!(kept.len(), 50 * FRAME);
        assert!(goertzel_power(&kept[FRAME * 5..], 8000, 1200.0) > 0.05);

        let calls = Arc::new(Mutex::new(Vec::new()));
        let mut audio = LocalAudio::new(
            Box::new(Wide(vec![3; MIX_FRAME], 0, Arc::clone(&calls))),
            Box::new(Wide(Vec::new(), 0, Arc::clone(&calls))),
        );
        let mut frame = [0i16; MIX_FRAME];
        audio.read(&mut frame);
        assert!(frame.iter().all(|&s| s == 3));
        audio.write(&frame);
        audio.finish();
        assert_eq!(
            *calls.lock().unwrap(),
            vec![(MIX_RATE, MIX_FRAME), (MIX_RATE, MIX_FRAME)]
        );
    }
}
