//! Test audio: sine WAVs written with `hound`, raw PCMU files for SIPp's
//! `rtp_stream`, and a Goertzel filter measuring how much of a WAV's energy
//! sits at one frequency (any sample rate, mono or stereo).

use std::path::Path;

/// Sample `i` of a `freq` Hz sine at `rate` Hz, at amplitude `amp` of full scale.
fn sine_sample(freq: f64, rate: u32, i: usize, amp: f64) -> i16 {
    let t = i as f64 / rate as f64;
    ((2.0 * std::f64::consts::PI * freq * t).sin() * amp * i16::MAX as f64) as i16
}

/// Writes `secs` seconds of a `freq` Hz sine (amplitude 0.5 of full scale) as 16-bit mono WAV.
pub fn write_sine_wav(path: &Path, freq: f64, rate: u32, secs: f64) {
    write_sine_wav_amp(path, freq, rate, secs, 0.5);
}

/// G.711 μ-law encoding of one 16-bit sample.
pub fn linear_to_ulaw(sample: i16) -> u8 {
    const BIAS: i32 = 0x84;
    const CLIP: i32 = 32635;
    let mut s = sample as i32;
    let sign = if s < 0 {
        s = -s;
        0x80
    } else {
        0
    };
    s = s.min(CLIP) + BIAS;
    let mut exponent = 7;
    let mut mask = 0x4000;
    while exponent > 0 && s & mask == 0 {
        exponent -= 1;
        mask >>= 1;
    }
    let mantissa = (s >> (exponent + 3)) & 0x0f;
    !(sign | (exponent << 4) | mantissa) as u8
}

/// Writes `secs` seconds of a `freq` Hz sine as raw 8 kHz PCMU (for SIPp `rtp_stream`).
pub fn write_sine_ulaw(path: &Path, freq: f64, secs: f64) {
    let n = (8000.0 * secs) as usize;
    let bytes: Vec<u8> = (0..n)
        .map(|i| linear_to_ulaw(sine_sample(freq, 8000, i, 0.5)))
        .collect();
    std::fs::write(path, bytes).expect("write ulaw");
}

/// A WAV file's samples mixed down to mono in [-1, 1], with its sample rate.
pub fn read_mono(path: &Path) -> (Vec<f64>, u32) {
    let mut r =
        hound::WavReader::open(path).unwrap_or_else(|e| panic!("open wav {}: {e}", path.display()));
    let spec = r.spec();
    let ch = spec.channels.max(1) as usize;
    let raw: Vec<f64> = match spec.sample_format {
        hound::SampleFormat::Float => r
            .samples::<f32>()
            .filter_map(|s| s.ok())
            .map(f64::from)
            .collect(),
        hound::SampleFormat::Int => {
            let scale = (1i64 << (spec.bits_per_sample.clamp(8, 32) - 1)) as f64;
            r.samples::<i32>()
                .filter_map(|s| s.ok())
                .map(|s| s as f64 / scale)
                .collect()
        }
    };
    let mono = raw
        .chunks(ch)
        .map(|c| c.iter().sum::<f64>() / c.len() as f64)
        .collect();
    (mono, spec.sample_rate)
}

/// Root mean square of the samples (full scale sine = 0.707).
pub fn rms(samples: &[f64]) -> f64 {
    if samples.is_empty() {
        return 0.0;
    }
    (samples.iter().map(|s| s * s).sum::<f64>() / samples.len() as f64).sqrt()
}

/// Share of the signal's energy at `freq` (0..≈1): Goertzel power over 50 ms
/// blocks relative to the blocks' total energy. A pure tone at `freq` gives
/// about 1, silence or other tones about 0.
pub fn tone_share(samples: &[f64], rate: u32, freq: f64) -> f64 {
    let n = (rate as usize / 20).max(16);
    let mut tone = 0.0;
    let mut total = 0.0;
    for block in samples.chunks_exact(n) {
        tone += tone_energy(block, rate, freq);
        total += block.iter().map(|x| x * x).sum::<f64>();
    }
    if total <= f64::EPSILON {
        0.0
    } else {
        tone / total
    }
}

/// What a WAV holds: length, loudness and the share of each asked frequency.
#[derive(Debug, Clone)]
pub struct ToneReport {
    pub secs: f64,
    pub rms: f64,
    pub shares: Vec<(f64, f64)>,
}

impl ToneReport {
    pub fn share(&self, freq: f64) -> f64 {
        self.shares
            .iter()
            .find(|(f, _)| (*f - freq).abs() < 0.5)
            .map(|(_, s)| *s)
            .unwrap_or(0.0)
    }
}

pub fn analyze(path: &Path, freqs: &[f64]) -> ToneReport {
    let (s, rate) = read_mono(path);
    ToneReport {
        secs: s.len() as f64 / rate.max(1) as f64,
        rms: rms(&s),
        shares: freqs
            .iter()
            .map(|f| (*f, tone_share(&s, rate, *f)))
            .collect(),
    }
}

/// Asserts the WAV is not silent, carries `present` Hz and not `absent` Hz.
pub fn assert_tone(path: &Path, present: f64, absent: f64) {
    let r = analyze(path, &[present, absent]);
    assert!(r.rms > 0.01, "{} is silent: {r:?}", path.display());
    assert!(
        r.share(present) > 0.3,
        "{} lacks {present} Hz: {r:?}",
        path.display()
    );
    assert!(
        r.share(absent) < 0.05,
        "{} carries {absent} Hz: {r:?}",
        path.display()
    );
}

/// For each `block_ms` block of the WAV: whether `freq` dominates it (share above
/// 0.3 and the block not silent). Lets a test find when a tone was heard.
pub fn tone_blocks(path: &Path, freq: f64, block_ms: u32) -> Vec<bool> {
    let (s, rate) = read_mono(path);
    let n = ((rate as usize * block_ms as usize) / 1000).max(16);
    s.chunks_exact(n)
        .map(|b| rms(b) > 0.01 && block_share(b, rate, freq) > 0.3)
        .collect()
}

/// Energy of the `freq` component of one block (a single Goertzel over it),
/// on the scale of the block's total energy (sum of squares).
fn tone_energy(block: &[f64], rate: u32, freq: f64) -> f64 {
    let coeff = 2.0 * (2.0 * std::f64::consts::PI * freq / rate as f64).cos();
    let (mut s1, mut s2) = (0.0f64, 0.0f64);
    for &x in block {
        let s0 = x + coeff * s1 - s2;
        s2 = s1;
        s1 = s0;
    }
    let power = s1 * s1 + s2 * s2 - coeff * s1 * s2;
    2.0 * power / block.len() as f64
}

/// Share of one block's energy at `freq`.
fn block_share(block: &[f64], rate: u32, freq: f64) -> f64 {
    let total: f64 = block.iter().map(|x| x * x).sum();
    if total <= f64::EPSILON {
        0.0
    } else {
        tone_energy(block, rate, freq) / total
    }
}

/// Seconds of the WAV (in 100 ms blocks) in which `freq` dominates.
pub fn tone_secs(path: &Path, freq: f64) -> f64 {
    tone_blocks(path, freq, 100).iter().filter(|b| **b).count() as f64 / 10.0
}

/// Seconds in which `freq` dominates between `from_s` and `to_s` of the WAV.
pub fn tone_secs_between(path: &Path, freq: f64, from_s: f64, to_s: f64) -> f64 {
    let blocks = tone_blocks(path, freq, 100);
    let (a, b) = ((from_s * 10.0) as usize, (to_s * 10.0) as usize);
    blocks
        .iter()
        .enumerate()
        .filter(|(i, on)| **on && *i >= a && *i < b)
        .count() as f64
        / 10.0
}

/// Length in seconds of the longest run of consecutive 100 ms blocks where `freq`
/// dominates.
pub fn longest_tone_run(path: &Path, freq: f64) -> f64 {
    let mut best = 0usize;
    let mut cur = 0usize;
    for on in tone_blocks(path, freq, 100) {
        cur = if on { cur + 1 } else { 0 };
        best = best.max(cur);
    }
    best as f64 / 10.0
}

/// Writes `secs` seconds of a `freq` Hz sine at amplitude `amp` (of full
/// scale) as 16-bit mono WAV; mixes of several such tones stay below full
/// scale when their amplitudes add up to less than 1.
pub fn write_sine_wav_amp(path: &Path, freq: f64, rate: u32, secs: f64, amp: f64) {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(path, spec).expect("create wav");
    let n = (rate as f64 * secs) as usize;
    for i in 0..n {
        w.write_sample(sine_sample(freq, rate, i, amp))
            .expect("write sample");
    }
    w.finalize().expect("finalize wav");
}

/// The samples of a WAV that may still be being written (mono in [-1, 1],
/// with its sample rate), or None while it has no complete header. The
/// data chunk is read to the end of the file whatever its header says, so
/// a writer that fixes the sizes only when it closes (libsndfile, used by
/// baresip's sndfile) can be read mid-call. 16-bit PCM and 32-bit float.
pub fn read_mono_growing(path: &Path) -> Option<(Vec<f64>, u32)> {
    let bytes = std::fs::read(path).ok()?;
    if bytes.len() < 12 || &bytes[0..4] != b"RIFF" || &bytes[8..12] != b"WAVE" {
        return None;
    }
    let u16_at = |i: usize| u16::from_le_bytes([bytes[i], bytes[i + 1]]);
    let u32_at =
        |i: usize| u32::from_le_bytes([bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3]]);
    let mut pos = 12;
    let mut fmt: Option<(u16, u16, u32, u16)> = None;
    while pos + 8 <= bytes.len() {
        let id = &bytes[pos..pos + 4];
        let size = u32_at(pos + 4) as usize;
        let body = pos + 8;
        if id == b"fmt " && body + 16 <= bytes.len() {
            fmt = Some((
                u16_at(body),
                u16_at(body + 2),
                u32_at(body + 4),
                u16_at(body + 14),
            ));
        } else if id == b"data" {
            let (tag, channels, rate, bits) = fmt?;
            let rest = bytes.len() - body;
            // The declared size counts only when something else follows it.
            let declared_end = body + size;
            let len = if size > 0
                && size < rest
                && bytes.len() >= declared_end + 4
                && bytes[declared_end..declared_end + 4]
                    .iter()
                    .all(|b| b.is_ascii_alphanumeric() || *b == b' ')
            {
                size
            } else {
                rest
            };
            let data = &bytes[body..body + len];
            let ch = channels.max(1) as usize;
            let raw: Vec<f64> = match (tag, bits) {
                (3, 32) => data
                    .chunks_exact(4)
                    .map(|c| f64::from(f32::from_le_bytes([c[0], c[1], c[2], c[3]])))
                    .collect(),
                (_, 16) => data
                    .chunks_exact(2)
                    .map(|c| f64::from(i16::from_le_bytes([c[0], c[1]])) / 32768.0)
                    .collect(),
                _ => return None,
            };
            let mono = raw
                .chunks_exact(ch)
                .map(|c| c.iter().sum::<f64>() / ch as f64)
                .collect();
            return Some((mono, rate));
        }
        pos = body + size + (size & 1);
    }
    None
}
