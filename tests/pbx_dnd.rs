//! Do Not Disturb against real peers. Via the line: SIPp callers get 486
//! (or `[phone] dnd_code`) at once and the call is in the history as
//! missed, callers on `dnd_allow` still ring, and DND survives a restart.
//! Via presence: termphone 1001 registered to kamailio with its presence
//! modules publishes "do not disturb", and a watcher subscribed to 1001's
//! presence through kamailio receives that PIDF (and the change back).

mod support;

use serde_json::{json, Value};
use std::time::Duration;
use support::config::Account;
use support::kamailio::Kamailio;
use support::pbx::sipp_caller;
use support::phone::Phone;
use support::setup::{direct_phone, registered_phone, PhoneOpts};
use support::sipp::Sipp;
use support::watcher::Watcher;
use support::TestDir;
use termphone::sip::subscription::{
    pidf::Basic, EventPackage, Payload, SubscriptionEvent, SubscriptionState,
};

const LONG: Duration = Duration::from_secs(10);

/// `status.dnd` as a flag (a bool, or an object with `on` / `line`).
fn dnd_on(status: &Value) -> bool {
    match &status["dnd"] {
        Value::Bool(b) => *b,
        Value::Object(o) => ["on", "line"]
            .iter()
            .any(|k| o.get(*k) == Some(&json!(true))),
        _ => false,
    }
}

/// A caller that must be rejected with 486 at once (the phone never rings).
fn expect_486(t: &TestDir, p: &mut Phone, caller: &str) {
    let r = sipp_caller(t, "uac_dnd_486", p.sip_addr(), "1001", caller).run();
    assert!(
        r.success(),
        "caller {caller}: {}\n{}",
        r.describe(),
        p.log_tail()
    );
}

/// A caller that must ring; the phone answers and SIPp hangs up.
fn expect_ring(t: &TestDir, p: &mut Phone, caller: &str) {
    let before: Vec<Value> = p
        .events()
        .iter()
        .filter(|e| e["event"] == "call")
        .map(|e| e["call"]["id"].clone())
        .collect();
    let run = sipp_caller(t, "uac_from_answer", p.sip_addr(), "1001", caller)
        .arg("-d")
        .arg("300")
        .spawn();
    let ringing = p.wait_event(LONG, |e| {
        e["event"] == "call"
            && e["call"]["state"] == "ringing"
            && !before.contains(&e["call"]["id"])
    });
    let ringing = ringing.unwrap_or_else(|| {
        panic!(
            "caller {caller} did not ring: {}\n{:?}",
            run.messages(),
            p.events()
        )
    });
    p.ok(json!({"cmd": "answer", "call": ringing["call"]["id"]}));
    let r = run.wait(Duration::from_secs(15));
    assert!(r.success(), "caller {caller}: {}", r.describe());
}

#[test]
fn dnd_line_rejects_with_486_and_records_a_missed_call() {
    let t = TestDir::new("pbx-dnd-line");
    let mut p = direct_phone(&t, PhoneOpts::new()).phone;
    assert!(!dnd_on(&p.status()));
    p.ok(json!({"cmd": "dnd", "on": true}));
    assert!(dnd_on(&p.status()), "{}", p.status());

    expect_486(&t, &mut p, "1003");
    assert!(
        !p.events()
            .iter()
            .any(|e| e["event"] == "call" && e["call"]["state"] == "ringing"),
        "rang during DND: {:?}",
        p.events()
    );
    let h = p.ok(json!({"cmd": "history", "limit": 5}));
    let e = &h["history"][0];
    assert_eq!(e["direction"], "in", "{h}");
    assert_eq!(e["missed"], true, "{e}");
    assert!(e["remote"].as_str().unwrap_or("").contains("1003"), "{e}");
    assert!(e["answered_at"].is_null(), "{e}");

    // DND survives a crash and restart, and can be switched off.
    let mut p = p.crash_and_restart();
    assert!(dnd_on(&p.status()), "DND lost on restart: {}", p.status());
    expect_486(&t, &mut p, "1004");
    p.ok(json!({"cmd": "dnd", "on": false}));
    assert!(!dnd_on(&p.status()), "{}", p.status());
    expect_ring(&t, &mut p, "1005");
}

#[test]
fn dnd_allow_list_rings_through() {
    let t = TestDir::new("pbx-dnd-allow");
    let mut p = direct_phone(&t, PhoneOpts::new().phone("dnd_allow", vec!["1003"])).phone;
    p.ok(json!({"cmd": "dnd", "on": true}));
    expect_ring(&t, &mut p, "1003");
    expect_486(&t, &mut p, "1006");
}

#[test]
fn dnd_code_from_config() {
    let t = TestDir::new("pbx-dnd-code");
    let mut p = direct_phone(&t, PhoneOpts::new().phone("dnd_code", 603)).phone;
    p.ok(json!({"cmd": "dnd", "on": true}));
    let r = Sipp::new("uac_expect_603", &t.sub("sipp"))
        .target(p.sip_addr())
        .service("1001")
        .timeout(20)
        .run();
    assert!(r.success(), "{}\n{}", r.describe(), p.log_tail());
}

fn presence_of(ev: &SubscriptionEvent) -> Option<termphone::sip::subscription::pidf::Presence> {
    match ev {
        SubscriptionEvent::Notify {
            payload: Payload::Presence(p),
            target,
            ..
        } if target.contains("1001") => Some(p.clone()),
        _ => None,
    }
}

#[test]
fn dnd_via_presence_reaches_a_watcher() {
    let t = TestDir::new("pbx-dnd-presence");
    let k = Kamailio::start_presence(&t.sub("kamailio"));
    let mut p = registered_phone(
        &t,
        PhoneOpts::new().account(Account::registered("office", "1001", &k)),
    );

    let mut w = Watcher::start(k.addr());
    w.subscribe(EventPackage::Presence, "sip:1001@test.local", "1002");
    let active = w.wait(LONG, |ev| match ev {
        SubscriptionEvent::State {
            state: SubscriptionState::Active { .. },
            ..
        } => Some(()),
        _ => None,
    });
    assert!(
        active.is_some(),
        "watcher not subscribed: {:?}\n{}",
        w.seen,
        k.log()
    );

    p.ok(json!({"cmd": "dnd", "on": true, "via": "presence"}));
    let dnd = w.wait(LONG, |ev| presence_of(ev).filter(|pr| pr.dnd()));
    assert!(
        dnd.is_some(),
        "watcher saw no DND: {:?}\n{}\n{}",
        w.seen,
        p.log_tail(),
        k.log()
    );
    assert!(
        k.log()
            .contains("PUBLISH event=presence from=sip:1001@test.local"),
        "{}",
        k.log()
    );

    p.ok(json!({"cmd": "dnd", "on": false, "via": "presence"}));
    let open = w.wait(LONG, |ev| {
        presence_of(ev).filter(|pr| !pr.dnd() && pr.basic == Some(Basic::Open))
    });
    assert!(open.is_some(), "watcher saw no change back: {:?}", w.seen);
}

/// Presence DND protects too: callers get 486 while it is on, it is kept
/// apart from line DND in `status.dnd_kinds` and in `dnd` events (what
/// another pane's TUI shows at once), each kind switches on its own, and
/// presence DND survives a restart (published again).
#[test]
fn dnd_via_presence_turns_callers_away_and_is_its_own_kind() {
    let t = TestDir::new("pbx-dnd-presence-kinds");
    let k = Kamailio::start_presence(&t.sub("kamailio"));
    let mut p = registered_phone(
        &t,
        PhoneOpts::new().account(Account::registered("office", "1001", &k)),
    )
    .phone;
    let kinds = |p: &mut Phone| {
        let st = p.status();
        (
            st["dnd"] == true,
            st["dnd_kinds"]["line"] == true,
            st["dnd_kinds"]["presence"] == true,
        )
    };

    p.ok(json!({"cmd": "dnd", "on": true, "via": "presence"}));
    assert_eq!(kinds(&mut p), (true, false, true), "{}", p.status());
    let ev = p.wait_event(LONG, |e| e["event"] == "dnd" && e["presence"] == true);
    let ev = ev.unwrap_or_else(|| panic!("no dnd event: {:?}", p.events()));
    assert_eq!(
        (&ev["on"], &ev["line"]),
        (&json!(true), &json!(false)),
        "{ev}"
    );
    expect_486(&t, &mut p, "1003");

    // Line DND on beside it, then presence off: the line kind stays.
    p.ok(json!({"cmd": "dnd", "on": true}));
    assert_eq!(kinds(&mut p), (true, true, true), "{}", p.status());
    p.ok(json!({"cmd": "dnd", "on": false, "via": "presence"}));
    assert_eq!(kinds(&mut p), (true, true, false), "{}", p.status());
    expect_486(&t, &mut p, "1004");
    p.ok(json!({"cmd": "dnd", "on": false}));
    assert_eq!(kinds(&mut p), (false, false, false), "{}", p.status());
    expect_ring(&t, &mut p, "1005");

    // Presence DND is kept over a crash and published again.
    p.ok(json!({"cmd": "dnd", "on": true, "via": "presence"}));
    let published = k.log().matches("PUBLISH event=presence").count();
    let mut p = p.crash_and_restart();
    assert_eq!(
        kinds(&mut p),
        (true, false, true),
        "lost on restart: {}",
        p.status()
    );
    expect_486(&t, &mut p, "1006");
    assert!(
        support::wait_until(LONG, || k.log().matches("PUBLISH event=presence").count()
            > published),
        "presence DND not published again after the restart:\n{}",
        k.log()
    );
}

#[test]
fn dnd_from_config_at_start() {
    let t = TestDir::new("pbx-dnd-config");
    let mut p = direct_phone(&t, PhoneOpts::new().phone("dnd", true)).phone;
    assert!(dnd_on(&p.status()), "{}", p.status());
    expect_486(&t, &mut p, "1003");
}
