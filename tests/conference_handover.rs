//! `[phone] conference_hangup = "transfer"`: when we hang up a conference of
//! two members, they are transferred to each other (REFER with Replaces) and
//! keep talking. Three termphones on loopback (the REFER/Replaces flows
//! themselves are tested against baresip and SIPp in call_transfer.rs).

mod support;

use serde_json::json;
use std::time::Duration;
use support::phone::{call_id_of, wait_wav, Phone};
use support::setup::{direct_phone, PhoneOpts};
use support::{tone, TestDir};

/// Direct-IP phone `name` (its user and folder) playing `freq`.
fn phone(name: &str, freq: f64) -> PhoneOpts {
    PhoneOpts::new().dir(name).user(name).tone(freq)
}

fn answer_next(p: &mut Phone) -> String {
    let ringing = p.wait_any_call_state("ringing", Duration::from_secs(10));
    let id = ringing.unwrap_or_default()["id"]
        .as_str()
        .unwrap_or("")
        .to_string();
    assert!(!id.is_empty(), "no call rang: {:?}", p.events());
    p.ok(json!({"cmd": "answer", "call": id}));
    id
}

#[test]
fn hanging_up_hands_a_two_party_conference_over() {
    let t = TestDir::new("conf-handover");
    let mut a = direct_phone(
        &t,
        phone("alice", 500.0).phone("conference_hangup", "transfer"),
    );
    let mut b = direct_phone(&t, phone("bob", 700.0));
    let b_rec = b.rec.clone();
    let mut c = direct_phone(&t, phone("carol", 950.0));

    let ab = call_id_of(
        &a.ok(json!({"cmd": "dial", "to": format!("sip:bob@127.0.0.1:{}", b.sip_port())})),
    );
    let b_leg = answer_next(&mut b);
    assert!(a
        .wait_call_state(&ab, "active", Duration::from_secs(5))
        .is_some());
    let ac = call_id_of(
        &a.ok(json!({"cmd": "dial", "to": format!("sip:carol@127.0.0.1:{}", c.sip_port())})),
    );
    answer_next(&mut c);
    assert!(a
        .wait_call_state(&ac, "active", Duration::from_secs(5))
        .is_some());
    a.ok(json!({"cmd": "conference"}));
    std::thread::sleep(Duration::from_secs(1));

    // We leave: both our legs end, and B and C are connected to each other.
    a.ok(json!({"cmd": "hangup"}));
    assert!(
        a.wait_call_state(&ab, "ended", Duration::from_secs(10))
            .is_some(),
        "{:?}",
        a.events()
    );
    assert!(
        a.wait_call_state(&ac, "ended", Duration::from_secs(10))
            .is_some(),
        "{:?}",
        a.events()
    );
    let new_b = b
        .wait_event(Duration::from_secs(10), |e| {
            e["event"] == "call"
                && e["call"]["id"] != b_leg.as_str()
                && e["call"]["state"] == "active"
        })
        .unwrap_or_default();
    assert!(
        new_b["call"]["remote"]
            .as_str()
            .unwrap_or("")
            .contains("carol"),
        "B is not talking to C: {:?}\n{}",
        b.events(),
        b.log_tail()
    );
    std::thread::sleep(Duration::from_secs(3));
    let sip_id = new_b["call"]["sip_call_id"]
        .as_str()
        .unwrap_or("")
        .to_string();
    let b_out = b_rec.join(format!("{sip_id}.wav"));
    b.ok(json!({"cmd": "hangup"}));
    assert!(
        wait_wav(&b_out, 2.0, Duration::from_secs(10)),
        "no recording {}",
        b_out.display()
    );
    // B hears C (950 Hz), and not A any more.
    tone::assert_tone(&b_out, 950.0, 500.0);
    let _ = c.ok(json!({"cmd": "status"}));
}
