//! termphone follows redirects of its INVITE: a SIPp server answers 302
//! with Contacts out of q order, one of them itself (a loop); the phone
//! tries the best target not tried yet, a second SIPp that answers, with
//! the same Call-ID and the next CSeq, and the call and its history show
//! the target. A server that redirects again and again is given up after
//! five targets. A second termphone deflecting the call (302) is followed
//! the same way.

mod support;

use serde_json::{json, Value};
use std::time::Duration;
use support::phone::call_id_of;
use support::setup::{direct_phone, PhoneOpts};
use support::sipp::{Sipp, TracedMessage};
use support::TestDir;

const LONG: Duration = Duration::from_secs(15);

fn received<'a>(msgs: &'a [TracedMessage], method: &str) -> Vec<&'a TracedMessage> {
    msgs.iter()
        .filter(|m| !m.sent && m.is_request(method))
        .collect()
}

fn history_entry(p: &mut support::phone::Phone, remote: &str) -> Value {
    let h = p.ok(json!({"cmd": "history"}));
    h["history"]
        .as_array()
        .and_then(|rows| rows.iter().find(|r| r["remote"] == remote).cloned())
        .unwrap_or_else(|| panic!("no history row for {remote}: {h}"))
}

#[test]
fn a_302_is_followed_to_the_best_target_not_tried_yet() {
    let t = TestDir::new("redirect-302");
    let mut p = direct_phone(&t, PhoneOpts::new()).phone;
    let target = Sipp::new("uas_answer", &t.sub("target"))
        .timeout(30)
        .spawn();
    let redirector = Sipp::new("uas_redirect", &t.sub("redirector"))
        .key("target_user", "1004")
        .key("target_host", "127.0.0.1")
        .key("target_port", &target.port.to_string())
        .timeout(30)
        .spawn();
    let first = format!("sip:uas@127.0.0.1:{}", redirector.port);
    let to = format!("sip:1004@127.0.0.1:{}", target.port);

    let id = call_id_of(&p.ok(json!({"cmd": "dial", "to": first})));
    let active = p.wait_active(&id);
    assert_eq!(active["redirected_to"], json!(to), "{active}");
    assert_eq!(active["remote"], json!(first), "{active}");

    p.hang_up(&id);
    let r = redirector.wait(LONG);
    assert!(r.success(), "the redirector: {}", r.describe());
    let r2 = target.wait(LONG);
    assert!(r2.success(), "the target: {}", r2.describe());

    // The redirector saw one INVITE (the loop back to it was skipped).
    let msgs = r.traced();
    let invites = received(&msgs, "INVITE");
    assert_eq!(invites.len(), 1, "{}", r.describe());
    let call_id = invites[0].header("Call-ID").unwrap_or_default().to_string();
    // The target got the INVITE with itself as Request-URI, the same
    // Call-ID and the next CSeq.
    let msgs2 = r2.traced();
    let invites2 = received(&msgs2, "INVITE");
    assert_eq!(invites2.len(), 1, "{}", r2.describe());
    let invite = invites2[0];
    assert!(
        invite.first_line().starts_with(&format!("INVITE {to} ")),
        "{}",
        invite.text
    );
    assert_eq!(invite.header("Call-ID"), Some(call_id.as_str()));
    assert_eq!(invite.header("CSeq"), Some("2 INVITE"), "{}", invite.text);

    let row = history_entry(&mut p, &first);
    assert_eq!(row["redirected_to"], json!(to), "{row}");
    assert!(row["answered_at"].is_string(), "{row}");
}

#[test]
fn redirects_are_followed_five_times_at_most() {
    let t = TestDir::new("redirect-limit");
    let mut p = direct_phone(&t, PhoneOpts::new()).phone;
    let server = Sipp::new("uas_redirect_loop", &t.sub("server"))
        .timeout(30)
        .spawn();
    let first = format!("sip:uas@127.0.0.1:{}", server.port);
    let id = call_id_of(&p.ok(json!({"cmd": "dial", "to": first})));
    let ended = p.wait_call_state(&id, "ended", LONG);
    let reason = ended
        .as_ref()
        .and_then(|c| c["end_reason"].as_str())
        .unwrap_or_default()
        .to_string();
    assert!(
        reason.contains("too many redirects"),
        "end_reason {reason:?}: {:?}\n{}",
        p.events(),
        p.log_tail()
    );
    let r = server.wait(LONG);
    assert!(r.success(), "{}", r.describe());
    let msgs = r.traced();
    assert_eq!(received(&msgs, "INVITE").len(), 6, "{}", r.describe());
}

#[test]
fn a_termphone_that_deflects_is_followed() {
    let t = TestDir::new("redirect-deflect");
    let mut a = direct_phone(&t, PhoneOpts::new().dir("a").user("1001")).phone;
    let mut b = direct_phone(&t, PhoneOpts::new().dir("b").user("1002")).phone;
    let target = Sipp::new("uas_answer", &t.sub("target"))
        .timeout(30)
        .spawn();
    let to = format!("sip:1004@127.0.0.1:{}", target.port);

    let first = format!("sip:1002@{}", b.sip_addr());
    let id = call_id_of(&a.ok(json!({"cmd": "dial", "to": first})));
    let ringing = b.wait_any_call_state("ringing", LONG);
    let b_call = ringing
        .as_ref()
        .and_then(|c| c["id"].as_str())
        .unwrap_or_else(|| panic!("B never rang: {:?}\n{}", b.events(), b.log_tail()))
        .to_string();
    b.ok(json!({"cmd": "deflect", "call": b_call, "to": to}));

    let active = a.wait_active(&id);
    assert_eq!(active["redirected_to"], json!(to), "{active}");
    a.hang_up(&id);
    let r = target.wait(LONG);
    assert!(r.success(), "{}", r.describe());
    let row = history_entry(&mut a, &first);
    assert_eq!(row["redirected_to"], json!(to), "{row}");
}
