//! The sound-card backend on a machine without a sound card (this one, and
//! CI): alsa-lib's own error lines ("ALSA lib pcm.c:…: Unknown PCM
//! default") must never reach the terminal. `termphone doctor` probes the
//! card in the foreground, a headless phone probes it at start and for
//! `ctl devices`: none prints them on stderr, and the phone still runs
//! (null backend) and lists the devices there are. And `device` and
//! `gain` on running phones without a sound card: two termphones with the
//! file backend call each other, and a gain is heard in the far end's
//! recording.

mod support;

use serde_json::json;
use std::net::SocketAddr;
use std::process::Command;
use std::time::Duration;
use support::config::{Audio, Config};
use support::phone::{bin, recorded_wav, Phone};
use support::setup::{direct_phone, PhoneOpts};
use support::tone::{read_mono_growing, rms};
use support::{wait_for, TestDir};

/// Lines alsa-lib printed itself.
fn alsa_lines(text: &str) -> Vec<&str> {
    text.lines().filter(|l| l.contains("ALSA lib")).collect()
}

#[test]
fn doctor_probes_the_sound_card_without_alsa_lines() {
    let t = TestDir::new("audio-doctor");
    let control = t.path().join("run/control.sock");
    let path = t.path().join("config.toml");
    let config = Config::new().audio(Audio::Cpal);
    std::fs::write(
        &path,
        config.render(&control, SocketAddr::from(([127, 0, 0, 1], 0))),
    )
    .expect("write the config");
    let out = Command::new(bin())
        .arg("doctor")
        .arg("--config")
        .arg(&path)
        .output()
        .expect("run termphone doctor");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stdout.lines().any(|l| l.contains("audio")),
        "no audio check: {stdout}"
    );
    assert!(alsa_lines(&stderr).is_empty(), "stderr: {stderr}");
}

#[test]
fn a_headless_phone_probes_the_sound_card_without_alsa_lines() {
    let t = TestDir::new("audio-headless");
    let mut phone = Phone::start(&t.sub("phone"), &Config::new().audio(Audio::Cpal));
    assert!(phone.status().is_object());
    // `devices` probes the card again, off the phone's stderr too; this
    // machine may have no device at all, but the two lists are there and
    // each holds at most one default.
    let (code, out) = phone.ctl(&["devices"]);
    assert_eq!(code, 0, "{out}");
    let reply: serde_json::Value = serde_json::from_str(out.trim()).expect("JSON reply");
    for list in ["inputs", "outputs"] {
        let devices = reply[list]
            .as_array()
            .unwrap_or_else(|| panic!("{list}: {reply}"));
        let defaults = devices.iter().filter(|d| d["default"] == true).count();
        assert!(defaults <= 1, "{reply}");
        assert!(
            devices
                .iter()
                .all(|d| d["id"].is_string() && d["name"].is_string()),
            "{reply}"
        );
    }
    assert!(phone.quit(), "{}", phone.log_tail());
    let log = std::fs::read_to_string(&phone.log).expect("read the phone's stderr");
    assert!(alsa_lines(&log).is_empty(), "stderr: {log}");
}

/// The recording at `path` once it holds at least `secs` more than
/// `after` samples: (samples, rate).
fn recording_past(path: &std::path::Path, after: usize, secs: f64) -> (Vec<f64>, u32) {
    let got = wait_for(Duration::from_secs(15), || {
        read_mono_growing(path)
            .filter(|(s, rate)| s.len() >= after + (secs * f64::from(*rate)) as usize)
    });
    got.unwrap_or_else(|| panic!("{} did not grow by {secs} s", path.display()))
}

/// The level in dB (full scale) of the last half second of `samples`.
fn last_level(samples: &[f64], rate: u32) -> f64 {
    let half = rate as usize / 2;
    20.0 * rms(&samples[samples.len() - half..]).log10()
}

/// `device` and `gain` against running phones with the file backend: it
/// has no sound devices (`media_error`, as documented), and a gain changes
/// what the far end hears by the dB asked for: A's microphone down 6 dB in
/// B's recording of A's tone, then B's speaker up 6 dB in the same
/// recording.
#[test]
fn device_and_gain_on_running_phones_without_a_sound_card() {
    let t = TestDir::new("audio-gain");
    let mut a = direct_phone(&t, PhoneOpts::new().dir("a").user("1001").tone(1000.0));
    let mut b = direct_phone(
        &t,
        PhoneOpts::new()
            .dir("b")
            .user("1002")
            .tone(500.0)
            .phone("auto_answer", true),
    );

    // No sound devices to choose with the file backend; a role that is
    // none is refused first.
    let r = a.cmd(json!({"cmd": "device", "role": "output", "name": "USB Headset"}));
    assert_eq!(r["error"]["code"], "media_error", "{r}");
    assert!(
        r["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("no sound devices")),
        "{r}"
    );
    let r = a.cmd(json!({"cmd": "device", "role": "speaker"}));
    assert_eq!(r["error"]["code"], "bad_argument", "{r}");
    // `devices` still lists the system's sound devices (none here, maybe).
    let (code, out) = a.ctl(&["devices"]);
    assert_eq!(code, 0, "{out}");

    let id = a.dial_until_active(&format!("sip:1002@{}", b.sip_addr()));
    let b_call = b
        .wait_any_call_state("active", Duration::from_secs(10))
        .unwrap_or_else(|| panic!("B did not answer: {}", b.log_tail()));
    let b_id = b_call["id"].as_str().unwrap_or_default().to_string();
    let path = recorded_wav(&b.rec, &b_call, 1.0);
    let (heard, rate) = recording_past(&path, 0, 1.5);
    let before = last_level(&heard, rate);
    // A 1 kHz tone at half scale through PCMU: about -9 dB.
    assert!(
        (-12.0..-6.0).contains(&before),
        "level before {before:.1} dB"
    );

    let r = a.ok(json!({"cmd": "gain", "mic": "-6", "call": id}));
    assert_eq!(
        (r["mic_db"].clone(), r["speaker_db"].clone()),
        (json!(-6), json!(0)),
        "{r}"
    );
    let (heard, rate) = recording_past(&path, heard.len(), 1.0);
    let down = last_level(&heard, rate) - before;
    assert!(
        (down + 6.0).abs() < 0.5,
        "A's microphone -6 dB: B hears {down:.2} dB"
    );

    let r = b.ok(json!({"cmd": "gain", "speaker": "+6", "call": b_id}));
    assert_eq!(r["speaker_db"], json!(6), "{r}");
    let (heard, rate) = recording_past(&path, heard.len(), 1.0);
    let up = last_level(&heard, rate) - before;
    assert!(
        up.abs() < 0.5,
        "B's speaker +6 dB after -6: {up:.2} dB from the start"
    );

    // Out of range is refused and changes nothing.
    let r = a.cmd(json!({"cmd": "gain", "mic": "+40", "call": id}));
    assert_eq!(r["error"]["code"], "bad_argument", "{r}");
    a.hang_up(&id);
    assert!(a.quit(), "{}", a.log_tail());
    assert!(b.quit(), "{}", b.log_tail());
}
