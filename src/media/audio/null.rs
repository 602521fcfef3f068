//! The null audio backend: the microphone is silence, the speaker discards.

use super::{AudioBackend, Sink, Source};
use crate::media::jitter::FRAME;
use crate::media::{BackendKind, Result};

/// Silence in, output discarded.
#[derive(Debug, Clone, Copy, Default)]
pub struct NullBackend;

/// A microphone that hears nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct SilentSource;

impl Source for SilentSource {
    fn read(&mut self, frame: &mut [i16; FRAME]) {
        frame.fill(0);
    }
}

/// A speaker that plays nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct DiscardSink;

impl Sink for DiscardSink {
    fn write(&mut self, _frame: &[i16; FRAME]) {}
}

impl AudioBackend for NullBackend {
    fn kind(&self) -> BackendKind {
        BackendKind::Null
    }

    fn open_call(&self, _call_id: &str) -> Result<(Box<dyn Source>, Box<dyn Sink>)> {
        Ok((Box::new(SilentSource), Box::new(DiscardSink)))
    }
}
