//! [`CallAudio`]: a call's microphone and speaker at the call's sample rate.
//!
//! The audio path of a session (jitter buffer, concealment, tones,
//! recording) runs at the negotiated codec's sample rate
//! ([`crate::rtp_types::Codec::sample_rate`]); a backend either takes
//! frames at that rate itself ([`Source::read_at`], [`Sink::write_at`]:
//! the file and sound-card backends) or speaks 8 kHz frames, which are converted here
//! (one [`RateAdapter`] each way, made when first needed and remade when
//! the rate changes). It owns the backend's source and sink and nothing
//! else; it must not know codecs or RTP.

use crate::media::audio::{Sink, Source};
use crate::media::conference::rate::RateAdapter;
use crate::media::jitter::FRAME;

/// The backend rate every source and sink speaks.
const BACKEND_RATE: u32 = 8000;

/// A call's source and sink with conversion to the call's rate.
pub struct CallAudio {
    source: Box<dyn Source>,
    sink: Box<dyn Sink>,
    mic: Option<RateAdapter>,
    speaker: Option<RateAdapter>,
}

impl CallAudio {
    pub fn new(source: Box<dyn Source>, sink: Box<dyn Sink>) -> CallAudio {
        CallAudio {
            source,
            sink,
            mic: None,
            speaker: None,
        }
    }

    /// Fills `frame` (20 ms at `rate` Hz) from the microphone.
    pub fn read(&mut self, rate: u32, frame: &mut [i16]) {
        if rate == BACKEND_RATE && frame.len() == FRAME {
            self.mic = None;
            let mut f = [0i16; FRAME];
            self.source.read(&mut f);
            frame.copy_from_slice(&f);
            return;
        }
        if self.source.read_at(rate, frame) {
            return;
        }
        let mut f = [0i16; FRAME];
        self.source.read(&mut f);
        adapter(&mut self.mic, rate).from_mix(&f, frame);
    }

    /// Plays `frame` (20 ms at `rate` Hz) on the speaker.
    pub fn write(&mut self, rate: u32, frame: &[i16]) {
        if rate == BACKEND_RATE && frame.len() == FRAME {
            self.speaker = None;
            let mut f = [0i16; FRAME];
            f.copy_from_slice(frame);
            self.sink.write(&f);
            return;
        }
        if self.sink.write_at(rate, frame) {
            return;
        }
        let mut f = [0i16; FRAME];
        adapter(&mut self.speaker, rate).to_mix(frame, &mut f);
        self.sink.write(&f);
    }

    /// The call's rate is settled (see `answer_rate.rs`): a recording
    /// sink converts to it.
    pub fn convert_to(&mut self, rate: u32) {
        self.sink.convert_to(rate);
    }

    /// The call's media stopped (finalises a file sink).
    pub fn finish(&mut self) {
        self.sink.finish();
    }
}

/// The converter for `rate`, made anew when the rate changed.
fn adapter(slot: &mut Option<RateAdapter>, rate: u32) -> &mut RateAdapter {
    if slot.as_ref().is_none_or(|a| a.rate() != rate) {
        *slot = None;
    }
    slot.get_or_insert_with(|| RateAdapter::new(rate))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::tone::{goertzel_power, sine, Keep, ToneSource};
    use std::sync::{Arc, Mutex};

    #[test]
    fn an_8_khz_backend_serves_a_16_khz_call() {
        let kept = Arc::new(Mutex::new(Vec::new()));
        let mut audio = CallAudio::new(
            Box::new(ToneSource(sine(700.0, 1.0, 8000), 0)),
            Box::new(Keep(Arc::clone(&kept))),
        );
        let speaker = sine(1200.0, 1.0, 16_000);
        let mut mic = Vec::new();
        for n in 0..50 {
            let mut frame = [0i16; 320];
            audio.read(16_000, &mut frame);
            mic.extend_from_slice(&frame);
            audio.write(16_000, &speaker[n * 320..(n + 1) * 320]);
        }
        assert_eq!(mic.len(), 50 * 320);
        assert!(goertzel_power(&mic[320 * 5..], 16_000, 700.0) > 0.05);
        let kept = kept.lock().unwrap();
        assert_eq!(kept.len(), 50 * FRAME);
        assert!(goertzel_power(&kept[FRAME * 5..], 8000, 1200.0) > 0.05);
    }
}
