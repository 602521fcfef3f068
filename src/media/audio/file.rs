//! The file audio backend (docs/control.md `[audio] backend = "file"`): a WAV is
//! every call's microphone, looped (silence without one), read from disk as
//! the call plays so a long input costs no memory; each call's
//! playout, exactly as a speaker would get it, is written to
//! `output_dir/<call-id>.wav` (16-bit, mono), one frame per tick. Both run
//! at the call's rate: the input is converted to the rate asked for, and
//! the output file takes the rate of the first frame written to it (8 kHz
//! for G.711, 16 kHz for G.722, 48 kHz for Opus); a call whose codec
//! changes later is converted to the file's rate.

use super::wav::{Converter, WavRecorder, WavStream};
use super::{AudioBackend, Sink, Source};
use crate::media::jitter::FRAME;
use crate::media::{BackendKind, MediaError, Result};
use std::path::{Path, PathBuf};

/// WAV in, WAV out.
#[derive(Debug)]
pub struct FileBackend {
    input: Option<PathBuf>,
    output_dir: Option<PathBuf>,
}

impl FileBackend {
    /// Checks that `input` is a readable WAV and creates `output_dir`.
    pub fn open(input: Option<&Path>, output_dir: Option<&Path>) -> Result<FileBackend> {
        if let Some(p) = input {
            WavStream::open(p)?;
        }
        if let Some(dir) = output_dir {
            std::fs::create_dir_all(dir)
                .map_err(|e| MediaError::Audio(format!("{}: {e}", dir.display())))?;
        }
        Ok(FileBackend {
            input: input.map(Path::to_path_buf),
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
            stream: self.input.as_deref().and_then(|p| {
                WavStream::open(p)
                    .inspect_err(|e| tracing::warn!("call {call_id}: no input audio: {e}"))
                    .ok()
            }),
            buf: Vec::with_capacity(1024),
            pos: 0,
        };
        let sink = match self.output_path(call_id) {
            Some(path) => Some(WavRecorder::create(&path, 1, 1)?),
            None => None,
        };
        let sink = RecordSink {
            rec: sink,
            conv: None,
            scratch: Vec::new(),
        };
        Ok((Box::new(source), Box::new(sink)))
    }
}

/// Plays the input WAV in a loop; silence without one, or once it fails.
#[derive(Debug)]
struct LoopSource {
    stream: Option<WavStream>,
    /// Converted samples not played yet: `buf[pos..]`.
    buf: Vec<i16>,
    pos: usize,
}

impl LoopSource {
    /// Converts the next chunk into `buf`, starting the file again at its
    /// end. False when there is nothing to play.
    fn refill(&mut self) -> bool {
        self.buf.clear();
        self.pos = 0;
        let Some(stream) = self.stream.as_mut() else {
            return false;
        };
        // At most: the rest of the file, then (after a rewind) its start.
        for _ in 0..2 {
            match stream.next_chunk(&mut self.buf) {
                Ok(true) if !self.buf.is_empty() => return true,
                Ok(true) => continue,
                Ok(false) => {
                    if let Err(e) = stream.rewind() {
                        tracing::warn!("input audio: {e}");
                        break;
                    }
                }
                Err(e) => {
                    tracing::warn!("input audio: {e}");
                    break;
                }
            }
        }
        if self.buf.is_empty() {
            // Empty or unreadable: silence from now on.
            self.stream = None;
        }
        !self.buf.is_empty()
    }
}

impl LoopSource {
    /// Fills `frame` at the stream's current rate.
    fn fill(&mut self, frame: &mut [i16]) {
        let mut i = 0;
        while i < frame.len() {
            if self.pos >= self.buf.len() && !self.refill() {
                frame[i..].fill(0);
                return;
            }
            let n = (frame.len() - i).min(self.buf.len() - self.pos);
            frame[i..i + n].copy_from_slice(&self.buf[self.pos..self.pos + n]);
            self.pos += n;
            i += n;
        }
    }

    /// Converts to `rate` from now on (samples converted at the old rate
    /// and not played yet are dropped).
    fn set_rate(&mut self, rate: u32) {
        if let Some(stream) = self.stream.as_mut() {
            if stream.rate() != rate {
                stream.set_rate(rate);
                self.buf.clear();
                self.pos = 0;
            }
        }
    }
}

impl Source for LoopSource {
    fn read(&mut self, frame: &mut [i16; FRAME]) {
        self.set_rate(8000);
        self.fill(frame);
    }

    fn read_at(&mut self, rate: u32, frame: &mut [i16]) -> bool {
        self.set_rate(rate);
        self.fill(frame);
        true
    }
}

/// Writes the playout to a WAV file (or nowhere without `output_dir`).
#[derive(Debug)]
struct RecordSink {
    rec: Option<WavRecorder>,
    /// From the frames' rate to the file's, once they differ.
    conv: Option<Converter>,
    scratch: Vec<i16>,
}

impl Sink for RecordSink {
    fn write(&mut self, frame: &[i16; FRAME]) {
        self.write_at(8000, frame);
    }

    fn write_at(&mut self, rate: u32, frame: &[i16]) -> bool {
        let Some(r) = self.rec.as_mut() else {
            return true;
        };
        if r.rate() == rate || r.restart_at(rate) {
            self.conv = None;
            r.write(frame);
            return true;
        }
        if self.conv.as_ref().is_none_or(|c| c.from_rate() != rate) {
            self.conv = None;
        }
        let to = r.rate();
        let conv = self.conv.get_or_insert_with(|| Converter::new(rate, to));
        self.scratch.clear();
        conv.convert(frame, &mut self.scratch);
        r.write(&self.scratch);
        true
    }

    fn convert_to(&mut self, rate: u32) {
        if let Some(r) = self.rec.as_mut() {
            if r.convert_to(rate) {
                self.conv = None;
            }
        }
    }

    fn finish(&mut self) {
        if let Some(r) = self.rec.as_mut() {
            r.finish();
        }
    }
}

#[cfg(test)]
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
    fn streams_a_converted_input_across_its_loop_point() {
        use crate::media::tone::{goertzel_power, sine};
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("in.wav");
        let spec = hound::WavSpec {
            channels: 2,
            sample_rate: 48000,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let mut w = hound::WavWriter::create(&input, spec).unwrap();
        // 0.3 s: the 2 s read below loops it several times.
        for s in sine(600.0, 0.3, 48000) {
            w.write_sample(s).unwrap();
            w.write_sample(s).unwrap();
        }
        w.finalize().unwrap();
        let b = FileBackend::open(Some(&input), None).unwrap();
        let (mut src, _) = b.open_call("c").unwrap();
        let mut pcm = Vec::new();
        let mut f = [0i16; FRAME];
        for _ in 0..100 {
            src.read(&mut f);
            pcm.extend_from_slice(&f);
        }
        assert!(goertzel_power(&pcm[200..], 8000, 600.0) > 0.1);
        // No silent gap where the file starts again.
        let quiet = pcm[200..]
            .chunks(40)
            .filter(|c| c.iter().all(|s| s.abs() < 500))
            .count();
        assert_eq!(quiet, 0);
    }

    #[test]
    fn a_16_khz_call_reads_and_records_at_16_khz() {
        use crate::media::tone::{goertzel_power, sine};
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("in.wav");
        let mut w = hound::WavWriter::create(&input, super::super::wav::spec_at(1, 48000)).unwrap();
        for s in sine(6000.0, 0.5, 48000) {
            w.write_sample(s).unwrap();
        }
        w.finalize().unwrap();
        let b = FileBackend::open(Some(&input), Some(dir.path())).unwrap();
        let (mut src, mut sink) = b.open_call("wide").unwrap();
        let mut pcm = Vec::new();
        for _ in 0..20 {
            let mut f = [0i16; 320];
            assert!(src.read_at(16_000, &mut f));
            assert!(sink.write_at(16_000, &f));
            pcm.extend_from_slice(&f);
        }
        // 6 kHz: only a wideband path carries it.
        assert!(goertzel_power(&pcm[320..], 16_000, 6000.0) > 0.1);
        // A later 8 kHz frame is converted to the file's rate.
        sink.write(&[0; FRAME]);
        sink.finish();
        let r = hound::WavReader::open(dir.path().join("wide.wav")).unwrap();
        assert_eq!(r.spec().sample_rate, 16_000);
        let n = r.len() as usize;
        assert!((20 * 320 + 300..=20 * 320 + 340).contains(&n), "{n}");
    }

    #[test]
    fn bad_input_is_an_error_and_a_vanished_one_is_silence() {
        let dir = tempfile::tempdir().unwrap();
        let bad = dir.path().join("bad.wav");
        std::fs::write(&bad, b"RIFF but not really").unwrap();
        assert!(FileBackend::open(Some(&bad), None).is_err());
        let input = dir.path().join("in.wav");
        let mut w = hound::WavWriter::create(&input, super::super::wav::spec_8k_mono()).unwrap();
        w.write_sample(1000i16).unwrap();
        w.finalize().unwrap();
        let b = FileBackend::open(Some(&input), None).unwrap();
        std::fs::remove_file(&input).unwrap();
        let (mut src, _) = b.open_call("c").unwrap();
        let mut f = [7i16; FRAME];
        src.read(&mut f);
        assert!(f.iter().all(|&s| s == 0));
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
