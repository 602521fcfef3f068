//! Wideband calls between termphone and baresip 1.0, called directly by
//! IP, both ways: G.722 only (baresip's g722 module, `audio_codecs=G722`,
//! audio at 16 kHz) and Opus only (its opus module, `audio_codecs=opus`,
//! 48 kHz). Each side plays a tone above 4 kHz, which narrowband
//! (8 kHz G.711) cannot carry at all: termphone 5 kHz, baresip 6 kHz.
//! Each tone is checked in what the other side recorded (termphone's file
//! backend, baresip's sndfile), and termphone's `status` names the codec
//! and its rate.

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

/// A codec as termphone's config, baresip's `audio_codecs` and `status`
/// name it, and its audio rate.
#[derive(Clone, Copy)]
struct Wide {
    name: &'static str,
    rate: u32,
}

const G722: Wide = Wide {
    name: "G722",
    rate: 16_000,
};
const OPUS: Wide = Wide {
    name: "opus",
    rate: 48_000,
};

fn phone(t: &TestDir, codec: Wide, auto_answer: bool) -> TestPhone {
    direct_phone(
        t,
        PhoneOpts::new()
            .tone(OURS_HZ)
            .codecs(&[codec.name], codec.rate)
            .phone("auto_answer", auto_answer),
    )
}

fn peer(t: &TestDir, codec: Wide) -> Baresip {
    baresip(
        t,
        "1002",
        PeerOpts::tone(PEERS_HZ).wideband(codec.name, codec.rate),
    )
}

/// The call's codec in `status` and in its Call object.
fn assert_codec(p: &mut TestPhone, call: &Value, codec: Wide) {
    assert_eq!(call["codec"], codec.name, "{call}");
    assert_eq!(call["codec_rate"], codec.rate, "{call}");
    let status = p.ctl(&["status"]).1;
    let name = format!("\"codec\":\"{}\"", codec.name);
    let rate = format!("\"codec_rate\":{}", codec.rate);
    assert!(status.contains(&name) && status.contains(&rate), "{status}");
}

/// Both tones crossed: each side's recording holds the other's tone, at
/// the codec's rate on our side.
fn assert_wideband_both_ways(p: &TestPhone, b: &Baresip, call: &Value, codec: Wide) {
    let ours = recorded_wav(&p.rec, call, 2.0);
    let rate = hound::WavReader::open(&ours).map(|r| r.spec().sample_rate);
    assert_eq!(rate.ok(), Some(codec.rate), "{}", ours.display());
    tone::assert_tone(&ours, PEERS_HZ, OURS_HZ);
    let got = b.received_wavs();
    assert_eq!(got.len(), 1, "{got:?}");
    tone::assert_tone(&got[0], OURS_HZ, PEERS_HZ);
}

fn call_to_baresip(name: &str, codec: Wide) {
    let t = TestDir::new(name);
    let mut b = peer(&t, codec);
    let mut p = phone(&t, codec, false);
    let id = call_id_of(&p.ok(json!({"cmd": "dial", "to": b.direct_uri()})));
    let active = p
        .wait_call_state(&id, "active", Duration::from_secs(15))
        .unwrap_or_else(|| panic!("call not active: {:?}\n{}", p.events(), b.log()));
    assert_codec(&mut p, &active, codec);
    talk_then_hang_up(&mut p, &mut b, &id);
    b.stop();
    assert_wideband_both_ways(&p, &b, &active, codec);
}

fn call_from_baresip(name: &str, codec: Wide) {
    let t = TestDir::new(name);
    let mut b = peer(&t, codec);
    let mut p = phone(&t, codec, true);
    b.dial(&format!("sip:1001@{}", p.sip_addr()));
    let active = p
        .wait_any_call_state("active", Duration::from_secs(15))
        .unwrap_or_else(|| panic!("call not active: {:?}\n{}", p.events(), b.log()));
    assert_eq!(active["direction"], "in");
    assert_codec(&mut p, &active, codec);
    let id = active["id"].as_str().unwrap_or_default().to_string();
    talk_then_hang_up(&mut p, &mut b, &id);
    b.stop();
    assert_wideband_both_ways(&p, &b, &active, codec);
}

/// An outgoing call offering G.722 first, answered by a narrowband
/// baresip (G.711 only) after ringing for a while: the ringback played
/// before the answer was at G.722's 16 kHz, but the call's recording is at
/// the answer's codec rate, 8 kHz, with the peer's tone in it.
#[test]
fn recording_of_an_outgoing_call_follows_the_answered_codec() {
    let t = TestDir::new("answer-rate");
    let mut b = baresip(&t, "1002", PeerOpts::tone(1200.0).auto_answer(false));
    let mut p = direct_phone(
        &t,
        PhoneOpts::new().tone(700.0).codecs(&["G722", "PCMU"], 8000),
    );
    let id = call_id_of(&p.ok(json!({"cmd": "dial", "to": b.direct_uri()})));
    assert!(
        b.wait_event("CALL_INCOMING", Duration::from_secs(10))
            .is_some(),
        "baresip not called:\n{}",
        b.log()
    );
    let ringing = p
        .wait_call_state(&id, "alerting", Duration::from_secs(10))
        .unwrap_or_else(|| panic!("no ringing: {:?}", p.events()));
    // Ringback is recorded at the offer's first codec rate meanwhile.
    let early = recorded_wav(&p.rec, &ringing, 0.5);
    let rate = hound::WavReader::open(&early).map(|r| r.spec().sample_rate);
    assert_eq!(rate.ok(), Some(16_000), "before the answer");
    b.accept();
    let active = p
        .wait_call_state(&id, "active", Duration::from_secs(10))
        .unwrap_or_else(|| panic!("call not active: {:?}\n{}", p.events(), b.log()));
    assert_eq!(active["codec"], "PCMU", "{active}");
    assert_eq!(active["codec_rate"], 8000, "{active}");
    std::thread::sleep(Duration::from_secs(2));
    p.hang_up(&id);
    b.stop();
    let ours = recorded_wav(&p.rec, &active, 2.0);
    let rate = hound::WavReader::open(&ours).map(|r| r.spec().sample_rate);
    assert_eq!(rate.ok(), Some(8000), "{}", ours.display());
    tone::assert_tone(&ours, 1200.0, 700.0);
}

#[test]
fn g722_call_to_baresip_carries_tones_above_4_khz_both_ways() {
    call_to_baresip("g722-out", G722);
}

#[test]
fn g722_call_from_baresip_carries_tones_above_4_khz_both_ways() {
    call_from_baresip("g722-in", G722);
}

#[test]
fn opus_call_to_baresip_carries_tones_above_4_khz_both_ways() {
    call_to_baresip("opus-out", OPUS);
}

#[test]
fn opus_call_from_baresip_carries_tones_above_4_khz_both_ways() {
    call_from_baresip("opus-in", OPUS);
}
