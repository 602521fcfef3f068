//! Per-call gains (`gain`) for a backend that has none of its own: the
//! file backend, so the whole `gain` path can run without a sound card
//! (the cpal pump applies its gains itself). Every call's microphone
//! frames are scaled by its `mic` level before the session encodes them
//! (what the peer hears), its playout by its `speaker` level before the
//! wrapped sink records it (what we hear). The steps and factors are
//! `gain.rs`'s; this owns only the levels of the calls open now and must
//! not touch what the wrapped backend reads or records otherwise: at 0 dB
//! the samples pass unchanged.

use super::gain::{self, GainChange};
use super::{AudioBackend, Sink, Source};
use crate::media::jitter::FRAME;
use crate::media::{BackendKind, MediaError, Result};
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Arc, Mutex, Weak};

/// One call's levels in dB, read by its source and sink every frame.
#[derive(Debug, Default)]
struct Levels {
    mic_db: AtomicI32,
    speaker_db: AtomicI32,
}

/// A backend whose calls' audio is scaled by their gains.
#[derive(Debug)]
pub struct GainBackend {
    inner: Arc<dyn AudioBackend>,
    /// The calls open now by name (dead ones are dropped at the next open).
    calls: Mutex<Vec<(String, Weak<Levels>)>>,
}

impl GainBackend {
    pub fn new(inner: Arc<dyn AudioBackend>) -> GainBackend {
        GainBackend {
            inner,
            calls: Mutex::new(Vec::new()),
        }
    }
}

fn poisoned() -> MediaError {
    MediaError::Audio("the gain table failed".into())
}

impl AudioBackend for GainBackend {
    fn kind(&self) -> BackendKind {
        self.inner.kind()
    }

    fn open_call(&self, call_id: &str) -> Result<(Box<dyn Source>, Box<dyn Sink>)> {
        let (source, sink) = self.inner.open_call(call_id)?;
        let levels = Arc::new(Levels::default());
        let mut calls = self.calls.lock().map_err(|_| poisoned())?;
        calls.retain(|(_, l)| l.strong_count() > 0);
        calls.push((call_id.to_string(), Arc::downgrade(&levels)));
        Ok((
            Box::new(GainSource {
                inner: source,
                levels: Arc::clone(&levels),
            }),
            Box::new(GainSink {
                inner: sink,
                levels,
                scaled: Vec::new(),
            }),
        ))
    }

    fn open_ring(&self, name: &str) -> Result<Box<dyn Sink>> {
        self.inner.open_ring(name)
    }

    fn set_gain(
        &self,
        call_id: &str,
        mic: Option<GainChange>,
        speaker: Option<GainChange>,
    ) -> Result<(i32, i32)> {
        let calls = self.calls.lock().map_err(|_| poisoned())?;
        let mut result = None;
        for levels in calls
            .iter()
            .filter(|(name, _)| name == call_id)
            .filter_map(|(_, l)| l.upgrade())
        {
            let change = |db: &AtomicI32, c: Option<GainChange>| {
                let now = c.map_or(db.load(Ordering::Relaxed), |c| {
                    c.apply(db.load(Ordering::Relaxed))
                });
                db.store(now, Ordering::Relaxed);
                now
            };
            result = Some((
                change(&levels.mic_db, mic),
                change(&levels.speaker_db, speaker),
            ));
        }
        result.ok_or_else(|| MediaError::Audio(format!("no audio for call {call_id:?} yet")))
    }

    fn set_device(
        &self,
        role: super::devices::DeviceRole,
        id: Option<&str>,
    ) -> Result<Option<String>> {
        self.inner.set_device(role, id)
    }

    fn output_device(&self) -> Option<String> {
        self.inner.output_device()
    }

    fn device_fallbacks(
        &self,
    ) -> Option<tokio::sync::broadcast::Receiver<super::devices::Fallback>> {
        self.inner.device_fallbacks()
    }

    fn startup_fallbacks(&self) -> Vec<super::devices::Fallback> {
        self.inner.startup_fallbacks()
    }
}

/// Scales `samples` by `db` in place (nothing at 0 dB).
fn scale(db: i32, samples: &mut [i16]) {
    if db == 0 {
        return;
    }
    let f = gain::factor(db);
    for s in samples {
        *s = (f32::from(*s) * f).round().clamp(-32768.0, 32767.0) as i16;
    }
}

/// The microphone, scaled by the call's `mic` level.
struct GainSource {
    inner: Box<dyn Source>,
    levels: Arc<Levels>,
}

impl Source for GainSource {
    fn read(&mut self, frame: &mut [i16; FRAME]) {
        self.inner.read(frame);
        scale(self.levels.mic_db.load(Ordering::Relaxed), frame);
    }

    fn read_at(&mut self, rate: u32, frame: &mut [i16]) -> bool {
        if !self.inner.read_at(rate, frame) {
            return false;
        }
        scale(self.levels.mic_db.load(Ordering::Relaxed), frame);
        true
    }
}

/// The speaker, scaled by the call's `speaker` level.
struct GainSink {
    inner: Box<dyn Sink>,
    levels: Arc<Levels>,
    scaled: Vec<i16>,
}

impl Sink for GainSink {
    fn write(&mut self, frame: &[i16; FRAME]) {
        let mut f = *frame;
        scale(self.levels.speaker_db.load(Ordering::Relaxed), &mut f);
        self.inner.write(&f);
    }

    fn write_at(&mut self, rate: u32, frame: &[i16]) -> bool {
        self.scaled.clear();
        self.scaled.extend_from_slice(frame);
        scale(
            self.levels.speaker_db.load(Ordering::Relaxed),
            &mut self.scaled,
        );
        self.inner.write_at(rate, &self.scaled)
    }

    fn convert_to(&mut self, rate: u32) {
        self.inner.convert_to(rate);
    }

    fn finish(&mut self) {
        self.inner.finish();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::audio::null::NullBackend;

    /// A source of constant samples and a sink that keeps what it gets.
    struct Const(i16);
    impl Source for Const {
        fn read(&mut self, frame: &mut [i16; FRAME]) {
            frame.fill(self.0);
        }
        fn read_at(&mut self, _rate: u32, frame: &mut [i16]) -> bool {
            frame.fill(self.0);
            true
        }
    }
    struct Keep(Arc<Mutex<Vec<i16>>>);
    impl Sink for Keep {
        fn write(&mut self, frame: &[i16; FRAME]) {
            self.0.lock().unwrap().extend_from_slice(frame);
        }
        fn write_at(&mut self, _rate: u32, frame: &[i16]) -> bool {
            self.0.lock().unwrap().extend_from_slice(frame);
            true
        }
    }
    #[derive(Debug, Default)]
    struct Fixed(Arc<Mutex<Vec<i16>>>);
    impl AudioBackend for Fixed {
        fn kind(&self) -> BackendKind {
            BackendKind::File
        }
        fn open_call(&self, _call_id: &str) -> Result<(Box<dyn Source>, Box<dyn Sink>)> {
            Ok((Box::new(Const(10_000)), Box::new(Keep(Arc::clone(&self.0)))))
        }
    }

    #[test]
    fn each_call_is_scaled_by_its_own_levels() {
        let played = Arc::new(Mutex::new(Vec::new()));
        let b = GainBackend::new(Arc::new(Fixed(Arc::clone(&played))));
        let (mut src1, mut sink1) = b.open_call("c1").unwrap();
        let (mut src2, _sink2) = b.open_call("c2").unwrap();
        assert_eq!(
            b.set_gain("c1", Some(GainChange::Db(-6)), Some(GainChange::Up))
                .unwrap(),
            (-6, 3)
        );
        assert!(b.set_gain("c9", Some(GainChange::Up), None).is_err());
        let mut f = [0i16; 320];
        assert!(src1.read_at(16_000, &mut f));
        assert_eq!(f[0], 5012);
        let mut g = [0i16; FRAME];
        src2.read(&mut g);
        assert_eq!(g[0], 10_000);
        assert!(sink1.write_at(16_000, &[1000; 320]));
        sink1.write(&[1000; FRAME]);
        let got = played.lock().unwrap().clone();
        assert_eq!(got.len(), 480);
        assert!(got.iter().all(|&s| s == 1413), "{got:?}");
        // Gone calls are forgotten.
        drop((src1, sink1));
        assert!(b.set_gain("c1", Some(GainChange::Up), None).is_err());
        // A backend without its own gains underneath is still asked for
        // the rest.
        let null = GainBackend::new(Arc::new(NullBackend));
        assert!(null
            .set_device(super::super::devices::DeviceRole::Input, None)
            .is_err());
    }
}
