//! Busy lamp field and call pickup against real peers: termphone 1001
//! (`[[blf]] target = "1002"`) registered to kamailio with its presence
//! modules. Baresip 1003 calls baresip 1002: the lamp of 1002 goes ringing
//! (with the caller) → busy → idle, in `blf` and as `blf` events. A SIPp
//! caller rings 1002 and `pickup target=1002` takes that call (dialog-info
//! call-id and tags, INVITE with Replaces to the caller): 1002 stops ringing
//! and termphone hears the caller's tone. Between three termphones (no
//! PBX but kamailio, whose pua_dialoginfo publishes the dialog state of the
//! calls it proxies): 1003 calls 1002, 1001 picks the ringing call up, 1003
//! talks to 1001 and 1002's call ends answered elsewhere. Subscriptions are
//! refreshed before they expire and renewed after the server lost them.

mod support;

use serde_json::{json, Value};
use std::time::Duration;
use support::baresip::Baresip;
use support::callctl::tag_of;
use support::config::{Account, Audio};
use support::kamailio::Kamailio;
use support::pbx::{lamp, wait_lamp};
use support::phone::{call_id_of, list_dir, wait_wav, Phone};
use support::setup::{baresip, registered_phone, PeerOpts, PhoneOpts};
use support::sipp::Sipp;
use support::{tone, TestDir};

const LONG: Duration = Duration::from_secs(10);

fn blf_event(p: &mut Phone, target: &str, state: &str) -> Option<Value> {
    p.wait_event(LONG, |e| {
        e["event"] == "blf"
            && e["target"].as_str().is_some_and(|t| t.contains(target))
            && e["state"] == state
    })
}

/// Baresip extensions 1002 (to be called) and 1003 (to call), both playing
/// 600 Hz, registered to `k`.
fn callee_and_caller(t: &TestDir, k: &Kamailio) -> (Baresip, Baresip) {
    let wav = t.path().join("600.wav");
    tone::write_sine_wav(&wav, 600.0, 8000, 30.0);
    (
        baresip(t, "1002", PeerOpts::wav(&wav).registered(k)),
        baresip(t, "1003", PeerOpts::wav(&wav).registered(k)),
    )
}

/// Waits until kamailio has sent termphone a NOTIFY for the dialog package.
fn wait_subscribed(k: &Kamailio, p: &Phone) {
    let notified = support::wait_until(LONG, || {
        k.log()
            .lines()
            .any(|l| l.contains("NOTIFY sip:1001@test.local") && l.contains("for event dialog"))
    });
    assert!(
        notified,
        "no dialog subscription of 1001:\n{}\n{}",
        p.log_tail(),
        k.log()
    );
}

#[test]
fn blf_lamp_follows_ringing_busy_idle() {
    let t = TestDir::new("pbx-blf");
    let k = Kamailio::start_presence(&t.sub("kamailio"));
    let (mut callee, mut caller) = callee_and_caller(&t, &k);
    let mut p = registered_phone(
        &t,
        PhoneOpts::new()
            .account(Account::registered("office", "1001", &k))
            .blf("1002", Some("Reception")),
    );

    // Listed with its label; subscribed (kamailio has notified the state,
    // which before any call may carry no dialog-info at all: idle or unknown).
    let listed = lamp(&mut p, "1002");
    assert!(
        listed.as_ref().is_some_and(|l| l["label"] == "Reception"
            && ["idle", "unknown"].contains(&l["state"].as_str().unwrap_or(""))),
        "{listed:?}"
    );
    wait_subscribed(&k, &p);

    caller.dial("sip:1002@test.local");
    assert!(
        callee.wait_event("CALL_INCOMING", LONG).is_some(),
        "{}",
        callee.log()
    );
    let ringing = wait_lamp(&mut p, "1002", "ringing", LONG);
    let ringing = ringing.unwrap_or_else(|| {
        panic!(
            "lamp not ringing: {:?}\n{:?}\n{}",
            lamp(&mut p, "1002"),
            p.events(),
            p.log_tail()
        )
    });
    assert!(
        ringing["remote"]
            .as_str()
            .is_some_and(|r| r.contains("1003")),
        "ringing lamp without the caller: {ringing}"
    );
    assert!(
        blf_event(&mut p, "1002", "ringing").is_some(),
        "{:?}",
        p.events()
    );

    callee.accept();
    assert!(
        wait_lamp(&mut p, "1002", "busy", LONG).is_some(),
        "lamp not busy: {:?}",
        lamp(&mut p, "1002")
    );
    assert!(
        blf_event(&mut p, "1002", "busy").is_some(),
        "{:?}",
        p.events()
    );

    caller.hangup();
    let end = std::time::Instant::now() + LONG;
    let mut back_idle = false;
    while std::time::Instant::now() < end {
        if lamp(&mut p, "1002").is_some_and(|e| e["state"] == "idle") {
            back_idle = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(back_idle, "lamp not idle again: {:?}", lamp(&mut p, "1002"));
    // An idle event after the busy one.
    let evs = p.events();
    let busy_at = evs
        .iter()
        .position(|e| e["event"] == "blf" && e["state"] == "busy");
    let idle_after = busy_at.is_some_and(|i| {
        evs[i..]
            .iter()
            .any(|e| e["event"] == "blf" && e["state"] == "idle")
    });
    assert!(idle_after, "no idle blf event after busy: {evs:?}");
    caller.stop();
    callee.stop();
}

/// The caller is SIPp (baresip 1.0 has no Replaces): 3003 registers, calls
/// baresip 1002 and lets it ring; `pickup target=1002` sends the INVITE with
/// Replaces (early-only) to 3003, which answers it and CANCELs its ringing
/// call. 1002 stops ringing; the caller streams its own tone (700 Hz) to
/// termphone, whose recording holds it: the caller talks to us.
#[test]
fn pickup_takes_the_ringing_call_and_audio_flows() {
    let t = TestDir::new("pbx-pickup");
    let k = Kamailio::start_presence(&t.sub("kamailio"));
    let w400 = t.path().join("400.wav");
    tone::write_sine_wav(&w400, 400.0, 8000, 30.0);
    let w1000 = t.path().join("1000.wav");
    tone::write_sine_wav(&w1000, 1000.0, 8000, 30.0);
    let mut callee = baresip(&t, "1002", PeerOpts::wav(&w400).registered(&k));
    let rec = t.sub("rec");
    let mut p = registered_phone(
        &t,
        PhoneOpts::new()
            .account(Account::registered("office", "1001", &k))
            .audio(Audio::file(&w1000, &rec))
            .blf("1002", None),
    );
    wait_subscribed(&k, &p);

    // The caller's voice: 700 Hz, streamed once the pickup is answered.
    let caller_dir = t.sub("caller");
    tone::write_sine_ulaw(&caller_dir.join("caller.ul"), 700.0, 10.0);
    let caller = Sipp::new("uac_pickup_caller", &caller_dir)
        .target(k.addr())
        .service("1002")
        .key("caller", "3003")
        .arg("-oocsf")
        .arg(
            &support::tests_path("sipp/ooc_pickup_answer.xml")
                .display()
                .to_string(),
        )
        .timeout(30)
        .spawn();
    assert!(
        callee.wait_event("CALL_INCOMING", LONG).is_some(),
        "{}\n{}",
        callee.log(),
        caller.messages()
    );
    let ringing = wait_lamp(&mut p, "1002", "ringing", LONG);
    let ringing = ringing.unwrap_or_else(|| {
        panic!(
            "lamp not ringing: {:?}\n{}",
            lamp(&mut p, "1002"),
            p.log_tail()
        )
    });
    assert!(
        ringing["remote"]
            .as_str()
            .is_some_and(|r| r.contains("3003")),
        "{ringing}"
    );

    let r = p.ok(json!({"cmd": "pickup", "target": "1002"}));
    let active = p.wait_any_call_state("active", Duration::from_secs(15));
    let active = active.unwrap_or_else(|| {
        panic!(
            "pickup gave no active call: {r}\n{:?}\n{}\n{}",
            p.events(),
            p.log_tail(),
            caller.messages()
        )
    });
    assert_eq!(active["direction"], "out", "{active}");
    assert!(
        active["remote"]
            .as_str()
            .is_some_and(|r| r.contains("3003")),
        "picked-up call is not with the caller: {active}"
    );
    let id = active["id"].as_str().unwrap_or_default().to_string();
    let sip_call_id = active["sip_call_id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        callee.wait_event("CALL_CLOSED", LONG).is_some(),
        "1002 still rings: {:?}",
        callee.events()
    );
    assert!(
        wait_lamp(&mut p, "1002", "idle", LONG).is_some(),
        "lamp of 1002 after the pickup: {:?}",
        lamp(&mut p, "1002")
    );
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(
        p.call(&id).map(|c| c["state"].clone()),
        Some(json!("active")),
        "{:?}",
        p.events()
    );
    p.ok(json!({"cmd": "hangup", "call": id}));
    assert!(
        p.wait_call_state(&id, "ended", LONG).is_some(),
        "{:?}",
        p.events()
    );
    let rc = caller.wait(Duration::from_secs(10));
    assert!(rc.success(), "caller: {}", rc.describe());
    // The INVITE termphone sent the caller names the caller's ringing
    // dialog: its Call-ID, its own From tag as to-tag, the ringing phone's
    // To tag as from-tag, early-only; and it requires the extension.
    let msgs = rc.traced();
    let ours = msgs
        .iter()
        .find(|m| m.sent && m.is_request("INVITE"))
        .unwrap_or_else(|| panic!("the caller's INVITE: {}", rc.describe()));
    let call_id = ours.header("Call-ID").unwrap_or_default();
    let caller_tag = ours.header("From").and_then(tag_of).unwrap_or_default();
    let ringing_tag = msgs
        .iter()
        .find(|m| !m.sent && m.is_response(180))
        .and_then(|m| m.header("To").and_then(tag_of))
        .unwrap_or_else(|| panic!("no 180 with a To tag: {}", rc.describe()));
    let pickup = msgs
        .iter()
        .find(|m| !m.sent && m.is_request("INVITE"))
        .unwrap_or_else(|| panic!("no pickup INVITE: {}", rc.describe()));
    let replaces = pickup.header("Replaces").unwrap_or_default();
    let mut parts: Vec<&str> = replaces.split(';').map(str::trim).collect();
    assert_eq!(
        parts.first().copied(),
        Some(call_id),
        "Replaces: {replaces}"
    );
    parts.sort_unstable();
    for want in [
        format!("to-tag={caller_tag}"),
        format!("from-tag={ringing_tag}"),
        "early-only".to_string(),
    ] {
        assert!(
            parts.contains(&want.as_str()),
            "Replaces: {replaces}, wanted {want}"
        );
    }
    assert_eq!(
        pickup.header("Require"),
        Some("replaces"),
        "{}",
        pickup.text
    );
    callee.stop();

    // We heard the caller's 700 Hz, not the ringing phone's 400 Hz.
    let out = rec.join(format!("{sip_call_id}.wav"));
    assert!(
        wait_wav(&out, 2.0, LONG),
        "{} missing or short; rec/ holds {:?}",
        out.display(),
        list_dir(&rec)
    );
    tone::assert_tone(&out, 700.0, 400.0);
}

/// Three termphones on kamailio, each playing its own tone: A (1003, 700
/// Hz) calls B (1002, 400 Hz), which rings; C (1001, 1000 Hz, a lamp on
/// 1002) picks the call up. A takes C's INVITE with Replaces, CANCELs its
/// ringing INVITE with "Call completed elsewhere" and ends that call as
/// picked up; B's call ends answered elsewhere (not missed); A and C talk:
/// each one's recording holds the other's tone and not B's.
#[test]
fn pickup_between_termphones_through_kamailio() {
    let t = TestDir::new("pbx-pickup-termphones");
    let k = Kamailio::start_presence(&t.sub("kamailio"));
    let registered = |dir: &str, user: &str, hz: f64| {
        PhoneOpts::new()
            .dir(dir)
            .tone(hz)
            .account(Account::registered("office", user, &k))
    };
    let mut a = registered_phone(&t, registered("a", "1003", 700.0));
    let mut b = registered_phone(&t, registered("b", "1002", 400.0));
    let mut c = registered_phone(&t, registered("c", "1001", 1000.0).blf("1002", None));
    wait_subscribed(&k, &c);

    let a_out = call_id_of(&a.ok(json!({"cmd": "dial", "to": "sip:1002@test.local"})));
    let b_ringing = b.wait_any_call_state("ringing", LONG);
    let b_id = b_ringing
        .as_ref()
        .and_then(|r| r["id"].as_str())
        .unwrap_or_else(|| panic!("B does not ring: {:?}\n{}", b.events(), k.log()))
        .to_string();
    assert!(
        a.wait_call_state(&a_out, "alerting", LONG).is_some(),
        "A hears no ringing: {:?}",
        a.events()
    );
    let ringing = wait_lamp(&mut c, "1002", "ringing", LONG).unwrap_or_else(|| {
        panic!(
            "lamp not ringing: {:?}\n{}",
            lamp(&mut c, "1002"),
            c.log_tail()
        )
    });
    assert!(
        ringing["remote"]
            .as_str()
            .is_some_and(|r| r.contains("1003")),
        "{ringing}"
    );

    c.ok(json!({"cmd": "pickup", "target": "1002"}));
    let picked = c.wait_any_call_state("active", LONG).unwrap_or_else(|| {
        panic!(
            "pickup gave no active call: {:?}\n{}\n{}",
            c.events(),
            c.log_tail(),
            a.log_tail()
        )
    });
    assert!(
        picked["remote"]
            .as_str()
            .is_some_and(|r| r.contains("1003")),
        "picked-up call is not with A: {picked}"
    );
    let c_id = picked["id"].as_str().unwrap_or_default().to_string();
    let sip_call_id = picked["sip_call_id"]
        .as_str()
        .unwrap_or_default()
        .to_string();

    // A: the ringing call ends picked up, the call from C is active.
    let ended = a
        .wait_call_state(&a_out, "ended", LONG)
        .unwrap_or_else(|| panic!("A's ringing call did not end: {:?}", a.events()));
    assert_eq!(ended["end_reason"], "picked up", "{ended}");
    let from_c = a
        .wait_event(LONG, |e| {
            e["event"] == "call"
                && e["call"]["sip_call_id"] == sip_call_id.as_str()
                && e["call"]["state"] == "active"
        })
        .unwrap_or_else(|| panic!("A has no active call from C: {:?}", a.events()));
    // B: answered elsewhere, by the CANCEL's Reason; not a missed call.
    let b_end = b
        .wait_call_state(&b_id, "ended", LONG)
        .unwrap_or_else(|| panic!("B still rings: {:?}", b.events()));
    assert_eq!(b_end["end_reason"], "answered elsewhere", "{b_end}");
    let cancel = k
        .log()
        .lines()
        .any(|l| l.contains("REQ CANCEL from=sip:1003@test.local"));
    assert!(cancel, "A sent no CANCEL through kamailio:\n{}", k.log());
    assert!(
        wait_lamp(&mut c, "1002", "idle", LONG).is_some(),
        "lamp of 1002 after the pickup: {:?}",
        lamp(&mut c, "1002")
    );

    // A and C talk.
    std::thread::sleep(Duration::from_secs(3));
    c.ok(json!({"cmd": "hangup", "call": c_id}));
    let a_call = from_c["call"]["id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        a.wait_call_state(&a_call, "ended", LONG).is_some(),
        "{:?}",
        a.events()
    );
    for (who, rec, hears) in [("A", &a.rec, 1000.0), ("C", &c.rec, 700.0)] {
        let out = rec.join(format!("{sip_call_id}.wav"));
        assert!(
            wait_wav(&out, 2.0, LONG),
            "{who}: {} missing or short; holds {:?}",
            out.display(),
            list_dir(rec)
        );
        tone::assert_tone(&out, hears, 400.0);
    }
}

/// kamailio granting dialog subscriptions for 10 s only.
fn short_expiry(cfg: &str) -> String {
    let line = "modparam(\"presence\", \"subs_db_mode\", 1)";
    assert!(cfg.contains(line), "presence config changed");
    cfg.replace(
        line,
        &format!("{line}\nmodparam(\"presence\", \"max_expires\", 10)"),
    )
}

/// The subscription is refreshed before kamailio's 10 s run out (the lamp
/// still follows a call afterwards), and after kamailio restarts without
/// its state (the refresh gets 481) the phone subscribes anew.
#[test]
fn blf_refreshes_and_resubscribes_after_a_server_restart() {
    let t = TestDir::new("pbx-blf-refresh");
    let k = Kamailio::start_presence_custom(&t.sub("kamailio"), short_expiry, None);
    let (mut callee, mut caller) = callee_and_caller(&t, &k);
    let mut p = registered_phone(
        &t,
        PhoneOpts::new()
            .account(Account::registered("office", "1001", &k))
            .blf("1002", None),
    );
    wait_subscribed(&k, &p);

    // Past the first expiry: still subscribed, the lamp still follows.
    std::thread::sleep(Duration::from_secs(12));
    caller.dial("sip:1002@test.local");
    assert!(
        callee.wait_event("CALL_INCOMING", LONG).is_some(),
        "{}",
        callee.log()
    );
    assert!(
        wait_lamp(&mut p, "1002", "ringing", LONG).is_some(),
        "lamp dead after the expiry: {:?}\n{}\n{}",
        lamp(&mut p, "1002"),
        p.log_tail(),
        k.log()
    );
    caller.hangup();
    assert!(
        wait_lamp(&mut p, "1002", "idle", LONG).is_some(),
        "{:?}",
        lamp(&mut p, "1002")
    );
    caller.stop();
    callee.stop();

    // kamailio restarts on its port with an empty database.
    let port = k.port;
    drop(k);
    let k2 = Kamailio::start_presence_custom(&t.sub("kamailio2"), short_expiry, Some(port));
    let resubscribed = support::wait_until(Duration::from_secs(25), || {
        k2.log().lines().any(|l| {
            l.contains("REQ SUBSCRIBE from=sip:1001@test.local")
                && l.contains("to=sip:1002@test.local")
                && l.contains("ttag=<null>")
        })
    });
    assert!(
        resubscribed,
        "no new subscription after the restart:\n{}\n{}",
        p.log_tail(),
        k2.log()
    );
    wait_subscribed(&k2, &p);
    let l = lamp(&mut p, "1002");
    assert!(
        l.as_ref()
            .is_some_and(|l| ["idle", "unknown"].contains(&l["state"].as_str().unwrap_or(""))),
        "{l:?}"
    );
}
