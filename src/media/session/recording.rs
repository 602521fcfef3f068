//! A call recording (CONTROL.md `record`): an 8 kHz, 16-bit, stereo WAV
//! whose left channel is what the call sends and whose right channel is
//! what it receives, one 20 ms frame per tick.
//!
//! The file is opened by [`Recording::create`] on the caller's side (so a
//! bad path is reported at once) and then handed to the media task, which
//! writes from its tick through a `BufWriter`: a frame is 640 bytes into
//! memory, and every [`FLUSH_EVERY`] frames (200 ms) the header is brought
//! up to date and the buffer written out to the page cache. A crash thus
//! leaves a valid WAV missing at most the last 200 ms. Those writes do not
//! wait for the disk; a stalled file system could delay a tick, which the
//! clock's burst catch-up absorbs. A write error closes the recording
//! (logged once) rather than disturbing the call.

use crate::media::jitter::FRAME;
use crate::media::{MediaError, Result};
use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

/// Frames between header updates and buffer flushes.
pub const FLUSH_EVERY: u32 = 10;

/// The spec of every call recording: 8 kHz, stereo, 16-bit.
pub fn spec_8k_stereo() -> hound::WavSpec {
    hound::WavSpec {
        channels: 2,
        sample_rate: 8000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    }
}

/// One open recording.
pub struct Recording {
    path: PathBuf,
    writer: Option<hound::WavWriter<BufWriter<File>>>,
    unflushed: u32,
}

impl std::fmt::Debug for Recording {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recording")
            .field("path", &self.path)
            .field("open", &self.writer.is_some())
            .finish()
    }
}

impl Recording {
    /// Creates `path` (and its parent directories) with a valid, empty WAV.
    pub fn create(path: &Path) -> Result<Recording> {
        let err = |e: &dyn std::fmt::Display| {
            MediaError::Audio(format!("recording {}: {e}", path.display()))
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| err(&e))?;
        }
        let mut writer = hound::WavWriter::create(path, spec_8k_stereo()).map_err(|e| err(&e))?;
        writer.flush().map_err(|e| err(&e))?;
        Ok(Recording {
            path: path.to_path_buf(),
            writer: Some(writer),
            unflushed: 0,
        })
    }

    /// Appends one frame: `sent` on the left, `received` on the right.
    pub fn write(&mut self, sent: &[i16; FRAME], received: &[i16; FRAME]) {
        let Some(w) = self.writer.as_mut() else {
            return;
        };
        let mut res = sent
            .iter()
            .zip(received)
            .try_for_each(|(&l, &r)| w.write_sample(l).and_then(|()| w.write_sample(r)));
        self.unflushed += 1;
        if res.is_ok() && self.unflushed >= FLUSH_EVERY {
            self.unflushed = 0;
            res = w.flush();
        }
        if let Err(e) = res {
            tracing::warn!("recording {} stopped: {e}", self.path.display());
            self.writer = None;
        }
    }

    /// Finalises the header and closes the file.
    pub fn finish(&mut self) {
        if let Some(w) = self.writer.take() {
            if let Err(e) = w.finalize() {
                tracing::warn!("finishing recording {}: {e}", self.path.display());
            }
        }
    }
}

impl Drop for Recording {
    fn drop(&mut self) {
        self.finish();
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn stereo_frames_are_readable_before_and_after_finish() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a/b/rec.wav");
        let mut r = Recording::create(&path).unwrap();
        // Valid (empty) from the start.
        assert_eq!(hound::WavReader::open(&path).unwrap().len(), 0);
        for _ in 0..FLUSH_EVERY {
            r.write(&[1; FRAME], &[-2; FRAME]);
        }
        // Flushed without finishing: the header counts both channels.
        let n = hound::WavReader::open(&path).unwrap().len();
        assert_eq!(n, 2 * FLUSH_EVERY * FRAME as u32);
        r.write(&[3; FRAME], &[4; FRAME]);
        r.finish();
        r.write(&[5; FRAME], &[6; FRAME]); // closed: ignored
        let mut reader = hound::WavReader::open(&path).unwrap();
        assert_eq!(reader.spec(), spec_8k_stereo());
        let s: Vec<i16> = reader.samples::<i16>().map(|s| s.unwrap()).collect();
        assert_eq!(s.len(), 2 * (FLUSH_EVERY as usize + 1) * FRAME);
        assert_eq!(&s[..2], &[1, -2]);
        assert_eq!(&s[s.len() - 2..], &[3, 4]);
    }

    #[test]
    fn an_impossible_path_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("plain");
        std::fs::write(&file, b"x").unwrap();
        let e = Recording::create(&file.join("rec.wav")).unwrap_err();
        assert!(matches!(e, MediaError::Audio(_)), "{e}");
        assert!(Recording::create(dir.path()).is_err());
    }
}
