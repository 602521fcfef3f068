//! A call recording (docs/control.md `record`): a 16-bit, stereo WAV
//! whose left channel is what the call sends and whose right channel is
//! what it receives, one 20 ms frame per tick, at the rate of the call's
//! codec when the recording's first frame came (8 kHz for G.711, 16 kHz
//! for G.722, 48 kHz for Opus); frames at another rate later (the codec
//! changed) are converted to the file's rate, except when an outgoing
//! call's answer settles its rate ([`Recording::convert_to`]: the file so
//! far is converted to the answer's rate).
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

use crate::media::audio::wav::{Converter, WavRecorder};
#[cfg(test)]
use crate::media::jitter::FRAME;
use crate::media::Result;
use std::path::Path;

/// Frames between header updates and buffer flushes.
pub const FLUSH_EVERY: u32 = 10;

/// One open recording.
#[derive(Debug)]
pub struct Recording {
    wav: WavRecorder,
    /// Left and right from the frames' rate to the file's, once they differ.
    conv: Option<Box<(Converter, Converter)>>,
    left: Vec<i16>,
    right: Vec<i16>,
    frame: Vec<i16>,
}

impl Recording {
    /// Creates `path` (and its parent directories) with a valid, empty WAV.
    pub fn create(path: &Path) -> Result<Recording> {
        Ok(Recording {
            wav: WavRecorder::create(path, 2, FLUSH_EVERY)?,
            conv: None,
            left: Vec::new(),
            right: Vec::new(),
            frame: Vec::new(),
        })
    }

    /// Appends one 8 kHz frame: `sent` on the left, `received` on the right.
    #[cfg(test)]
    pub fn write(&mut self, sent: &[i16; FRAME], received: &[i16; FRAME]) {
        self.write_at(8000, sent, received);
    }

    /// Appends one frame at `rate` Hz: `sent` on the left, `received` on
    /// the right (the same length).
    pub fn write_at(&mut self, rate: u32, sent: &[i16], received: &[i16]) {
        self.left.clear();
        self.right.clear();
        if self.wav.rate() == rate || self.wav.restart_at(rate) {
            self.conv = None;
            self.left.extend_from_slice(sent);
            self.right.extend_from_slice(received);
        } else {
            let to = self.wav.rate();
            if self
                .conv
                .as_ref()
                .is_none_or(|pair| pair.0.from_rate() != rate)
            {
                self.conv = None;
            }
            let pair = self.conv.get_or_insert_with(|| {
                Box::new((Converter::new(rate, to), Converter::new(rate, to)))
            });
            let (l, r) = &mut **pair;
            l.convert(sent, &mut self.left);
            r.convert(received, &mut self.right);
        }
        self.frame.clear();
        for (&l, &r) in self.left.iter().zip(&self.right) {
            self.frame.push(l);
            self.frame.push(r);
        }
        self.wav.write(&self.frame);
    }

    /// Brings what is recorded to `rate` Hz and records at it from now on
    /// (the call's rate settled by the answer, see `answer_rate.rs`).
    pub fn convert_to(&mut self, rate: u32) {
        if self.wav.convert_to(rate) {
            self.conv = None;
        }
    }

    /// Finalises the header and closes the file.
    pub fn finish(&mut self) {
        self.wav.finish();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::audio::wav::spec_8k;
    use crate::media::MediaError;

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
        assert_eq!(reader.spec(), spec_8k(2));
        let s: Vec<i16> = reader.samples::<i16>().map(|s| s.unwrap()).collect();
        assert_eq!(s.len(), 2 * (FLUSH_EVERY as usize + 1) * FRAME);
        assert_eq!(&s[..2], &[1, -2]);
        assert_eq!(&s[s.len() - 2..], &[3, 4]);
    }

    #[test]
    fn a_wideband_call_records_at_its_rate_and_converts_later_frames() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("wide.wav");
        let mut r = Recording::create(&path).unwrap();
        r.write_at(16_000, &[7; 320], &[-7; 320]);
        // The codec changed to G.711: 160 samples become about 320.
        for _ in 0..10 {
            r.write(&[1; FRAME], &[2; FRAME]);
        }
        r.finish();
        let reader = hound::WavReader::open(&path).unwrap();
        assert_eq!(reader.spec().sample_rate, 16_000);
        assert_eq!(reader.spec().channels, 2);
        let n = reader.len() as usize / 2;
        assert!(
            (320 + 10 * 320 - 4..=320 + 10 * 320 + 4).contains(&n),
            "{n}"
        );
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
