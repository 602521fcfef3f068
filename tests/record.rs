//! `record`: a call between termphone (1001, 1000 Hz) and baresip (1002,
//! 600 Hz) through kamailio is recorded to a stereo WAV, what we send on the
//! left and what we hear on the right.

mod support;

use serde_json::json;
use std::time::Duration;
use support::baresip::{Baresip, BaresipOpts};
use support::kamailio::{Kamailio, DOMAIN};
use support::phone::{account_toml, audio_file_toml, call_id_of, Phone};
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
    let b_src = t.path().join("600.wav");
    tone::write_sine_wav(&b_src, 600.0, 8000, 60.0);
    let mut b = Baresip::start(
        &t.sub("baresip"),
        BaresipOpts {
            user: "1002".into(),
            registrar: Some(k.addr()),
            password: None,
            source_wav: b_src,
            auto_answer: true,
        },
    );
    assert!(b.wait_registered(Duration::from_secs(10)), "{}", b.log());
    let p_src = t.path().join("1000.wav");
    tone::write_sine_wav(&p_src, 1000.0, 8000, 30.0);
    let body = account_toml(
        "office",
        "1001",
        DOMAIN,
        Some(&k.proxy_uri()),
        Some("pw1001"),
    ) + &audio_file_toml(&p_src, &t.sub("rec"));
    let mut p = Phone::start(&t.sub("phone"), &body);
    assert!(
        p.wait_status(Duration::from_secs(10), |s| s["accounts"][0]["registered"]
            == true)
            .is_some(),
        "{}",
        p.log_tail()
    );
    let id = call_id_of(&p.ok(json!({"cmd": "dial", "to": "1002"})));
    assert!(
        p.wait_call_state(&id, "active", Duration::from_secs(15))
            .is_some(),
        "{}",
        p.log_tail()
    );

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
        tone::tone_share(&l, rate, 1000.0) > 0.5,
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
        tone::tone_share(&r, rate, 1000.0) < 0.05,
        "right has our tone"
    );
}
