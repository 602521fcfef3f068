//! Callback when free ("Rückruf"), each way against a SIPp peer:
//! - RFC 6910 call completion: the callee's server answers 486 with a
//!   `Call-Info` offering call completion; `callback when=free` subscribes
//!   to the monitor (`Event: call-completion`), the monitor says `queued`
//!   then `ready` with a `cc-URI`; the phone unsubscribes, rings here with
//!   the recall tone (a 900/1400 Hz pattern recorded by the file backend),
//!   and `callback_accept` calls the `cc-URI`.
//! - The PBX's callback code (profile `openscape4000`, `*37{target}`): the
//!   PBX confirms by answering, the code call is released, and
//!   `callback_cancel` dials the off code `#37`.
//! - The target's dialog state (RFC 4235) when neither is offered: a SIPp
//!   presence server says busy, then idle; with `callback_auto_dial` the
//!   phone dials the target. After a call the target did not answer, an
//!   idle NOTIFY is no recall: the target must have been in a call
//!   (confirmed) and be idle again (terminated) before the recall rings.
//!
//! Also: a callback expires after `callback_expiry_s`, and `callback`
//! without `when` still redials from history.

mod support;

use serde_json::{json, Value};
use std::time::Duration;
use support::config::{Account, Audio, Config};
use support::phone::Phone;
use support::sipp::{Sipp, SippRun};
use support::TestDir;

const LONG: Duration = Duration::from_secs(10);

/// The `callback` event of `id` in `state`, waiting up to [`LONG`].
fn callback_event(p: &mut Phone, id: &str, state: &str) -> Value {
    p.wait_event(LONG, |e| {
        e["event"] == "callback" && e["id"] == id && e["state"] == state
    })
    .unwrap_or_else(|| {
        panic!(
            "no callback event {id} {state}; events: {:?}\n{}",
            p.events(),
            p.log_tail()
        )
    })
}

/// `status.callbacks`, `[]` when absent.
fn pending(p: &mut Phone) -> Vec<Value> {
    p.status()["callbacks"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn ok_server(server: SippRun, p: &Phone) {
    let r = server.wait(LONG);
    assert!(r.success(), "server: {}\n{}", r.describe(), p.log_tail());
}

/// A SIPp target answering with `target_scenario`, and a SIPp dialog
/// notifier (`notifier_scenario`) reporting on it; returns the target,
/// its URI and the notifier.
fn target_and_notifier(
    t: &TestDir,
    target_scenario: &str,
    notifier_scenario: &str,
) -> (SippRun, String, SippRun) {
    let target = Sipp::new(target_scenario, &t.sub("target"))
        .timeout(30)
        .spawn();
    let target_uri = format!("sip:1002@{}", target.addr());
    let notifier = Sipp::new(notifier_scenario, &t.sub("ps"))
        .key("target", &target_uri)
        .timeout(30)
        .spawn();
    (target, target_uri, notifier)
}

/// A phone with a direct account and one through `notifier`, the dialog
/// watch's server.
fn phone_watching(t: &TestDir, notifier: &SippRun, config: Config) -> Phone {
    Phone::start(
        &t.sub("phone"),
        &config
            .account(Account::direct("office", "1001"))
            .account(Account::via("pbx", "1001", notifier.addr())),
    )
}

#[test]
fn call_completion_offered_in_the_486_rings_here_and_calls_the_cc_uri() {
    let t = TestDir::new("callback-cc");
    let target = Sipp::new("uas_answer", &t.sub("target"))
        .timeout(30)
        .spawn();
    let cc_uri = format!("sip:1002@{}", target.addr());
    let monitor = Sipp::new("cc_monitor", &t.sub("monitor"))
        .key("cc_uri", &cc_uri)
        .timeout(30)
        .spawn();
    let monitor_uri = format!("sip:cc-1002@{}", monitor.addr());
    let busy = Sipp::new("uas_486_cc", &t.sub("busy"))
        .key("monitor", &monitor_uri)
        .timeout(30)
        .spawn();
    let src = t.path().join("mic.wav");
    support::tone::write_sine_wav(&src, 1000.0, 8000, 5.0);
    let rec = t.sub("rec");
    let mut p = Phone::start(
        &t.sub("phone"),
        &Config::new()
            .account(Account::direct("office", "1001"))
            .audio(Audio::file(&src, &rec)),
    );

    let busy_uri = format!("sip:1002@{}", busy.addr());
    let r = p.ok(json!({"cmd": "dial", "to": busy_uri}));
    let call = r["call"].as_str().unwrap().to_string();
    let ended = p
        .wait_call_state(&call, "ended", LONG)
        .expect("busy call ended");
    assert!(
        ended["end_reason"]
            .as_str()
            .unwrap_or("")
            .starts_with("486"),
        "{ended}"
    );
    ok_server(busy, &p);

    let r = p.ok(json!({"cmd": "callback", "when": "free"}));
    let cb = &r["callback"];
    assert_eq!(cb["via"], "call_completion", "{r}");
    assert_eq!(cb["reason"], "busy", "{r}");
    assert_eq!(cb["state"], "waiting", "{r}");
    let id = cb["id"].as_str().unwrap().to_string();
    assert_eq!(pending(&mut p).len(), 1);

    callback_event(&mut p, &id, "ringing");
    let listed = pending(&mut p);
    assert_eq!(listed.first().map(|c| &c["state"]), Some(&json!("ringing")));
    // The monitor saw the unsubscribe once the target was free.
    ok_server(monitor, &p);

    // The recall rings here (the file backend records it) until accepted.
    let wav = rec.join(format!("callback-{id}.wav"));
    assert!(
        support::phone::wait_wav(&wav, 1.0, LONG),
        "{} missing or short; rec/ holds {:?}",
        wav.display(),
        support::phone::list_dir(&rec)
    );
    let r = p.ok(json!({"cmd": "callback_accept"}));
    let call = r["call"].as_str().unwrap().to_string();
    let dialed = callback_event(&mut p, &id, "dialed");
    assert_eq!(dialed["call"], call.as_str());
    let active = p.wait_active(&call);
    assert_eq!(active["remote"], cc_uri.as_str(), "{active}");
    assert!(pending(&mut p).is_empty(), "{}", p.status());
    p.hang_up(&call);
    ok_server(target, &p);

    // It played 900 and 1400 Hz, not the 1000 Hz microphone.
    let (samples, rate) = support::tone::read_mono(&wav);
    let hi = support::tone::tone_share(&samples, rate, 1400.0);
    let lo = support::tone::tone_share(&samples, rate, 900.0);
    let mic = support::tone::tone_share(&samples, rate, 1000.0);
    assert!(
        hi > 0.1 && lo > 0.1 && mic < 0.05,
        "recall tone shares: 1400 Hz {hi}, 900 Hz {lo}, microphone 1000 Hz {mic}"
    );
}

#[test]
fn pbx_callback_code_is_confirmed_released_and_cancelled_by_its_off_code() {
    let t = TestDir::new("callback-code");
    let server = Sipp::new("uas_code_confirm_200", &t.sub("sipp"))
        .calls(2)
        .timeout(30)
        .spawn();
    let mut p = Phone::start(
        &t.sub("phone"),
        &Config::new()
            .account(Account::via("office", "1001", server.addr()))
            .pbx("profile", "openscape4000"),
    );
    let r = p.ok(json!({"cmd": "callback", "when": "free", "to": "1002"}));
    assert_eq!(r["callback"]["state"], "confirmed", "{r}");
    assert_eq!(r["callback"]["via"], "feature_code", "{r}");
    let id = r["callback"]["id"].as_str().unwrap().to_string();
    let listed = pending(&mut p);
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0]["via"], "feature_code");
    assert_eq!(listed[0]["state"], "confirmed");
    let m = server.messages();
    assert!(
        m.contains("INVITE sip:*371002@") || m.contains("INVITE sip:%2A371002@"),
        "{m}"
    );
    assert!(
        support::wait_until(LONG, || server.messages().contains("BYE sip:")),
        "the code call was not released:\n{}",
        server.messages()
    );

    let r = p.ok(json!({"cmd": "callback_cancel", "callback": id}));
    assert_eq!(r["callbacks"], json!([]), "{r}");
    callback_event(&mut p, &id, "cancelled");
    assert!(
        support::wait_until(LONG, || server.messages().contains("INVITE sip:%2337@")),
        "no off code #37:\n{}",
        server.messages()
    );
    ok_server(server, &p);
}

#[test]
fn pbx_callback_code_refused_is_an_error_and_nothing_pending() {
    let t = TestDir::new("callback-code-403");
    let server = Sipp::new("uas_code_403", &t.sub("sipp"))
        .timeout(20)
        .spawn();
    let mut p = Phone::start(
        &t.sub("phone"),
        &Config::new()
            .account(Account::via("office", "1001", server.addr()))
            .pbx("profile", "openscape4000"),
    );
    let r = p.cmd(json!({"cmd": "callback", "when": "free", "to": "1002"}));
    assert_eq!(r["ok"], false, "{r}");
    assert_eq!(r["error"]["code"], "feature_code_refused", "{r}");
    assert!(pending(&mut p).is_empty(), "{}", p.status());
    ok_server(server, &p);
}

#[test]
fn dialog_watch_sees_the_target_busy_then_idle_and_dials_it() {
    let t = TestDir::new("callback-dialog");
    let (target, target_uri, notifier) = target_and_notifier(&t, "uas_answer", "dialog_notifier");
    let mut p = phone_watching(
        &t,
        &notifier,
        Config::new().phone("callback_auto_dial", true),
    );
    let r = p.ok(json!({"cmd": "callback", "when": "free", "to": target_uri}));
    assert_eq!(r["callback"]["via"], "dialog", "{r}");
    let id = r["callback"]["id"].as_str().unwrap().to_string();
    let dialed = callback_event(&mut p, &id, "dialed");
    let call = dialed["call"].as_str().unwrap().to_string();
    // Free only after the busy NOTIFY and then the idle one (a second
    // later): SIPp logs a moment after the fact, so the order is read
    // from the logs' time stamps once both are written.
    let stamps = || {
        Some((
            notifier.logged_at("CSeq: 2 NOTIFY")?,
            target.logged_at("INVITE sip:")?,
        ))
    };
    assert!(
        support::wait_until(LONG, || stamps().is_some()),
        "no idle NOTIFY or no INVITE at the target:\n{}",
        notifier.messages()
    );
    let (idle, invite) = stamps().unwrap_or_default();
    assert!(
        idle < invite,
        "dialled ({invite}) before the idle NOTIFY ({idle}):\n{}",
        notifier.messages()
    );
    let active = p.wait_active(&call);
    assert_eq!(active["remote"], target_uri.as_str());
    ok_server(notifier, &p);
    p.hang_up(&call);
    ok_server(target, &p);
}

#[test]
fn after_no_answer_the_recall_waits_for_a_call_of_the_target_to_end() {
    let t = TestDir::new("callback-no-answer");
    let (target, target_uri, notifier) =
        target_and_notifier(&t, "uas_noanswer", "dialog_notifier_no_answer");
    let mut p = phone_watching(&t, &notifier, Config::new());

    // It rings there; we give up: no answer.
    let r = p.ok(json!({"cmd": "dial", "to": target_uri}));
    let call = r["call"].as_str().unwrap().to_string();
    assert!(
        p.wait_call_state(&call, "alerting", LONG).is_some(),
        "{:?}",
        p.events()
    );
    p.hang_up(&call);
    ok_server(target, &p);

    let r = p.ok(json!({"cmd": "callback", "when": "free"}));
    assert_eq!(r["callback"]["via"], "dialog", "{r}");
    assert_eq!(r["callback"]["reason"], "no_answer", "{r}");
    let id = r["callback"]["id"].as_str().unwrap().to_string();
    callback_event(&mut p, &id, "ringing");
    // Not at the first (idle) NOTIFY, nor at the busy one: only once the
    // call the target was in has ended.
    let m = notifier.messages();
    assert!(
        m.contains("CSeq: 3 NOTIFY"),
        "the recall rang before the target's call ended:\n{m}"
    );
    let listed = pending(&mut p);
    assert_eq!(listed.first().map(|c| &c["state"]), Some(&json!("ringing")));
    // The watch unsubscribed once the target was free.
    ok_server(notifier, &p);
    let r = p.ok(json!({"cmd": "callback_cancel", "callback": id}));
    assert_eq!(r["callbacks"], json!([]), "{r}");
}

#[test]
fn callbacks_expire_and_history_redial_stays() {
    let t = TestDir::new("callback-expiry");
    // The PBX takes the callback code, and the off code at expiry.
    let server = Sipp::new("uas_code_confirm_200", &t.sub("sipp"))
        .calls(2)
        .timeout(30)
        .spawn();
    let mut p = Phone::start(
        &t.sub("phone"),
        &Config::new()
            .account(Account::via("office", "1001", server.addr()))
            .pbx("profile", "openscape4000")
            .phone("callback_expiry_s", 3),
    );
    // Nothing to call back yet.
    let r = p.cmd(json!({"cmd": "callback", "when": "free"}));
    assert_eq!(r["error"]["code"], "no_callback_target", "{r}");
    let r = p.ok(json!({"cmd": "callback", "when": "free", "to": "1003"}));
    let id = r["callback"]["id"].as_str().unwrap().to_string();
    let twice = p.cmd(json!({"cmd": "callback", "when": "free", "to": "1003"}));
    assert_eq!(twice["error"]["code"], "callback_pending", "{twice}");
    callback_event(&mut p, &id, "expired");
    assert!(pending(&mut p).is_empty(), "{}", p.status());
    assert!(
        support::wait_until(LONG, || server.messages().contains("INVITE sip:%2337@")),
        "no off code #37 at expiry:\n{}",
        server.messages()
    );
    let r = p.cmd(json!({"cmd": "callback_cancel", "callback": id}));
    assert_eq!(r["error"]["code"], "no_such_callback", "{r}");
    // `callback` without `when` is the history's redial, as before: the
    // history holds no missed call.
    let r = p.cmd(json!({"cmd": "callback"}));
    assert_eq!(r["error"]["code"], "no_such_entry", "{r}");
    ok_server(server, &p);
}
