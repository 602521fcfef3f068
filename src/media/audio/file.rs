//! The file audio backend (CONTROL.md `[audio] backend = "file"`): a WAV is
//! every call's microphone, looped (silence without one); each call's
//! playout, exactly as a speaker would get it, is written to
//! `output_dir/<call-id>.wav` (8 kHz, 16-bit, mono), one frame per tick.

use super::wav::{read_8k_mono, WavRecorder};
use super::{AudioBackend, Sink, Source};
use crate::media::jitter::FRAME;
use crate::media::{BackendKind, MediaError, Result};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// WAV in, WAV out.
#[derive(Debug)]
pub struct FileBackend {
    input: Arc<Vec<i16>>,
    output_dir: Option<PathBuf>,
}

impl FileBackend {
    /// Loads `input` (converted to 8 kHz mono) and creates `output_dir`.
    pub fn open(input: Option<&Path>, output_dir: Option<&Path>) -> Result<FileBackend> {
        // An Arc of the Vec itself: converting to Arc<[i16]> would copy it.
        let input = Arc::new(match input {
            Some(p) => read_8k_mono(p)?,
            None => Vec::new(),
        });
        if let Some(dir) = output_dir {
            std::fs::create_dir_all(dir)
                .map_err(|e| MediaError::Audio(format!("{}: {e}", dir.display())))?;
        }
        Ok(FileBackend {
            input,
            output_dir: output_dir.map(Path::to_path_buf),
        })
    }

    /// Where the call's recording goes.
    pub fn output_path(&self, call_id: &str) -> Option<PathBuf> {
        self.output_dir
            .as_ref()
            .map(|d| d.join(format!("{}.wav", file_safe(call_id))))
    }
}

/// `call_id` with path separators and other awkward characters replaced.
fn file_safe(call_id: &str) -> String {
    let s: String = call_id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.@+=".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    if s.is_empty() || s.starts_with('.') {
        format!("_{s}")
    } else {
        s
    }
}

impl AudioBackend for FileBackend {
    fn kind(&self) -> BackendKind {
        BackendKind::File
    }

    fn open_call(&self, call_id: &str) -> Result<(Box<dyn Source>, Box<dyn Sink>)> {
        let source = LoopSource {
            samples: Arc::clone(&self.input),
            pos: 0,
        };
        let sink = match self.output_path(call_id) {
            Some(path) => Some(WavRecorder::create(&path)?),
            None => None,
        };
        Ok((Box::new(source), Box::new(RecordSink { rec: sink })))
    }
}

/// Plays a sample buffer in a loop.
#[derive(Debug)]
struct LoopSource {
    samples: Arc<Vec<i16>>,
    pos: usize,
}

impl Source for LoopSource {
    fn read(&mut self, frame: &mut [i16; FRAME]) {
        if self.samples.is_empty() {
            frame.fill(0);
            return;
        }
        for s in frame.iter_mut() {
            if self.pos >= self.samples.len() {
                self.pos = 0;
            }
            *s = self.samples[self.pos];
            self.pos += 1;
        }
    }
}

/// Writes the playout to a WAV file (or nowhere without `output_dir`).
#[derive(Debug)]
struct RecordSink {
    rec: Option<WavRecorder>,
}

impl Sink for RecordSink {
    fn write(&mut self, frame: &[i16; FRAME]) {
        if let Some(r) = self.rec.as_mut() {
            r.write(frame);
        }
    }

    fn finish(&mut self) {
        if let Some(r) = self.rec.as_mut() {
            r.finish();
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn loops_input_and_records_output() {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("in.wav");
        let mut w = hound::WavWriter::create(&input, super::super::wav::spec_8k_mono()).unwrap();
        for i in 0..100i16 {
            w.write_sample(i).unwrap();
        }
        w.finalize().unwrap();
        let out_dir = dir.path().join("rec/sub");
        let b = FileBackend::open(Some(&input), Some(&out_dir)).unwrap();
        assert_eq!(b.kind(), BackendKind::File);
        let (mut src, mut sink) = b.open_call("a/b c").unwrap();
        let mut f = [0i16; FRAME];
        src.read(&mut f);
        assert_eq!(f[99], 99);
        assert_eq!(f[100], 0);
        assert_eq!(f[159], 59);
        sink.write(&f);
        sink.finish();
        let path = out_dir.join("a_b_c.wav");
        let r = hound::WavReader::open(&path).unwrap();
        assert_eq!(r.len(), 160);
    }

    #[test]
    fn no_input_is_silence_and_no_dir_records_nothing() {
        let b = FileBackend::open(None, None).unwrap();
        assert_eq!(b.output_path("x"), None);
        let (mut src, _sink) = b.open_call("x").unwrap();
        let mut f = [7i16; FRAME];
        src.read(&mut f);
        assert!(f.iter().all(|&s| s == 0));
        assert_eq!(file_safe(".."), "_..");
        assert_eq!(file_safe("c1"), "c1");
    }
}
