//! The `[phone]` limits against a real SIPp caller: `ring_timeout_s` ends an
//! unanswered call with 480 (a missed call in history), and beyond
//! `max_calls` a new caller gets 486 at once.

mod support;

use serde_json::json;
use std::time::Duration;
use support::callctl::{dial_active, expect_busy_without_ringing, wait_state};
use support::setup::{direct_phone, PhoneOpts};
use support::sipp::Sipp;
use support::TestDir;

#[test]
fn unanswered_call_ends_with_480_after_ring_timeout() {
    let t = TestDir::new("limit-ring");
    let mut p = direct_phone(&t, PhoneOpts::new().phone("ring_timeout_s", 1));
    let caller = Sipp::new("uac_expect_480", &t.sub("sipp"))
        .target(p.sip_addr())
        .service("1001")
        .timeout(15)
        .spawn();
    let r = caller.wait(Duration::from_secs(20));
    assert!(r.success(), "caller: {}\n{}", r.describe(), p.log_tail());
    assert!(
        r.traced().iter().any(|m| m.is_response(180)),
        "the call did not ring first: {}",
        r.describe()
    );
    let h = p.ok(json!({"cmd": "history", "limit": 1}));
    let e = &h["history"][0];
    assert_eq!(e["direction"], "in", "{h}");
    assert_eq!(e["missed"], true, "{h}");
    assert_eq!(e["end_reason"], "no answer", "{h}");
}

#[test]
fn caller_beyond_max_calls_gets_486() {
    let t = TestDir::new("limit-max");
    let mut p = direct_phone(&t, PhoneOpts::new().phone("max_calls", 1));
    let first = Sipp::new("uas_answer", &t.sub("sipp1")).timeout(30).spawn();
    let c1 = dial_active(&mut p, &format!("sip:uas@{}", first.addr()));

    expect_busy_without_ringing(&t, &p, "sipp2");
    // The caller turned away busy is in the history, as missed.
    let h = p.ok(json!({"cmd": "history"}));
    let busy = h["history"]
        .as_array()
        .and_then(|rows| rows.iter().find(|e| e["direction"] == "in").cloned())
        .unwrap_or_else(|| panic!("no history row of the busy caller: {h}"));
    assert_eq!(busy["missed"], true, "{busy}");
    assert!(
        busy["end_reason"]
            .as_str()
            .is_some_and(|r| r.starts_with("busy (486)")),
        "{busy}"
    );
    assert!(
        busy["remote"]
            .as_str()
            .is_some_and(|r| r.starts_with("sip:sipp@")),
        "{busy}"
    );
    // Dialing out beyond the limit is refused too, with a clear error.
    let err = p.cmd(json!({"cmd": "dial", "to": "sip:x@127.0.0.1:9"}));
    assert_eq!(err["ok"], false, "{err}");
    assert_eq!(err["error"]["code"], "too_many_calls", "{err}");

    p.ok(json!({"cmd": "hangup", "call": c1}));
    wait_state(&mut p, &c1, "ended", 5);
    let r1 = first.wait(Duration::from_secs(15));
    assert!(r1.success(), "first: {}\n{}", r1.describe(), p.log_tail());
}
