//! WAV helpers: reading any PCM/float WAV into mono samples at the rate a
//! call wants (8 kHz unless told otherwise), the crash-tolerant 16-bit
//! writer behind the file backend's playout files and call recordings (8
//! kHz, or the rate of the call's codec), and [`Converter`] for audio that
//! arrives at another rate than its file's. Every rate conversion here (a
//! 44.1 kHz WAV into a 16 kHz call, a recording brought to the answered
//! codec's rate, frames at another rate than the file's) goes through the
//! band-limited converter (`resample::BandLimited`): a wideband band is
//! kept to 7 kHz and nothing folds into it. Must not touch the backends'
//! framing or the calls: it reads, writes and converts samples only.

use super::resample::BandLimited;
use crate::media::{MediaError, Result};
use std::fs::File;
use std::io::{BufReader, BufWriter};
use std::path::{Path, PathBuf};

/// A WAV file read as it plays: any rate, any channel count, 8–32-bit
/// integer or 32-bit float, converted chunk by chunk to mono 16-bit at
/// [`WavStream::rate`] (8 kHz until [`WavStream::set_rate`]).
/// Memory does not grow with the file's length (an hour of hold music costs
/// the same as a second), and [`WavStream::rewind`] starts it again.
pub struct WavStream {
    reader: hound::WavReader<BufReader<File>>,
    spec: hound::WavSpec,
    /// Integer samples times this are in [-1, 1).
    scale: f32,
    /// The rate samples come out at.
    rate: u32,
    resampler: BandLimited,
    mono: Vec<f32>,
    converted: Vec<f32>,
}

impl std::fmt::Debug for WavStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WavStream")
            .field("spec", &self.spec)
            .finish()
    }
}

/// Input frames converted per [`WavStream::next_chunk`].
const CHUNK: usize = 1024;

impl WavStream {
    pub fn open(path: &Path) -> Result<WavStream> {
        let reader = hound::WavReader::open(path)
            .map_err(|e| MediaError::Audio(format!("{}: {e}", path.display())))?;
        let spec = reader.spec();
        Ok(WavStream {
            reader,
            spec,
            scale: 1.0 / (1u64 << (spec.bits_per_sample.clamp(1, 32) - 1)) as f32,
            rate: 8000,
            resampler: BandLimited::new(spec.sample_rate.max(1), 8000),
            mono: Vec::with_capacity(CHUNK),
            converted: Vec::with_capacity(CHUNK),
        })
    }

    /// The rate [`WavStream::next_chunk`] converts to.
    pub fn rate(&self) -> u32 {
        self.rate
    }

    /// Converts to `rate` Hz from the next chunk on.
    pub fn set_rate(&mut self, rate: u32) {
        let rate = rate.max(1);
        if rate != self.rate {
            self.rate = rate;
            self.resampler = BandLimited::new(self.spec.sample_rate.max(1), rate);
        }
    }

    /// Frames (samples per channel) in the file.
    pub fn frames(&self) -> u32 {
        self.reader.duration()
    }

    /// Appends the next converted samples to `out`; `Ok(false)` at the end
    /// of the file.
    pub fn next_chunk(&mut self, out: &mut Vec<i16>) -> std::result::Result<bool, hound::Error> {
        self.mono.clear();
        let channels = usize::from(self.spec.channels.max(1));
        match self.spec.sample_format {
            hound::SampleFormat::Float => {
                let samples = self.reader.samples::<f32>();
                downmix(samples, channels, |v| v, &mut self.mono)?;
            }
            hound::SampleFormat::Int => {
                let scale = self.scale;
                let samples = self.reader.samples::<i32>();
                downmix(samples, channels, |v| v as f32 * scale, &mut self.mono)?;
            }
        }
        if self.mono.is_empty() {
            return Ok(false);
        }
        self.converted.clear();
        self.resampler.process(&self.mono, &mut self.converted);
        out.extend(
            self.converted
                .iter()
                .map(|s| (s * 32768.0).round().clamp(-32768.0, 32767.0) as i16),
        );
        Ok(true)
    }

    /// Back to the first sample.
    pub fn rewind(&mut self) -> std::result::Result<(), hound::Error> {
        self.reader.seek(0)?;
        self.resampler = BandLimited::new(self.spec.sample_rate.max(1), self.rate);
        Ok(())
    }
}

/// Reads up to [`CHUNK`] frames of `channels` samples, averaged into `mono`.
/// A partial frame at the end of the file is dropped.
fn downmix<S: hound::Sample>(
    mut samples: impl Iterator<Item = std::result::Result<S, hound::Error>>,
    channels: usize,
    to_f32: impl Fn(S) -> f32,
    mono: &mut Vec<f32>,
) -> std::result::Result<(), hound::Error> {
    while mono.len() < CHUNK {
        let mut sum = 0.0;
        for _ in 0..channels {
            match samples.next() {
                Some(s) => sum += to_f32(s?),
                None => return Ok(()),
            }
        }
        mono.push(sum / channels as f32);
    }
    Ok(())
}

/// The whole of `path` as 8 kHz mono 16-bit, in a buffer of its size.
#[cfg(test)]
pub fn read_8k_mono(path: &Path) -> Result<Vec<i16>> {
    let mut stream = WavStream::open(path)?;
    let mut out = Vec::with_capacity(
        stream.frames() as usize * 8000 / stream.spec.sample_rate.max(1) as usize + 16,
    );
    while stream
        .next_chunk(&mut out)
        .map_err(|e| MediaError::Audio(format!("{}: {e}", path.display())))?
    {}
    Ok(out)
}

/// The spec of every recording: 8 kHz, mono, 16-bit.
pub fn spec_8k_mono() -> hound::WavSpec {
    spec_8k(1)
}

/// 8 kHz, 16-bit, `channels` channels.
pub fn spec_8k(channels: u16) -> hound::WavSpec {
    spec_at(channels, 8000)
}

/// `rate` Hz, 16-bit, `channels` channels.
pub fn spec_at(channels: u16, rate: u32) -> hound::WavSpec {
    hound::WavSpec {
        channels,
        sample_rate: rate.max(1),
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    }
}

/// Converts one channel of 16-bit audio between two rates as it streams
/// (band-limited; samples pass unchanged between equal rates).
#[derive(Debug, Clone)]
pub struct Converter {
    from: u32,
    resampler: BandLimited,
    input: Vec<f32>,
    output: Vec<f32>,
}

impl Converter {
    pub fn new(from: u32, to: u32) -> Converter {
        Converter {
            from,
            resampler: BandLimited::new(from, to),
            input: Vec::new(),
            output: Vec::new(),
        }
    }

    /// The rate it converts from.
    pub fn from_rate(&self) -> u32 {
        self.from
    }

    /// Converts `input`, appending the result to `out`.
    pub fn convert(&mut self, input: &[i16], out: &mut Vec<i16>) {
        self.input.clear();
        self.input.extend(input.iter().map(|&s| f32::from(s)));
        self.output.clear();
        self.resampler.process(&self.input, &mut self.output);
        out.extend(
            self.output
                .iter()
                .map(|&x| x.round().clamp(-32768.0, 32767.0) as i16),
        );
    }
}

/// An 8 kHz 16-bit WAV written frame by frame and valid at any moment:
/// every `flush_every` frames the header is brought up to date and the
/// buffer written out, so a crash leaves a readable file missing at most
/// those frames. A write error closes it (logged once) rather than
/// disturbing the call.
pub struct WavRecorder {
    path: PathBuf,
    writer: Option<hound::WavWriter<BufWriter<File>>>,
    channels: u16,
    rate: u32,
    /// Whether any sample went in.
    written: bool,
    flush_every: u32,
    unflushed: u32,
}

impl std::fmt::Debug for WavRecorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WavRecorder")
            .field("path", &self.path)
            .field("open", &self.writer.is_some())
            .finish()
    }
}

impl WavRecorder {
    /// Creates `path` (and its parent directories) with a valid, empty WAV
    /// of `channels` channels, flushed every `flush_every` frames (at least 1).
    pub fn create(path: &Path, channels: u16, flush_every: u32) -> Result<WavRecorder> {
        WavRecorder::create_at(path, channels, 8000, flush_every)
    }

    /// [`WavRecorder::create`] at `rate` Hz.
    pub fn create_at(
        path: &Path,
        channels: u16,
        rate: u32,
        flush_every: u32,
    ) -> Result<WavRecorder> {
        let err = |e: &dyn std::fmt::Display| {
            MediaError::Audio(format!("recording {}: {e}", path.display()))
        };
        use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)
                .map_err(|e| err(&e))?;
        }
        // A recording is a conversation: readable by us alone.
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(path)
            .map_err(|e| err(&e))?;
        let spec = spec_at(channels, rate);
        let mut writer =
            hound::WavWriter::new(std::io::BufWriter::new(file), spec).map_err(|e| err(&e))?;
        writer.flush().map_err(|e| err(&e))?;
        Ok(WavRecorder {
            path: path.to_path_buf(),
            writer: Some(writer),
            channels,
            rate: spec.sample_rate,
            written: false,
            flush_every: flush_every.max(1),
            unflushed: 0,
        })
    }

    /// The file's rate.
    pub fn rate(&self) -> u32 {
        self.rate
    }

    /// Brings the whole file to `rate` Hz: what is in it is read back,
    /// converted and written anew at `rate`, and later frames go in at
    /// `rate`. For audio recorded before the call's codec was known (an
    /// outgoing call's ringback, at the rate of the codec we offered
    /// first): the answer decides the file's rate. `false` (the file keeps
    /// its rate and content) when it is closed or cannot be rewritten.
    pub fn convert_to(&mut self, rate: u32) -> bool {
        if self.writer.is_none() {
            return false;
        }
        if rate == self.rate {
            return true;
        }
        if !self.written {
            return self.restart_at(rate);
        }
        let from = self.rate;
        self.finish();
        let samples: Vec<i16> = match hound::WavReader::open(&self.path) {
            Ok(mut r) => r.samples::<i16>().filter_map(|s| s.ok()).collect(),
            Err(e) => {
                tracing::warn!("recording {} stopped: {e}", self.path.display());
                return false;
            }
        };
        let channels = usize::from(self.channels.max(1));
        let mut converted: Vec<Vec<i16>> = Vec::with_capacity(channels);
        for c in 0..channels {
            let one: Vec<i16> = samples.iter().skip(c).step_by(channels).copied().collect();
            let mut out = Vec::new();
            Converter::new(from, rate).convert(&one, &mut out);
            converted.push(out);
        }
        let frames = converted.iter().map(Vec::len).min().unwrap_or(0);
        match WavRecorder::create_at(&self.path, self.channels, rate, self.flush_every) {
            Ok(mut fresh) => {
                let mut interleaved = Vec::with_capacity(frames * channels);
                for i in 0..frames {
                    interleaved.extend(converted.iter().map(|ch| ch[i]));
                }
                fresh.write(&interleaved);
                *self = fresh;
                true
            }
            Err(e) => {
                tracing::warn!("recording {} stopped: {e}", self.path.display());
                false
            }
        }
    }

    /// Starts the file again at `rate` Hz if nothing has been written yet
    /// (the call's codec is known only now); `false` when samples are
    /// already in it (or it is closed) and it keeps its rate.
    pub fn restart_at(&mut self, rate: u32) -> bool {
        if self.written || self.writer.is_none() {
            return false;
        }
        if rate == self.rate {
            return true;
        }
        // Finalising an empty file first keeps it valid if creating fails.
        self.finish();
        match WavRecorder::create_at(&self.path, self.channels, rate, self.flush_every) {
            Ok(fresh) => {
                *self = fresh;
                true
            }
            Err(e) => {
                tracing::warn!("recording {} stopped: {e}", self.path.display());
                false
            }
        }
    }

    /// Appends one frame of interleaved samples.
    pub fn write(&mut self, samples: &[i16]) {
        let Some(w) = self.writer.as_mut() else {
            return;
        };
        let mut res = samples.iter().try_for_each(|&s| w.write_sample(s));
        self.written |= !samples.is_empty();
        self.unflushed += 1;
        if res.is_ok() && self.unflushed >= self.flush_every {
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

impl Drop for WavRecorder {
    fn drop(&mut self) {
        self.finish();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::tone::{goertzel_power, sine};

    #[test]
    fn convert_to_rewrites_what_is_recorded_at_the_new_rate() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.wav");
        let mut w = WavRecorder::create_at(&path, 2, 16_000, 3).unwrap();
        // 0.5 s of a 1 kHz tone left and 500 Hz right, at 16 kHz.
        let (l, r) = (sine(1000.0, 0.5, 16_000), sine(500.0, 0.5, 16_000));
        for (a, b) in l.chunks(320).zip(r.chunks(320)) {
            let frame: Vec<i16> = a.iter().zip(b).flat_map(|(&x, &y)| [x, y]).collect();
            w.write(&frame);
        }
        assert!(w.convert_to(8000));
        assert_eq!(w.rate(), 8000);
        // Later frames at 8 kHz go straight in.
        w.write(&[0; 320]);
        w.finish();
        assert!(!w.convert_to(16_000), "closed");
        let mut rd = hound::WavReader::open(&path).unwrap();
        assert_eq!(rd.spec().sample_rate, 8000);
        assert_eq!(rd.spec().channels, 2);
        let s: Vec<i16> = rd.samples::<i16>().map(|s| s.unwrap()).collect();
        // About 0.5 s at 8 kHz (the resampler may hold back a sample), plus 160.
        assert!(
            (2 * (4000 + 160) - 8..=2 * (4000 + 160)).contains(&s.len()),
            "{}",
            s.len()
        );
        let left: Vec<i16> = s.iter().step_by(2).take(4000).copied().collect();
        let right: Vec<i16> = s.iter().skip(1).step_by(2).take(4000).copied().collect();
        assert!(goertzel_power(&left[400..], 8000, 1000.0) > 0.05);
        assert!(goertzel_power(&right[400..], 8000, 500.0) > 0.05);
        assert!(goertzel_power(&left[400..], 8000, 500.0) < 1e-3);
        // Nothing written yet: a plain restart at the new rate.
        let mut e = WavRecorder::create_at(&path, 1, 8000, 3).unwrap();
        assert!(e.convert_to(48_000) && e.rate() == 48_000 && e.convert_to(48_000));
    }

    #[test]
    fn a_recording_is_private_to_us() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("recordings/call.wav");
        let rec = WavRecorder::create(&path, 2, 1).unwrap();
        drop(rec);
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(path.parent().unwrap()), 0o700);
    }

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

    /// A 44.1 kHz WAV read at a wideband call's 16 kHz: a 7 kHz tone
    /// keeps its level within 1 dB, and nothing folds into the band (the
    /// converter's products of 44.1 ± 7 kHz land at 3.1 and 5.1 kHz).
    #[test]
    fn reads_44k1_at_16k_keeping_7_khz_without_aliases() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("in.wav");
        let mut w = hound::WavWriter::create(&path, spec_at(1, 44_100)).unwrap();
        for s in sine(7000.0, 1.0, 44_100) {
            w.write_sample(s).unwrap();
        }
        w.finalize().unwrap();
        let mut stream = WavStream::open(&path).unwrap();
        stream.set_rate(16_000);
        let mut pcm = Vec::new();
        while stream.next_chunk(&mut pcm).unwrap() {}
        assert!(pcm.len().abs_diff(16_000) <= 2, "{}", pcm.len());
        let steady = &pcm[1600..15_000];
        let tone = goertzel_power(steady, 16_000, 7000.0);
        // Half full scale: 0.125.
        let level = 10.0 * (tone / 0.125).log10();
        let alias =
            [3100.0, 5100.0].map(|f| 10.0 * (goertzel_power(steady, 16_000, f) / tone).log10());
        assert!(
            level.abs() < 1.0 && alias.iter().all(|&a| a < -40.0),
            "7 kHz at {level:.2} dB, 3.1 and 5.1 kHz at {alias:.1?} dB"
        );
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
        let mut r = WavRecorder::create(&path, 1, 1).unwrap();
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
