//! Crash safety of the call history: with a call up, the phone is killed
//! with SIGKILL; after a restart on the same data dir the call is in the
//! history, ended with reason "interrupted".

mod support;

use serde_json::json;
use std::time::Duration;
use support::setup::{direct_phone, PhoneOpts};
use support::sipp::Sipp;
use support::TestDir;

#[test]
fn call_survives_kill_9_as_interrupted_history_entry() {
    let t = TestDir::new("history-crash");
    let mut p = direct_phone(&t, PhoneOpts::new()).phone;

    let sipp = Sipp::new("uas_answer", &t.sub("sipp"))
        .arg("-rtp_echo")
        .timeout(30)
        .spawn();
    let to = format!("sip:uas@{}", sipp.addr());
    p.dial_until_active(&to);
    std::thread::sleep(Duration::from_millis(500));

    let mut p = p.crash_and_restart();
    let h = p.ok(json!({"cmd": "history"}));
    let e = &h["history"][0];
    assert_eq!(e["direction"], "out", "{h}");
    assert!(e["remote"].as_str().unwrap_or("").contains("uas"), "{e}");
    assert!(e["answered_at"].is_string(), "{e}");
    assert_eq!(e["end_reason"], "interrupted", "{e}");
    assert!(e["ended_at"].is_string(), "{e}");
    assert_eq!(e["missed"], false, "{e}");
    drop(sipp);
}
