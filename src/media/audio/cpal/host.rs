//! The sound card behind a trait ([`DeviceHost`]): list the devices, open
//! an output or an input by id (or the default) as a ring of f32 samples at
//! the device's rate plus a flag its error callback raises when the device
//! disappears. The pump (`cpal.rs`) only sees [`OutPort`] / [`InPort`], so
//! a test can hand it a stub host and make a device vanish. [`CpalHost`]
//! is the real one; every ALSA call goes through `alsa_quiet`. Nothing here
//! knows calls or mixing.

use super::super::alsa_quiet::quietly;
use super::super::devices::{DeviceInfo, DeviceList};
use crate::media::{MediaError, Result};
use cpal::traits::{DeviceTrait, HostTrait, StreamTrait};
use cpal::{ErrorKind, FromSample, SampleFormat, SizedSample, StreamConfig};
use rtrb::{Consumer, Producer, RingBuffer};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Output queued for a device at most, in ms (its ring's size).
const OUTPUT_RING_MS: usize = 240;

/// An open output: the pump pushes samples at `rate` into `tx`.
pub struct OutPort {
    /// The device's id (`devices`), for the log.
    pub id: String,
    /// Its human-readable name (`devices`), for the `device_fallback` event.
    pub name: String,
    pub rate: u32,
    pub tx: Producer<f32>,
    /// Raised when the device is gone.
    pub lost: Arc<AtomicBool>,
    /// The stream, kept running while the port lives (`None` in tests).
    pub stream: Option<cpal::Stream>,
}

/// An open input: the pump pops samples at `rate` from `rx`.
pub struct InPort {
    pub id: String,
    pub name: String,
    pub rate: u32,
    pub rx: Consumer<f32>,
    pub lost: Arc<AtomicBool>,
    pub stream: Option<cpal::Stream>,
}

/// The devices of a host, to list and to open.
pub trait DeviceHost: Send + Sync + 'static {
    fn list(&self) -> DeviceList;
    /// Opens the output `id`, or the default one.
    fn open_output(&self, id: Option<&str>) -> Result<OutPort>;
    /// Opens the input `id`, or the default one.
    fn open_input(&self, id: Option<&str>) -> Result<InPort>;
}

fn audio_err(what: &str, e: impl std::fmt::Display) -> MediaError {
    MediaError::Audio(format!("{what}: {e}"))
}

/// The system's sound devices through cpal's default host.
#[derive(Debug, Default)]
pub struct CpalHost;

/// The device named `id` (or the default) of `host`.
fn find(host: &cpal::Host, id: Option<&str>, output: bool) -> Result<cpal::Device> {
    let dev = match id {
        None if output => host.default_output_device(),
        None => host.default_input_device(),
        Some(id) => host
            .devices()
            .map_err(|e| audio_err("listing devices", e))?
            .find(|d| d.id().is_ok_and(|d| d.id() == id)),
    };
    dev.ok_or_else(|| {
        MediaError::Audio(format!(
            "no {} device{}",
            if output { "output" } else { "input" },
            id.map(|i| format!(" {i}")).unwrap_or_default()
        ))
    })
}

fn id_of(d: &cpal::Device) -> String {
    d.id().map(|i| i.id().to_string()).unwrap_or_default()
}

/// The device's human-readable name, else its id.
fn name_of(d: &cpal::Device) -> String {
    d.description()
        .map(|n| n.name().to_string())
        .unwrap_or_else(|_| id_of(d))
}

impl DeviceHost for CpalHost {
    fn list(&self) -> DeviceList {
        quietly("listing sound devices", || {
            let host = cpal::default_host();
            let default_out = host.default_output_device().map(|d| id_of(&d));
            let default_in = host.default_input_device().map(|d| id_of(&d));
            let mut list = DeviceList::default();
            let Ok(devices) = host.devices() else {
                return list;
            };
            for d in devices {
                let id = id_of(&d);
                let name = name_of(&d);
                let info = |default: &Option<String>| DeviceInfo {
                    id: id.clone(),
                    name: name.clone(),
                    default: default.as_deref() == Some(id.as_str()),
                };
                if d.supports_input() {
                    list.inputs.push(info(&default_in));
                }
                if d.supports_output() {
                    list.outputs.push(info(&default_out));
                }
            }
            list
        })
    }

    fn open_output(&self, id: Option<&str>) -> Result<OutPort> {
        quietly("opening a sound output", || {
            let host = cpal::default_host();
            let dev = find(&host, id, true)?;
            let cfg = dev
                .default_output_config()
                .map_err(|e| audio_err("output device", e))?;
            let rate = cfg.sample_rate();
            let (tx, rx) = RingBuffer::<f32>::new((rate as usize * OUTPUT_RING_MS / 1000).max(1));
            let lost = Arc::new(AtomicBool::new(false));
            let stream = build_output(&dev, cfg.sample_format(), cfg.config(), rx, &lost)?;
            stream.play().map_err(|e| audio_err("starting output", e))?;
            Ok(OutPort {
                id: id_of(&dev),
                name: name_of(&dev),
                rate,
                tx,
                lost,
                stream: Some(stream),
            })
        })
    }

    fn open_input(&self, id: Option<&str>) -> Result<InPort> {
        quietly("opening a microphone", || {
            let host = cpal::default_host();
            let dev = find(&host, id, false)?;
            let cfg = dev
                .default_input_config()
                .map_err(|e| audio_err("input device", e))?;
            let rate = cfg.sample_rate();
            let (tx, rx) = RingBuffer::<f32>::new((rate as usize / 2).max(1));
            let lost = Arc::new(AtomicBool::new(false));
            let stream = build_input(&dev, cfg.sample_format(), cfg.config(), tx, &lost)?;
            stream.play().map_err(|e| audio_err("starting input", e))?;
            Ok(InPort {
                id: id_of(&dev),
                name: name_of(&dev),
                rate,
                rx,
                lost,
                stream: Some(stream),
            })
        })
    }
}

/// The error callback of a stream: a vanished device raises `lost`.
fn on_error(what: &'static str, lost: &Arc<AtomicBool>) -> impl FnMut(cpal::Error) + Send {
    let lost = Arc::clone(lost);
    move |e: cpal::Error| {
        if matches!(
            e.kind(),
            ErrorKind::DeviceNotAvailable | ErrorKind::StreamInvalidated
        ) {
            lost.store(true, Ordering::Relaxed);
        } else {
            tracing::warn!("{what}: {e}");
        }
    }
}

fn build_output(
    dev: &cpal::Device,
    format: SampleFormat,
    config: StreamConfig,
    rx: Consumer<f32>,
    lost: &Arc<AtomicBool>,
) -> Result<cpal::Stream> {
    match format {
        SampleFormat::F32 => output_stream::<f32>(dev, config, rx, lost),
        SampleFormat::I16 => output_stream::<i16>(dev, config, rx, lost),
        SampleFormat::U16 => output_stream::<u16>(dev, config, rx, lost),
        SampleFormat::I32 => output_stream::<i32>(dev, config, rx, lost),
        other => Err(MediaError::Audio(format!(
            "unsupported sample format {other}"
        ))),
    }
}

fn output_stream<T>(
    dev: &cpal::Device,
    config: StreamConfig,
    mut rx: Consumer<f32>,
    lost: &Arc<AtomicBool>,
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
        on_error("audio output", lost),
        None,
    )
    .map_err(|e| audio_err("output stream", e))
}

fn build_input(
    dev: &cpal::Device,
    format: SampleFormat,
    config: StreamConfig,
    tx: Producer<f32>,
    lost: &Arc<AtomicBool>,
) -> Result<cpal::Stream> {
    match format {
        SampleFormat::F32 => input_stream::<f32>(dev, config, tx, lost),
        SampleFormat::I16 => input_stream::<i16>(dev, config, tx, lost),
        SampleFormat::U16 => input_stream::<u16>(dev, config, tx, lost),
        SampleFormat::I32 => input_stream::<i32>(dev, config, tx, lost),
        other => Err(MediaError::Audio(format!(
            "unsupported sample format {other}"
        ))),
    }
}

fn input_stream<T>(
    dev: &cpal::Device,
    config: StreamConfig,
    mut tx: Producer<f32>,
    lost: &Arc<AtomicBool>,
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
        on_error("audio input", lost),
        None,
    )
    .map_err(|e| audio_err("input stream", e))
}
