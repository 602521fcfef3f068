//! The sound-card backend (cpal): one input and one output stream for the
//! whole process. The device callbacks only move samples through lock-free
//! SPSC rings (`rtrb`), never allocating or locking. A pump thread converts
//! between the device rate and 8 kHz, mixes every call's playout into the
//! output and gives every call the microphone.

use super::resample::Resampler;
use super::{AudioBackend, Sink, Source};
use crate::media::jitter::FRAME;
use crate::media::{BackendKind, MediaError, Result};
use cpal::traits::{DeviceTrait, HostTrait, StreamTrait};
use cpal::{FromSample, SampleFormat, SizedSample, StreamConfig};
use rtrb::{Consumer, Producer, RingBuffer};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Pump period.
const PUMP: Duration = Duration::from_millis(10);
/// Output kept queued for the device, in ms.
const OUTPUT_LEAD_MS: usize = 60;
/// Per-call rings at 8 kHz: 200 ms.
const CALL_RING: usize = 1600;
/// A call's queue beyond this many samples is trimmed (bounds latency).
const CALL_MAX_QUEUE: usize = 800;

/// The ports of one call, held by the pump.
struct CallPorts {
    mic: Producer<i16>,
    spk: Consumer<i16>,
}

/// The sound card, opened and running.
pub struct CpalBackend {
    calls: Arc<Mutex<Vec<CallPorts>>>,
    stop: Arc<AtomicBool>,
    _output: cpal::Stream,
    _input: Option<cpal::Stream>,
}

impl std::fmt::Debug for CpalBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CpalBackend")
            .field("input", &self._input.is_some())
            .finish()
    }
}

impl Drop for CpalBackend {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

fn audio_err(what: &str, e: impl std::fmt::Display) -> MediaError {
    MediaError::Audio(format!("{what}: {e}"))
}

impl CpalBackend {
    /// Probes the default output (required) and input (optional) devices
    /// and starts their streams; ALSA's complaints go to the log.
    pub fn open() -> Result<CpalBackend> {
        super::alsa_quiet::quietly("sound card", Self::open_devices)
    }

    fn open_devices() -> Result<CpalBackend> {
        let host = cpal::default_host();
        let out_dev = host
            .default_output_device()
            .ok_or_else(|| MediaError::Audio("no output device".into()))?;
        let out_cfg = out_dev
            .default_output_config()
            .map_err(|e| audio_err("output device", e))?;
        let out_rate = out_cfg.sample_rate();
        let lead = (out_rate as usize * OUTPUT_LEAD_MS / 1000).max(1);
        let (out_tx, out_rx) = RingBuffer::<f32>::new(lead * 4);
        let output = build_output(&out_dev, out_cfg.sample_format(), out_cfg.config(), out_rx)?;
        output.play().map_err(|e| audio_err("starting output", e))?;

        let (input, in_rx, in_rate) = match open_input(&host) {
            Ok((stream, rx, rate)) => (Some(stream), Some(rx), rate),
            Err(e) => {
                tracing::warn!("no usable microphone ({e}); calls send silence");
                (None, None, 8000)
            }
        };

        let calls = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let pump = Pump {
            calls: Arc::clone(&calls),
            stop: Arc::clone(&stop),
            out_tx,
            out_lead: lead,
            up: Resampler::new(8000, out_rate),
            in_rx,
            down: Resampler::new(in_rate, 8000),
        };
        std::thread::Builder::new()
            .name("audio-pump".into())
            .spawn(move || pump.run())
            .map_err(|e| audio_err("audio thread", e))?;
        Ok(CpalBackend {
            calls,
            stop,
            _output: output,
            _input: input,
        })
    }
}

fn open_input(host: &cpal::Host) -> Result<(cpal::Stream, Consumer<f32>, u32)> {
    let dev = host
        .default_input_device()
        .ok_or_else(|| MediaError::Audio("no input device".into()))?;
    let cfg = dev
        .default_input_config()
        .map_err(|e| audio_err("input device", e))?;
    let rate = cfg.sample_rate();
    let (tx, rx) = RingBuffer::<f32>::new(rate as usize / 2);
    let stream = build_input(&dev, cfg.sample_format(), cfg.config(), tx)?;
    stream.play().map_err(|e| audio_err("starting input", e))?;
    Ok((stream, rx, rate))
}

fn build_output(
    dev: &cpal::Device,
    format: SampleFormat,
    config: StreamConfig,
    rx: Consumer<f32>,
) -> Result<cpal::Stream> {
    match format {
        SampleFormat::F32 => output_stream::<f32>(dev, config, rx),
        SampleFormat::I16 => output_stream::<i16>(dev, config, rx),
        SampleFormat::U16 => output_stream::<u16>(dev, config, rx),
        SampleFormat::I32 => output_stream::<i32>(dev, config, rx),
        other => Err(MediaError::Audio(format!(
            "unsupported sample format {other}"
        ))),
    }
}

fn output_stream<T>(
    dev: &cpal::Device,
    config: StreamConfig,
    mut rx: Consumer<f32>,
) -> Result<cpal::Stream>
where
    T: SizedSample + FromSample<f32>,
{
    let channels = usize::from(config.channels.max(1));
    dev.build_output_stream(
        config,
        move |data: &mut [T], _: &cpal::OutputCallbackInfo| {
            for frame in data.chunks_mut(channels) {
                let v = rx.pop().unwrap_or(0.0);
                for s in frame {
                    *s = T::from_sample(v);
                }
            }
        },
        |e| tracing::warn!("audio output: {e}"),
        None,
    )
    .map_err(|e| audio_err("output stream", e))
}

fn build_input(
    dev: &cpal::Device,
    format: SampleFormat,
    config: StreamConfig,
    tx: Producer<f32>,
) -> Result<cpal::Stream> {
    match format {
        SampleFormat::F32 => input_stream::<f32>(dev, config, tx),
        SampleFormat::I16 => input_stream::<i16>(dev, config, tx),
        SampleFormat::U16 => input_stream::<u16>(dev, config, tx),
        SampleFormat::I32 => input_stream::<i32>(dev, config, tx),
        other => Err(MediaError::Audio(format!(
            "unsupported sample format {other}"
        ))),
    }
}

fn input_stream<T>(
    dev: &cpal::Device,
    config: StreamConfig,
    mut tx: Producer<f32>,
) -> Result<cpal::Stream>
where
    T: SizedSample,
    f32: FromSample<T>,
{
    let channels = usize::from(config.channels.max(1));
    dev.build_input_stream(
        config,
        move |data: &[T], _: &cpal::InputCallbackInfo| {
            for frame in data.chunks(channels) {
                let sum: f32 = frame.iter().map(|&s| s.to_sample::<f32>()).sum();
                // A full ring drops samples: the pump is behind.
                let _ = tx.push(sum / channels as f32);
            }
        },
        |e| tracing::warn!("audio input: {e}"),
        None,
    )
    .map_err(|e| audio_err("input stream", e))
}

impl AudioBackend for CpalBackend {
    fn kind(&self) -> BackendKind {
        BackendKind::Cpal
    }

    fn open_call(&self, _call_id: &str) -> Result<(Box<dyn Source>, Box<dyn Sink>)> {
        attach(&self.calls)
    }
}

/// A call's microphone fed by the pump.
struct RingSource {
    rx: Consumer<i16>,
}

impl Source for RingSource {
    fn read(&mut self, frame: &mut [i16; FRAME]) {
        // Keep latency bounded when the call fell behind the device.
        while self.rx.slots() > CALL_MAX_QUEUE {
            let _ = self.rx.pop();
        }
        for s in frame.iter_mut() {
            *s = self.rx.pop().unwrap_or(0);
        }
    }
}

/// A call's speaker drained by the pump.
struct RingSink {
    tx: Producer<i16>,
}

impl Sink for RingSink {
    fn write(&mut self, frame: &[i16; FRAME]) {
        for &s in frame {
            if self.tx.push(s).is_err() {
                break;
            }
        }
    }
}

/// Moves audio between the device rings and the calls' rings.
struct Pump {
    calls: Arc<Mutex<Vec<CallPorts>>>,
    stop: Arc<AtomicBool>,
    out_tx: Producer<f32>,
    out_lead: usize,
    up: Resampler,
    in_rx: Option<Consumer<f32>>,
    down: Resampler,
}

impl Pump {
    fn run(mut self) {
        let mut scratch = Scratch::default();
        while !self.stop.load(Ordering::Relaxed) {
            std::thread::sleep(PUMP);
            if !self.step(&mut scratch) {
                return;
            }
        }
    }

    /// One pass: microphone to every call, every call's playout mixed to
    /// the output. False when the call list is unusable.
    fn step(&mut self, sc: &mut Scratch) -> bool {
        let Ok(mut calls) = self.calls.lock() else {
            return false;
        };
        calls.retain(|c| !c.mic.is_abandoned() || !c.spk.is_abandoned());

        // Microphone: device rate -> 8 kHz -> every call.
        sc.raw.clear();
        sc.mic.clear();
        if let Some(rx) = self.in_rx.as_mut() {
            while let Ok(s) = rx.pop() {
                sc.raw.push(s);
            }
        }
        self.down.process(&sc.raw, &mut sc.mic);
        for c in calls.iter_mut() {
            for &s in &sc.mic {
                let v = (s * 32768.0).round().clamp(-32768.0, 32767.0) as i16;
                if c.mic.push(v).is_err() {
                    break;
                }
            }
        }

        // Speaker: mix the calls at 8 kHz, then up to the device rate,
        // keeping about OUTPUT_LEAD_MS queued for the device.
        let queued = self.out_tx.buffer().capacity() - self.out_tx.slots();
        let want_dev = self.out_lead.saturating_sub(queued);
        let want = (want_dev as f64 * self.up.step_ratio()).ceil() as usize;
        sc.mix.clear();
        sc.mix.resize(want, 0.0f32);
        for c in calls.iter_mut() {
            while c.spk.slots() > CALL_MAX_QUEUE + want {
                let _ = c.spk.pop();
            }
            for m in sc.mix.iter_mut() {
                match c.spk.pop() {
                    Ok(s) => *m += f32::from(s) / 32768.0,
                    Err(_) => break,
                }
            }
        }
        drop(calls);
        sc.dev.clear();
        self.up.process(&sc.mix, &mut sc.dev);
        for &s in &sc.dev {
            if self.out_tx.push(s.clamp(-1.0, 1.0)).is_err() {
                break;
            }
        }
        true
    }
}

/// The pump's reusable buffers.
#[derive(Default)]
struct Scratch {
    raw: Vec<f32>,
    mic: Vec<f32>,
    mix: Vec<f32>,
    dev: Vec<f32>,
}

/// Registers a call with the pump: its microphone and speaker rings.
fn attach(calls: &Mutex<Vec<CallPorts>>) -> Result<(Box<dyn Source>, Box<dyn Sink>)> {
    let (mic_tx, mic_rx) = RingBuffer::new(CALL_RING);
    let (spk_tx, spk_rx) = RingBuffer::new(CALL_RING);
    calls
        .lock()
        .map_err(|_| MediaError::Audio("audio thread failed".into()))?
        .push(CallPorts {
            mic: mic_tx,
            spk: spk_rx,
        });
    Ok((
        Box::new(RingSource { rx: mic_rx }),
        Box::new(RingSink { tx: spk_tx }),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::{AudioConfig, AudioSystem, BackendKind};

    /// The pump without a device: rings stand in for the callbacks.
    #[test]
    fn pump_mixes_calls_and_shares_the_microphone() {
        let calls = Arc::new(Mutex::new(Vec::new()));
        let (out_tx, mut out_rx) = RingBuffer::<f32>::new(4000);
        let (mut in_tx, in_rx) = RingBuffer::<f32>::new(4000);
        let mut pump = Pump {
            calls: Arc::clone(&calls),
            stop: Arc::new(AtomicBool::new(false)),
            out_tx,
            out_lead: 480,
            up: Resampler::new(8000, 48000),
            in_rx: Some(in_rx),
            down: Resampler::new(16000, 8000),
        };
        let (mut src1, mut sink1) = attach(&calls).unwrap_or_else(|e| panic!("{e}"));
        let (mut src2, mut sink2) = attach(&calls).unwrap_or_else(|e| panic!("{e}"));
        sink1.write(&[1000; FRAME]);
        sink2.write(&[2000; FRAME]);
        for _ in 0..640 {
            let _ = in_tx.push(0.25);
        }
        let mut sc = Scratch::default();
        assert!(pump.step(&mut sc));
        // Output: 60 ms at 48 kHz of the sum of both calls.
        let mut out = Vec::new();
        while let Ok(s) = out_rx.pop() {
            out.push(s);
        }
        assert!((470..=490).contains(&out.len()), "{}", out.len());
        let expect = 3000.0 / 32768.0;
        assert!(out[100..400].iter().all(|s| (s - expect).abs() < 1e-3));
        // Both calls hear the microphone (past the filter's settling).
        let (mut f1, mut f2) = ([0i16; FRAME], [0i16; FRAME]);
        src1.read(&mut f1);
        src2.read(&mut f2);
        assert!((f1[150] - 8192).abs() < 200, "{}", f1[150]);
        assert_eq!(f1, f2);
        // A finished call is forgotten.
        drop((src2, sink2));
        assert!(pump.step(&mut sc));
        assert_eq!(calls.lock().map(|c| c.len()).unwrap_or(0), 1);
    }

    /// Collects log output for one test.
    #[derive(Clone, Default)]
    struct LogBuf(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for LogBuf {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            if let Ok(mut v) = self.0.lock() {
                v.extend_from_slice(b);
            }
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// This machine has no sound card: opening cpal must fall back to null
    /// with one warning, without panicking, and calls still get audio ports.
    #[test]
    fn without_a_device_cpal_falls_back_to_null() {
        let log = LogBuf::default();
        let writer = log.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .finish();
        let sys = tracing::subscriber::with_default(subscriber, || {
            AudioSystem::open(&AudioConfig::default())
        });
        let Ok(sys) = sys else {
            panic!("open failed: {sys:?}");
        };
        if sys.backend() == BackendKind::Cpal {
            // A real device exists here after all: the backend must work.
            assert!(sys.open_call("t").is_ok());
            return;
        }
        assert_eq!(sys.backend(), BackendKind::Null);
        let text = log
            .0
            .lock()
            .map(|v| String::from_utf8_lossy(&v).into_owned());
        let text = text.unwrap_or_default();
        assert_eq!(text.lines().count(), 1, "{text}");
        assert!(
            text.contains("WARN") && text.contains("null backend"),
            "{text}"
        );
        let (mut src, mut sink) = sys.open_call("t").unwrap_or_else(|e| panic!("{e}"));
        let mut f = [1i16; 160];
        src.read(&mut f);
        assert!(f.iter().all(|&s| s == 0));
        sink.write(&f);
    }
}
