//! Speech for the tests that score audio: espeak-ng says a sentence into a
//! WAV (converted to the rate asked for by sox), and PESQ (ITU-T P.862,
//! the `pesq` package in the venv `scripts/install-test-deps.sh` makes at
//! /opt/termphone-test/venv, or `TERMPHONE_TEST_VENV`) scores a degraded
//! signal against its reference. A missing tool fails the test and names
//! the install script.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The python of the tests' venv.
pub fn venv_python() -> PathBuf {
    let venv = std::env::var_os("TERMPHONE_TEST_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/opt/termphone-test/venv"));
    let python = venv.join("bin/python");
    assert!(
        python.exists(),
        "no PESQ venv at {}: run scripts/install-test-deps.sh (it makes the venv with pesq and numpy)",
        venv.display()
    );
    python
}

/// `text` spoken by espeak-ng `voice`, mono 16-bit at `rate` Hz, in `path`.
pub fn say(path: &Path, text: &str, voice: &str, rate: u32) {
    let raw = path.with_extension("espeak.wav");
    let out = Command::new("espeak-ng")
        .args(["-v", voice, "-s", "150", "-w"])
        .arg(&raw)
        .arg(text)
        .output()
        .expect("espeak-ng runs (scripts/install-test-deps.sh installs it)");
    assert!(
        out.status.success(),
        "espeak-ng: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = Command::new("sox")
        .arg(&raw)
        .args(["-b", "16", "-c", "1", "-r", &rate.to_string()])
        .arg(path)
        .output()
        .expect("sox runs (scripts/install-test-deps.sh installs it)");
    assert!(
        out.status.success(),
        "sox: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Reads a mono 16-bit WAV: its samples and rate.
pub fn read_wav(path: &Path) -> (Vec<i16>, u32) {
    let mut r = hound::WavReader::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let rate = r.spec().sample_rate;
    let s = r
        .samples::<i16>()
        .map(|s| s.expect("a 16-bit sample"))
        .collect();
    (s, rate)
}

/// Writes mono 16-bit samples at `rate` to `path`.
pub fn write_wav(path: &Path, rate: u32, samples: &[i16]) {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(path, spec).expect("create the WAV");
    for &s in samples {
        w.write_sample(s).expect("write a sample");
    }
    w.finalize().expect("finish the WAV");
}

/// PESQ of `degraded` against `reference` (same rate, 8 kHz: narrowband,
/// 16 kHz: wideband), MOS-LQO.
pub fn pesq(dir: &Path, rate: u32, reference: &[i16], degraded: &[i16]) -> f64 {
    let r = dir.join("pesq-ref.wav");
    let d = dir.join("pesq-deg.wav");
    write_wav(&r, rate, reference);
    write_wav(&d, rate, degraded);
    let mode = if rate == 8000 { "nb" } else { "wb" };
    let script = format!(
        "import sys, wave, numpy as np\n\
         from pesq import pesq\n\
         def rd(p):\n    w = wave.open(p)\n    return np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16).astype(np.float64)\n\
         print(pesq({rate}, rd(sys.argv[1]), rd(sys.argv[2]), '{mode}'))\n"
    );
    let out = Command::new(venv_python())
        .args(["-c", &script])
        .arg(&r)
        .arg(&d)
        .output()
        .expect("the venv's python runs");
    assert!(
        out.status.success(),
        "pesq: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .expect("pesq prints a score")
}

/// Energy of `s` in dB (relative, for ratios).
pub fn energy_db(s: &[i16]) -> f64 {
    let e: f64 = s.iter().map(|&x| f64::from(x) * f64::from(x)).sum();
    10.0 * (e.max(1e-9)).log10()
}
