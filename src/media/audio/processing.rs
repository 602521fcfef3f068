//! Voice processing on the microphone path (docs/control.md `[audio]
//! echo_cancel`, `noise_suppression`, `auto_gain`): WebRTC's audio
//! processing module (echo cancellation, noise suppression, automatic gain)
//! wrapped around a call's [`Source`]/[`Sink`] pair at the backend boundary.
//! What the sink is given to play is the far-end reference, exactly as
//! played; what the source reads comes out processed. The module runs on
//! 10 ms frames at 48 kHz: frames at 8 and 16 kHz are converted on the way
//! in (microphone and reference alike) and the microphone's back on the
//! way out, by the band-limited converter (`resample::BandLimited`): a
//! wideband call keeps its band to 7 kHz and the processor sees no images
//! of it above.
//!
//! Owns the per-call processor, its framing and the `auto` decision
//! ([`resolve`], pure). Must not touch the backends' internals: it only
//! wraps what [`AudioBackend::open_call`] returns.

use super::resample::BandLimited;
use super::{AudioBackend, Sink, Source};
use crate::config::{Switch, VoiceProcessing};
use crate::media::jitter::FRAME;
use crate::media::{BackendKind, Result};
use std::collections::VecDeque;
use std::sync::Arc;
use webrtc_audio_processing as apm;

/// The processor's own rate and frame (10 ms at 48 kHz).
const APM_RATE: u32 = 48_000;
const APM_FRAME: usize = apm::NUM_SAMPLES_PER_FRAME as usize;
/// The backend's plain rate ([`Source::read`], [`Sink::write`]).
const BACKEND_RATE: u32 = 8000;

/// Which stages run, after `auto` is decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Settings {
    pub echo_cancel: bool,
    pub noise_suppression: bool,
    pub auto_gain: bool,
}

impl Settings {
    /// True when at least one stage runs (else the backend is not wrapped).
    pub fn any(&self) -> bool {
        self.echo_cancel || self.noise_suppression || self.auto_gain
    }
}

/// Decides each stage: `on` and `off` as written; `auto` is on for a
/// sound card (the cpal backend) whose output does not look like a headset
/// ([`looks_like_headset`]), off for the null and file backends (no room
/// there, and their recordings stay bit-exact).
pub fn resolve(config: &VoiceProcessing, backend: BackendKind, output: Option<&str>) -> Settings {
    let speakers = backend == BackendKind::Cpal && !output.is_some_and(looks_like_headset);
    let pick = |s: Switch| match s {
        Switch::On => true,
        Switch::Off => false,
        Switch::Auto => speakers,
    };
    Settings {
        echo_cancel: pick(config.echo_cancel),
        noise_suppression: pick(config.noise_suppression),
        auto_gain: pick(config.auto_gain),
    }
}

/// True when an output device's name says it sits on the user's head or
/// in the ear (no loudspeaker echo to cancel).
pub fn looks_like_headset(name: &str) -> bool {
    let name = name.to_lowercase();
    [
        "headset",
        "headphone",
        "earphone",
        "earpiece",
        "earbud",
        "airpods",
        "handsfree",
        "hands-free",
    ]
    .iter()
    .any(|w| name.contains(w))
}

/// A backend whose calls' microphones are processed against what their
/// speakers play.
#[derive(Debug)]
pub struct ProcessedBackend {
    inner: Arc<dyn AudioBackend>,
    settings: Settings,
}

impl ProcessedBackend {
    pub fn new(inner: Arc<dyn AudioBackend>, settings: Settings) -> ProcessedBackend {
        ProcessedBackend { inner, settings }
    }
}

impl AudioBackend for ProcessedBackend {
    fn kind(&self) -> BackendKind {
        self.inner.kind()
    }

    delegate_to_inner!();

    fn open_call(&self, call_id: &str) -> Result<(Box<dyn Source>, Box<dyn Sink>)> {
        let (source, sink) = self.inner.open_call(call_id)?;
        Ok(wrap(source, sink, self.settings, call_id))
    }
}

/// Wraps one call's pair: the sink feeds the processor's far-end
/// reference, the source's frames are processed. Should the processor not
/// start, the pair is returned as it is (with a warning): the call goes on
/// unprocessed.
pub fn wrap(
    source: Box<dyn Source>,
    sink: Box<dyn Sink>,
    settings: Settings,
    call_id: &str,
) -> (Box<dyn Source>, Box<dyn Sink>) {
    if !settings.any() {
        return (source, sink);
    }
    match processor(settings) {
        Ok(p) => (
            Box::new(ProcessedSource {
                inner: source,
                processor: p.clone(),
                lane: None,
            }),
            Box::new(ReferenceSink {
                inner: sink,
                processor: p,
                lane: None,
            }),
        ),
        Err(e) => {
            tracing::warn!(
                "call {call_id}: no voice processing ({e}); the microphone goes out as captured"
            );
            (source, sink)
        }
    }
}

fn processor(settings: Settings) -> std::result::Result<apm::Processor, apm::Error> {
    let mut p = apm::Processor::new(&apm::InitializationConfig {
        num_capture_channels: 1,
        num_render_channels: 1,
        ..apm::InitializationConfig::default()
    })?;
    p.set_config(config(settings));
    Ok(p)
}

/// The module's configuration for `settings`. The echo path's delay is
/// not known (sound card buffers, a room): the canceller finds it itself
/// (delay-agnostic, extended filter).
///
/// The suppressor runs at the library's lowest level: it keeps more of
/// the near end while both talk (tests/echo_cancel.rs, double talk) and
/// takes as much echo out while only the far end talks. The binding's
/// level is cast as a number onto the library's three levels (low,
/// moderate, high), so its `Lowest` is the library's low, its `Lower` the
/// library's moderate, its `Low` the library's high, and its `Moderate`
/// and `High` name no level at all (the library keeps its default,
/// moderate).
fn config(settings: Settings) -> apm::Config {
    apm::Config {
        echo_cancellation: settings.echo_cancel.then_some(apm::EchoCancellation {
            suppression_level: apm::EchoCancellationSuppressionLevel::Lowest,
            enable_extended_filter: true,
            enable_delay_agnostic: true,
            stream_delay_ms: None,
        }),
        noise_suppression: settings.noise_suppression.then_some(apm::NoiseSuppression {
            suppression_level: apm::NoiseSuppressionLevel::Low,
        }),
        gain_control: settings.auto_gain.then_some(apm::GainControl {
            mode: apm::GainControlMode::AdaptiveDigital,
            target_level_dbfs: 3,
            compression_gain_db: 9,
            enable_limiter: true,
        }),
        enable_high_pass_filter: true,
        ..apm::Config::default()
    }
}

/// One direction's framing at one call rate: frames in at `rate`, 10 ms
/// frames at 48 kHz to the processor and (capture) back to `rate`.
struct Lane {
    rate: u32,
    up: BandLimited,
    down: BandLimited,
    /// 48 kHz samples waiting for a whole processor frame.
    pending: Vec<f32>,
    /// Processed samples at `rate`, waiting to be read.
    out: VecDeque<f32>,
    scratch: Vec<f32>,
}

impl Lane {
    fn new(rate: u32) -> Lane {
        // Converted frames arrive in whole 10 ms processor frames, so the
        // output runs up to 10 ms (and a sample of rounding) behind; a
        // 48 kHz call's 20 ms frames are two processor frames exactly.
        // The converters' own delay (a few ms) shifts the samples, not
        // their count, and the far-end reference goes through the same
        // conversion up as the microphone, so the two stay aligned.
        let lead = if rate == APM_RATE {
            0
        } else {
            rate as usize / 100 + 2
        };
        Lane {
            rate,
            up: BandLimited::new(rate, APM_RATE),
            down: BandLimited::new(APM_RATE, rate),
            pending: Vec::with_capacity(3 * APM_FRAME),
            out: std::iter::repeat_n(0.0, lead).collect(),
            scratch: Vec::with_capacity(2 * APM_FRAME),
        }
    }

    /// `frame` converted to 48 kHz; `each` runs on every whole processor
    /// frame, which it may change in place; returns how many it ran on
    /// (their samples are at the end of `pending`).
    fn feed(&mut self, frame: &[i16], mut each: impl FnMut(&mut [f32])) -> usize {
        self.scratch.clear();
        let input: Vec<f32> = frame.iter().map(|&s| f32::from(s) / 32768.0).collect();
        self.up.process(&input, &mut self.scratch);
        self.pending.extend_from_slice(&self.scratch);
        let whole = self.pending.len() / APM_FRAME;
        for chunk in self.pending[..whole * APM_FRAME].chunks_exact_mut(APM_FRAME) {
            each(chunk);
        }
        whole
    }
}

/// The lane for `rate`, new when the call's rate changed.
fn lane_for(lane: &mut Option<Lane>, rate: u32) -> &mut Lane {
    if lane.as_ref().is_none_or(|l| l.rate != rate) {
        *lane = Some(Lane::new(rate));
    }
    lane.get_or_insert_with(|| Lane::new(rate))
}

fn to_i16(x: f32) -> i16 {
    (x * 32768.0).round().clamp(-32768.0, 32767.0) as i16
}

/// The microphone, processed.
struct ProcessedSource {
    inner: Box<dyn Source>,
    processor: apm::Processor,
    lane: Option<Lane>,
}

impl ProcessedSource {
    fn process(&mut self, rate: u32, frame: &mut [i16]) {
        let processor = &mut self.processor;
        let lane = lane_for(&mut self.lane, rate);
        let whole = lane.feed(frame, |chunk| {
            if let Err(e) = processor.process_capture_frame(chunk) {
                tracing::debug!("voice processing: capture frame: {e}");
            }
        });
        let done: Vec<f32> = lane.pending.drain(..whole * APM_FRAME).collect();
        let mut back = Vec::with_capacity(frame.len() + 2);
        lane.down.process(&done, &mut back);
        lane.out.extend(back);
        // Never more than a frame and the lead behind (rounding drift).
        let keep = frame.len() + rate as usize / 100 + 2;
        while lane.out.len() > keep + frame.len() {
            lane.out.pop_front();
        }
        let short = frame.len().saturating_sub(lane.out.len());
        for (i, s) in frame.iter_mut().enumerate() {
            *s = if i < short {
                0
            } else {
                lane.out.pop_front().map_or(0, to_i16)
            };
        }
    }
}

impl Source for ProcessedSource {
    fn read(&mut self, frame: &mut [i16; FRAME]) {
        self.inner.read(frame);
        self.process(BACKEND_RATE, frame);
    }

    fn read_at(&mut self, rate: u32, frame: &mut [i16]) -> bool {
        if !self.inner.read_at(rate, frame) {
            return false;
        }
        self.process(rate, frame);
        true
    }
}

/// The speaker: every frame played is the echo canceller's reference.
struct ReferenceSink {
    inner: Box<dyn Sink>,
    processor: apm::Processor,
    lane: Option<Lane>,
}

impl ReferenceSink {
    fn reference(&mut self, rate: u32, frame: &[i16]) {
        let processor = &mut self.processor;
        let lane = lane_for(&mut self.lane, rate);
        let whole = lane.feed(frame, |chunk| {
            if let Err(e) = processor.process_render_frame(chunk) {
                tracing::debug!("voice processing: render frame: {e}");
            }
        });
        lane.pending.drain(..whole * APM_FRAME);
    }
}

impl Sink for ReferenceSink {
    fn write(&mut self, frame: &[i16; FRAME]) {
        self.reference(BACKEND_RATE, frame);
        self.inner.write(frame);
    }

    fn write_at(&mut self, rate: u32, frame: &[i16]) -> bool {
        if !self.inner.write_at(rate, frame) {
            return false;
        }
        self.reference(rate, frame);
        true
    }

    fn finish(&mut self) {
        self.inner.finish();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(s: Switch) -> VoiceProcessing {
        VoiceProcessing {
            echo_cancel: s,
            noise_suppression: s,
            auto_gain: s,
        }
    }

    #[test]
    fn auto_is_on_for_speakers_only() {
        let on = Settings {
            echo_cancel: true,
            noise_suppression: true,
            auto_gain: true,
        };
        let off = Settings::default();
        let cases: &[(Switch, BackendKind, Option<&str>, Settings)] = &[
            (Switch::Auto, BackendKind::Cpal, None, on),
            (
                Switch::Auto,
                BackendKind::Cpal,
                Some("Built-in Speakers"),
                on,
            ),
            (
                Switch::Auto,
                BackendKind::Cpal,
                Some("Jabra Evolve2 Headset"),
                off,
            ),
            (Switch::Auto, BackendKind::Cpal, Some("USB HEADPHONES"), off),
            (Switch::Auto, BackendKind::File, None, off),
            (Switch::Auto, BackendKind::Null, None, off),
            (Switch::On, BackendKind::File, None, on),
            (Switch::On, BackendKind::Cpal, Some("headset"), on),
            (Switch::Off, BackendKind::Cpal, Some("speakers"), off),
        ];
        for (switch, backend, output, want) in cases {
            assert_eq!(
                resolve(&all(*switch), *backend, *output),
                *want,
                "{switch:?} {backend:?} {output:?}"
            );
        }
    }

    #[test]
    fn each_stage_is_switched_on_its_own() {
        let config = VoiceProcessing {
            echo_cancel: Switch::Auto,
            noise_suppression: Switch::Off,
            auto_gain: Switch::On,
        };
        let s = resolve(&config, BackendKind::Cpal, Some("Speakers"));
        assert!(s.echo_cancel && !s.noise_suppression && s.auto_gain);
        let s = resolve(&config, BackendKind::Null, None);
        assert!(!s.echo_cancel && !s.noise_suppression && s.auto_gain);
        assert!(!resolve(&all(Switch::Off), BackendKind::Cpal, None).any());
    }

    #[test]
    fn headset_names() {
        for (name, want) in [
            ("Plantronics Blackwire Headset", true),
            ("AirPods Pro", true),
            ("Bluetooth Hands-Free AG Audio", true),
            ("HDA Intel PCH: ALC257 Analog", false),
            ("default", false),
            ("Speakers (Realtek)", false),
        ] {
            assert_eq!(looks_like_headset(name), want, "{name}");
        }
    }

    struct Silence;
    impl Source for Silence {
        fn read(&mut self, frame: &mut [i16; FRAME]) {
            frame.fill(0);
        }
        fn read_at(&mut self, _rate: u32, frame: &mut [i16]) -> bool {
            frame.fill(0);
            true
        }
    }
    struct Discard(usize);
    impl Sink for Discard {
        fn write(&mut self, _frame: &[i16; FRAME]) {
            self.0 += 1;
        }
        fn write_at(&mut self, _rate: u32, _frame: &[i16]) -> bool {
            self.0 += 1;
            true
        }
    }

    #[test]
    fn frames_keep_their_length_at_every_rate() {
        let on = Settings {
            echo_cancel: true,
            noise_suppression: true,
            auto_gain: true,
        };
        let (mut source, mut sink) = wrap(Box::new(Silence), Box::new(Discard(0)), on, "t");
        for rate in [8000u32, 16_000, 48_000, 16_000] {
            let n = rate as usize / 50;
            for _ in 0..20 {
                let tone: Vec<i16> = (0..n).map(|i| ((i % 40) as i16 - 20) * 500).collect();
                assert!(sink.write_at(rate, &tone));
                let mut frame = vec![1i16; n];
                assert!(source.read_at(rate, &mut frame));
                assert_eq!(frame.len(), n);
            }
        }
        let mut f = [0i16; FRAME];
        source.read(&mut f);
        sink.write(&f);
    }

    /// The lane's conversions to the processor's 48 kHz and back: a
    /// 6.5 kHz tone of a 16 kHz call reaches the processor with no image
    /// (at 16 - 6.5 = 9.5 kHz) above -40 dB, and comes back within 1 dB.
    #[test]
    fn a_wideband_tone_crosses_the_processors_rate_cleanly() {
        use crate::media::tone::{goertzel_power, sine};
        let call = sine(6500.0, 1.0, 16_000);
        let mut lane = Lane::new(16_000);
        let (mut at_48k, mut back) = (Vec::new(), Vec::new());
        for frame in call.chunks(320) {
            let whole = lane.feed(frame, |_| {});
            let done: Vec<f32> = lane.pending.drain(..whole * APM_FRAME).collect();
            at_48k.extend_from_slice(&done);
            lane.down.process(&done, &mut back);
        }
        let pcm = |x: &[f32]| -> Vec<i16> { x.iter().map(|&s| to_i16(s)).collect() };
        let (at_48k, back) = (pcm(&at_48k), pcm(&back));
        let db = |p: f64, q: f64| 10.0 * (p / q).log10();
        // Past the filters' start.
        let steady = &at_48k[4800..];
        let tone = goertzel_power(steady, APM_RATE, 6500.0);
        let image = goertzel_power(steady, APM_RATE, 9500.0);
        let image = db(image, tone);
        // Half full scale: 0.125.
        let level = db(goertzel_power(&back[1600..], 16_000, 6500.0), 0.125);
        let figures = format!("image at {image:.1} dB, back at {level:.2} dB");
        assert!(image < -40.0 && level.abs() < 1.0, "{figures}");
    }

    #[test]
    fn nothing_on_leaves_the_pair_alone() {
        let (mut source, _sink) = wrap(
            Box::new(Silence),
            Box::new(Discard(0)),
            Settings::default(),
            "t",
        );
        let mut f = [7i16; FRAME];
        source.read(&mut f);
        assert_eq!(f, [0; FRAME]);
    }
}
