//! The dial plan through kamailio: termphone (1001, an OpenScape-style
//! plan: outside line `0`, Munich, four-digit extensions) dials a number
//! written the way it is pasted, and kamailio sees the Request-URI the plan
//! makes of it (`sip:00891234567@test.local`), which reaches the baresip
//! registered under that number; an extension goes out as typed; `termphone
//! ctl normalize` shows the same without dialling.

mod support;

use serde_json::{json, Value};
use std::time::Duration;
use support::config::{Account, DialPlan};
use support::kamailio::Kamailio;
use support::phone::call_id_of;
use support::setup::{baresip, registered_phone, PeerOpts, PhoneOpts};
use support::TestDir;

const LONG: Duration = Duration::from_secs(10);

/// The Request-URIs of the INVITEs kamailio received from 1001.
fn invite_ruris(k: &Kamailio) -> Vec<String> {
    k.log()
        .lines()
        .filter(|l| l.contains("REQ INVITE from=sip:1001@"))
        .filter_map(|l| l.split(" ruri=").nth(1))
        .filter_map(|r| r.split(' ').next())
        .map(str::to_string)
        .collect()
}

#[test]
fn a_pasted_number_is_dialled_as_the_pbx_wants_it() {
    let t = TestDir::new("dial-plan");
    let k = Kamailio::start(&t.sub("kamailio"));
    // The outside party: registered under the digits the PBX would route.
    let mut outside = baresip(
        &t,
        "00891234567",
        PeerOpts::tone(600.0).registered(&k).auto_answer(true),
    );
    let mut colleague = baresip(
        &t,
        "1002",
        PeerOpts::tone(700.0).registered(&k).auto_answer(true),
    );
    let plan = DialPlan {
        country_code: Some("49".into()),
        area_code: Some("89".into()),
        outside_line: Some("0".into()),
        internal_digits: Some(4),
        ..DialPlan::default()
    };
    let mut p = registered_phone(
        &t,
        PhoneOpts::new().account(Account::registered("office", "1001", &k).dial_plan(plan)),
    );

    // What the plan makes of it, asked without dialling.
    let (code, out) = p.ctl(&["normalize", "number=+49 89 1234-567"]);
    assert_eq!(code, 0, "{out}");
    let reply: Value = serde_json::from_str(out.trim()).expect("ctl prints JSON");
    assert_eq!(reply["number"], "00891234567", "{reply}");
    assert_eq!(reply["rule"], "national", "{reply}");
    assert_eq!(reply["uri"], "sip:00891234567@test.local", "{reply}");
    assert_eq!(reply["account"], "office", "{reply}");
    assert!(invite_ruris(&k).is_empty(), "normalize dials nothing");

    // Dialled as pasted: kamailio sees the normalised Request-URI.
    let reply = p.ok(json!({"cmd": "dial", "to": "+49 (0)89 1234-567"}));
    let id = call_id_of(&reply);
    let active = p.wait_call_state(&id, "active", LONG);
    assert!(active.is_some(), "{:?}\n{}", p.events(), k.log());
    assert_eq!(
        invite_ruris(&k).first().map(String::as_str),
        Some("sip:00891234567@test.local"),
        "{}",
        k.log()
    );
    assert!(outside.wait_event("CALL_ESTABLISHED", LONG).is_some());
    p.hang_up(&id);

    // An extension goes out as typed.
    let reply = p.ok(json!({"cmd": "dial", "to": "10 02"}));
    let id = call_id_of(&reply);
    assert!(
        p.wait_call_state(&id, "active", LONG).is_some(),
        "{}",
        k.log()
    );
    assert_eq!(
        invite_ruris(&k).last().map(String::as_str),
        Some("sip:1002@test.local"),
        "{}",
        k.log()
    );
    assert!(colleague.wait_event("CALL_ESTABLISHED", LONG).is_some());
    p.hang_up(&id);

    // What is no number is refused with the reason, nothing sent.
    let before = invite_ruris(&k).len();
    let err = p.cmd(json!({"cmd": "dial", "to": "+49 89 abc"}));
    assert_eq!(err["ok"], false, "{err}");
    assert_eq!(err["error"]["code"], "bad_argument", "{err}");
    assert!(
        err["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("not a phone number")),
        "{err}"
    );
    assert_eq!(invite_ruris(&k).len(), before);
}
