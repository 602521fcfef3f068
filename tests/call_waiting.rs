//! A second call while one is active: with call waiting on it rings, `answer`
//! holds the first (the SIPp UAS sees a=sendonly) and connects the second,
//! `reject code=603` declines it; with call waiting off the caller gets 486
//! at once; `deflect` sends the ringing second call elsewhere while the first
//! stays. `switch` holds the active call and resumes the other.

mod support;

use serde_json::json;
use std::time::Duration;
use support::callctl::{
    call_wav, dial_active, expect_busy_without_ringing, wait_next, wait_ringing_other, wait_state,
    PHONE_HZ, RING_HZ,
};
use support::setup::{direct_phone, PhoneOpts};
use support::sipp::Sipp;
use support::{tone, TestDir};

/// Call 1 active (a SIPp UAS expecting hold, resume, BYE), call 2 rings
/// (a SIPp UAC hanging up 2 s after the answer); `answer` holds 1 and
/// connects 2. Call 1 hears the call-waiting beep (425 Hz, 200 ms) while 2
/// rings: its SIPp peer sends no audio, so the beep is all its recording holds.
fn answer_while_active() {
    let t = TestDir::new("cc-cw-answer");
    let mut p = direct_phone(&t, PhoneOpts::new().tone(PHONE_HZ));
    let first = Sipp::new("uas_hold_resume", &t.sub("sipp1"))
        .timeout(30)
        .spawn();
    let c1 = dial_active(&mut p, &format!("sip:uas@{}", first.addr()));

    let second = Sipp::new("uac_answered", &t.sub("sipp2"))
        .target(p.sip_addr())
        .service("1001")
        .arg("-d")
        .arg("2000")
        .timeout(20)
        .spawn();
    let c2 = wait_ringing_other(&mut p, &[&c1], 10);
    let st = p.call(&c1).unwrap_or_default();
    assert_eq!(
        st["state"], "active",
        "first call while the second rings: {st}"
    );

    // Let the beep play on the first call for a moment.
    std::thread::sleep(Duration::from_millis(1000));
    p.ok(json!({"cmd": "answer"}));
    let held = wait_next(&mut p, &c1, "held", 10, |c| c["held"] == true);
    assert_eq!(held["state"], "held", "{held}");
    wait_state(&mut p, &c2, "active", 10);

    // The second caller hangs up after 2 s; then we go back to the first.
    let r2 = second.wait(Duration::from_secs(20));
    assert!(r2.success(), "second: {}\n{}", r2.describe(), p.log_tail());
    wait_state(&mut p, &c2, "ended", 5);
    p.ok(json!({"cmd": "resume", "call": c1}));
    wait_next(&mut p, &c1, "resumed", 10, |c| c["state"] == "active");
    p.ok(json!({"cmd": "hangup", "call": c1}));
    let ended = wait_state(&mut p, &c1, "ended", 10);
    let r1 = first.wait(Duration::from_secs(15));
    assert!(r1.success(), "first: {}\n{}", r1.describe(), p.log_tail());
    let wav = call_wav(&mut p, &ended, 1.0);
    let blocks = tone::tone_blocks(&wav, RING_HZ, 20);
    let beep = blocks.iter().filter(|b| **b).count() as f64 * 0.02;
    assert!(
        (0.15..=1.0).contains(&beep),
        "{}: {beep} s of call-waiting beep",
        wav.display()
    );
}

#[test]
fn answer_holds_the_active_call_and_connects_the_second() {
    answer_while_active();
}

#[test]
fn second_call_declined_with_603() {
    let t = TestDir::new("cc-cw-603");
    let mut p = direct_phone(&t, PhoneOpts::new());
    let first = Sipp::new("uas_answer", &t.sub("sipp1")).timeout(30).spawn();
    let c1 = dial_active(&mut p, &format!("sip:uas@{}", first.addr()));

    let second = Sipp::new("uac_expect_603", &t.sub("sipp2"))
        .target(p.sip_addr())
        .service("1001")
        .timeout(15)
        .spawn();
    let c2 = wait_ringing_other(&mut p, &[&c1], 10);
    p.ok(json!({"cmd": "reject", "call": c2, "code": 603}));
    let r2 = second.wait(Duration::from_secs(20));
    assert!(r2.success(), "second: {}\n{}", r2.describe(), p.log_tail());
    wait_state(&mut p, &c2, "ended", 5);
    let st = p.call(&c1).unwrap_or_default();
    assert_eq!(st["state"], "active", "first call after the decline: {st}");

    p.ok(json!({"cmd": "hangup", "call": c1}));
    let r1 = first.wait(Duration::from_secs(15));
    assert!(r1.success(), "first: {}\n{}", r1.describe(), p.log_tail());
}

#[test]
fn call_waiting_off_gives_486_at_once() {
    let t = TestDir::new("cc-cw-off");
    let mut p = direct_phone(&t, PhoneOpts::new().phone("call_waiting", false));
    let first = Sipp::new("uas_answer", &t.sub("sipp1")).timeout(30).spawn();
    let c1 = dial_active(&mut p, &format!("sip:uas@{}", first.addr()));

    expect_busy_without_ringing(&t, &p, "sipp2");
    let rang = p.events().into_iter().any(|e| {
        e["event"] == "call" && e["call"]["state"] == "ringing" && e["call"]["id"] != c1.as_str()
    });
    assert!(!rang, "a second call rang: {:?}", p.events());

    p.ok(json!({"cmd": "hangup", "call": c1}));
    let r1 = first.wait(Duration::from_secs(15));
    assert!(r1.success(), "first: {}\n{}", r1.describe(), p.log_tail());
}

#[test]
fn switch_moves_between_two_calls() {
    let t = TestDir::new("cc-switch");
    let mut p = direct_phone(&t, PhoneOpts::new());
    let s1 = Sipp::new("uas_hold_twice", &t.sub("sipp1"))
        .timeout(30)
        .spawn();
    let s2 = Sipp::new("uas_hold_resume", &t.sub("sipp2"))
        .timeout(30)
        .spawn();
    let c1 = dial_active(&mut p, &format!("sip:uas@{}", s1.addr()));
    p.ok(json!({"cmd": "hold", "call": c1}));
    wait_next(&mut p, &c1, "held", 10, |c| c["state"] == "held");
    let c2 = dial_active(&mut p, &format!("sip:uas@{}", s2.addr()));

    // switch with no argument: the active c2 is held, the held c1 resumed.
    p.ok(json!({"cmd": "switch"}));
    wait_next(&mut p, &c2, "c2 held", 10, |c| c["state"] == "held");
    wait_next(&mut p, &c1, "c1 active", 10, |c| c["state"] == "active");
    // switch to c2: c1 held again, c2 active.
    p.ok(json!({"cmd": "switch", "call": c2}));
    wait_next(&mut p, &c1, "c1 held", 10, |c| c["state"] == "held");
    wait_next(&mut p, &c2, "c2 active", 10, |c| c["state"] == "active");

    p.ok(json!({"cmd": "hangup", "call": c2}));
    p.ok(json!({"cmd": "hangup", "call": c1}));
    let r2 = s2.wait(Duration::from_secs(15));
    assert!(r2.success(), "c2: {}\n{}", r2.describe(), p.log_tail());
    let r1 = s1.wait(Duration::from_secs(15));
    assert!(r1.success(), "c1: {}\n{}", r1.describe(), p.log_tail());
}

#[test]
fn second_call_deflected_while_the_first_stays() {
    let t = TestDir::new("cc-cw-deflect");
    let mut p = direct_phone(&t, PhoneOpts::new());
    let first = Sipp::new("uas_answer", &t.sub("sipp1")).timeout(30).spawn();
    let c1 = dial_active(&mut p, &format!("sip:uas@{}", first.addr()));

    let target = Sipp::new("uas_answer", &t.sub("target"))
        .timeout(20)
        .spawn();
    let caller = Sipp::new("uac_follow_302", &t.sub("caller"))
        .target(p.sip_addr())
        .service("1001")
        .key("target_host", "127.0.0.1")
        .key("target_port", &target.port.to_string())
        .key("target_user", "x")
        .timeout(20)
        .spawn();
    let c2 = wait_ringing_other(&mut p, &[&c1], 10);
    // No `call`: deflect picks the ringing call, not the active one.
    p.ok(json!({"cmd": "deflect", "to": format!("sip:x@{}", target.addr())}));
    wait_state(&mut p, &c2, "ended", 5);
    let rc = caller.wait(Duration::from_secs(20));
    assert!(rc.success(), "caller: {}\n{}", rc.describe(), p.log_tail());
    // The 302 itself names the target (the caller's keys only say where
    // to go next) and says why.
    let contacts = support::pbx::response_contacts(&rc.messages, 302);
    let want = format!("<sip:x@{}>", target.addr());
    assert!(
        contacts.iter().any(|c| c.ends_with(&want)),
        "302 Contact {contacts:?}, wanted {want}"
    );
    support::pbx::assert_diversion(&rc.messages, "sip:1001@127.0.0.1", "deflection");
    let rt = target.wait(Duration::from_secs(10));
    assert!(rt.success(), "target: {}", rt.describe());
    let st = p.call(&c1).unwrap_or_default();
    assert_eq!(st["state"], "active", "first call: {st}");

    p.ok(json!({"cmd": "hangup", "call": c1}));
    let r1 = first.wait(Duration::from_secs(15));
    assert!(r1.success(), "first: {}\n{}", r1.describe(), p.log_tail());
}
