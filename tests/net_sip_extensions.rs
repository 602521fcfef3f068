//! The SIP extensions PBXs require, on a test bed of hosts in network
//! namespaces (needs root, as .ci/run gives it): the SIPp scenarios of the
//! loopback tests, with SIPp on the `pbx` host (198.51.100.10) and
//! termphone on the `office` host (198.51.100.20, same LAN, `listen =
//! "0.0.0.0:5060"`). Reliable provisional responses (RFC 3262) both ways:
//! a callee's reliable 183 and 180 are PRACKed and its early media heard,
//! a caller requiring 100rel gets a reliable 180 and the 200 only after
//! its PRACK; an UPDATE (RFC 3311) in a confirmed dialog holds and
//! resumes; session timers (RFC 4028): termphone refreshes a call it
//! placed by re-INVITE at half the interval, and a call whose peer
//! refreshes stays up. Every message SIPp received from termphone names
//! the office address in Via, Contact and SDP, never the wildcard or
//! loopback.

mod support;

use serde_json::json;
use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};
use support::callctl::{wait_state, PHONE_HZ, SIPP_HZ};
use support::config::{Account, Audio, Config};
use support::netns::{Netns, Place};
use support::office::office_lan;
use support::phone::{call_id_of, recorded_wav, remote_held_changes, Phone};
use support::sipp::Sipp;
use support::sipp::{SippResult, TracedMessage};
use support::{tone, TestDir};

const PBX: &str = "198.51.100.10";
const OFFICE: &str = "198.51.100.20";

/// The office phone on the wildcard, playing [`PHONE_HZ`], with `phone`
/// settings added to a direct account's config; its recordings in `rec`.
fn office_phone(
    t: &TestDir,
    name: &str,
    office: &Netns,
    phone: &[(&str, i64)],
) -> (Phone, std::path::PathBuf) {
    let src = t.path().join(format!("{name}-{PHONE_HZ}.wav"));
    tone::write_sine_wav(&src, PHONE_HZ, 8000, 60.0);
    let rec = t.sub(&format!("{name}-rec"));
    let mut config = Config::new()
        .account(Account::direct("direct", "1001"))
        .audio(Audio::file(&src, &rec))
        .phone("auto_answer", true);
    for (key, value) in phone {
        config = config.phone(key, *value);
    }
    let listen: SocketAddr = "0.0.0.0:5060".parse().expect("listen address");
    let p = Phone::start_in(&t.sub(name), &config, &Place::on(office, OFFICE), listen);
    (p, rec)
}

/// The `n`-th call of `p` to end (from 1), once it has.
fn nth_ended(p: &mut Phone, n: usize) -> serde_json::Value {
    let ended = |p: &mut Phone| -> Vec<serde_json::Value> {
        p.events()
            .into_iter()
            .filter(|e| e["event"] == "call" && e["call"]["state"] == "ended")
            .map(|e| e["call"].clone())
            .collect()
    };
    let got = support::wait_for(Duration::from_secs(5), || ended(p).into_iter().nth(n - 1));
    got.unwrap_or_else(|| panic!("no {n} calls ended: {:?}\n{}", p.events(), p.log_tail()))
}

/// SIPp on the pbx host running `scenario`, its files in `dir`.
fn sipp(scenario: &str, dir: &Path, pbx: &Place) -> Sipp {
    Sipp::new(scenario, dir).at(pbx).timeout(20)
}

/// Every message SIPp received names the office address wherever
/// termphone advertises one (Via of its requests, Contact, SDP `o=`/`c=`),
/// and none names the wildcard or loopback.
fn names_the_office(r: &SippResult) {
    let received: Vec<TracedMessage> = r.traced().into_iter().filter(|m| !m.sent).collect();
    assert!(!received.is_empty(), "{}", r.describe());
    for m in &received {
        for line in m.text.lines().map(str::trim) {
            let lower = line.to_ascii_lowercase();
            // A response's Via is SIPp's own request's.
            let ours: &[&str] = if m.first_line().starts_with("SIP/2.0") {
                &["contact:", "c=", "o="]
            } else {
                &["via:", "contact:", "c=", "o="]
            };
            let advertised = ours.iter().any(|p| lower.starts_with(p));
            if !advertised {
                continue;
            }
            assert!(
                line.contains(OFFICE) && !line.contains("0.0.0.0") && !line.contains("127.0.0.1"),
                "`{line}` in a message SIPp received:\n{}",
                m.text
            );
        }
    }
    let sdp = received
        .iter()
        .any(|m| m.body().contains(&format!("c=IN IP4 {OFFICE}")));
    let invites_or_answers = received
        .iter()
        .any(|m| m.is_request("INVITE") || m.is_response(200));
    assert!(
        !invites_or_answers || sdp,
        "no SDP naming {OFFICE}:\n{}",
        r.describe()
    );
}

#[test]
fn sipp_on_the_pbx_host_proves_100rel_update_and_session_timers_across_the_lan() {
    let t = TestDir::new("net-sip-ext");
    let (_bed, pbx, office) = office_lan("198.51.100.10/24", "198.51.100.20/24");
    let at_pbx = Place::on(&pbx, PBX);
    let office_uri = format!("{OFFICE}:5060").parse::<SocketAddr>().unwrap();

    let (mut p, rec) = office_phone(&t, "office", &office, &[]);

    // 100rel, termphone calling: SIPp answers 183 and 180 reliably and
    // plays early media; both are PRACKed and the early media heard.
    let dir = t.sub("sipp-uas-100rel");
    tone::write_sine_ulaw(&dir.join("tone.ul"), SIPP_HZ, 15.0);
    let run = sipp("uas_100rel", &dir, &at_pbx).spawn();
    let id = call_id_of(&p.ok(json!({"cmd": "dial", "to": format!("sip:uas@{}", run.addr())})));
    let active = wait_state(&mut p, &id, "active", 15);
    p.ok(json!({"cmd": "hangup", "call": id}));
    wait_state(&mut p, &id, "ended", 10);
    let r = run.wait(Duration::from_secs(15));
    assert!(r.success(), "{}\n{}", r.describe(), p.log_tail());
    let pracks: Vec<String> = r
        .traced()
        .into_iter()
        .filter(|m| !m.sent && m.is_request("PRACK"))
        .map(|m| m.header("RAck").unwrap_or_default().trim().to_string())
        .collect();
    assert_eq!(pracks, ["1 1 INVITE", "2 1 INVITE"], "{}", r.describe());
    let heard = recorded_wav(&rec, &active, 1.0);
    let early = tone::tone_secs(&heard, SIPP_HZ);
    assert!(
        early >= 1.2,
        "{}: {early} s of early media across the LAN",
        heard.display()
    );
    names_the_office(&r);

    // 100rel, termphone called: a reliable 180, the 200 after the PRACK.
    let r = sipp("uac_100rel", &t.sub("sipp-uac-100rel"), &at_pbx)
        .target(office_uri)
        .service("1001")
        .run();
    assert!(r.success(), "{}\n{}", r.describe(), p.log_tail());
    let msgs = r.traced();
    let ringing = msgs.iter().find(|m| !m.sent && m.is_response(180));
    let ringing = ringing.unwrap_or_else(|| panic!("no 180: {}", r.describe()));
    assert!(
        ringing
            .header("Require")
            .unwrap_or_default()
            .contains("100rel"),
        "{}",
        ringing.text
    );
    assert!(
        ringing
            .header("RSeq")
            .is_some_and(|n| n.trim().parse::<u32>().is_ok()),
        "{}",
        ringing.text
    );
    let prack = msgs.iter().position(|m| m.sent && m.is_request("PRACK"));
    let answer = msgs.iter().position(|m| {
        !m.sent && m.is_response(200) && m.header("CSeq").unwrap_or_default().contains("INVITE")
    });
    assert!(
        prack.is_some() && prack < answer,
        "the 200 came before the PRACK: {}",
        r.describe()
    );
    names_the_office(&r);

    // UPDATE in a confirmed dialog: sendonly holds, sendrecv resumes.
    let r = sipp("uac_update", &t.sub("sipp-uac-update"), &at_pbx)
        .target(office_uri)
        .service("1001")
        .run();
    assert!(r.success(), "{}\n{}", r.describe(), p.log_tail());
    let updated = nth_ended(&mut p, 3);
    let updates = p.call_updates(updated["id"].as_str().unwrap_or_default());
    assert_eq!(
        remote_held_changes(&updates),
        [false, true, false],
        "{updates:?}"
    );
    names_the_office(&r);
    assert!(p.quit(), "phone did not quit");

    // Session timers, with an interval of 4 s (Min-SE 2 s).
    let (mut p, _rec) = office_phone(
        &t,
        "office-timer",
        &office,
        &[("session_expires_s", 4), ("min_se_s", 2)],
    );
    // termphone refreshes the call it placed by re-INVITE at half the interval.
    let run = sipp("uas_session_refresh", &t.sub("sipp-uas-timer"), &at_pbx).spawn();
    let id = p.dial_until_active(&format!("sip:uas@{}", run.addr()));
    let since = Instant::now();
    let refreshes = support::wait_for(Duration::from_secs(10), || {
        let n = support::sipp::parse_trace(&run.messages())
            .iter()
            .filter(|m| !m.sent && m.is_request("INVITE"))
            .count();
        (n >= 3).then_some(n)
    });
    let took = since.elapsed();
    assert_eq!(refreshes, Some(3), "{}\n{}", run.messages(), p.log_tail());
    assert!(
        took >= Duration::from_millis(3500) && took < Duration::from_secs(7),
        "two refreshes after {took:?}"
    );
    let live = p.call(&id).unwrap_or_default();
    assert_eq!(live["state"], "active", "{live}");
    p.ok(json!({"cmd": "hangup", "call": id}));
    let r = run.wait(Duration::from_secs(10));
    assert!(r.success(), "{}\n{}", r.describe(), p.log_tail());
    names_the_office(&r);

    // The peer refreshes a call it placed: the call stays up past the
    // interval and ends with the peer's BYE.
    let r = sipp("uac_session_refresh", &t.sub("sipp-uac-timer"), &at_pbx)
        .target(office_uri)
        .service("1001")
        .run();
    assert!(r.success(), "{}\n{}", r.describe(), p.log_tail());
    let ended = nth_ended(&mut p, 2);
    assert_eq!(
        ended["end_reason"]
            .as_str()
            .unwrap_or_default()
            .to_lowercase(),
        "remote hangup",
        "{ended}"
    );
    // Only SIPp refreshed: termphone sent no re-INVITE and no BYE.
    assert!(
        !r.traced()
            .iter()
            .any(|m| !m.sent && (m.is_request("INVITE") || m.is_request("BYE"))),
        "{}",
        r.describe()
    );
    names_the_office(&r);
    assert!(p.quit(), "phone did not quit");
}
