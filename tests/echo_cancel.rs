//! Echo cancellation on the microphone path (docs/control.md `[audio]
//! echo_cancel`): the far end's speech is played, the microphone hears it
//! back 60 ms later and 10 dB quieter (a room) plus the near end's own
//! speech. What goes out must have the echo at least 20 dB down (echo
//! return loss enhancement) while the near end's speech keeps a PESQ of at
//! least 3.5. Here at the wrapper (`media::audio::processing`), frame by
//! frame as a call's media task drives it.

mod support;

use support::speech::{energy_db, pesq, say};
use termphone::media::audio::processing::{wrap, Settings};
use termphone::media::audio::{Sink, Source};
use termphone::media::jitter::FRAME;

const ROOM_DELAY_MS: usize = 60;
const ROOM_GAIN: f64 = 0.316; // -10 dB

/// A microphone that plays a prepared signal at the call's rate.
struct Mic {
    samples: Vec<i16>,
    at: usize,
}

impl Source for Mic {
    fn read(&mut self, frame: &mut [i16; FRAME]) {
        self.read_at(8000, frame);
    }
    fn read_at(&mut self, _rate: u32, frame: &mut [i16]) -> bool {
        for s in frame.iter_mut() {
            *s = self.samples.get(self.at).copied().unwrap_or(0);
            self.at += 1;
        }
        true
    }
}

/// A speaker that takes every rate.
struct Speaker;

impl Sink for Speaker {
    fn write(&mut self, _frame: &[i16; FRAME]) {}
    fn write_at(&mut self, _rate: u32, _frame: &[i16]) -> bool {
        true
    }
}

struct Scene {
    rate: u32,
    /// The far end's speech as played.
    far: Vec<i16>,
    /// Its echo as the microphone hears it.
    echo: Vec<i16>,
    /// The near end's speech alone.
    near: Vec<i16>,
    /// Where the far end talks alone (samples), and where the near end talks.
    far_span: (usize, usize),
    near_span: (usize, usize),
}

/// Far end talks for its sentences, then a pause, then the near end talks.
fn scene(dir: &std::path::Path, rate: u32) -> Scene {
    let f = dir.join(format!("far-{rate}.wav"));
    let n = dir.join(format!("near-{rate}.wav"));
    say(
        &f,
        "The quick brown fox jumps over the lazy dog. Please call me back tomorrow morning \
         about the quarterly report, and bring the numbers from the last meeting.",
        "en-us",
        rate,
    );
    say(
        &n,
        "Hello, this is the near end speaking. I can hear you well, the line is clear.",
        "en+f3",
        rate,
    );
    let (far_speech, _) = support::speech::read_wav(&f);
    let (near_speech, _) = support::speech::read_wav(&n);
    let sec = rate as usize;
    let near_at = far_speech.len() + sec;
    let total = near_at + near_speech.len() + sec / 2;
    let mut far = vec![0i16; total];
    far[..far_speech.len()].copy_from_slice(&far_speech);
    let delay = rate as usize * ROOM_DELAY_MS / 1000;
    let mut echo = vec![0i16; total];
    for i in delay..total {
        echo[i] = (f64::from(far[i - delay]) * ROOM_GAIN).round() as i16;
    }
    let mut near = vec![0i16; total];
    near[near_at..near_at + near_speech.len()].copy_from_slice(&near_speech);
    Scene {
        rate,
        far,
        echo,
        near,
        far_span: (0, far_speech.len() + delay),
        near_span: (near_at, near_at + near_speech.len()),
    }
}

/// Runs the scene through the wrapper; what the far end would hear.
fn through_canceller(s: &Scene, settings: Settings) -> Vec<i16> {
    let mic: Vec<i16> = s
        .near
        .iter()
        .zip(&s.echo)
        .map(|(&a, &b)| a.saturating_add(b))
        .collect();
    let (mut source, mut sink) = wrap(
        Box::new(Mic {
            samples: mic,
            at: 0,
        }),
        Box::new(Speaker),
        settings,
        "echo-test",
    );
    let n = s.rate as usize / 50;
    let mut out = Vec::with_capacity(s.far.len());
    for played in s.far.chunks(n) {
        let mut frame = played.to_vec();
        frame.resize(n, 0);
        assert!(sink.write_at(s.rate, &frame));
        let mut heard = vec![0i16; n];
        assert!(source.read_at(s.rate, &mut heard));
        out.extend_from_slice(&heard);
    }
    out
}

/// Echo return loss enhancement over the far end's talk after the first
/// two seconds (the canceller's convergence): the echo's energy against
/// what is left of it. The residue window reaches 100 ms further, so the
/// wrapper's own latency cannot hide residue.
fn erle_db(s: &Scene, out: &[i16]) -> f64 {
    let from = 2 * s.rate as usize;
    let to = s.far_span.1;
    let slack = s.rate as usize / 10;
    energy_db(&s.echo[from..to]) - energy_db(&out[from..(to + slack).min(out.len())])
}

fn near_pesq(dir: &std::path::Path, s: &Scene, out: &[i16]) -> f64 {
    let pad = s.rate as usize / 4;
    let (a, b) = (s.near_span.0 - pad, (s.near_span.1 + pad).min(out.len()));
    pesq(dir, s.rate, &s.near[a..b], &out[a..b])
}

fn all_on() -> Settings {
    Settings {
        echo_cancel: true,
        noise_suppression: true,
        auto_gain: true,
    }
}

#[test]
fn wrapper_cancels_room_echo_and_keeps_near_speech() {
    let dir = tempfile::tempdir().unwrap();
    for rate in [8000u32, 16_000, 48_000] {
        let s = scene(dir.path(), rate);
        let out = through_canceller(&s, all_on());
        let erle = erle_db(&s, &out);
        // PESQ takes 8 and 16 kHz; a 48 kHz call is scored at 16 kHz.
        let score = if rate == 48_000 {
            let down = |x: &[i16]| x.iter().step_by(3).copied().collect::<Vec<_>>();
            let s16 = Scene {
                rate: 16_000,
                far: down(&s.far),
                echo: down(&s.echo),
                near: down(&s.near),
                far_span: (s.far_span.0 / 3, s.far_span.1 / 3),
                near_span: (s.near_span.0 / 3, s.near_span.1 / 3),
            };
            near_pesq(dir.path(), &s16, &down(&out))
        } else {
            near_pesq(dir.path(), &s, &out)
        };
        eprintln!("{rate} Hz: ERLE {erle:.1} dB, near-end PESQ {score:.2}");
        assert!(erle >= 20.0, "{rate} Hz: ERLE {erle:.1} dB < 20 dB");
        assert!(score >= 3.5, "{rate} Hz: near-end PESQ {score:.2} < 3.5");
    }
}

#[test]
fn without_the_canceller_the_echo_goes_out() {
    // The measurement itself: the echo passes untouched with processing off.
    let dir = tempfile::tempdir().unwrap();
    let s = scene(dir.path(), 16_000);
    let out = through_canceller(&s, Settings::default());
    let erle = erle_db(&s, &out);
    assert!(erle.abs() < 1.0, "ERLE {erle:.1} dB without processing");
}
