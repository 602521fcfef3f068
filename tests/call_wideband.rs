//! G.722 wideband calls between termphone and baresip 1.0 (its g722
//! module, `audio_codecs=G722`, audio at 16 kHz), called directly by IP,
//! both ways. Each side plays a tone above 4 kHz, which narrowband
//! (8 kHz G.711) cannot carry at all: termphone 5 kHz, baresip 6 kHz.
//! Each tone is checked in what the other side recorded (termphone's file
//! backend, baresip's sndfile), and termphone's `status` names the codec
//! and its 16 kHz rate.

mod support;

use serde_json::{json, Value};
use std::time::Duration;
use support::baresip::Baresip;
use support::callctl::talk_then_hang_up;
use support::phone::{call_id_of, recorded_wav};
use support::setup::{baresip, direct_phone, PeerOpts, PhoneOpts, TestPhone};
use support::{tone, TestDir};

const OURS_HZ: f64 = 5000.0;
const PEERS_HZ: f64 = 6000.0;

fn phone(t: &TestDir, auto_answer: bool) -> TestPhone {
    direct_phone(
        t,
        PhoneOpts::new()
            .tone(OURS_HZ)
            .codecs(&["G722"], 16_000)
            .phone("auto_answer", auto_answer),
    )
}

fn peer(t: &TestDir) -> Baresip {
    baresip(t, "1002", PeerOpts::tone(PEERS_HZ).wideband("G722", 16_000))
}

/// The call's codec in `status` and in its Call object.
fn assert_g722(p: &mut TestPhone, call: &Value) {
    assert_eq!(call["codec"], "G722", "{call}");
    assert_eq!(call["codec_rate"], 16_000, "{call}");
    let status = p.ctl(&["status"]).1;
    assert!(
        status.contains("\"codec\":\"G722\"") && status.contains("\"codec_rate\":16000"),
        "{status}"
    );
}

/// Both tones crossed: each side's recording holds the other's tone, at
/// 16 kHz on our side.
fn assert_wideband_both_ways(p: &TestPhone, b: &Baresip, call: &Value) {
    let ours = recorded_wav(&p.rec, call, 2.0);
    let rate = hound::WavReader::open(&ours).map(|r| r.spec().sample_rate);
    assert_eq!(rate.ok(), Some(16_000), "{}", ours.display());
    tone::assert_tone(&ours, PEERS_HZ, OURS_HZ);
    let got = b.received_wavs();
    assert_eq!(got.len(), 1, "{got:?}");
    tone::assert_tone(&got[0], OURS_HZ, PEERS_HZ);
}

#[test]
fn g722_call_to_baresip_carries_tones_above_4_khz_both_ways() {
    let t = TestDir::new("g722-out");
    let mut b = peer(&t);
    let mut p = phone(&t, false);
    let id = call_id_of(&p.ok(json!({"cmd": "dial", "to": b.direct_uri()})));
    let active = p
        .wait_call_state(&id, "active", Duration::from_secs(15))
        .unwrap_or_else(|| panic!("call not active: {:?}\n{}", p.events(), b.log()));
    assert_g722(&mut p, &active);
    talk_then_hang_up(&mut p, &mut b, &id);
    b.stop();
    assert_wideband_both_ways(&p, &b, &active);
}

#[test]
fn g722_call_from_baresip_carries_tones_above_4_khz_both_ways() {
    let t = TestDir::new("g722-in");
    let mut b = peer(&t);
    let mut p = phone(&t, true);
    b.dial(&format!("sip:1001@{}", p.sip_addr()));
    let active = p
        .wait_any_call_state("active", Duration::from_secs(15))
        .unwrap_or_else(|| panic!("call not active: {:?}\n{}", p.events(), b.log()));
    assert_eq!(active["direction"], "in");
    assert_g722(&mut p, &active);
    let id = active["id"].as_str().unwrap_or_default().to_string();
    talk_then_hang_up(&mut p, &mut b, &id);
    b.stop();
    assert_wideband_both_ways(&p, &b, &active);
}
