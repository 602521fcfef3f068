//! `[phone] conference_leave = "auto"`: when we leave a conference of three
//! members, they keep hearing each other (mixed here without our microphone
//! and speaker) until fewer than two remain; then the last leg ends. Four
//! termphones on loopback, each playing its own tone; the two-member
//! hand-over by REFER is conference_handover.rs.

mod support;

use serde_json::{json, Value};
use std::path::Path;
use std::time::Duration;
use support::phone::{call_id_of, wait_wav, Phone};
use support::setup::{direct_phone, PhoneOpts};
use support::{tone, TestDir};

/// Direct-IP phone `name` (its user and folder) playing `freq`.
fn phone(name: &str, freq: f64) -> PhoneOpts {
    PhoneOpts::new().dir(name).user(name).tone(freq)
}

/// Answers the next ringing call: its id and SIP Call-ID.
fn answer_next(p: &mut Phone) -> (String, String) {
    let ringing = p
        .wait_any_call_state("ringing", Duration::from_secs(10))
        .unwrap_or_default();
    let id = ringing["id"].as_str().unwrap_or("").to_string();
    let sip = ringing["sip_call_id"].as_str().unwrap_or("").to_string();
    assert!(!id.is_empty(), "no call rang: {:?}", p.events());
    p.ok(json!({"cmd": "answer", "call": id}));
    (id, sip)
}

/// Share of `freq` in the seconds `from_s..to_s` of a WAV.
fn share_between(path: &Path, freq: f64, from_s: f64, to_s: f64) -> f64 {
    let (s, rate) = tone::read_mono(path);
    let a = ((from_s * rate as f64) as usize).min(s.len());
    let b = ((to_s * rate as f64) as usize).min(s.len());
    tone::tone_share(&s[a..b], rate, freq)
}

fn dial_in(a: &mut Phone, who: &str, port: u16, callee: &mut Phone) -> (String, String) {
    let id = call_id_of(&a.ok(json!({"cmd": "dial", "to": format!("sip:{who}@127.0.0.1:{port}")})));
    let leg = answer_next(callee);
    assert!(
        a.wait_call_state(&id, "active", Duration::from_secs(5))
            .is_some(),
        "{who} did not answer: {:?}",
        a.events()
    );
    (id, leg.1)
}

#[test]
fn leaving_a_conference_of_three_keeps_the_others_talking() {
    let t = TestDir::new("conf-leave-keep");
    let mut a = direct_phone(&t, phone("alice", 500.0).phone("conference_leave", "auto"));
    let mut b = direct_phone(&t, phone("bob", 700.0));
    let b_rec = b.rec.clone();
    let mut c = direct_phone(&t, phone("carol", 950.0));
    let mut d = direct_phone(&t, phone("dave", 1250.0));

    let (ab, b_sip) = dial_in(&mut a, "bob", b.sip_port(), &mut b);
    let (ac, _) = dial_in(&mut a, "carol", c.sip_port(), &mut c);
    let (ad, _) = dial_in(&mut a, "dave", d.sip_port(), &mut d);
    a.ok(json!({"cmd": "conference"}));
    std::thread::sleep(Duration::from_secs(2));

    // We leave: nobody's leg ends, the conference is bridging without us.
    let left = a.ok(json!({"cmd": "hangup"}));
    assert_eq!(left["bridging"], true, "{left}");
    let st = a.status();
    assert_eq!(st["conference"]["bridging"], true, "{st}");
    assert_eq!(
        st["conference"]["members"].as_array().map(Vec::len),
        Some(3),
        "{st}"
    );
    assert!(a
        .wait_event(Duration::from_secs(5), |e| e["event"]
            == "conference_bridging")
        .is_some());
    // A plain hangup now has no call of ours to end.
    let again = a.cmd(json!({"cmd": "hangup"}));
    assert_eq!(again["ok"], false, "{again}");
    std::thread::sleep(Duration::from_secs(3));
    for id in [&ab, &ac, &ad] {
        let call = st["calls"]
            .as_array()
            .and_then(|v| v.iter().find(|c| c["id"] == id.as_str()).cloned())
            .unwrap_or(Value::Null);
        assert_eq!(call["state"], "active", "{id} {st}");
    }

    // B leaves: its recording had A (500 Hz) before we left, and only C
    // and D in the last seconds.
    b.ok(json!({"cmd": "hangup"}));
    let b_out = b_rec.join(format!("{b_sip}.wav"));
    assert!(
        wait_wav(&b_out, 5.0, Duration::from_secs(10)),
        "no recording {}",
        b_out.display()
    );
    let secs = tone::analyze(&b_out, &[]).secs;
    let before = share_between(&b_out, 500.0, 0.5, 1.5);
    assert!(before > 0.15, "B did not hear A while we were in: {before}");
    let (from, to) = (secs - 2.5, secs - 0.5);
    let (ca, da, aa) = (
        share_between(&b_out, 950.0, from, to),
        share_between(&b_out, 1250.0, from, to),
        share_between(&b_out, 500.0, from, to),
    );
    assert!(ca > 0.2 && da > 0.2, "B did not hear C and D: {ca} {da}");
    assert!(aa < 0.05, "B still heard A after we left: {aa}");

    // A leg gone leaves two, still mixed; C leaving leaves D alone, whose
    // leg we end.
    assert!(a
        .wait_call_state(&ab, "ended", Duration::from_secs(5))
        .is_some());
    assert_eq!(
        a.wait_call_state(&ad, "ended", Duration::from_millis(300)),
        None
    );
    c.ok(json!({"cmd": "hangup"}));
    assert!(a
        .wait_call_state(&ac, "ended", Duration::from_secs(5))
        .is_some());
    assert!(
        a.wait_call_state(&ad, "ended", Duration::from_secs(5))
            .is_some(),
        "the last member stayed: {:?}",
        a.events()
    );
    assert!(d
        .wait_any_call_state("ended", Duration::from_secs(5))
        .is_some());
    let st = a.status();
    assert_eq!(st["conference"]["members"], json!([]), "{st}");
}

/// While the conference goes on without us, its legs are not ours: a new
/// call answered with `on_answer_other = "hold"` (the default) holds none
/// of them, and `conference` without calls does not pull the new call into
/// their mix (an error saying so); the legs stay active and mixed.
#[test]
fn a_new_call_leaves_the_bridged_legs_alone() {
    let t = TestDir::new("conf-leave-new-call");
    let mut a = direct_phone(&t, phone("alice", 500.0).phone("conference_leave", "keep"));
    let mut b = direct_phone(&t, phone("bob", 700.0));
    let mut c = direct_phone(&t, phone("carol", 950.0));
    let mut d = direct_phone(&t, phone("dave", 1250.0));
    let mut e = direct_phone(&t, phone("erin", 1500.0));

    let legs = [
        dial_in(&mut a, "bob", b.sip_port(), &mut b).0,
        dial_in(&mut a, "carol", c.sip_port(), &mut c).0,
        dial_in(&mut a, "dave", d.sip_port(), &mut d).0,
    ];
    a.ok(json!({"cmd": "conference"}));
    let left = a.ok(json!({"cmd": "hangup"}));
    assert_eq!(left["bridging"], true, "{left}");

    // Erin calls; we answer.
    e.ok(json!({"cmd": "dial", "to": format!("sip:alice@127.0.0.1:{}", a.sip_port())}));
    let (new_call, _) = answer_next(&mut a);
    assert!(
        a.wait_call_state(&new_call, "active", Duration::from_secs(5))
            .is_some(),
        "{:?}",
        a.events()
    );
    let r = a.cmd(json!({"cmd": "conference"}));
    assert_eq!(r["ok"], false, "{r}");
    assert_eq!(r["error"]["code"], "bad_state", "{r}");

    // Nothing held, nothing joined: the members are the three legs.
    std::thread::sleep(Duration::from_secs(1));
    let st = a.status();
    for id in legs.iter().chain([&new_call]) {
        let call = st["calls"]
            .as_array()
            .and_then(|v| v.iter().find(|c| c["id"] == id.as_str()).cloned())
            .unwrap_or(Value::Null);
        assert_eq!(call["state"], "active", "{id} {st}");
        assert_eq!(call["held"], false, "{id} {st}");
    }
    let mut members: Vec<String> = st["conference"]["members"]
        .as_array()
        .map(|m| {
            m.iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    members.sort();
    let mut want = legs.to_vec();
    want.sort();
    assert_eq!(members, want, "{st}");
    assert_eq!(st["conference"]["bridging"], true, "{st}");
    for leg in &legs {
        assert!(
            a.call_updates(leg).iter().all(|u| u["state"] != "held"),
            "{leg} was held"
        );
    }
    e.ok(json!({"cmd": "hangup"}));
    // The last member's leg ends with the second-last's: no reply checked.
    for p in [&mut b, &mut c, &mut d] {
        p.cmd(json!({"cmd": "hangup"}));
    }
}
