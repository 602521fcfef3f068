//! Busy lamps refined by presence (RFC 3856) where the server offers it:
//! termphone 1001 watches 1002 and 1004 through kamailio's presence server
//! (dialog package and presence). 1002 is a second termphone: its
//! `dnd via=presence` PUBLISHes do-not-disturb and the lamp of 1002 goes
//! busy with presence `dnd` (as `blf` and as a `blf` event), then idle and
//! `available` when it is switched off. 1004 never published anything (the
//! lamp stays as the dialog package has it) until a closed PIDF is
//! published for it: then it shows offline.

mod support;

use serde_json::json;
use std::time::Duration;
use support::config::Account;
use support::kamailio::Kamailio;
use support::pbx::{lamp, wait_lamp_where};
use support::setup::{registered_phone, PhoneOpts};
use support::watcher::Watcher;
use support::TestDir;

const LONG: Duration = Duration::from_secs(10);

#[test]
fn presence_lights_dnd_busy_and_closed_offline() {
    let t = TestDir::new("pbx-blf-presence");
    let k = Kamailio::start_presence(&t.sub("kamailio"));
    let mut a = registered_phone(
        &t,
        PhoneOpts::new()
            .dir("a")
            .account(Account::registered("office", "1001", &k))
            .blf("1002", Some("Reception"))
            .blf("1004", None),
    );
    let mut b = registered_phone(
        &t,
        PhoneOpts::new()
            .dir("b")
            .account(Account::registered("office", "1002", &k)),
    );

    // Both packages are subscribed: kamailio has notified presence to 1001.
    let presence_notified = support::wait_until(LONG, || {
        k.log()
            .lines()
            .any(|l| l.contains("NOTIFY sip:1001@test.local") && l.contains("for event presence"))
    });
    assert!(presence_notified, "no presence subscription:\n{}", k.log());
    // Nothing published for 1004: no presence, and not offline.
    let quiet = lamp(&mut a, "1004").expect("1004 listed");
    assert!(quiet.get("presence").is_none(), "{quiet}");
    assert_ne!(quiet["state"], "offline", "{quiet}");

    // 1002 switches on do-not-disturb via presence.
    b.ok(json!({"cmd": "dnd", "on": true, "via": "presence"}));
    let dnd = wait_lamp_where(&mut a, "1002", LONG, |e| e["presence"] == "dnd");
    assert!(
        dnd.as_ref().is_some_and(|e| e["state"] == "busy"),
        "lamp of 1002 not busy/dnd: {dnd:?}\n{}\n{}",
        a.log_tail(),
        k.log()
    );
    let ev = a.wait_event(LONG, |e| {
        e["event"] == "blf" && e["target"] == "1002" && e["presence"] == "dnd"
    });
    assert!(
        ev.as_ref().is_some_and(|e| e["state"] == "busy"),
        "no blf event with dnd: {ev:?}"
    );

    // And off again: idle, available.
    b.ok(json!({"cmd": "dnd", "on": false, "via": "presence"}));
    let back = wait_lamp_where(&mut a, "1002", LONG, |e| e["presence"] == "available");
    assert!(
        back.as_ref().is_some_and(|e| e["state"] == "idle"),
        "lamp of 1002 not back to idle: {back:?}\n{}",
        a.log_tail()
    );

    // 1004's presence is published closed: offline.
    let w = Watcher::start(k.addr());
    let closed = termphone::sip::subscription::pidf::build(
        "sip:1004@test.local",
        false,
        Some("Logged off"),
        false,
    );
    assert_eq!(
        w.publish("1004", "presence", "application/pidf+xml", &closed),
        200
    );
    let off = wait_lamp_where(&mut a, "1004", LONG, |e| e["state"] == "offline");
    assert!(
        off.as_ref()
            .is_some_and(|e| e["presence"] == "offline" && e["note"] == "Logged off"),
        "lamp of 1004 not offline: {off:?}\n{}",
        a.log_tail()
    );
}
