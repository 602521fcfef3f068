//! A call on line B while line A talks (two accounts, users 1001 and 1002):
//! `answer` holds A (its SIPp peer demands the `a=sendonly` re-INVITE) or,
//! with `[phone] on_answer_other = "hangup"`, ends it (its peer demands the
//! BYE, and would fail on a re-INVITE); `reject` or `deflect` (302, its
//! Contact checked) of the line-B call leaves A untouched (its peer takes
//! nothing but our final BYE).

mod support;

use serde_json::json;
use std::time::Duration;
use support::callctl::{wait_next, wait_ringing_other, wait_state};
use support::config::Account;
use support::phone::{call_id_of, Phone};
use support::setup::{direct_phone, PhoneOpts};
use support::sipp::{Sipp, SippRun};
use support::TestDir;

/// Line A (account `direct`, 1001) calls `peer` and is active.
fn dial_on_line_a(p: &mut Phone, peer: &SippRun) -> String {
    let to = format!("sip:uas@{}", peer.addr());
    let reply = p.ok(json!({"cmd": "dial", "to": to, "account": "direct"}));
    let id = call_id_of(&reply);
    let c = wait_state(p, &id, "active", 15);
    assert_eq!(c["account"], "direct", "line A call: {c}");
    id
}

/// A SIPp caller on line B (user 1002) that hangs up 2 s after the answer.
fn call_line_b(t: &TestDir, p: &Phone) -> SippRun {
    Sipp::new("uac_answered", &t.sub("lineb"))
        .target(p.sip_addr())
        .service("1002")
        .arg("-d")
        .arg("2000")
        .timeout(20)
        .spawn()
}

fn two_lines(extra: PhoneOpts) -> PhoneOpts {
    extra.account(Account::direct("lineb", "1002"))
}

#[test]
fn answer_on_line_b_holds_line_a() {
    let t = TestDir::new("aol-hold");
    let mut p = direct_phone(&t, two_lines(PhoneOpts::new()));
    let a_peer = Sipp::new("uas_hold_resume", &t.sub("linea"))
        .timeout(40)
        .spawn();
    let a = dial_on_line_a(&mut p, &a_peer);

    let b_peer = call_line_b(&t, &p);
    let b = wait_ringing_other(&mut p, &[&a], 10);
    let st = p.call(&b).unwrap_or_default();
    assert_eq!(st["account"], "lineb", "line B call: {st}");
    p.ok(json!({"cmd": "answer"}));
    let held = wait_next(&mut p, &a, "held", 10, |c| c["held"] == true);
    assert_eq!(held["state"], "held", "{held}");
    wait_state(&mut p, &b, "active", 10);

    let rb = b_peer.wait(Duration::from_secs(20));
    assert!(rb.success(), "line B: {}\n{}", rb.describe(), p.log_tail());
    wait_state(&mut p, &b, "ended", 5);
    p.ok(json!({"cmd": "resume", "call": a}));
    wait_next(&mut p, &a, "resumed", 10, |c| c["state"] == "active");
    p.ok(json!({"cmd": "hangup", "call": a}));
    wait_state(&mut p, &a, "ended", 10);
    // The scenario checked the sendonly re-INVITE, the resume and the BYE.
    let ra = a_peer.wait(Duration::from_secs(15));
    assert!(ra.success(), "line A: {}\n{}", ra.describe(), p.log_tail());
}

#[test]
fn answer_on_line_b_hangs_up_line_a_when_configured() {
    let t = TestDir::new("aol-hangup");
    let mut p = direct_phone(
        &t,
        two_lines(PhoneOpts::new().phone("on_answer_other", "hangup")),
    );
    let a_peer = Sipp::new("uas_answer", &t.sub("linea")).timeout(30).spawn();
    let a = dial_on_line_a(&mut p, &a_peer);

    let b_peer = call_line_b(&t, &p);
    let b = wait_ringing_other(&mut p, &[&a], 10);
    p.ok(json!({"cmd": "answer"}));
    // Line A's peer expects the BYE next; a hold re-INVITE would fail it.
    let ra = a_peer.wait(Duration::from_secs(15));
    assert!(ra.success(), "line A: {}\n{}", ra.describe(), p.log_tail());
    wait_state(&mut p, &a, "ended", 10);
    wait_state(&mut p, &b, "active", 10);
    let rb = b_peer.wait(Duration::from_secs(20));
    assert!(rb.success(), "line B: {}\n{}", rb.describe(), p.log_tail());
    wait_state(&mut p, &b, "ended", 5);
}

#[test]
fn reject_on_line_b_leaves_line_a_alone() {
    let t = TestDir::new("aol-reject");
    let mut p = direct_phone(&t, two_lines(PhoneOpts::new()));
    let a_peer = Sipp::new("uas_answer", &t.sub("linea")).timeout(30).spawn();
    let a = dial_on_line_a(&mut p, &a_peer);

    let b_peer = Sipp::new("uac_expect_603", &t.sub("lineb"))
        .target(p.sip_addr())
        .service("1002")
        .timeout(15)
        .spawn();
    let b = wait_ringing_other(&mut p, &[&a], 10);
    p.ok(json!({"cmd": "reject", "code": 603}));
    let rb = b_peer.wait(Duration::from_secs(20));
    assert!(rb.success(), "line B: {}\n{}", rb.describe(), p.log_tail());
    wait_state(&mut p, &b, "ended", 5);
    let st = p.call(&a).unwrap_or_default();
    assert_eq!(st["state"], "active", "line A after the reject: {st}");
    assert_eq!(st["held"], false, "line A after the reject: {st}");

    p.ok(json!({"cmd": "hangup", "call": a}));
    // uas_answer takes only the BYE: a re-INVITE would have failed it.
    let ra = a_peer.wait(Duration::from_secs(15));
    assert!(ra.success(), "line A: {}\n{}", ra.describe(), p.log_tail());
}

#[test]
fn deflect_on_line_b_leaves_line_a_alone() {
    let t = TestDir::new("aol-deflect");
    let mut p = direct_phone(&t, two_lines(PhoneOpts::new()));
    let a_peer = Sipp::new("uas_answer", &t.sub("linea")).timeout(30).spawn();
    let a = dial_on_line_a(&mut p, &a_peer);

    let target = Sipp::new("uas_answer", &t.sub("target"))
        .timeout(20)
        .spawn();
    let b_peer = Sipp::new("uac_follow_302", &t.sub("lineb"))
        .target(p.sip_addr())
        .service("1002")
        .key("target_host", "127.0.0.1")
        .key("target_port", &target.port.to_string())
        .key("target_user", "x")
        .timeout(20)
        .spawn();
    let b = wait_ringing_other(&mut p, &[&a], 10);
    p.ok(json!({"cmd": "deflect", "to": format!("sip:x@{}", target.addr())}));
    wait_state(&mut p, &b, "ended", 5);
    let rb = b_peer.wait(Duration::from_secs(20));
    assert!(rb.success(), "line B: {}\n{}", rb.describe(), p.log_tail());
    let contacts = support::pbx::response_contacts(&rb.messages, 302);
    let want = format!("<sip:x@{}>", target.addr());
    assert!(
        contacts.iter().any(|c| c.ends_with(&want)),
        "302 Contact {contacts:?}, wanted {want}"
    );
    let rt = target.wait(Duration::from_secs(10));
    assert!(rt.success(), "target: {}", rt.describe());
    let st = p.call(&a).unwrap_or_default();
    assert_eq!(st["state"], "active", "line A after the deflect: {st}");
    assert_eq!(st["held"], false, "line A after the deflect: {st}");

    p.ok(json!({"cmd": "hangup", "call": a}));
    // uas_answer takes only the BYE: a re-INVITE would have failed it.
    let ra = a_peer.wait(Duration::from_secs(15));
    assert!(ra.success(), "line A: {}\n{}", ra.describe(), p.log_tail());
}
