//! What the SRTP call tests with baresip check, shared: the two tones
//! (ours 1000 Hz, baresip's 600 Hz), letting a call talk and hanging it
//! up, the tones heard in both recordings, and the captured RTP of the
//! call showing no plain audio.

use super::baresip::Baresip;
use super::capture::{pcmu_tone_share, rtp_of, Capture, Datagram};
use super::phone::recorded_wav;
use super::setup::TestPhone;
use super::tone;
use serde_json::Value;
use std::net::SocketAddr;
use std::time::Duration;

/// termphone's tone.
pub const OURS_HZ: f64 = 1000.0;
/// baresip's tone.
pub const PEERS_HZ: f64 = 600.0;

/// The call's RTP address (`local_media`) from its Call object.
pub fn local_media(call: &Value) -> SocketAddr {
    call["local_media"]
        .as_str()
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| panic!("no local_media in {call}"))
}

/// Waits up to 15 s for call `id` to be active; its Call object.
pub fn active_with(p: &mut TestPhone, b: &Baresip, id: &str) -> Value {
    p.wait_call_state(id, "active", Duration::from_secs(15))
        .unwrap_or_else(|| {
            panic!(
                "call not active: {:?}\n{}\n{}",
                p.events(),
                p.log_tail(),
                b.log()
            )
        })
}

/// Lets audio flow for 3 s, hangs up from termphone, stops the capture
/// and baresip; the captured datagrams.
pub fn talk_and_hang_up(
    p: &mut TestPhone,
    b: &mut Baresip,
    id: &str,
    cap: Capture,
) -> Vec<Datagram> {
    super::callctl::talk_then_hang_up(p, b, id);
    let captured = cap.stop();
    b.stop();
    captured
}

/// Both recordings hold the other side's tone: termphone's (named after
/// the SIP Call-ID) and baresip's received WAV.
pub fn assert_audio_both_ways(p: &TestPhone, b: &Baresip, call: &Value) {
    tone::assert_tone(&recorded_wav(&p.rec, call, 2.0), PEERS_HZ, OURS_HZ);
    let got = b.received_wavs();
    assert_eq!(got.len(), 1, "{got:?}");
    tone::assert_tone(&got[0], OURS_HZ, PEERS_HZ);
}

/// The RTP termphone sent and received on `ours`: (sent, received), at
/// least 50 packets each.
pub fn rtp_at(captured: &[Datagram], ours: SocketAddr) -> (Vec<Vec<u8>>, Vec<Vec<u8>>) {
    let sent = rtp_of(captured, Some(ours), None);
    let received = rtp_of(captured, None, Some(ours));
    assert!(
        sent.len() >= 50 && received.len() >= 50,
        "too little RTP captured at {ours}: {} sent, {} received (of {} datagrams)",
        sent.len(),
        received.len(),
        captured.len()
    );
    (sent, received)
}

/// No plain audio on the wire: the tones' energy is absent from the
/// payloads read as PCMU, and each packet carries an auth tag (longer
/// than the 172 bytes of a plain 20 ms PCMU packet).
pub fn assert_encrypted(captured: &[Datagram], ours: SocketAddr) {
    let (sent, received) = rtp_at(captured, ours);
    let (out, back) = (
        pcmu_tone_share(&sent, OURS_HZ),
        pcmu_tone_share(&received, PEERS_HZ),
    );
    assert!(
        out < 0.05,
        "our {OURS_HZ} Hz is audible on the wire: {out:.3}"
    );
    assert!(
        back < 0.05,
        "the peer's {PEERS_HZ} Hz is audible on the wire: {back:.3}"
    );
    let plain = sent
        .iter()
        .chain(&received)
        .filter(|p| p.len() == 172)
        .count();
    assert_eq!(plain, 0, "plain-sized PCMU packets on the wire");
}
