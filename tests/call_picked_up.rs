//! termphone as the caller whose ringing call someone picks up: the
//! callee (SIPp) rings with a To-tag, making an early dialog; a second
//! SIPp sends termphone an INVITE with `Replaces: …;early-only` naming that
//! early dialog by Call-ID and both tags. termphone takes the new call
//! (answered by itself), CANCELs its ringing INVITE (a CANCEL on the wire,
//! no BYE) and ends it as "picked up". A Replaces with a wrong tag gets
//! 481 and the call keeps ringing; `early-only` naming a confirmed dialog
//! gets 486 (RFC 3891 §3).

mod support;

use serde_json::json;
use std::time::Duration;
use support::callctl::{tag_of, wait_state};
use support::phone::{call_id_of, Phone};
use support::setup::{direct_phone, PhoneOpts};
use support::sipp::{parse_trace, Sipp, SippRun};
use support::{wait_until, TestDir};

const LONG: Duration = Duration::from_secs(15);

/// The Call-ID and the two tags of the early dialog between the phone and
/// the ringing SIPp `callee`: (Call-ID, our From tag, the callee's To tag).
fn early_dialog(callee: &SippRun) -> (String, String, String) {
    let mut found = None;
    assert!(
        wait_until(Duration::from_secs(5), || {
            let msgs = parse_trace(&callee.messages());
            let invite = msgs.iter().find(|m| !m.sent && m.is_request("INVITE"));
            let ringing = msgs.iter().find(|m| m.sent && m.is_response(180));
            found = invite.zip(ringing).and_then(|(i, r)| {
                Some((
                    i.header("Call-ID")?.to_string(),
                    tag_of(i.header("From")?)?,
                    tag_of(r.header("To")?)?,
                ))
            });
            found.is_some()
        }),
        "no INVITE and 180 in the callee's trace: {}",
        callee.messages()
    );
    found.unwrap_or_default()
}

/// Dials a SIPp that rings and never answers; waits until it alerts.
fn ringing_call(t: &TestDir, p: &mut Phone) -> (String, SippRun) {
    let callee = Sipp::new("uas_noanswer", &t.sub("callee"))
        .timeout(30)
        .spawn();
    let id = call_id_of(&p.ok(json!({"cmd": "dial", "to": format!("sip:1002@{}", callee.addr())})));
    wait_state(p, &id, "alerting", 10);
    (id, callee)
}

/// SIPp scenario `scenario` (in `dir`) sending termphone an INVITE with
/// `Replaces: <replaces>` (10 s unless told otherwise).
fn replacing(t: &TestDir, p: &Phone, scenario: &str, dir: &str, replaces: &str) -> Sipp {
    Sipp::new(scenario, &t.sub(dir))
        .target(p.sip_addr())
        .service("1001")
        .key("replaces", replaces)
        .timeout(10)
}

#[test]
fn an_early_only_replaces_picks_up_our_ringing_call() {
    let t = TestDir::new("picked-up");
    let mut p = direct_phone(&t, PhoneOpts::new());
    let (id, callee) = ringing_call(&t, &mut p);
    let (call_id, ours, theirs) = early_dialog(&callee);

    // A wrong tag names no dialog of ours: 481, and the call rings on.
    let wrong = replacing(
        &t,
        &p,
        "uac_replaces_481",
        "wrong",
        &format!("{call_id};to-tag={theirs};from-tag={ours};early-only"),
    )
    .run();
    assert!(wrong.success(), "{}\n{}", wrong.describe(), p.log_tail());
    assert_eq!(
        p.call(&id).map(|c| c["state"].clone()),
        Some(json!("alerting")),
        "{:?}",
        p.events()
    );

    let picker = replacing(
        &t,
        &p,
        "uac_replaces",
        "picker",
        &format!("{call_id};to-tag={ours};from-tag={theirs};early-only"),
    )
    .timeout(15)
    .spawn();
    let ended = wait_state(&mut p, &id, "ended", 10);
    assert_eq!(ended["end_reason"], "picked up", "{ended}");
    let rp = picker.wait(LONG);
    assert!(rp.success(), "picker: {}\n{}", rp.describe(), p.log_tail());
    // The ringing callee got a CANCEL (its scenario demands it), no BYE.
    let rc = callee.wait(LONG);
    assert!(rc.success(), "callee: {}\n{}", rc.describe(), p.log_tail());
    let msgs = rc.traced();
    assert!(
        msgs.iter().any(|m| !m.sent && m.is_request("CANCEL")),
        "{}",
        rc.describe()
    );
    assert!(
        !msgs.iter().any(|m| !m.sent && m.is_request("BYE")),
        "{}",
        rc.describe()
    );
    // The picker's call was answered here without an `answer` command.
    let took_over = p.events().iter().any(|e| {
        e["event"] == "call"
            && e["call"]["id"] != id.as_str()
            && e["call"]["direction"] == "in"
            && e["call"]["state"] == "active"
    });
    assert!(took_over, "no picked-up call: {:?}", p.events());
}

/// Without `early-only` (RFC 3891 allows it for an early dialog too) the
/// ringing call is picked up the same way.
#[test]
fn a_replaces_without_early_only_picks_up_our_ringing_call_too() {
    let t = TestDir::new("picked-up-plain");
    let mut p = direct_phone(&t, PhoneOpts::new());
    let (id, callee) = ringing_call(&t, &mut p);
    let (call_id, ours, theirs) = early_dialog(&callee);
    let picker = replacing(
        &t,
        &p,
        "uac_replaces",
        "picker",
        &format!("{call_id};to-tag={ours};from-tag={theirs}"),
    )
    .timeout(15)
    .spawn();
    let ended = wait_state(&mut p, &id, "ended", 10);
    assert_eq!(ended["end_reason"], "picked up", "{ended}");
    let rp = picker.wait(LONG);
    assert!(rp.success(), "picker: {}\n{}", rp.describe(), p.log_tail());
    let rc = callee.wait(LONG);
    assert!(rc.success(), "callee (CANCEL): {}", rc.describe());
}

#[test]
fn early_only_does_not_take_a_confirmed_call() {
    let t = TestDir::new("picked-up-486");
    let mut p = direct_phone(&t, PhoneOpts::new());
    let callee = Sipp::new("uas_answer", &t.sub("callee"))
        .timeout(30)
        .spawn();
    let id = call_id_of(&p.ok(json!({"cmd": "dial", "to": format!("sip:1002@{}", callee.addr())})));
    let active = wait_state(&mut p, &id, "active", 10);
    let call_id = active["sip_call_id"].as_str().unwrap_or_default();
    let msgs = parse_trace(&callee.messages());
    let ours = msgs
        .iter()
        .find(|m| !m.sent && m.is_request("INVITE"))
        .and_then(|m| tag_of(m.header("From")?))
        .unwrap_or_default();
    let theirs = msgs
        .iter()
        .find(|m| m.sent && m.is_response(200))
        .and_then(|m| tag_of(m.header("To")?))
        .unwrap_or_default();
    let r = replacing(
        &t,
        &p,
        "uac_replaces_486",
        "picker",
        &format!("{call_id};to-tag={ours};from-tag={theirs};early-only"),
    )
    .run();
    assert!(r.success(), "{}\n{}", r.describe(), p.log_tail());
    assert_eq!(
        p.call(&id).map(|c| c["state"].clone()),
        Some(json!("active")),
        "{:?}",
        p.events()
    );
    p.hang_up(&id);
    let rc = callee.wait(LONG);
    assert!(rc.success(), "{}", rc.describe());
}
