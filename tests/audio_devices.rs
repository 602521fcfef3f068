//! The sound-card backend on a machine without a sound card (this one, and
//! CI): alsa-lib's own error lines ("ALSA lib pcm.c:…: Unknown PCM
//! default") must never reach the terminal. `termphone doctor` probes the
//! card in the foreground, a headless phone probes it at start and for
//! `ctl devices`: none prints them on stderr, and the phone still runs
//! (null backend) and lists the devices there are.

mod support;

use std::net::SocketAddr;
use std::process::Command;
use support::config::{Audio, Config};
use support::phone::{bin, Phone};
use support::TestDir;

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
