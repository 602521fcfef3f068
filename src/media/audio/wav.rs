//! WAV helpers: reading any PCM/float WAV into 8 kHz mono samples, and a
//! crash-tolerant 8 kHz mono 16-bit writer (the header is brought up to date
//! after every frame).

use super::resample::Resampler;
use crate::media::{MediaError, Result};
use std::fs::File;
use std::io::BufWriter;
use std::path::Path;

/// Reads `path` (any rate, any channel count, 8–32-bit integer or 32-bit
/// float) and converts it to 8 kHz mono 16-bit. The file is converted in
/// chunks: the result is the only buffer that grows with the file's length
/// (a minute of audio is 960 KB), so a long hold-music or test WAV does not
/// leave several float copies of itself behind in the allocator.
pub fn read_8k_mono(path: &Path) -> Result<Vec<i16>> {
    let err = |e: hound::Error| MediaError::Audio(format!("{}: {e}", path.display()));
    let mut reader = hound::WavReader::open(path).map_err(err)?;
    let spec = reader.spec();
    let channels = usize::from(spec.channels.max(1));
    let rate = spec.sample_rate.max(1);
    let frames = reader.duration() as usize;
    // A few more than the exact count: the resampler may emit one extra.
    let mut out = Vec::with_capacity(frames * 8000 / rate as usize + 16);
    let mut resampler = Resampler::new(rate, 8000);
    let scale = 1.0 / (1u64 << (spec.bits_per_sample.clamp(1, 32) - 1)) as f32;
    let mut samples: Box<dyn Iterator<Item = hound::Result<f32>>> = match spec.sample_format {
        hound::SampleFormat::Float => Box::new(reader.samples::<f32>()),
        hound::SampleFormat::Int => Box::new(
            reader
                .samples::<i32>()
                .map(move |s| s.map(|v| v as f32 * scale)),
        ),
    };
    const CHUNK: usize = 4096;
    let mut mono = Vec::with_capacity(CHUNK);
    let mut converted = Vec::with_capacity(CHUNK * 8);
    let mut done = false;
    while !done {
        mono.clear();
        while mono.len() < CHUNK {
            let mut sum = 0.0;
            let mut n = 0;
            for s in samples.by_ref().take(channels) {
                sum += s.map_err(err)?;
                n += 1;
            }
            if n == 0 {
                done = true;
                break;
            }
            mono.push(sum / n as f32);
        }
        converted.clear();
        resampler.process(&mono, &mut converted);
        out.extend(
            converted
                .iter()
                .map(|s| (s * 32768.0).round().clamp(-32768.0, 32767.0) as i16),
        );
    }
    Ok(out)
}

/// The spec of every recording: 8 kHz, mono, 16-bit.
pub fn spec_8k_mono() -> hound::WavSpec {
    hound::WavSpec {
        channels: 1,
        sample_rate: 8000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    }
}

/// An 8 kHz mono WAV written frame by frame, usable even if never finalised.
pub struct WavRecorder {
    writer: Option<hound::WavWriter<BufWriter<File>>>,
}

impl std::fmt::Debug for WavRecorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WavRecorder")
            .field("open", &self.writer.is_some())
            .finish()
    }
}

impl WavRecorder {
    pub fn create(path: &Path) -> Result<WavRecorder> {
        let writer = hound::WavWriter::create(path, spec_8k_mono())
            .map_err(|e| MediaError::Audio(format!("{}: {e}", path.display())))?;
        Ok(WavRecorder {
            writer: Some(writer),
        })
    }

    /// Appends samples and updates the header; a write error closes the
    /// recording (logged once) rather than disturbing the call.
    pub fn write(&mut self, samples: &[i16]) {
        let Some(w) = self.writer.as_mut() else {
            return;
        };
        let res = samples
            .iter()
            .try_for_each(|&s| w.write_sample(s))
            .and_then(|()| w.flush());
        if let Err(e) = res {
            tracing::warn!("recording stopped: {e}");
            self.writer = None;
        }
    }

    /// Finalises the header and closes the file.
    pub fn finish(&mut self) {
        if let Some(w) = self.writer.take() {
            if let Err(e) = w.finalize() {
                tracing::warn!("finishing recording: {e}");
            }
        }
    }
}

impl Drop for WavRecorder {
    fn drop(&mut self) {
        self.finish();
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::media::tone::{goertzel_power, sine};

    #[test]
    fn reads_stereo_float_44k1_as_8k_mono() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("in.wav");
        let spec = hound::WavSpec {
            channels: 2,
            sample_rate: 44100,
            bits_per_sample: 32,
            sample_format: hound::SampleFormat::Float,
        };
        let mut w = hound::WavWriter::create(&path, spec).unwrap();
        for s in sine(700.0, 0.5, 44100) {
            let v = f32::from(s) / 32768.0;
            w.write_sample(v).unwrap();
            w.write_sample(v).unwrap();
        }
        w.finalize().unwrap();
        let pcm = read_8k_mono(&path).unwrap();
        assert!((pcm.len() as i64 - 4000).abs() <= 2);
        assert!(goertzel_power(&pcm[100..], 8000, 700.0) > 0.1);
    }

    #[test]
    fn reads_24_bit_and_rejects_garbage() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("in.wav");
        let spec = hound::WavSpec {
            channels: 1,
            sample_rate: 16000,
            bits_per_sample: 24,
            sample_format: hound::SampleFormat::Int,
        };
        let mut w = hound::WavWriter::create(&path, spec).unwrap();
        for s in sine(500.0, 0.25, 16000) {
            w.write_sample(i32::from(s) << 8).unwrap();
        }
        w.finalize().unwrap();
        let pcm = read_8k_mono(&path).unwrap();
        assert!(goertzel_power(&pcm[100..], 8000, 500.0) > 0.1);
        // Half of 4000 input samples, in a buffer sized for them (no doubling).
        assert!((pcm.len() as i64 - 2000).abs() <= 2, "{}", pcm.len());
        assert!(pcm.capacity() <= pcm.len() + 16, "{}", pcm.capacity());
        let bad = dir.path().join("bad.wav");
        std::fs::write(&bad, b"not a wav at all").unwrap();
        assert!(read_8k_mono(&bad).is_err());
        assert!(read_8k_mono(&dir.path().join("missing.wav")).is_err());
    }

    #[test]
    fn recorder_file_is_readable_before_and_after_finish() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.wav");
        let mut r = WavRecorder::create(&path).unwrap();
        r.write(&[1; 160]);
        // Not finalised yet: the header already says 160 samples.
        let n = hound::WavReader::open(&path).unwrap().len();
        assert_eq!(n, 160);
        r.write(&[2; 160]);
        r.finish();
        let reader = hound::WavReader::open(&path).unwrap();
        assert_eq!(reader.spec(), spec_8k_mono());
        assert_eq!(reader.len(), 320);
    }
}
