//! An address change on a test bed of hosts in network namespaces (needs
//! root, as .ci/run gives it): termphone on the `office` host listens on
//! `0.0.0.0:5060`, registered to kamailio on the `pbx` host, and talks to a
//! baresip there. In the middle of a call the office host is renumbered
//! (198.51.100.20 → .21 on its veth): termphone registers again from the
//! new address within a few seconds, removing the old binding, and
//! re-INVITEs the call with the new Contact and SDP address; the audio
//! resumes both ways, `ctl status` names the new addresses, and a call to
//! the phone after the change reaches it.
//!
//! With kamailio as presence server too, the phone's busy-lamp (dialog)
//! and MWI (message-summary) subscriptions follow a move at once: within a
//! few seconds kamailio receives SUBSCRIBEs naming the new Contact and
//! sends its NOTIFYs there, long before the subscriptions' own refresh,
//! and a lamp still lights after the move.

mod support;

use serde_json::{json, Value};
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use support::baresip::Baresip;
use support::config::{Account, Audio, Config};
use support::kamailio::{logging_registrar, Kamailio};
use support::netns::Place;
use support::office::{office_lan, pbx_peers};
use support::pbx::wait_lamp;
use support::phone::recorded_wav;
use support::phone::{call_id_of, Phone};
use support::{tone, TestDir};

const PBX: &str = "198.51.100.10";
const OLD: &str = "198.51.100.20";
const NEW: &str = "198.51.100.21";
/// What the office phone plays and what baresip plays.
const PHONE_HZ: f64 = 1000.0;
const BARESIP_HZ: f64 = 600.0;

/// Seconds of `freq` in the last `secs` seconds of the WAV.
fn tone_in_tail(wav: &std::path::Path, freq: f64, secs: f64) -> f64 {
    let (samples, rate) = tone::read_mono(wav);
    let len = samples.len() as f64 / f64::from(rate);
    tone::tone_secs_between(wav, freq, (len - secs).max(0.0), len)
}

#[test]
fn renumbered_office_host_registers_again_and_keeps_its_call_with_audio() {
    let t = TestDir::new("net-addr-change");
    let (_bed, pbx, office) = office_lan("198.51.100.10/24", "198.51.100.20/24");
    let at_pbx = Place::on(&pbx, PBX);
    let (k, mut b) = pbx_peers(&t, &logging_registrar(false), &at_pbx, (BARESIP_HZ, 90.0));

    let p_src = t.path().join("office-1000.wav");
    tone::write_sine_wav(&p_src, PHONE_HZ, 8000, 90.0);
    let rec = t.sub("office-rec");
    let config = Config::new()
        .account(Account::registered("office", "1001", &k))
        .audio(Audio::file(&p_src, &rec));
    let listen: SocketAddr = "0.0.0.0:5060".parse().unwrap();
    let mut p = Phone::start_in(&t.sub("office"), &config, &Place::on(&office, OLD), listen);
    let st = p.wait_status(Duration::from_secs(10), |s| {
        s["accounts"][0]["registered"] == true
    });
    assert!(
        st.is_some(),
        "not registered: {}\n{}\n{}",
        p.status(),
        p.log_tail(),
        k.log()
    );
    let st = st.unwrap_or_default();
    assert_eq!(st["accounts"][0]["local_sip"], "198.51.100.20:5060", "{st}");

    // A call with audio both ways from the old address.
    let id = call_id_of(&p.ok(json!({"cmd": "dial", "to": "1002"})));
    let active = p.wait_call_state(&id, "active", Duration::from_secs(15));
    assert!(
        active.is_some(),
        "call not active: {:?}\n{}",
        p.events(),
        p.log_tail()
    );
    let call = active.unwrap_or_default();
    assert!(b
        .wait_event("CALL_ESTABLISHED", Duration::from_secs(5))
        .is_some());
    let live = p.call(&id).unwrap_or_default();
    assert_eq!(live["local_sip"], "198.51.100.20:5060", "{live}");
    std::thread::sleep(Duration::from_secs(3));

    // The office host is renumbered under the running call.
    office.replace_address("eth0", "198.51.100.20/24", "198.51.100.21/24");
    let moved = Instant::now();

    // The registration follows within a few seconds …
    let st = p.wait_status(Duration::from_secs(10), |s| {
        s["accounts"][0]["local_sip"] == "198.51.100.21:5060"
            && s["accounts"][0]["registered"] == true
    });
    assert!(
        st.is_some(),
        "no registration from the new address: {}\n{}",
        p.status(),
        p.log_tail()
    );
    // … and so does the call, in its status too.
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut live = Value::Null;
    while Instant::now() < deadline {
        live = p.call(&id).unwrap_or_default();
        if live["local_sip"] == "198.51.100.21:5060" {
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(live["local_sip"], "198.51.100.21:5060", "{live}");
    assert!(
        live["local_media"]
            .as_str()
            .unwrap_or_default()
            .starts_with("198.51.100.21:"),
        "{live}"
    );
    assert!(
        moved.elapsed() < Duration::from_secs(10),
        "the call took {:?} to follow",
        moved.elapsed()
    );
    assert_eq!(live["state"], "active", "{live}");

    // Audio on the new address, both ways, then hang up.
    std::thread::sleep(Duration::from_secs(5));
    p.ok(json!({"cmd": "hangup", "call": id}));
    assert!(p
        .wait_call_state(&id, "ended", Duration::from_secs(10))
        .is_some());
    assert!(b
        .wait_event("CALL_CLOSED", Duration::from_secs(10))
        .is_some());
    let heard = recorded_wav(&rec, &call, 2.0);
    let tail = tone_in_tail(&heard, BARESIP_HZ, 3.0);
    assert!(
        tail >= 2.0,
        "termphone heard {tail} s of baresip in the last 3 s, after the move"
    );

    // What kamailio received: a REGISTER from the new address that removes
    // the old binding, and a re-INVITE naming the new address throughout.
    let msgs = k.logged_messages();
    let register = msgs.iter().find(|m| {
        m.trim_start().starts_with("REGISTER ")
            && m.contains(&format!("Contact: <sip:1001@{NEW}:5060>"))
    });
    let register = register.unwrap_or_else(|| panic!("no REGISTER from {NEW}:\n{msgs:#?}"));
    assert!(
        register.contains(&format!("<sip:1001@{OLD}:5060>;expires=0")),
        "the old binding is not removed:\n{register}"
    );
    assert!(
        register.contains(&format!("SIP/2.0/UDP {NEW}:5060")),
        "{register}"
    );
    let reinvite = msgs
        .iter()
        .find(|m| m.trim_start().starts_with("INVITE ") && m.contains(&format!("c=IN IP4 {NEW}")));
    let reinvite = reinvite.unwrap_or_else(|| panic!("no re-INVITE naming {NEW}:\n{msgs:#?}"));
    for want in [
        format!("Contact: <sip:1001@{NEW}:5060>"),
        format!("SIP/2.0/UDP {NEW}:5060"),
        format!("IN IP4 {NEW}"),
    ] {
        assert!(reinvite.contains(&want), "no `{want}` in:\n{reinvite}");
    }
    assert!(
        !reinvite.contains(OLD),
        "the re-INVITE still names {OLD}:\n{reinvite}"
    );

    // The registrar's binding names the new address: baresip reaches us.
    b.clear_events();
    let r = b.dial("sip:1001@test.local");
    assert_eq!(r["ok"], true, "{r}");
    let ringing = p.wait_event(Duration::from_secs(10), |e| {
        e["event"] == "call" && e["call"]["direction"] == "in" && e["call"]["state"] == "ringing"
    });
    assert!(
        ringing.is_some(),
        "no call after the move: {:?}\n{}",
        p.events(),
        k.log()
    );
    let in_id = ringing.unwrap_or_default()["call"]["id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    p.ok(json!({"cmd": "hangup", "call": in_id}));
    b.stop();

    // baresip heard us after the move too.
    let got = b.received_wavs();
    assert!(!got.is_empty(), "baresip recorded nothing");
    let tail = tone_in_tail(&got[0], PHONE_HZ, 3.0);
    assert!(
        tail >= 2.0,
        "baresip heard {tail} s of termphone in the last 3 s, after the move"
    );
}

/// The presence server's log of each SUBSCRIBE's Contact and of the
/// NOTIFYs it sends (their request URI: where the watcher said it is).
fn logging_presence(cfg: &str) -> String {
    let cfg = cfg.replacen(
        "request_route {\n",
        "request_route {\n    if (is_method(\"SUBSCRIBE\")) { xlog(\"L_NOTICE\", \"SUBSCRIBED event=$hdr(Event) contact=$ct\\n\"); }\n",
        1,
    );
    format!(
        "{cfg}\nevent_route[tm:local-request] {{\n    xlog(\"L_NOTICE\", \"SENT $rm $ru event=$hdr(Event)\\n\");\n}}\n"
    )
}

#[test]
fn renumbered_office_host_subscribes_again_at_once_and_its_lamp_still_lights() {
    let t = TestDir::new("net-addr-change-sub");
    let (_bed, pbx, office) = office_lan("198.51.100.10/24", "198.51.100.20/24");
    let at_pbx = Place::on(&pbx, PBX);
    let k = Kamailio::start_presence_in(&t.sub("kamailio"), logging_presence, Some(5060), &at_pbx);
    let mut b = Baresip::tone_callee_in(
        &t.sub("baresip-1002"),
        "1002",
        k.addr(),
        (BARESIP_HZ, 60.0),
        &at_pbx,
    );

    let p_src = t.path().join("office-1000.wav");
    tone::write_sine_wav(&p_src, PHONE_HZ, 8000, 60.0);
    let config = Config::new()
        .account(Account::registered("office", "1001", &k).mwi())
        .blf("1002", None)
        .audio(Audio::file(&p_src, &t.sub("office-rec")));
    let listen: SocketAddr = "0.0.0.0:5060".parse().unwrap();
    let mut p = Phone::start_in(&t.sub("office"), &config, &Place::on(&office, OLD), listen);

    // Both subscriptions made from the old address, NOTIFYs sent there.
    let subscribed_at = |k: &Kamailio, addr: &str| {
        let log = k.log();
        let contact = format!("contact=<sip:1001@{addr}:5060>");
        let notify = format!("SENT NOTIFY sip:1001@{addr}:5060");
        ["dialog", "message-summary"].iter().all(|event| {
            log.lines().any(|l| {
                l.contains("SUBSCRIBED")
                    && l.contains(&format!("event={event}"))
                    && l.contains(&contact)
            }) && log
                .lines()
                .any(|l| l.contains(&notify) && l.contains(&format!("event={event}")))
        })
    };
    assert!(
        support::wait_until(Duration::from_secs(15), || subscribed_at(&k, OLD)),
        "no subscriptions from {OLD}:\n{}\n{}",
        k.log(),
        p.log_tail()
    );
    let before = support::pbx::lamp(&mut p, "1002");
    assert!(
        before.as_ref().is_some_and(|l| l["state"] != "busy"),
        "lamp of 1002 before the move: {before:?}"
    );

    office.replace_address("eth0", "198.51.100.20/24", "198.51.100.21/24");
    let moved = Instant::now();
    // Within a few seconds, not at the refresh (the subscriptions run for
    // 600 s): SUBSCRIBEs naming the new Contact, NOTIFYs sent there.
    assert!(
        support::wait_until(Duration::from_secs(10), || subscribed_at(&k, NEW)),
        "the subscriptions did not follow to {NEW}:\n{}\n{}",
        k.log(),
        p.log_tail()
    );
    assert!(moved.elapsed() < Duration::from_secs(10));

    // The lamp still lights: NOTIFYs reach the new address.
    let id = call_id_of(&p.ok(json!({"cmd": "dial", "to": "1002"})));
    p.wait_active(&id);
    assert!(
        wait_lamp(&mut p, "1002", "busy", Duration::from_secs(10)).is_some(),
        "lamp of 1002 not busy after the move: {:?}\n{}",
        p.events(),
        k.log()
    );
    p.hang_up(&id);
    assert!(b
        .wait_event("CALL_CLOSED", Duration::from_secs(10))
        .is_some());
    b.stop();
}
