//! Two termphones call each other by `sip:user@127.0.0.1:port`, no server:
//! B answers through `termphone ctl`, audio flows both ways (1000 Hz from A,
//! 600 Hz from B), A hangs up and both see the call end.

mod support;

use serde_json::json;
use std::time::Duration;
use support::config::Audio;
use support::phone::{call_id_of, list_dir, wait_wav};
use support::setup::{direct_phone, PhoneOpts};
use support::{tone, TestDir};

#[test]
fn two_phones_talk_directly() {
    let t = TestDir::new("direct-ip");
    let a_src = t.path().join("a-1000.wav");
    let b_src = t.path().join("b-600.wav");
    tone::write_sine_wav(&a_src, 1000.0, 8000, 10.0);
    tone::write_sine_wav(&b_src, 600.0, 16000, 10.0);
    let a_rec = t.sub("a-rec");
    let b_rec = t.sub("b-rec");
    let mut a = direct_phone(
        &t,
        PhoneOpts::new()
            .dir("a")
            .user("alice")
            .audio(Audio::file(&a_src, &a_rec)),
    );
    let mut b = direct_phone(
        &t,
        PhoneOpts::new()
            .dir("b")
            .user("bob")
            .audio(Audio::file(&b_src, &b_rec)),
    );

    let to = format!("sip:bob@127.0.0.1:{}", b.sip_port());
    let id_a = call_id_of(&a.ok(json!({"cmd": "dial", "to": to})));
    let ringing = b.wait_any_call_state("ringing", Duration::from_secs(10));
    assert!(
        ringing.is_some(),
        "B not ringing: {:?}\n{}",
        b.events(),
        b.log_tail()
    );
    let ringing = ringing.unwrap_or_default();
    assert!(
        ringing["remote"].as_str().unwrap_or("").contains("alice"),
        "{ringing}"
    );
    let id_b = ringing["id"].as_str().unwrap_or("").to_string();
    assert!(a
        .wait_call_state(&id_a, "alerting", Duration::from_secs(5))
        .is_some());

    let (code, out) = b.ctl(&["answer", &id_b]);
    assert_eq!(code, 0, "ctl answer: {out}");
    let call_a = a.wait_call_state(&id_a, "active", Duration::from_secs(5));
    assert!(call_a.is_some(), "A not active: {:?}", a.events());
    let call_b = b.wait_call_state(&id_b, "active", Duration::from_secs(5));
    assert!(call_b.is_some(), "B not active: {:?}", b.events());
    let sip_id = call_a.unwrap_or_default()["sip_call_id"]
        .as_str()
        .unwrap_or("")
        .to_string();
    assert_eq!(call_b.unwrap_or_default()["sip_call_id"], json!(sip_id));

    std::thread::sleep(Duration::from_secs(3));
    a.ok(json!({"cmd": "hangup"}));
    assert!(a
        .wait_call_state(&id_a, "ended", Duration::from_secs(5))
        .is_some());
    let ended_b = b.wait_call_state(&id_b, "ended", Duration::from_secs(5));
    assert!(ended_b.is_some(), "B did not see the end: {:?}", b.events());

    let a_out = a_rec.join(format!("{sip_id}.wav"));
    let b_out = b_rec.join(format!("{sip_id}.wav"));
    assert!(
        wait_wav(&a_out, 2.0, Duration::from_secs(10)),
        "A's rec: {:?}",
        list_dir(&a_rec)
    );
    assert!(
        wait_wav(&b_out, 2.0, Duration::from_secs(10)),
        "B's rec: {:?}",
        list_dir(&b_rec)
    );
    tone::assert_tone(&a_out, 600.0, 1000.0);
    tone::assert_tone(&b_out, 1000.0, 600.0);
}
