//! Session timers (RFC 4028) against SIPp, with a session interval of a few
//! seconds (`[phone] min_se_s` below the RFC's 90 s, as the docs allow for
//! tests): SIPp refreshes a call it placed and the call stays up; SIPp
//! stops refreshing and termphone ends the call with BYE; termphone
//! refreshes a call it placed by re-INVITE at half the interval, keeping
//! the media and the hold as they are; a 422 from
//! SIPp makes termphone ask again with the larger interval; a too small
//! interval from SIPp gets our 422 with Min-SE.

mod support;

use serde_json::{json, Value};
use std::time::{Duration, Instant};
use support::phone::Phone;
use support::setup::{direct_phone, PhoneOpts};
use support::sipp::{parse_trace, Sipp};
use support::TestDir;

/// A phone with a 4 s session interval and a 2 s Min-SE.
fn timer_phone(t: &TestDir, min_se: u32, auto_answer: bool) -> Phone {
    direct_phone(
        t,
        PhoneOpts::new()
            .phone("auto_answer", auto_answer)
            .phone("session_expires_s", 4)
            .phone("min_se_s", min_se),
    )
    .phone
}

fn ended(p: &mut Phone, id: &str, within: Duration) -> Value {
    let ended = p.wait_call_state(id, "ended", within);
    assert!(
        ended.is_some(),
        "call did not end: {:?}\n{}",
        p.events(),
        p.log_tail()
    );
    ended.unwrap_or_default()
}

fn reason(call: &Value) -> String {
    call["end_reason"].as_str().unwrap_or("").to_lowercase()
}

/// The id of the incoming call once it is active.
fn active_incoming(p: &mut Phone) -> String {
    let active = p.wait_any_call_state("active", Duration::from_secs(10));
    assert!(
        active.is_some(),
        "no active call: {:?}\n{}",
        p.events(),
        p.log_tail()
    );
    active.unwrap_or_default()["id"]
        .as_str()
        .unwrap_or("")
        .to_string()
}

#[test]
fn peer_refreshing_keeps_the_call_up_past_the_interval() {
    let t = TestDir::new("st-peer-refresh");
    let mut p = timer_phone(&t, 2, true);
    let sipp = Sipp::new("uac_session_refresh", &t.sub("sipp"))
        .target(p.sip_addr())
        .service("1001")
        .timeout(20)
        .spawn();
    let id = active_incoming(&mut p);
    let r = sipp.wait(Duration::from_secs(30));
    assert!(r.success(), "{}\n{}", r.describe(), p.log_tail());
    let call = ended(&mut p, &id, Duration::from_secs(5));
    assert_eq!(reason(&call), "remote hangup", "{call}");
    // Only SIPp refreshed: termphone sent no re-INVITE and no BYE.
    let from_phone: Vec<_> = r.traced().into_iter().filter(|m| !m.sent).collect();
    assert!(
        !from_phone
            .iter()
            .any(|m| m.is_request("INVITE") || m.is_request("BYE")),
        "{}",
        r.describe()
    );
}

#[test]
fn session_without_refresh_is_ended_with_bye() {
    let t = TestDir::new("st-expire");
    let mut p = timer_phone(&t, 2, true);
    let sipp = Sipp::new("uac_session_no_refresh", &t.sub("sipp"))
        .target(p.sip_addr())
        .service("1001")
        .timeout(20)
        .spawn();
    let id = active_incoming(&mut p);
    let since = Instant::now();
    let call = ended(&mut p, &id, Duration::from_secs(10));
    let took = since.elapsed();
    assert_eq!(reason(&call), "session expired", "{call}");
    // 4 s interval: BYE a third (1.33 s) before it expires.
    assert!(
        took >= Duration::from_millis(2000) && took < Duration::from_secs(5),
        "ended after {took:?}"
    );
    let r = sipp.wait(Duration::from_secs(15));
    assert!(r.success(), "{}\n{}", r.describe(), p.log_tail());
}

#[test]
fn we_refresh_by_reinvite_at_half_the_interval() {
    let t = TestDir::new("st-we-refresh");
    let mut p = timer_phone(&t, 2, false);
    let sipp = Sipp::new("uas_session_refresh", &t.sub("sipp"))
        .timeout(20)
        .spawn();
    let id = p.dial_until_active(&format!("sip:uas@{}", sipp.addr()));
    let since = Instant::now();
    // Two refreshes, about 2 s apart.
    let refreshes = wait_invites(&sipp, 3, Duration::from_secs(10)).saturating_sub(1);
    let took = since.elapsed();
    assert_eq!(refreshes, 2, "{}\n{}", sipp.messages(), p.log_tail());
    assert!(
        took >= Duration::from_millis(3500) && took < Duration::from_secs(6),
        "two refreshes after {took:?}"
    );
    let call = p.call(&id).unwrap_or_default();
    assert_eq!(call["state"], "active", "{call}");
    assert_eq!(call["held"], false, "{call}");
    p.ok(json!({"cmd": "hangup", "call": id}));
    let r = sipp.wait(Duration::from_secs(10));
    assert!(r.success(), "{}\n{}", r.describe(), p.log_tail());
    // A refresh offers the media unchanged: same address and port.
    let invites: Vec<_> = r
        .traced()
        .into_iter()
        .filter(|m| !m.sent && m.is_request("INVITE"))
        .collect();
    let media = |m: &support::sipp::TracedMessage| {
        m.body()
            .lines()
            .filter(|l| l.starts_with("m=") || l.starts_with("c="))
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    for refresh in &invites[1..] {
        assert_eq!(media(refresh), media(&invites[0]), "{}", refresh.text);
    }
}

/// Waits until SIPp has received `n` INVITEs; returns how many it has.
fn wait_invites(sipp: &support::sipp::SippRun, n: usize, within: Duration) -> usize {
    let deadline = Instant::now() + within;
    loop {
        let got = parse_trace(&sipp.messages())
            .iter()
            .filter(|m| !m.sent && m.is_request("INVITE"))
            .count();
        if got >= n || Instant::now() > deadline {
            return got;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn a_refresh_keeps_the_call_on_hold() {
    let t = TestDir::new("st-held");
    let mut p = timer_phone(&t, 2, false);
    let sipp = Sipp::new("uas_session_refresh_held", &t.sub("sipp"))
        .timeout(20)
        .spawn();
    let id = p.dial_until_active(&format!("sip:uas@{}", sipp.addr()));
    p.ok(json!({"cmd": "hold", "call": id}));
    // The hold, then the refresh 2 s after it.
    let got = wait_invites(&sipp, 3, Duration::from_secs(8));
    assert_eq!(got, 3, "{}\n{}", sipp.messages(), p.log_tail());
    std::thread::sleep(Duration::from_millis(300));
    let call = p.call(&id).unwrap_or_default();
    assert_eq!(call["state"], "held", "{call}");
    assert_eq!(call["held"], true, "{call}");
    p.ok(json!({"cmd": "hangup", "call": id}));
    let r = sipp.wait(Duration::from_secs(10));
    assert!(r.success(), "{}\n{}", r.describe(), p.log_tail());
}

#[test]
fn a_422_makes_us_ask_again_with_its_min_se() {
    let t = TestDir::new("st-422");
    let mut p = timer_phone(&t, 2, false);
    let sipp = Sipp::new("uas_session_422", &t.sub("sipp"))
        .timeout(20)
        .spawn();
    let id = p.dial_until_active(&format!("sip:uas@{}", sipp.addr()));
    p.ok(json!({"cmd": "hangup", "call": id}));
    let r = sipp.wait(Duration::from_secs(10));
    assert!(r.success(), "{}\n{}", r.describe(), p.log_tail());
}

#[test]
fn too_small_an_interval_gets_422_with_our_min_se() {
    let t = TestDir::new("st-too-small");
    let mut p = timer_phone(&t, 3, true);
    let r = Sipp::new("uac_session_too_small", &t.sub("sipp"))
        .target(p.sip_addr())
        .service("1001")
        .timeout(10)
        .run();
    assert!(r.success(), "{}\n{}", r.describe(), p.log_tail());
    let call = p.wait_any_call_state("ended", Duration::from_secs(5));
    assert!(call.is_some(), "{:?}", p.events());
    let call = call.unwrap_or_default();
    assert!(reason(&call).contains("422"), "{call}");
    assert!(call["answered_at"].is_null(), "{call}");
}
