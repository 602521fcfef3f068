//! Audio backends behind one trait: each call gets a microphone [`Source`]
//! and a speaker [`Sink`] of 20 ms, 8 kHz mono frames; a backend that can
//! also take frames at the call's own rate (16 kHz G.722, 48 kHz Opus)
//! says so through [`Source::read_at`] / [`Sink::write_at`], else the
//! session converts. The backends are
//! registered in [`open_backend`]: `null` (silence in, output discarded),
//! `file` (a WAV as the microphone, each call's playout recorded to WAV) and
//! `cpal` (the sound card, all calls mixed, falls back to `null`; rings
//! on a ring output of their own when configured: [`AudioBackend::open_ring`]).
//!
//! Sources and sinks are called from the media task once per tick: they must
//! not block for long (the file sink writes a frame to a buffered file).

/// The [`AudioBackend`] methods a wrapping backend (one with an `inner`
/// backend: the room, the voice processing) hands on unchanged: the ring
/// output, gains and device choice are the wrapped backend's.
macro_rules! delegate_to_inner {
    () => {
        fn open_ring(
            &self,
            name: &str,
        ) -> $crate::media::Result<Box<dyn $crate::media::audio::Sink>> {
            self.inner.open_ring(name)
        }

        fn set_gain(
            &self,
            call_id: &str,
            mic: Option<$crate::media::audio::gain::GainChange>,
            speaker: Option<$crate::media::audio::gain::GainChange>,
        ) -> $crate::media::Result<(i32, i32)> {
            self.inner.set_gain(call_id, mic, speaker)
        }

        fn set_device(
            &self,
            role: $crate::media::audio::devices::DeviceRole,
            id: Option<&str>,
        ) -> $crate::media::Result<Option<String>> {
            self.inner.set_device(role, id)
        }

        fn output_device(&self) -> Option<String> {
            self.inner.output_device()
        }

        fn device_fallbacks(
            &self,
        ) -> Option<tokio::sync::broadcast::Receiver<$crate::media::audio::devices::Fallback>> {
            self.inner.device_fallbacks()
        }

        fn startup_fallbacks(&self) -> Vec<$crate::media::audio::devices::Fallback> {
            self.inner.startup_fallbacks()
        }
    };
}

pub mod alsa_quiet;
pub mod call_gain;
pub mod cpal;
pub mod devices;
pub mod file;
pub mod gain;
pub mod null;
pub mod processing;
pub mod resample;
pub mod room;
pub mod wav;

use super::jitter::FRAME;
use super::{AudioConfig, BackendKind, Result};
use std::fmt::Debug;
use std::sync::Arc;

/// A call's microphone: 20 ms of 8 kHz mono audio per read.
pub trait Source: Send {
    /// Fills `frame` with the next 20 ms (silence when nothing is there).
    fn read(&mut self, frame: &mut [i16; FRAME]);
    /// Fills `frame` with the next 20 ms at `rate` Hz (`rate / 50`
    /// samples) when the source delivers that rate itself; `false` (the
    /// default) when it does not, and the caller converts from
    /// [`Source::read`].
    fn read_at(&mut self, _rate: u32, _frame: &mut [i16]) -> bool {
        false
    }
}

/// A call's speaker: 20 ms of 8 kHz mono audio per write.
pub trait Sink: Send {
    fn write(&mut self, frame: &[i16; FRAME]);
    /// Plays 20 ms at `rate` Hz when the sink takes that rate itself;
    /// `false` (the default) when not, and the caller converts to
    /// [`Sink::write`].
    fn write_at(&mut self, _rate: u32, _frame: &[i16]) -> bool {
        false
    }
    /// The call's rate is settled at `rate` Hz (an outgoing call's
    /// answer): a sink that records brings what it has to that rate and
    /// records at it from now on. Nothing by default.
    fn convert_to(&mut self, _rate: u32) {}
    /// Called once when the call's media stops (e.g. finalise a file).
    fn finish(&mut self) {}
}

/// One audio backend, shared by all calls of the process.
pub trait AudioBackend: Send + Sync + Debug {
    fn kind(&self) -> BackendKind;
    /// The microphone and speaker for the call named `call_id`.
    fn open_call(&self, call_id: &str) -> Result<(Box<dyn Source>, Box<dyn Sink>)>;
    /// The speaker for a ring with no call named `name` (the ring output
    /// when the backend has one; else a call's speaker).
    fn open_ring(&self, name: &str) -> Result<Box<dyn Sink>> {
        Ok(self.open_call(name)?.1)
    }
    /// Changes the microphone and speaker gain of the call named
    /// `call_id`: the levels in dB after the change (mic, speaker).
    /// Backends without a sound card refuse.
    fn set_gain(
        &self,
        _call_id: &str,
        _mic: Option<gain::GainChange>,
        _speaker: Option<gain::GainChange>,
    ) -> Result<(i32, i32)> {
        Err(super::MediaError::Audio(format!(
            "the {:?} backend has no gains to set",
            self.kind()
        )))
    }
    /// Uses the device `id` (`None`: the default) for `role` from now on;
    /// the id the backend will open. Backends without devices refuse.
    fn set_device(&self, _role: devices::DeviceRole, _id: Option<&str>) -> Result<Option<String>> {
        Err(super::MediaError::Audio(format!(
            "the {:?} backend has no sound devices to choose",
            self.kind()
        )))
    }
    /// The name of the device the calls are played on, when known: a
    /// headset's name turns `auto` voice processing off
    /// ([`processing::resolve`]).
    fn output_device(&self) -> Option<String> {
        None
    }
    /// Each device in use that disappeared and what took its place, once
    /// per disappearance, from now on; `None` for a backend without
    /// devices.
    fn device_fallbacks(&self) -> Option<tokio::sync::broadcast::Receiver<devices::Fallback>> {
        None
    }
    /// Each configured device that was not there when the backend opened
    /// and what took its place (told before anyone could subscribe to
    /// [`AudioBackend::device_fallbacks`]); empty for a backend without
    /// devices.
    fn startup_fallbacks(&self) -> Vec<devices::Fallback> {
        Vec::new()
    }
}

/// The backend registry: builds the backend `config` asks for. `cpal`
/// falls back to `null` (with one warning) when no device works. The file
/// backend gets per-call gains ([`call_gain`]; the sound card has its
/// own) and its simulated room ([`room`]) when configured; then, when
/// a voice-processing stage is on ([`processing::resolve`]), every call's
/// pair is wrapped in the processing, so calls and conferences alike get it.
pub fn open_backend(config: &AudioConfig) -> Result<Arc<dyn AudioBackend>> {
    let mut backend = open_device(config)?;
    if backend.kind() == BackendKind::File {
        backend = Arc::new(call_gain::GainBackend::new(backend));
    }
    if let (BackendKind::File, Some(r)) = (backend.kind(), config.room_echo) {
        backend = Arc::new(room::RoomBackend::new(backend, r));
    }
    let settings = processing::resolve(
        &config.processing,
        backend.kind(),
        backend.output_device().as_deref(),
    );
    if settings.any() {
        backend = Arc::new(processing::ProcessedBackend::new(backend, settings));
    }
    Ok(backend)
}

/// The backend itself.
fn open_device(config: &AudioConfig) -> Result<Arc<dyn AudioBackend>> {
    Ok(match config.backend {
        BackendKind::Null => Arc::new(null::NullBackend),
        BackendKind::File => Arc::new(file::FileBackend::open(
            config.input.as_deref(),
            config.output_dir.as_deref(),
        )?),
        BackendKind::Cpal => match cpal::CpalBackend::open_with(config) {
            Ok(b) => Arc::new(b),
            Err(e) => {
                tracing::warn!(
                    "no usable sound device ({e}); audio falls back to the null backend"
                );
                Arc::new(null::NullBackend)
            }
        },
    })
}
