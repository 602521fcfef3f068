//! Call forwarding by the client against SIPp callers: `forward` rules
//! `always` (302 at once, and the caller following the Contact reaches the
//! target), `busy` (302 only while a call is up), `no_answer` (rings, then
//! 302 after `after_s`), `scope` internal / external decided by
//! `internal_pattern = "3-5"`, `forward_clear`, and rules surviving a crash
//! and restart. Callers call termphone directly (no registrar).

mod support;

use serde_json::{json, Value};
use std::time::{Duration, Instant};
use support::pbx::{assert_diversion, response_contacts, saw_response, sipp_caller};
use support::phone::Phone;
use support::setup::{direct_phone, PhoneOpts};
use support::sipp::Sipp;
use support::TestDir;

const LONG: Duration = Duration::from_secs(10);

/// The direct-IP phone of these tests: extensions 3 to 5 digits long are internal.
fn phone(t: &TestDir) -> Phone {
    direct_phone(t, PhoneOpts::new().phone("internal_pattern", "3-5")).phone
}

fn forward(p: &mut Phone, when: &str, scope: &str, to: &str, after_s: Option<u64>) -> Value {
    let mut req = json!({"cmd": "forward", "when": when, "scope": scope, "to": to});
    if let Some(s) = after_s {
        req["after_s"] = json!(s);
    }
    p.ok(req)
}

fn rules(p: &mut Phone) -> Vec<Value> {
    p.status()["forward"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// Runs a SIPp caller `caller` that expects a 302; returns the 302's Contact lines.
fn expect_302(t: &TestDir, p: &Phone, caller: &str) -> Vec<String> {
    expect_302_trace(t, p, caller).0
}

/// As [`expect_302`], with the caller's whole message trace.
fn expect_302_trace(t: &TestDir, p: &Phone, caller: &str) -> (Vec<String>, String) {
    let r = sipp_caller(t, "uac_expect_302", p.sip_addr(), "1001", caller).run();
    assert!(r.success(), "caller {caller}: {}", r.describe());
    (response_contacts(&r.messages, 302), r.messages)
}

/// The address of record of the phone of these tests (a direct account).
const AOR: &str = "sip:1001@127.0.0.1";

#[test]
fn forward_always_redirects_and_the_caller_reaches_the_target() {
    let t = TestDir::new("pbx-fwd-always");
    let mut p = phone(&t);
    let target = Sipp::new("uas_answer", &t.sub("target"))
        .timeout(20)
        .spawn();
    let to = format!("sip:1004@127.0.0.1:{}", target.port);
    forward(&mut p, "always", "all", &to, None);
    let listed = rules(&mut p);
    assert!(
        listed
            .iter()
            .any(|r| r["when"] == "always" && r["scope"] == "all" && r["to"] == json!(to)),
        "status.forward: {listed:?}"
    );

    let caller = sipp_caller(&t, "uac_follow_302", p.sip_addr(), "1001", "1003")
        .key("target_host", "127.0.0.1")
        .key("target_port", &target.port.to_string())
        .key("target_user", "1004")
        .spawn();
    let rc = caller.wait(Duration::from_secs(25));
    assert!(rc.success(), "caller: {}\n{}", rc.describe(), p.log_tail());
    let contacts = response_contacts(&rc.messages, 302);
    assert!(
        contacts.iter().any(|c| c.contains(&to)),
        "302 Contact {contacts:?}, wanted {to}"
    );
    assert_diversion(&rc.messages, AOR, "unconditional");
    // It never rang: no provisional response but 100 reached the caller
    // before the 302 (the target rings after it).
    let before_302 = rc.messages.split("SIP/2.0 302 ").next().unwrap_or_default();
    for code in ["180", "183"] {
        assert!(
            !before_302.contains(&format!("SIP/2.0 {code} ")),
            "a {code} before the 302: {}",
            rc.describe()
        );
    }
    let rt = target.wait(Duration::from_secs(10));
    assert!(rt.success(), "target 1004 not reached: {}", rt.describe());
    // The phone never rang for it.
    assert!(
        !p.events()
            .iter()
            .any(|e| e["event"] == "call" && e["call"]["state"] == "active"),
        "{:?}",
        p.events()
    );
}

#[test]
fn forward_busy_only_while_a_call_is_up() {
    let t = TestDir::new("pbx-fwd-busy");
    let mut p = phone(&t);
    forward(&mut p, "busy", "all", "1005", None);

    // Not busy: the first call rings and is answered; it stays up for 8 s.
    let first = sipp_caller(&t, "uac_from_answer", p.sip_addr(), "1001", "1003")
        .arg("-d")
        .arg("8000")
        .spawn();
    let ringing = p.wait_any_call_state("ringing", LONG);
    let ringing = ringing.unwrap_or_else(|| panic!("no ringing call: {:?}", p.events()));
    let id = ringing["id"].as_str().unwrap_or_default().to_string();
    p.ok(json!({"cmd": "answer", "call": id}));
    assert!(
        p.wait_call_state(&id, "active", LONG).is_some(),
        "{:?}",
        p.events()
    );

    // Busy now: a second caller gets 302 to 1005.
    let (contacts, trace) = expect_302_trace(&t, &p, "1006");
    assert!(
        contacts.iter().any(|c| c.contains("1005")),
        "302 Contact {contacts:?}"
    );
    assert_diversion(&trace, AOR, "user-busy");
    assert_eq!(
        p.call(&id).map(|c| c["state"].clone()),
        Some(json!("active"))
    );
    let r = first.wait(Duration::from_secs(20));
    assert!(r.success(), "first caller: {}", r.describe());
}

#[test]
fn forward_no_answer_after_the_delay() {
    let t = TestDir::new("pbx-fwd-noanswer");
    let mut p = phone(&t);
    forward(&mut p, "no_answer", "all", "1007", Some(2));

    let started = Instant::now();
    let caller = sipp_caller(&t, "uac_expect_302", p.sip_addr(), "1001", "1003").spawn();
    let ringing = p.wait_any_call_state("ringing", LONG);
    assert!(
        ringing.is_some(),
        "the call did not ring first: {:?}",
        p.events()
    );
    let got = support::wait_until(LONG, || saw_response(&caller, 302));
    let elapsed = started.elapsed();
    assert!(got, "no 302: {}", caller.messages());
    assert!(
        elapsed >= Duration::from_millis(1700) && elapsed < Duration::from_secs(6),
        "302 after {elapsed:?}, wanted about 2 s"
    );
    let r = caller.wait(LONG);
    assert!(r.success(), "{}", r.describe());
    let contacts = response_contacts(&r.messages, 302);
    assert!(
        contacts.iter().any(|c| c.contains("1007")),
        "302 Contact {contacts:?}"
    );
    assert_diversion(&r.messages, AOR, "no-answer");
    let id = ringing.map(|c| c["id"].clone()).unwrap_or_default();
    let ended = p.wait_event(LONG, |e| {
        e["event"] == "call" && e["call"]["id"] == id && e["call"]["state"] == "ended"
    });
    assert!(ended.is_some(), "{:?}", p.events());
}

#[test]
fn forward_scope_internal_and_external() {
    let t = TestDir::new("pbx-fwd-scope");
    let mut p = phone(&t);
    forward(&mut p, "always", "internal", "1004", None);
    forward(&mut p, "always", "external", "1005", None);
    assert_eq!(rules(&mut p).len(), 2, "{:?}", rules(&mut p));
    // Bad arguments get an error reply and change nothing.
    for bad in [
        json!({"cmd": "forward", "when": "sometimes", "scope": "all", "to": "1004"}),
        json!({"cmd": "forward", "when": "always", "scope": "nobody", "to": "1004"}),
        json!({"cmd": "forward", "when": "always", "scope": "all"}),
    ] {
        let r = p.cmd(bad.clone());
        assert_eq!(r["ok"], false, "{bad} was accepted: {r}");
        assert_eq!(r["error"]["code"], "bad_argument", "{r}");
    }
    assert_eq!(rules(&mut p).len(), 2, "{:?}", rules(&mut p));

    // 1003: four digits, internal under "3-5".
    let internal = expect_302(&t, &p, "1003");
    assert!(
        internal.iter().any(|c| c.contains("1004")) && !internal.iter().any(|c| c.contains("1005")),
        "internal caller: {internal:?}"
    );
    // A long number: external.
    let external = expect_302(&t, &p, "00498912345678");
    assert!(
        external.iter().any(|c| c.contains("1005")) && !external.iter().any(|c| c.contains("1004")),
        "external caller: {external:?}"
    );
}

#[test]
fn forward_scope_internal_lets_external_callers_ring() {
    let t = TestDir::new("pbx-fwd-scope-ring");
    let mut p = phone(&t);
    forward(&mut p, "always", "internal", "1004", None);
    let caller = sipp_caller(
        &t,
        "uac_from_answer",
        p.sip_addr(),
        "1001",
        "00498912345678",
    )
    .arg("-d")
    .arg("500")
    .spawn();
    let ringing = p.wait_any_call_state("ringing", LONG);
    let ringing =
        ringing.unwrap_or_else(|| panic!("external caller was forwarded: {:?}", p.events()));
    p.ok(json!({"cmd": "answer", "call": ringing["id"]}));
    let r = caller.wait(Duration::from_secs(15));
    assert!(r.success(), "{}", r.describe());
    assert!(!r.messages.contains("SIP/2.0 302 "), "{}", r.messages);
}

#[test]
fn forward_rules_persist_across_restart_and_clear() {
    let t = TestDir::new("pbx-fwd-persist");
    let mut p = phone(&t);
    forward(&mut p, "always", "all", "1004", None);
    forward(&mut p, "no_answer", "external", "1009", Some(15));

    let mut p = p.crash_and_restart();
    let listed = rules(&mut p);
    assert!(
        listed
            .iter()
            .any(|r| r["when"] == "always" && r["scope"] == "all" && r["to"] == "1004"),
        "after restart: {listed:?}"
    );
    assert!(
        listed.iter().any(|r| r["when"] == "no_answer"
            && r["scope"] == "external"
            && r["to"] == "1009"
            && r["after_s"] == 15),
        "after restart: {listed:?}"
    );
    let contacts = expect_302(&t, &p, "1003");
    assert!(contacts.iter().any(|c| c.contains("1004")), "{contacts:?}");

    p.ok(json!({"cmd": "forward_clear"}));
    assert!(rules(&mut p).is_empty(), "{:?}", rules(&mut p));
    let caller = sipp_caller(&t, "uac_from_answer", p.sip_addr(), "1001", "1003")
        .arg("-d")
        .arg("500")
        .spawn();
    let ringing = p.wait_any_call_state("ringing", LONG);
    let ringing =
        ringing.unwrap_or_else(|| panic!("cleared rules still forward: {:?}", p.events()));
    p.ok(json!({"cmd": "answer", "call": ringing["id"]}));
    let r = caller.wait(Duration::from_secs(15));
    assert!(r.success(), "{}", r.describe());

    // Cleared stays cleared.
    let mut p = p.crash_and_restart();
    assert!(rules(&mut p).is_empty(), "{:?}", rules(&mut p));
}
