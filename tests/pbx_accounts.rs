//! Several accounts at once against kamailio: termphone registers 1001
//! ("office") and 1011 ("second") together, each with its own state in
//! `status`; `dial account=second` calls from 1011 (baresip 1002 and
//! kamailio see that caller); incoming calls to either number carry the
//! name of the account they came to; an account with a wrong password
//! fails (with a reason) while the other stays registered.

mod support;

use serde_json::json;
use std::time::Duration;
use support::config::{Account, Config};
use support::kamailio::Kamailio;
use support::phone::{call_id_of, Phone};
use support::setup::{baresip, registered_phone, PeerOpts, PhoneOpts};
use support::{tone, TestDir};

const LONG: Duration = Duration::from_secs(10);

#[test]
fn two_accounts_register_dial_and_receive_separately() {
    let t = TestDir::new("pbx-accounts");
    let k = Kamailio::start(&t.sub("kamailio"));
    let wav = t.path().join("600.wav");
    tone::write_sine_wav(&wav, 600.0, 8000, 30.0);
    let mut callee = baresip(
        &t,
        "1002",
        PeerOpts::wav(&wav).registered(&k).auto_answer(true),
    );
    let mut caller = baresip(&t, "1003", PeerOpts::wav(&wav).registered(&k));
    let mut p = registered_phone(
        &t,
        PhoneOpts::new()
            .account(Account::registered("office", "1001", &k))
            .account(Account::registered("second", "1011", &k)),
    );

    let st = p.status();
    let accounts = st["accounts"].as_array().cloned().unwrap_or_default();
    assert_eq!(accounts.len(), 2, "{st}");
    for (name, user) in [("office", "1001"), ("second", "1011")] {
        let a = accounts.iter().find(|a| a["name"] == name);
        assert!(
            a.is_some_and(
                |a| a["registered"] == true && a["aor"].as_str().is_some_and(|s| s.contains(user))
            ),
            "{name}: {st}"
        );
        assert!(
            k.wait_registered(user, Duration::from_secs(5)),
            "{}",
            k.log()
        );
    }

    // Outgoing from the second account: the callee sees 1011.
    let reply = p.ok(json!({"cmd": "dial", "to": "1002", "account": "second"}));
    let id = call_id_of(&reply);
    let active = p.wait_call_state(&id, "active", LONG);
    let active = active.unwrap_or_else(|| panic!("not active: {:?}\n{}", p.events(), p.log_tail()));
    assert_eq!(active["account"], "second", "{active}");
    let inc = callee.wait_event("CALL_ESTABLISHED", LONG);
    let inc = inc.unwrap_or_else(|| panic!("{:?}", callee.events()));
    assert!(
        inc.to_string().contains("1011"),
        "callee saw another caller: {inc}"
    );
    assert!(
        k.log()
            .lines()
            .any(|l| l.contains("REQ INVITE from=sip:1011@test.local to=sip:1002@test.local")),
        "{}",
        k.log()
    );
    p.ok(json!({"cmd": "hangup", "call": id}));
    assert!(p.wait_call_state(&id, "ended", LONG).is_some());
    assert!(callee.wait_event("CALL_CLOSED", LONG).is_some());

    // Incoming to each number: the Call names the account it came to.
    for (name, user) in [("second", "1011"), ("office", "1001")] {
        caller.clear_events();
        caller.dial(&format!("sip:{user}@test.local"));
        let ringing = p.wait_event(LONG, |e| {
            e["event"] == "call"
                && e["call"]["direction"] == "in"
                && e["call"]["state"] == "ringing"
                && e["call"]["account"] == name
        });
        let ringing = ringing.unwrap_or_else(|| {
            panic!(
                "no ringing call on {name}: {:?}\n{}",
                p.events(),
                p.log_tail()
            )
        });
        assert!(
            ringing["call"]["remote"]
                .as_str()
                .is_some_and(|r| r.contains("1003")),
            "{ringing}"
        );
        let cid = ringing["call"]["id"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        p.ok(json!({"cmd": "reject", "call": cid}));
        assert!(
            p.wait_call_state(&cid, "ended", LONG).is_some(),
            "{:?}",
            p.events()
        );
        // `reject` without a code answers 486, as the caller heard it.
        let closed = caller.wait_event("CALL_CLOSED", LONG);
        let closed = closed.unwrap_or_else(|| panic!("{}", caller.log()));
        assert!(
            closed["param"].as_str().is_some_and(|p| p.contains("486")),
            "the caller's CALL_CLOSED: {closed}"
        );
    }
    let h = p.ok(json!({"cmd": "history", "limit": 5}));
    let accounts_in_history: Vec<_> = h["history"]
        .as_array()
        .map(|v| v.iter().map(|e| e["account"].clone()).collect())
        .unwrap_or_default();
    assert!(
        accounts_in_history.contains(&json!("second"))
            && accounts_in_history.contains(&json!("office")),
        "{h}"
    );
    caller.stop();
    callee.stop();
}

/// Each account has its own state: one with a wrong password is not
/// registered (with a reason) while the other one is.
#[test]
fn accounts_keep_their_own_registration_state() {
    let t = TestDir::new("pbx-accounts-state");
    let k = Kamailio::start(&t.sub("kamailio"));
    let config = Config::new()
        .account(Account::registered("office", "1001", &k))
        .account(Account::registered("broken", "1021", &k).password("wrong"));
    let mut p = Phone::start(&t.sub("phone"), &config);
    let account = |s: &serde_json::Value, name: &str| {
        s["accounts"]
            .as_array()
            .and_then(|a| a.iter().find(|a| a["name"] == name).cloned())
            .unwrap_or_default()
    };
    let st = p.wait_status(LONG, |s| {
        account(s, "office")["registered"] == true
            && account(s, "broken")["reason"]
                .as_str()
                .is_some_and(|r| !r.is_empty())
    });
    let st = st.unwrap_or_else(|| panic!("{}\n{}", p.status(), p.log_tail()));
    assert_eq!(account(&st, "broken")["registered"], false, "{st}");
    assert!(
        k.wait_registered("1001", Duration::from_secs(5)) && !k.registered("1021"),
        "{}",
        k.log()
    );
    let ev = p.wait_event(LONG, |e| {
        e["event"] == "registration" && e["account"] == "office" && e["registered"] == true
    });
    assert!(ev.is_some(), "{:?}", p.events());
}
