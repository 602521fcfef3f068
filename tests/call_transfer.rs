//! Moving calls elsewhere, both ways, against real peers: deflect (302, the
//! SIPp caller follows it), blind transfer A→B→C through kamailio with
//! baresip as A and C (and its failure: C busy, our call comes back),
//! attended transfer (consult, then connect with Replaces), a peer's REFER
//! to us (blind and with Replaces: NOTIFY sipfrag back, Referred-By on the
//! new INVITE), and an incoming INVITE with Replaces (takes over the named
//! dialog, 481 when there is none).
//!
//! baresip 1.0 follows a REFER but puts an embedded `?Replaces=` into the
//! request URI of its new INVITE instead of a Replaces header, so in the
//! attended transfer with baresip C does not end our consultation leg:
//! termphone ends both of its legs once the transfer succeeded. That
//! Replaces reaches C and is honoured is proven with termphones as A and C,
//! which take over a dialog only when Call-ID and both tags match.

mod support;

use serde_json::json;
use std::time::Duration;
use support::callctl::{
    dial_active, last_received, tag_of, traced_header, wait_next, wait_ringing, wait_state, A_HZ,
    C_HZ, PHONE_HZ,
};
use support::config::Account;
use support::kamailio::Kamailio;
use support::phone::call_id_of;
use support::setup::{baresip, direct_phone, registered_phone, PeerOpts, PhoneOpts};
use support::sipp::Sipp;
use support::{tone, wait_until, TestDir};

#[test]
fn deflect_sends_302_and_the_caller_follows_it() {
    let t = TestDir::new("cc-deflect");
    let mut p = direct_phone(&t, PhoneOpts::new());
    let target = Sipp::new("uas_answer", &t.sub("target"))
        .timeout(20)
        .spawn();
    let to = format!("sip:x@127.0.0.1:{}", target.port);
    let caller = Sipp::new("uac_follow_302", &t.sub("caller"))
        .target(p.sip_addr())
        .service("1001")
        .key("target_host", "127.0.0.1")
        .key("target_port", &target.port.to_string())
        .key("target_user", "x")
        .timeout(20)
        .spawn();
    let id = wait_ringing(&mut p, 10);
    p.ok(json!({"cmd": "deflect", "call": id, "to": to}));
    wait_state(&mut p, &id, "ended", 5);

    let rc = caller.wait(Duration::from_secs(25));
    assert!(rc.success(), "caller: {}\n{}", rc.describe(), p.log_tail());
    let contact = traced_header(&rc.traced(), |m| m.is_response(302), "Contact");
    assert!(
        contact.as_deref().unwrap_or("").contains(&to),
        "302 Contact {contact:?}, wanted {to}"
    );
    let rt = target.wait(Duration::from_secs(10));
    assert!(rt.success(), "target: {}", rt.describe());
}

#[test]
fn blind_transfer_a_b_c() {
    let t = TestDir::new("cc-blind");
    let k = Kamailio::start(&t.sub("kamailio"));
    let mut a = baresip(&t, "1002", PeerOpts::tone(A_HZ).registered(&k));
    let mut c = baresip(&t, "1003", PeerOpts::tone(C_HZ).registered(&k));
    let mut p = registered_phone(
        &t,
        PhoneOpts::new()
            .account(Account::registered("office", "1001", &k))
            .tone(PHONE_HZ),
    );
    let id = dial_active(&mut p, "1002");
    assert!(a
        .wait_event("CALL_ESTABLISHED", Duration::from_secs(5))
        .is_some());
    std::thread::sleep(Duration::from_millis(1500));

    p.ok(json!({"cmd": "transfer", "call": id, "to": "1003"}));
    let ended = wait_state(&mut p, &id, "ended", 15);
    let reason = ended["end_reason"].as_str().unwrap_or("").to_lowercase();
    assert!(reason.contains("transfer"), "end_reason: {ended}");
    assert!(
        p.call_updates(&id)
            .iter()
            .any(|c| c["state"] == "transferring"),
        "never transferring: {:?}",
        p.call_updates(&id)
    );
    // The REFER went to A and A's NOTIFYs (sipfrag progress) came back through kamailio.
    assert_eq!(k.count_requests("REFER", "1001"), 1, "{}", k.log());
    assert!(k.count_requests("NOTIFY", "1002") >= 1, "{}", k.log());
    assert!(
        c.wait_event("CALL_ESTABLISHED", Duration::from_secs(10))
            .is_some(),
        "C never answered:\n{}",
        c.log()
    );
    // A and C talk for a while, then A hangs up.
    std::thread::sleep(Duration::from_secs(3));
    a.hangup();
    assert!(c
        .wait_event("CALL_CLOSED", Duration::from_secs(10))
        .is_some());
    a.stop();
    c.stop();

    let a_heard = last_received(&a);
    assert!(
        tone::tone_secs(&a_heard, C_HZ) >= 1.5,
        "A does not hear C: {:?}",
        tone::analyze(&a_heard, &[C_HZ, PHONE_HZ])
    );
    assert!(tone::tone_secs(&a_heard, PHONE_HZ) < 0.5);
    let c_heard = last_received(&c);
    assert!(
        tone::tone_secs(&c_heard, A_HZ) >= 1.5,
        "C does not hear A: {:?}",
        tone::analyze(&c_heard, &[A_HZ, PHONE_HZ])
    );
}

#[test]
fn failed_blind_transfer_keeps_the_call() {
    let t = TestDir::new("cc-blind-fail");
    let mut a = baresip(&t, "1002", PeerOpts::tone(A_HZ));
    let mut p = direct_phone(&t, PhoneOpts::new());
    let busy = Sipp::new("uas_486", &t.sub("c")).timeout(20).spawn();
    let id = dial_active(&mut p, &a.direct_uri());
    assert!(a
        .wait_event("CALL_ESTABLISHED", Duration::from_secs(5))
        .is_some());

    let seen = p.call_updates(&id).len();
    p.ok(json!({"cmd": "transfer", "call": id, "to": format!("sip:c@{}", busy.addr())}));
    let (at, _) = p
        .wait_call_from(&id, seen, Duration::from_secs(10), |c| {
            c["state"] == "transferring"
        })
        .unwrap_or_else(|| panic!("never transferring: {:?}", p.call_updates(&id)));
    let back = p.wait_call_from(&id, at + 1, Duration::from_secs(15), |c| {
        c["state"] == "active" || c["state"] == "ended"
    });
    let back = back.map(|(_, c)| c).unwrap_or_default();
    assert_eq!(back["state"], "active", "{:?}", p.call_updates(&id));
    assert_eq!(back["held"], false, "{back}");
    let r = busy.wait(Duration::from_secs(10));
    assert!(r.success(), "C: {}", r.describe());

    p.ok(json!({"cmd": "hangup", "call": id}));
    wait_state(&mut p, &id, "ended", 10);
    assert!(a
        .wait_event("CALL_CLOSED", Duration::from_secs(10))
        .is_some());
}

#[test]
fn attended_transfer_connects_a_and_c() {
    attended_transfer(false);
}

/// Also our consultation leg ends, although baresip 1.0 as C never sees a
/// Replaces header (it ends when C honours Replaces, or when termphone hangs
/// it up after the transfer succeeded, RFC 5589 section 7).
#[test]
fn attended_transfer_ends_both_our_legs() {
    attended_transfer(true);
}

fn attended_transfer(consult_leg_must_end: bool) {
    let t = TestDir::new("cc-attended");
    let k = Kamailio::start(&t.sub("kamailio"));
    let mut a = baresip(&t, "1002", PeerOpts::tone(A_HZ).registered(&k));
    let mut c = baresip(&t, "1003", PeerOpts::tone(C_HZ).registered(&k));
    let mut p = registered_phone(
        &t,
        PhoneOpts::new()
            .account(Account::registered("office", "1001", &k))
            .tone(PHONE_HZ),
    );
    let c1 = dial_active(&mut p, "1002");
    assert!(a
        .wait_event("CALL_ESTABLISHED", Duration::from_secs(5))
        .is_some());
    std::thread::sleep(Duration::from_millis(1200));

    let reply = p.ok(json!({"cmd": "consult", "call": c1, "to": "1003"}));
    let c2 = call_id_of(&reply);
    wait_next(&mut p, &c1, "A held", 10, |c| c["state"] == "held");
    let consult = wait_state(&mut p, &c2, "active", 15);
    assert!(c
        .wait_event("CALL_ESTABLISHED", Duration::from_secs(5))
        .is_some());
    std::thread::sleep(Duration::from_millis(1200));

    p.ok(json!({"cmd": "connect", "call": c1, "consult": c2}));
    let ended = wait_state(&mut p, &c1, "ended", 15);
    let reason = ended["end_reason"].as_str().unwrap_or("").to_lowercase();
    assert!(reason.contains("transfer"), "end_reason: {ended}");
    assert_eq!(k.count_requests("REFER", "1001"), 1, "{}", k.log());
    assert!(k.count_requests("NOTIFY", "1002") >= 1, "{}", k.log());
    if consult_leg_must_end {
        wait_state(&mut p, &c2, "ended", 15);
    }

    // A got a REFER whose Refer-To names the consultation dialog.
    let transfer = a.wait_event("TRANSFER", Duration::from_secs(5));
    let refer_to = transfer
        .as_ref()
        .and_then(|e| e["param"].as_str())
        .unwrap_or("")
        .to_string();
    let consult_id = consult["sip_call_id"].as_str().unwrap_or("");
    let consult_id = consult_id.split('@').next().unwrap_or("");
    assert!(
        refer_to.contains("Replaces=") && !consult_id.is_empty() && refer_to.contains(consult_id),
        "Refer-To {refer_to:?} does not replace {consult_id}"
    );
    std::thread::sleep(Duration::from_secs(3));
    a.hangup();
    a.stop();
    c.stop();
    let a_heard = last_received(&a);
    assert!(
        tone::tone_secs(&a_heard, C_HZ) >= 1.5,
        "A does not hear C: {:?}",
        tone::analyze(&a_heard, &[C_HZ, PHONE_HZ])
    );
    assert!(tone::tone_secs(&a_heard, PHONE_HZ) < 0.5);
}

/// Attended transfer with peers that honour Replaces: A and C are
/// termphones. A follows our REFER with an INVITE to C carrying Replaces;
/// C takes over our consultation leg only when that Replaces names it by
/// Call-ID and both tags (else 481, and a blind-like new call would ring
/// at C). So C's consultation leg ends "replaced", the new call A–C is
/// answered by itself, and both our legs end.
#[test]
fn attended_transfer_replaces_the_consultation_at_c() {
    let t = TestDir::new("cc-attended-replaces");
    let mut p = direct_phone(&t, PhoneOpts::new().dir("p").user("1001"));
    let mut a = direct_phone(
        &t,
        PhoneOpts::new()
            .dir("a")
            .user("1002")
            .phone("auto_answer", true),
    );
    let mut c = direct_phone(
        &t,
        PhoneOpts::new()
            .dir("c")
            .user("1003")
            .phone("auto_answer", true),
    );
    let c1 = dial_active(&mut p, &format!("sip:1002@{}", a.sip_addr()));
    let reply =
        p.ok(json!({"cmd": "consult", "call": c1, "to": format!("sip:1003@{}", c.sip_addr())}));
    let c2 = call_id_of(&reply);
    wait_next(&mut p, &c1, "A held", 10, |c| c["state"] == "held");
    let consult = wait_state(&mut p, &c2, "active", 15);
    let c_leg = c
        .wait_any_call_state("active", Duration::from_secs(10))
        .unwrap_or_else(|| panic!("C never answered: {:?}", c.events()));
    let c_leg = c_leg["id"].as_str().unwrap_or_default().to_string();
    assert_eq!(
        c.call(&c_leg).map(|x| x["sip_call_id"].clone()),
        Some(consult["sip_call_id"].clone())
    );

    p.ok(json!({"cmd": "connect", "call": c1, "consult": c2}));
    let ended = wait_state(&mut p, &c1, "ended", 15);
    let reason = ended["end_reason"].as_str().unwrap_or("").to_lowercase();
    assert!(reason.contains("transfer"), "end_reason: {ended}");
    wait_state(&mut p, &c2, "ended", 15);

    // At C the consultation leg was replaced by A's INVITE.
    let replaced = c.wait_call_state(&c_leg, "ended", Duration::from_secs(10));
    assert_eq!(
        replaced.as_ref().map(|x| x["end_reason"].clone()),
        Some(json!("replaced")),
        "{:?}\n{}",
        c.events(),
        c.log_tail()
    );
    let took_over = c.wait_event(Duration::from_secs(10), |e| {
        e["event"] == "call"
            && e["call"]["id"] != c_leg.as_str()
            && e["call"]["direction"] == "in"
            && e["call"]["state"] == "active"
            && e["call"]["remote"]
                .as_str()
                .is_some_and(|r| r.contains("1002"))
    });
    assert!(
        took_over.is_some(),
        "A and C not connected: {:?}",
        c.events()
    );
    // A's new call is up too, and its first call (from us) is over.
    let a_new = a.wait_event(Duration::from_secs(10), |e| {
        e["event"] == "call" && e["call"]["direction"] == "out" && e["call"]["state"] == "active"
    });
    assert!(a_new.is_some(), "A's call to C: {:?}", a.events());
}

/// Transfer in the ringing phase: `connect` while the consultation still
/// rings at C (a termphone nobody answers) CANCELs it (C's first call ends
/// "caller cancelled") and transfers A blind to C: C rings with A's call,
/// and answered, A and C are connected.
#[test]
fn connect_while_the_consultation_rings_transfers_blind() {
    let t = TestDir::new("cc-semi-attended");
    let mut p = direct_phone(&t, PhoneOpts::new().dir("p").user("1001"));
    let mut a = direct_phone(
        &t,
        PhoneOpts::new()
            .dir("a")
            .user("1002")
            .phone("auto_answer", true),
    );
    let mut c = direct_phone(&t, PhoneOpts::new().dir("c").user("1003"));
    let c_uri = format!("sip:1003@{}", c.sip_addr());
    let c1 = dial_active(&mut p, &format!("sip:1002@{}", a.sip_addr()));
    let reply = p.ok(json!({"cmd": "consult", "call": c1, "to": c_uri}));
    let c2 = call_id_of(&reply);
    wait_next(&mut p, &c1, "A held", 10, |c| c["state"] == "held");
    wait_state(&mut p, &c2, "alerting", 10);
    let first_ring = wait_ringing(&mut c, 10);

    p.ok(json!({"cmd": "connect", "call": c1, "consult": c2}));
    let consult = wait_state(&mut p, &c2, "ended", 10);
    assert_eq!(consult["end_reason"], "cancelled", "{consult}");
    let cancelled = wait_state(&mut c, &first_ring, "ended", 10);
    assert_eq!(cancelled["end_reason"], "caller cancelled", "{cancelled}");

    // A calls C now: it rings there as a new call from 1002.
    let from_a = c
        .wait_event(Duration::from_secs(10), |e| {
            e["event"] == "call"
                && e["call"]["id"] != first_ring.as_str()
                && e["call"]["state"] == "ringing"
        })
        .unwrap_or_else(|| panic!("A's call never rang at C: {:?}", c.events()));
    assert!(
        from_a["call"]["remote"]
            .as_str()
            .is_some_and(|r| r.contains("1002")),
        "{from_a}"
    );
    let new_id = from_a["call"]["id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    c.ok(json!({"cmd": "answer", "call": new_id}));
    wait_state(&mut c, &new_id, "active", 10);
    let ended = wait_state(&mut p, &c1, "ended", 15);
    let reason = ended["end_reason"].as_str().unwrap_or("").to_lowercase();
    assert!(reason.contains("transfer"), "end_reason: {ended}");
    let a_out = a.wait_event(Duration::from_secs(10), |e| {
        e["event"] == "call" && e["call"]["direction"] == "out" && e["call"]["state"] == "active"
    });
    assert!(a_out.is_some(), "A's call to C: {:?}", a.events());
}

/// A SIPp transferor calls us (auto answer) and sends REFER; the target
/// (another SIPp) checks our INVITE. Returns the transferor's and target's results.
fn being_transferred(
    t: &TestDir,
    target_scenario: &str,
    refer_suffix: &str,
) -> (support::sipp::SippResult, support::sipp::SippResult) {
    let mut p = direct_phone(t, PhoneOpts::new().phone("auto_answer", true));
    let target = Sipp::new(target_scenario, &t.sub("c")).timeout(20).spawn();
    let refer_to = format!("sip:c@{}{refer_suffix}", target.addr());
    let transferor = Sipp::new("uac_refer", &t.sub("a"))
        .target(p.sip_addr())
        .service("1001")
        .key("refer_to", &refer_to)
        .arg("-aa")
        .timeout(20)
        .spawn();
    // Our new call to C: hang it up once it is active (C waits for our BYE).
    let out = p.wait_event(Duration::from_secs(15), |e| {
        e["event"] == "call" && e["call"]["direction"] == "out" && e["call"]["state"] == "active"
    });
    let out = out.unwrap_or_else(|| panic!("no call to C: {:?}\n{}", p.events(), p.log_tail()));
    let out_id = out["call"]["id"].as_str().unwrap_or_default().to_string();
    let ra = transferor.wait(Duration::from_secs(25));
    p.ok(json!({"cmd": "hangup", "call": out_id}));
    let rc = target.wait(Duration::from_secs(15));
    assert!(
        ra.success(),
        "transferor: {}\n{}",
        ra.describe(),
        p.log_tail()
    );
    assert!(rc.success(), "target: {}\n{}", rc.describe(), p.log_tail());
    (ra, rc)
}

#[test]
fn peer_refer_is_followed_with_notify_and_referred_by() {
    let t = TestDir::new("cc-refer-in");
    let (ra, rc) = being_transferred(&t, "uas_referred", "");
    assert!(
        ra.traced().iter().any(|m| !m.sent && m.is_response(202)),
        "no 202 to the REFER: {}",
        ra.describe()
    );
    let notifies: Vec<_> = ra
        .traced()
        .into_iter()
        .filter(|m| !m.sent && m.is_request("NOTIFY"))
        .collect();
    assert!(notifies.len() >= 2, "{}", ra.describe());
    assert!(notifies[0].body().contains("SIP/2.0 100"));
    assert!(notifies.iter().any(|n| n.body().contains("SIP/2.0 200")));
    // Each NOTIFY was answered (automatically, -aa) and came before our BYE.
    let msgs = ra.traced();
    let bye_at = msgs.iter().position(|m| m.sent && m.is_request("BYE"));
    let last_notify = msgs.iter().rposition(|m| !m.sent && m.is_request("NOTIFY"));
    assert!(last_notify < bye_at, "{}", ra.describe());
    for n in &notifies {
        let ct = n.header("Content-Type").unwrap_or("");
        assert!(ct.contains("message/sipfrag"), "NOTIFY Content-Type {ct}");
    }
    let rb = traced_header(
        &rc.traced(),
        |m| !m.sent && m.is_request("INVITE"),
        "Referred-By",
    );
    assert!(
        rb.unwrap_or_default().contains("sipp@"),
        "{}",
        rc.describe()
    );
}

#[test]
fn peer_refer_with_replaces_puts_replaces_on_the_invite() {
    let t = TestDir::new("cc-refer-replaces");
    let (_ra, rc) = being_transferred(
        &t,
        "uas_replaces_target",
        "?Replaces=abc%40host%3Bto-tag%3Dtt1%3Bfrom-tag%3Dff1",
    );
    let invite = rc
        .traced()
        .into_iter()
        .find(|m| !m.sent && m.is_request("INVITE"))
        .unwrap_or_else(|| panic!("no INVITE: {}", rc.describe()));
    assert!(
        !invite.first_line().contains("Replaces"),
        "Replaces left in the request URI: {}",
        invite.first_line()
    );
    let require = invite.header("Require").unwrap_or_default();
    assert!(
        require
            .split(',')
            .any(|t| t.trim().eq_ignore_ascii_case("replaces")),
        "Require: {require:?}\n{}",
        invite.text
    );
    let rp = invite.header("Replaces").unwrap_or("").to_string();
    let mut parts: Vec<&str> = rp.split(';').map(str::trim).collect();
    assert_eq!(parts.first(), Some(&"abc@host"), "Replaces: {rp}");
    parts.sort();
    assert!(
        parts.contains(&"to-tag=tt1") && parts.contains(&"from-tag=ff1"),
        "Replaces: {rp}"
    );
}

#[test]
fn invite_with_replaces_takes_over_the_call() {
    let t = TestDir::new("cc-replaces-in");
    let mut p = direct_phone(&t, PhoneOpts::new());
    let old = Sipp::new("uac_wait_bye", &t.sub("old"))
        .target(p.sip_addr())
        .service("1001")
        .timeout(25)
        .spawn();
    let c1 = wait_ringing(&mut p, 10);
    p.ok(json!({"cmd": "answer", "call": c1}));
    let active = wait_state(&mut p, &c1, "active", 10);
    let call_id = active["sip_call_id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let mut our_tag = None;
    assert!(wait_until(Duration::from_secs(5), || {
        our_tag = support::sipp::parse_trace(&old.messages())
            .iter()
            .find(|m| !m.sent && m.is_response(200))
            .and_then(|m| m.header("To").and_then(tag_of));
        our_tag.is_some()
    }));
    let replaces = format!(
        "{call_id};to-tag={};from-tag=sippfrom-1",
        our_tag.unwrap_or_default()
    );

    let new = Sipp::new("uac_replaces", &t.sub("new"))
        .target(p.sip_addr())
        .service("1001")
        .key("replaces", &replaces)
        .timeout(15)
        .spawn();
    let rn = new.wait(Duration::from_secs(20));
    assert!(rn.success(), "new: {}\n{}", rn.describe(), p.log_tail());
    let ro = old.wait(Duration::from_secs(10));
    assert!(
        ro.success(),
        "old leg got no BYE: {}\n{}",
        ro.describe(),
        p.log_tail()
    );
    let ended = wait_state(&mut p, &c1, "ended", 5);
    let reason = ended["end_reason"].as_str().unwrap_or("").to_lowercase();
    assert!(reason.contains("replace"), "old leg: {ended}");
    // The replacing call was answered without an `answer` command.
    let took_over = p.events().iter().any(|e| {
        e["event"] == "call"
            && e["call"]["id"] != c1.as_str()
            && e["call"]["direction"] == "in"
            && e["call"]["state"] == "active"
    });
    assert!(
        took_over,
        "no replacing call became active: {:?}",
        p.events()
    );
}

#[test]
fn invite_replacing_an_unknown_dialog_gets_481() {
    let t = TestDir::new("cc-replaces-481");
    let mut p = direct_phone(&t, PhoneOpts::new());
    let r = Sipp::new("uac_replaces_481", &t.sub("sipp"))
        .target(p.sip_addr())
        .service("1001")
        .key("replaces", "no-such-call@127.0.0.1;to-tag=a1;from-tag=b2")
        .timeout(10)
        .run();
    assert!(r.success(), "{}\n{}", r.describe(), p.log_tail());
    assert!(p.status()["calls"]
        .as_array()
        .map(|c| c.iter().all(|c| c["state"] == "ended"))
        .unwrap_or(true));
}
