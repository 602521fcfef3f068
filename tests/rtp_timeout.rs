//! No ghost calls: two termphones in a call; one is killed with SIGKILL
//! (no BYE can leave it) and the survivor ends the call after
//! `[phone] rtp_timeout_s` without media, with the reason in the call, in
//! the history and in its BYE (`Reason`, read from the `trace` stream). A call on hold is quiet on purpose and is not ended.

mod support;

use serde_json::json;
use std::time::{Duration, Instant};
use support::phone::call_id_of;
use support::phone::trace_lines;
use support::setup::{direct_phone, PhoneOpts};
use support::TestDir;

const TIMEOUT_S: u64 = 3;

#[test]
fn a_killed_peer_leaves_no_ghost_call() {
    let t = TestDir::new("rtp-timeout");
    let mut b = direct_phone(
        &t,
        PhoneOpts::new()
            .dir("b")
            .user("1002")
            .tone(600.0)
            .phone("auto_answer", true)
            .phone("rtp_timeout_s", TIMEOUT_S as i64),
    );
    let mut a = direct_phone(&t, PhoneOpts::new().dir("a").user("1001").tone(1000.0));
    let to = format!("sip:1002@{}", b.sip_addr());
    let a_id = call_id_of(&a.ok(json!({"cmd": "dial", "to": to})));
    assert!(
        a.wait_call_state(&a_id, "active", Duration::from_secs(15))
            .is_some(),
        "{}",
        a.log_tail()
    );
    let b_call = b
        .wait_any_call_state("active", Duration::from_secs(10))
        .expect("the call active at b");
    let b_id = b_call["id"].as_str().unwrap_or_default().to_string();

    // on hold the call is quiet on purpose: b holds, a sends nothing, and
    // the call stays past the timeout
    b.ok(json!({"cmd": "hold", "call": b_id}));
    assert!(b
        .wait_call_state(&b_id, "held", Duration::from_secs(10))
        .is_some());
    std::thread::sleep(Duration::from_secs(TIMEOUT_S + 2));
    assert_eq!(b.call(&b_id).expect("still there")["state"], "held");
    b.ok(json!({"cmd": "resume", "call": b_id}));
    assert!(b
        .wait_call_state(&b_id, "active", Duration::from_secs(10))
        .is_some());
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(b.call(&b_id).expect("media flows")["state"], "active");

    // a dies without a word
    a.kill9();
    let killed = Instant::now();
    let ended = b
        .wait_call_state(&b_id, "ended", Duration::from_secs(TIMEOUT_S + 10))
        .unwrap_or_else(|| panic!("b kept the dead call:\n{}", b.log_tail()));
    let after = killed.elapsed();
    assert!(
        after >= Duration::from_secs(TIMEOUT_S - 1),
        "ended {after:?} after the kill, before the timeout"
    );
    let reason = ended["end_reason"].as_str().unwrap_or_default();
    assert_eq!(
        reason,
        format!("RTP timeout: nothing received for {TIMEOUT_S} s"),
        "{ended}"
    );
    let history = b.ok(json!({"cmd": "history", "limit": 1}));
    assert_eq!(history["history"][0]["end_reason"], reason, "{history}");
    // the BYE (sent to a dead peer) says why: the trace stream's backlog has it
    let bye = trace_lines(&b.socket, Duration::from_secs(5))
        .into_iter()
        .find(|t| t["summary"] == "BYE" && t["direction"] == "out")
        .expect("our BYE in the trace");
    let text = bye["text"].as_str().unwrap_or_default();
    assert!(
        text.contains("Reason: SIP;cause=408;text=\"RTP timeout\""),
        "{text}"
    );
}
