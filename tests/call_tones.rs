//! Call back, call progress tones and DTMF against SIPp and baresip: `callback`
//! dials the last missed caller; the local ringback (425 Hz) while a SIPp UAS
//! alerts (180, or 183 without SDP), its early media after 183 with SDP, the busy tone after 486 (all in
//! the WAV the file backend records for the call); RFC 4733 digits sent to
//! baresip and received from SIPp, and SIP INFO when the peer offers no
//! telephone-event.

mod support;

use serde_json::json;
use std::time::{Duration, Instant};
use support::callctl::{
    call_wav, dial_active, wait_ringing, wait_state, A_HZ, PHONE_HZ, RING_HZ, SIPP_HZ,
};
use support::phone::call_id_of;
use support::setup::{baresip, direct_phone, PeerOpts, PhoneOpts};
use support::sipp::Sipp;
use support::{tone, wait_until, TestDir};

#[test]
fn callback_dials_the_last_missed_caller() {
    let t = TestDir::new("cc-callback");
    let mut p = direct_phone(&t, PhoneOpts::new());
    let missed = Sipp::new("uac_cancel", &t.sub("caller"))
        .target(p.sip_addr())
        .service("1001")
        .timeout(15)
        .spawn();
    let caller_port = missed.port;
    let id = wait_ringing(&mut p, 10);
    let r = missed.wait(Duration::from_secs(20));
    assert!(r.success(), "caller: {}\n{}", r.describe(), p.log_tail());
    wait_state(&mut p, &id, "ended", 5);
    let h = p.ok(json!({"cmd": "history", "limit": 1}));
    assert_eq!(h["history"][0]["missed"], true, "{h}");

    // The caller's address now answers busy: we only check that it is dialled.
    let back = Sipp::new("uas_486", &t.sub("back"))
        .on_port(caller_port)
        .timeout(15)
        .spawn();
    let reply = p.ok(json!({"cmd": "callback"}));
    let cb = call_id_of(&reply);
    let ended = wait_state(&mut p, &cb, "ended", 10);
    assert_eq!(ended["direction"], "out", "{ended}");
    let rb = back.wait(Duration::from_secs(10));
    assert!(rb.success(), "callee: {}\n{}", rb.describe(), p.log_tail());
    let invite = rb
        .traced()
        .into_iter()
        .find(|m| !m.sent && m.is_request("INVITE"))
        .map(|m| m.first_line().to_string())
        .unwrap_or_default();
    assert!(
        invite.contains(&format!("sipp@127.0.0.1:{caller_port}")),
        "callback INVITE: {invite}"
    );
}

/// A call the caller's CANCEL says was answered elsewhere (RFC 3326
/// `Reason: SIP;cause=200`) is not missed: `callback` has nobody to call.
#[test]
fn a_call_answered_elsewhere_is_not_missed() {
    let t = TestDir::new("cc-elsewhere");
    let mut p = direct_phone(&t, PhoneOpts::new());
    let caller = Sipp::new("uac_cancel_elsewhere", &t.sub("caller"))
        .target(p.sip_addr())
        .service("1001")
        .timeout(15)
        .spawn();
    let id = wait_ringing(&mut p, 10);
    let r = caller.wait(Duration::from_secs(20));
    assert!(r.success(), "caller: {}\n{}", r.describe(), p.log_tail());
    let ended = wait_state(&mut p, &id, "ended", 5);
    assert_eq!(ended["end_reason"], "answered elsewhere", "{ended}");
    let h = p.ok(json!({"cmd": "history", "limit": 1}));
    assert_eq!(h["history"][0]["missed"], false, "{h}");
    assert_eq!(h["history"][0]["end_reason"], "answered elsewhere", "{h}");
    let cb = p.cmd(json!({"cmd": "callback"}));
    assert_eq!(cb["error"]["code"], "no_such_entry", "{cb}");
}

/// Dials a SIPp UAS streaming `SIPP_HZ` (tone.ul in its directory).
fn dial_streaming_uas(
    t: &TestDir,
    p: &mut support::setup::TestPhone,
    scenario: &str,
) -> (String, support::sipp::SippRun) {
    let dir = t.sub("sipp");
    tone::write_sine_ulaw(&dir.join("tone.ul"), SIPP_HZ, 15.0);
    let sipp = Sipp::new(scenario, &dir).timeout(20).spawn();
    let reply = p.ok(json!({"cmd": "dial", "to": format!("sip:uas@{}", sipp.addr())}));
    (call_id_of(&reply), sipp)
}

#[test]
fn ringback_tone_while_alerting() {
    ringback_until_the_answer("cc-ringback", "uas_ringback");
}

/// A 183 without SDP brings no early media: the caller hears the local
/// ringback as after a 180.
#[test]
fn ringback_tone_after_183_without_sdp() {
    ringback_until_the_answer("cc-ringback-183", "uas_progress_no_sdp");
}

/// Dials `scenario`, a SIPp UAS that alerts, answers after 2 s and streams
/// its tone: the WAV has the local ringback first, none after the answer.
fn ringback_until_the_answer(dir: &str, scenario: &str) {
    let t = TestDir::new(dir);
    let mut p = direct_phone(&t, PhoneOpts::new().tone(PHONE_HZ));
    let (id, sipp) = dial_streaming_uas(&t, &mut p, scenario);
    wait_state(&mut p, &id, "alerting", 5);
    let active = wait_state(&mut p, &id, "active", 10);
    std::thread::sleep(Duration::from_secs(2));
    p.ok(json!({"cmd": "hangup", "call": id}));
    wait_state(&mut p, &id, "ended", 10);
    let r = sipp.wait(Duration::from_secs(10));
    assert!(r.success(), "{}", r.describe());

    let wav = call_wav(&mut p, &active, 1.5);
    let ring = tone::tone_blocks(&wav, RING_HZ, 100);
    let remote = tone::tone_blocks(&wav, SIPP_HZ, 100);
    let first_ring = ring.iter().position(|b| *b);
    let first_remote = remote.iter().position(|b| *b);
    let ring_secs = ring.iter().filter(|b| **b).count() as f64 / 10.0;
    assert!(
        ring_secs >= 0.5 && first_ring < first_remote && first_remote.is_some(),
        "{}: ringback {ring_secs} s from block {first_ring:?}, remote from {first_remote:?}",
        wav.display()
    );
    // The ringback stops once the call is answered.
    let after: usize = first_remote.unwrap_or(0) + 5;
    let late_ring = ring.iter().skip(after).filter(|b| **b).count();
    assert!(
        late_ring <= 2,
        "{}: ringback after the answer",
        wav.display()
    );
}

#[test]
fn early_media_after_183_is_heard() {
    let t = TestDir::new("cc-early");
    let mut p = direct_phone(&t, PhoneOpts::new().tone(PHONE_HZ));
    let (id, sipp) = dial_streaming_uas(&t, &mut p, "uas_early_media");
    let active = wait_state(&mut p, &id, "active", 10);
    // Hang up as soon as the call is answered: what we heard came before the 200.
    p.ok(json!({"cmd": "hangup", "call": id}));
    wait_state(&mut p, &id, "ended", 10);
    let r = sipp.wait(Duration::from_secs(10));
    assert!(r.success(), "{}", r.describe());

    let wav = call_wav(&mut p, &active, 1.0);
    let early = tone::tone_secs(&wav, SIPP_HZ);
    assert!(
        early >= 1.2,
        "{}: {early} s of early media {:?}",
        wav.display(),
        tone::analyze(&wav, &[SIPP_HZ, RING_HZ])
    );
    assert!(
        tone::tone_secs(&wav, RING_HZ) < 0.5,
        "{}: local ringback over early media",
        wav.display()
    );
}

#[test]
fn busy_tone_after_486() {
    let t = TestDir::new("cc-busy");
    let mut p = direct_phone(&t, PhoneOpts::new().tone(PHONE_HZ));
    let sipp = Sipp::new("uas_486", &t.sub("sipp")).timeout(10).spawn();
    let reply = p.ok(json!({"cmd": "dial", "to": format!("sip:uas@{}", sipp.addr())}));
    let id = call_id_of(&reply);
    let ended = wait_state(&mut p, &id, "ended", 10);
    let r = sipp.wait(Duration::from_secs(10));
    assert!(r.success(), "{}", r.describe());
    let wav = call_wav(&mut p, &ended, 0.5);
    // Give the tone time to be played out, then read the finished file.
    std::thread::sleep(Duration::from_secs(2));
    let busy = tone::tone_secs(&wav, RING_HZ);
    assert!(
        busy >= 0.3,
        "{}: {busy} s of busy tone {:?}",
        wav.display(),
        tone::analyze(&wav, &[RING_HZ])
    );
}

#[test]
fn dtmf_rfc4733_reaches_baresip() {
    let t = TestDir::new("cc-dtmf-out");
    let mut b = baresip(&t, "1002", PeerOpts::tone(A_HZ));
    let mut p = direct_phone(&t, PhoneOpts::new());
    let id = dial_active(&mut p, &b.direct_uri());
    assert!(b
        .wait_event("CALL_ESTABLISHED", Duration::from_secs(5))
        .is_some());
    std::thread::sleep(Duration::from_millis(500));
    p.ok(json!({"cmd": "dtmf", "call": id, "digits": "123#"}));
    let got = b.wait_events("CALL_DTMF_START", 4, Duration::from_secs(8));
    let digits: String = got
        .iter()
        .filter_map(|e| e["param"].as_str())
        .collect::<Vec<_>>()
        .join("");
    assert_eq!(digits, "123#", "baresip got {got:?}\n{}", b.log());
    p.ok(json!({"cmd": "hangup", "call": id}));
    wait_state(&mut p, &id, "ended", 10);
}

#[test]
fn dtmf_rfc4733_from_peer_is_an_event() {
    let t = TestDir::new("cc-dtmf-in");
    let mut p = direct_phone(&t, PhoneOpts::new().phone("auto_answer", true));
    let sipp = Sipp::new("uac_dtmf_2833", &t.sub("sipp"))
        .target(p.sip_addr())
        .service("1001")
        .timeout(15)
        .spawn();
    let ev = p.wait_event(Duration::from_secs(10), |e| e["event"] == "dtmf");
    let r = sipp.wait(Duration::from_secs(15));
    assert!(r.success(), "{}\n{}", r.describe(), p.log_tail());
    let ev = ev.unwrap_or_else(|| panic!("no dtmf event: {:?}\n{}", p.events(), p.log_tail()));
    assert_eq!(ev["digit"], "1", "{ev}");
    // One key press is one event, however many packets carried it.
    assert_eq!(p.dtmf_events().len(), 1, "{:?}", p.dtmf_events());
}

#[test]
fn dtmf_falls_back_to_sip_info() {
    let t = TestDir::new("cc-dtmf-info");
    let mut p = direct_phone(&t, PhoneOpts::new());
    let sipp = Sipp::new("uas_info_dtmf", &t.sub("sipp"))
        .timeout(20)
        .spawn();
    let id = dial_active(&mut p, &format!("sip:uas@{}", sipp.addr()));
    p.ok(json!({"cmd": "dtmf", "call": id, "digits": "1#"}));
    let end = Instant::now() + Duration::from_secs(8);
    let infos = || {
        support::sipp::parse_trace(&sipp.messages())
            .iter()
            .filter(|m| {
                m.sent && m.first_line().starts_with("SIP/2.0 200") && m.text.contains("INFO")
            })
            .count()
    };
    assert!(
        wait_until(end - Instant::now(), || infos() >= 2),
        "INFO not answered twice: {}",
        sipp.messages()
    );
    p.ok(json!({"cmd": "hangup", "call": id}));
    wait_state(&mut p, &id, "ended", 10);
    let r = sipp.wait(Duration::from_secs(10));
    assert!(r.success(), "{}\n{}", r.describe(), p.log_tail());
}
