//! termphone dials SIPp UAS scenarios directly by IP: busy (486), declined
//! (603), and a hang-up while the far end rings (CANCEL, 487).

mod support;

use serde_json::{json, Value};
use std::time::Duration;
use support::phone::{call_id_of, Phone};
use support::setup::{direct_phone, PhoneOpts};
use support::sipp::Sipp;
use support::TestDir;

/// Dials a fresh sipp running `scenario`; returns the phone's call id and the run.
fn dial_sipp(p: &mut Phone, t: &TestDir, scenario: &str) -> (String, support::sipp::SippRun) {
    let sipp = Sipp::new(scenario, &t.sub("sipp")).timeout(20).spawn();
    let reply = p.ok(json!({"cmd": "dial", "to": format!("sip:uas@{}", sipp.addr())}));
    (call_id_of(&reply), sipp)
}

fn ended_reason(p: &mut Phone, id: &str) -> String {
    let ended: Option<Value> = p.wait_call_state(id, "ended", Duration::from_secs(10));
    assert!(
        ended.is_some(),
        "call did not end: {:?}\n{}",
        p.events(),
        p.log_tail()
    );
    ended.unwrap_or_default()["end_reason"]
        .as_str()
        .unwrap_or("")
        .to_lowercase()
}

#[test]
fn busy_486_ends_the_call() {
    let t = TestDir::new("uas-486");
    let mut p = direct_phone(&t, PhoneOpts::new());
    let (id, sipp) = dial_sipp(&mut p, &t, "uas_486");
    let reason = ended_reason(&mut p, &id);
    assert!(
        reason.contains("486") || reason.contains("busy"),
        "end_reason: {reason}"
    );
    let r = sipp.wait(Duration::from_secs(10));
    assert!(r.success(), "{}", r.describe());
}

#[test]
fn decline_603_ends_the_call() {
    let t = TestDir::new("uas-603");
    let mut p = direct_phone(&t, PhoneOpts::new());
    let (id, sipp) = dial_sipp(&mut p, &t, "uas_603");
    let reason = ended_reason(&mut p, &id);
    assert!(
        reason.contains("603") || reason.contains("decline"),
        "end_reason: {reason}"
    );
    let r = sipp.wait(Duration::from_secs(10));
    assert!(r.success(), "{}", r.describe());
}

#[test]
fn hangup_while_alerting_cancels() {
    let t = TestDir::new("uas-cancel");
    let mut p = direct_phone(&t, PhoneOpts::new());
    let (id, sipp) = dial_sipp(&mut p, &t, "uas_noanswer");
    assert!(
        p.wait_call_state(&id, "alerting", Duration::from_secs(10))
            .is_some(),
        "never alerting: {:?}\n{}",
        p.events(),
        p.log_tail()
    );
    p.ok(json!({"cmd": "hangup", "call": id}));
    let _ = ended_reason(&mut p, &id);
    let r = sipp.wait(Duration::from_secs(15));
    assert!(r.success(), "{}", r.describe());
    assert!(r.messages.contains("CANCEL sip:"), "{}", r.describe());
}
