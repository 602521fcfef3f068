//! `record`: a call between termphone (1001, 1000 Hz) and baresip (1002,
//! 600 Hz) through kamailio is recorded to a stereo WAV, what we send on the
//! left and what we hear on the right.

mod support;

use serde_json::json;
use std::time::Duration;
use support::callctl::{dial_active, PHONE_HZ};
use support::config::Account;
use support::kamailio::Kamailio;
use support::setup::{baresip, registered_phone, PeerOpts, PhoneOpts};
use support::{tone, TestDir};

/// The left and right channels of a 16-bit stereo WAV, full scale = 1.0.
fn channels(path: &std::path::Path) -> (Vec<f64>, Vec<f64>, u32) {
    let mut r = hound::WavReader::open(path).expect("open recording");
    let spec = r.spec();
    assert_eq!(spec.channels, 2, "{spec:?}");
    let s: Vec<f64> = r
        .samples::<i16>()
        .map(|x| x.unwrap_or(0) as f64 / 32768.0)
        .collect();
    let left = s.iter().step_by(2).copied().collect();
    let right = s.iter().skip(1).step_by(2).copied().collect();
    (left, right, spec.sample_rate)
}

#[test]
fn a_call_is_recorded_both_ways() {
    let t = TestDir::new("record");
    let k = Kamailio::start(&t.sub("kamailio"));
    let _b = baresip(&t, "1002", PeerOpts::tone(600.0).registered(&k));
    let mut p = registered_phone(
        &t,
        PhoneOpts::new()
            .account(Account::registered("office", "1001", &k))
            .tone(PHONE_HZ),
    );
    let id = dial_active(&mut p, "1002");

    let file = t.path().join("calls").join("call.wav");
    let reply =
        p.ok(json!({"cmd": "record", "call": id, "on": true, "path": file.display().to_string()}));
    assert_eq!(reply["path"], json!(file.display().to_string()), "{reply}");
    let shown = p.wait_event(Duration::from_secs(5), |e| {
        e["event"] == "call" && e["call"]["recording"].is_string()
    });
    assert!(
        shown.is_some(),
        "the call does not show its recording: {:?}",
        p.events()
    );
    std::thread::sleep(Duration::from_millis(2500));
    p.ok(json!({"cmd": "record", "call": id, "on": false}));
    p.ok(json!({"cmd": "hangup", "call": id}));

    let (left, right, rate) = channels(&file);
    let secs = left.len() as f64 / rate as f64;
    assert!((1.5..4.0).contains(&secs), "{secs} s recorded");
    let tail = |v: &[f64]| v[v.len() / 4..].to_vec();
    let (l, r) = (tail(&left), tail(&right));
    assert!(
        tone::tone_share(&l, rate, PHONE_HZ) > 0.5,
        "left lacks our tone"
    );
    assert!(
        tone::tone_share(&l, rate, 600.0) < 0.05,
        "left has the peer"
    );
    assert!(
        tone::tone_share(&r, rate, 600.0) > 0.5,
        "right lacks the peer's tone"
    );
    assert!(
        tone::tone_share(&r, rate, PHONE_HZ) < 0.05,
        "right has our tone"
    );
}
