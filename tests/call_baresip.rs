//! A call through kamailio between termphone (1001, file audio backend
//! playing 1000 Hz) and baresip (1002, auto answer, playing 600 Hz): both
//! directions of audio are checked in the recorded WAVs.

mod support;

use serde_json::json;
use std::time::Duration;
use support::config::{Account, Audio};
use support::kamailio::Kamailio;
use support::phone::{call_id_of, list_dir, wait_wav};
use support::setup::{baresip, registered_phone, PeerOpts, PhoneOpts};
use support::{tone, TestDir};

#[test]
fn call_to_baresip_carries_audio_both_ways() {
    let t = TestDir::new("call-baresip");
    let k = Kamailio::start(&t.sub("kamailio"));

    let mut b = baresip(&t, "1002", PeerOpts::tone(600.0).registered(&k));

    let p_src = t.path().join("1000.wav");
    tone::write_sine_wav(&p_src, 1000.0, 8000, 10.0);
    let rec = t.sub("rec");
    let mut p = registered_phone(
        &t,
        PhoneOpts::new()
            .account(Account::registered("office", "1001", &k))
            .audio(Audio::file(&p_src, &rec)),
    );

    let reply = p.ok(json!({"cmd": "dial", "to": "1002"}));
    let id = call_id_of(&reply);
    let active = p.wait_call_state(&id, "active", Duration::from_secs(15));
    assert!(
        active.is_some(),
        "call not active: {:?}\n{}",
        p.events(),
        p.log_tail()
    );
    let active = active.unwrap_or_default();
    assert_eq!(active["direction"], "out");
    let sip_call_id = active["sip_call_id"].as_str().unwrap_or("").to_string();
    assert!(!sip_call_id.is_empty(), "no sip_call_id in {active}");
    assert!(b
        .wait_event("CALL_ESTABLISHED", Duration::from_secs(5))
        .is_some());

    std::thread::sleep(Duration::from_secs(3));
    p.ok(json!({"cmd": "hangup", "call": id}));
    let ended = p.wait_call_state(&id, "ended", Duration::from_secs(10));
    assert!(ended.is_some(), "call did not end: {:?}", p.events());
    assert!(b
        .wait_event("CALL_CLOSED", Duration::from_secs(10))
        .is_some());
    b.stop();

    // What termphone played out: baresip's 600 Hz.
    let out = rec.join(format!("{sip_call_id}.wav"));
    assert!(
        wait_wav(&out, 2.0, Duration::from_secs(10)),
        "{} missing or short; rec/ holds {:?}",
        out.display(),
        list_dir(&rec)
    );
    tone::assert_tone(&out, 600.0, 1000.0);

    // What baresip received: termphone's 1000 Hz.
    let got = b.received_wavs();
    assert_eq!(got.len(), 1, "{got:?}");
    tone::assert_tone(&got[0], 1000.0, 600.0);
}
