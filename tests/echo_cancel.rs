//! Echo cancellation on the microphone path (docs/control.md `[audio]
//! echo_cancel`): the far end's speech is played, the microphone hears it
//! back 60 ms later and 10 dB quieter (a room) plus the near end's own
//! speech. What goes out must have the echo at least 20 dB down (echo
//! return loss enhancement) while the near end's speech keeps a PESQ of at
//! least 3.5; while both talk at once (double talk) the near end must come
//! through better than with the echo left in. At the wrapper
//! (`media::audio::processing`), frame by frame as a call's media task
//! drives it (8, 16 and 48 kHz); and end to end in
//! a PCMU call with baresip as the far end playing speech, termphone on the file backend in
//! a simulated room (`room_echo_ms`, `room_echo_db`: its microphone hears
//! its own playout), scored on what baresip received.

mod support;

use serde_json::json;
use std::time::Duration;
use support::config::Audio;
use support::phone::{call_id_of, wait_wav};
use support::setup::{baresip, direct_phone, PeerOpts, PhoneOpts};
use support::speech::{energy_db, pesq, read_wav, say, write_wav};
use support::TestDir;
use termphone::media::audio::processing::{wrap, Settings};
use termphone::media::audio::{Sink, Source};
use termphone::media::jitter::FRAME;

const ROOM_DELAY_MS: usize = 60;
const FAR_TEXT: &str = "The quick brown fox jumps over the lazy dog. Please call me back tomorrow \
    morning about the quarterly report, and bring the numbers from the last meeting.";
const NEAR_TEXT: &str =
    "Hello, this is the near end speaking. I can hear you well, the line is clear.";
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

/// When the near end talks.
#[derive(Clone, Copy)]
enum Talk {
    /// After the far end's sentences and a second's pause.
    After,
    /// Three seconds into the far end's sentences: both talk at once
    /// (double talk) for as long as the near end's sentence lasts.
    Over,
}

/// Far end talks for its sentences, then a pause, then the near end talks.
fn scene(dir: &std::path::Path, rate: u32) -> Scene {
    scene_with(dir, rate, Talk::After)
}

fn scene_with(dir: &std::path::Path, rate: u32, talk: Talk) -> Scene {
    let f = dir.join(format!("far-{rate}.wav"));
    let n = dir.join(format!("near-{rate}.wav"));
    say(&f, FAR_TEXT, "en-us", rate);
    say(&n, NEAR_TEXT, "en+f3", rate);
    let (far_speech, _) = read_wav(&f);
    let (near_speech, _) = read_wav(&n);
    let sec = rate as usize;
    let near_at = match talk {
        Talk::After => far_speech.len() + sec,
        Talk::Over => 3 * sec,
    };
    let total = (near_at + near_speech.len()).max(far_speech.len()) + sec / 2;
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

#[test]
fn double_talk_keeps_more_of_the_near_end_than_no_canceller() {
    // Both talk at once: the near end's sentence starts three seconds into
    // the far end's, the echo under it. The canceller may not make the near
    // end worse than the echo left in does (a suppressor that clamps down
    // through double talk would); at the library's lowest suppression it
    // keeps more of it.
    let dir = tempfile::tempdir().unwrap();
    for rate in [8000u32, 16_000] {
        let s = scene_with(dir.path(), rate, Talk::Over);
        let echo_left_in = near_pesq(dir.path(), &s, &through_canceller(&s, Settings::default()));
        let cancelled = near_pesq(dir.path(), &s, &through_canceller(&s, all_on()));
        eprintln!(
            "{rate} Hz double talk: near-end PESQ {cancelled:.2} cancelled, {echo_left_in:.2} echo left in"
        );
        assert!(
            cancelled > echo_left_in,
            "{rate} Hz double talk: near-end PESQ {cancelled:.2} through the canceller, \
             {echo_left_in:.2} with the echo left in"
        );
    }
}

/// What one end-to-end call measured.
struct CallScore {
    erle_db: f64,
    near_pesq: f64,
}

/// The first and last sample louder than -40 dBFS (in 10 ms blocks).
fn loud_span(s: &[i16], rate: u32) -> Option<(usize, usize)> {
    let block = rate as usize / 100;
    let loud: Vec<usize> = s
        .chunks(block)
        .enumerate()
        .filter(|(_, c)| c.iter().any(|&x| x.unsigned_abs() > 328))
        .map(|(i, _)| i * block)
        .collect();
    Some((*loud.first()?, *loud.last()? + block))
}

/// termphone (file backend in a room, processing `switch`) calls baresip,
/// which answers and plays the far end's speech (PCMU: PESQ-NB, whose
/// margin over 3.5 survives the codec; G.722 is measured at the wrapper
/// and in the README). The near
/// end starts talking two seconds after the far end's speech has ended.
fn call_in_a_room(name: &str, switch: &str) -> CallScore {
    const RATE: u32 = 8000;
    let t = TestDir::new(name);
    let far_speech = t.path().join("far-speech.wav");
    let near_speech = t.path().join("near-speech.wav");
    say(&far_speech, FAR_TEXT, "en-us", RATE);
    say(&near_speech, NEAR_TEXT, "en+f3", RATE);
    let (far, _) = read_wav(&far_speech);
    let (near, _) = read_wav(&near_speech);
    let sec = RATE as usize;

    // The far end: its speech, then silence for the rest of the call.
    let far_wav = t.path().join("far.wav");
    let mut played = far.clone();
    played.resize(far.len() + 30 * sec, 0);
    write_wav(&far_wav, RATE, &played);
    // The near end: silent while the far end talks, then its sentence.
    let near_at = far.len() + 2 * sec;
    let mut mic = vec![0i16; near_at];
    mic.extend_from_slice(&near);
    mic.resize(mic.len() + 30 * sec, 0);
    let mic_wav = t.path().join("mic.wav");
    write_wav(&mic_wav, RATE, &mic);

    let rec = t.sub("phone-rec");
    let mut b = baresip(&t, "1002", PeerOpts::wav(&far_wav).auto_answer(true));
    let mut p = direct_phone(
        &t,
        PhoneOpts::new().codecs(&["PCMU"], RATE).audio(Audio::Room {
            input: mic_wav,
            output_dir: rec.clone(),
            room_echo_ms: ROOM_DELAY_MS as u32,
            room_echo_db: -10.0,
            echo_cancel: switch.into(),
            noise_suppression: switch.into(),
            auto_gain: switch.into(),
        }),
    );
    let id = call_id_of(&p.ok(json!({"cmd": "dial", "to": b.direct_uri()})));
    let active = p
        .wait_call_state(&id, "active", Duration::from_secs(15))
        .unwrap_or_else(|| panic!("call not active: {:?}\n{}", p.events(), b.log()));
    let sip_call_id = active["sip_call_id"].as_str().unwrap_or_default();
    let ours = rec.join(format!("{sip_call_id}.wav"));
    // Talk until the near end's sentence and a second after it have gone out.
    let until = (near_at + near.len() + sec) as f64 / f64::from(RATE);
    assert!(
        wait_wav(&ours, until, Duration::from_secs(60)),
        "{} never reached {until:.1} s",
        ours.display()
    );
    p.hang_up(&id);
    assert!(
        b.wait_event("CALL_CLOSED", Duration::from_secs(10))
            .is_some(),
        "baresip did not close the call:\n{}",
        b.log()
    );
    b.stop();

    // What termphone played is the echo's source: the room gave it back
    // 60 ms later at -10 dB.
    let (speaker, speaker_rate) = read_wav(&ours);
    assert_eq!(speaker_rate, RATE);
    let (from, to) = loud_span(&speaker[..near_at.min(speaker.len())], RATE)
        .unwrap_or_else(|| panic!("termphone played nothing of the far end"));
    let echo: Vec<i16> = speaker[from + 2 * sec..to]
        .iter()
        .map(|&x| (f64::from(x) * ROOM_GAIN).round() as i16)
        .collect();
    let got = b.received_wavs();
    assert_eq!(got.len(), 1, "{got:?}");
    let (heard, heard_rate) = read_wav(&got[0]);
    assert_eq!(heard_rate, RATE);
    // baresip's recording starts when its call does, a little after
    // termphone's media: half a second of slack each side keeps every bit
    // of residue in the window (the near end starts two seconds later).
    let slack = sec / 2;
    let window = &heard[(from + 2 * sec).saturating_sub(slack)..(to + slack).min(heard.len())];
    let erle_db = energy_db(&echo) - energy_db(window);
    let (a, z) = (
        near_at - slack,
        (near_at + near.len() + slack).min(heard.len()),
    );
    let near_pesq = pesq(t.path(), RATE, &mic[a..z], &heard[a..z]);
    eprintln!("{name}: ERLE {erle_db:.1} dB, near-end PESQ-NB {near_pesq:.2}");
    CallScore { erle_db, near_pesq }
}

#[test]
fn far_end_hears_its_echo_suppressed_in_a_call_with_baresip() {
    let on = call_in_a_room("echo-call-on", "on");
    assert!(on.erle_db >= 20.0, "ERLE {:.1} dB < 20 dB", on.erle_db);
    assert!(
        on.near_pesq >= 3.5,
        "near-end PESQ {:.2} < 3.5",
        on.near_pesq
    );
    // The same call without processing: the far end hears its echo (the
    // measurement sees it), and the near end's speech is there.
    let off = call_in_a_room("echo-call-off", "off");
    assert!(
        off.erle_db < 6.0,
        "ERLE {:.1} dB without processing",
        off.erle_db
    );
}
