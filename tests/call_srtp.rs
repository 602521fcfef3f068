//! SRTP calls (SDES, `[[account]] media_encryption`) between termphone and
//! baresip 1.0 with its srtp module (`mediaenc=srtp-mand`: SRTP only,
//! `RTP/SAVP`), called directly by IP: audio both ways checked by tone in
//! the recordings, and a capture of the call's RTP on the wire (a packet
//! socket, root) shows no plain audio; against a peer without SRTP a
//! mandatory account refuses (488) or hangs up both ways, and
//! `srtp-optional` falls back to plain RTP (where the same capture check
//! does hear the tone: the check can tell plain from encrypted). A SIPp
//! UAS answering our SRTP offer (or our re-offer) with plain RTP is ACKed
//! and hung up on, the re-offer carries the same keys, and the SIP trace
//! shows our offer's keys redacted. An SRTP call survives hold and resume;
//! `srtp-optional` takes SRTP when offered; a plain account refuses an SRTP
//! offer with 488.

mod support;

use serde_json::json;
use std::time::Duration;
use support::baresip::Baresip;
use support::capture::{pcmu_tone_share, Capture};
use support::phone::call_id_of;
use support::phone::trace_lines;
use support::setup::{baresip, direct_phone, PeerOpts, PhoneOpts, TestPhone};
use support::sipp::Sipp;
use support::srtp_call::{
    active_with, assert_audio_both_ways, assert_encrypted, local_media, rtp_at, talk_and_hang_up,
    OURS_HZ, PEERS_HZ,
};
use support::TestDir;

/// termphone 1001 (direct account with `policy`, playing 1000 Hz).
fn phone(t: &TestDir, policy: &str, auto_answer: bool) -> TestPhone {
    direct_phone(
        t,
        PhoneOpts::new()
            .tone(OURS_HZ)
            .media_encryption(policy)
            .phone("auto_answer", auto_answer),
    )
}

/// baresip 1002 playing 600 Hz, answering by itself, with `mediaenc`.
fn peer(t: &TestDir, mediaenc: Option<&str>) -> Baresip {
    let opts = PeerOpts::tone(PEERS_HZ);
    baresip(
        t,
        "1002",
        match mediaenc {
            Some(enc) => opts.mediaenc(enc),
            None => opts,
        },
    )
}

#[test]
fn srtp_call_to_baresip_is_encrypted_with_audio_both_ways() {
    let t = TestDir::new("srtp-out");
    let mut b = peer(&t, Some("srtp-mand"));
    let mut p = phone(&t, "srtp", false);
    let cap = Capture::start();
    let id = call_id_of(&p.ok(json!({"cmd": "dial", "to": b.direct_uri()})));
    let active = active_with(&mut p, &b, &id);
    assert_eq!(active["media_encryption"], "srtp", "{active}");
    let status = p.ctl(&["status"]).1;
    assert!(status.contains("\"media_encryption\":\"srtp\""), "{status}");
    let captured = talk_and_hang_up(&mut p, &mut b, &id, cap);
    assert_encrypted(&captured, local_media(&active));
    assert_audio_both_ways(&p, &b, &active);
}

#[test]
fn srtp_call_from_baresip_is_encrypted_with_audio_both_ways() {
    let t = TestDir::new("srtp-in");
    let mut b = peer(&t, Some("srtp-mand"));
    let mut p = phone(&t, "srtp", true);
    let cap = Capture::start();
    b.dial(&format!("sip:1001@{}", p.sip_addr()));
    let active = p
        .wait_any_call_state("active", Duration::from_secs(15))
        .unwrap_or_else(|| {
            panic!(
                "call not active: {:?}\n{}\n{}",
                p.events(),
                p.log_tail(),
                b.log()
            )
        });
    assert_eq!(active["direction"], "in");
    assert_eq!(active["media_encryption"], "srtp", "{active}");
    let id = active["id"].as_str().unwrap_or_default().to_string();
    let captured = talk_and_hang_up(&mut p, &mut b, &id, cap);
    assert_encrypted(&captured, local_media(&active));
    assert_audio_both_ways(&p, &b, &active);
}

/// Mandatory SRTP against a peer without it, both ways: our SAVP offer
/// is not taken (baresip refuses it, or answers plain and is hung up on)
/// and the peer's plain offer gets 488 from us; no call is ever active.
#[test]
fn mandatory_srtp_against_a_plain_peer_fails_both_ways() {
    let t = TestDir::new("srtp-plain-peer");
    let mut b = peer(&t, None);
    let mut p = phone(&t, "srtp", true);

    let id = call_id_of(&p.ok(json!({"cmd": "dial", "to": b.direct_uri()})));
    let ended = p
        .wait_call_state(&id, "ended", Duration::from_secs(15))
        .unwrap_or_else(|| panic!("call did not end: {:?}\n{}", p.events(), b.log()));
    let reason = ended["end_reason"].as_str().unwrap_or_default();
    assert!(
        reason.starts_with("488") || reason.starts_with("media encryption mismatch"),
        "end_reason: {reason}"
    );
    assert!(
        p.call_updates(&id)
            .iter()
            .all(|c| c["state"] != "active" || c["media_encryption"] != "none"),
        "a plain call was up: {:?}",
        p.call_updates(&id)
    );

    // baresip saw our offer and refused it ("No audio codecs": it has no
    // RTP/SAVP without mediaenc).
    assert!(b
        .wait_event("CALL_CLOSED", Duration::from_secs(5))
        .is_some());
    b.clear_events();
    b.dial(&format!("sip:1001@{}", p.sip_addr()));
    let closed = b
        .wait_event("CALL_CLOSED", Duration::from_secs(10))
        .unwrap_or_else(|| panic!("baresip's call was not refused:\n{}", b.log()));
    assert!(closed.to_string().contains("488"), "{closed}");
    let refused = p
        .wait_event(Duration::from_secs(5), |e| {
            e["event"] == "call" && e["call"]["direction"] == "in" && e["call"]["state"] == "ended"
        })
        .unwrap_or_else(|| panic!("no ended incoming call: {:?}", p.events()));
    let reason = refused["call"]["end_reason"].as_str().unwrap_or_default();
    assert!(
        reason.starts_with("488 incompatible media encryption"),
        "end_reason: {reason}"
    );
    assert!(p
        .wait_any_call_state("active", Duration::from_millis(500))
        .is_none());
    b.stop();
}

/// `srtp-optional` with a plain peer: the call is up with plain RTP both
/// ways (the capture hears our tone on the wire), audio flows.
#[test]
fn optional_srtp_falls_back_to_plain_rtp() {
    let t = TestDir::new("srtp-optional");
    let mut b = peer(&t, None);
    let mut p = phone(&t, "srtp-optional", true);
    let cap = Capture::start();
    let id = call_id_of(&p.ok(json!({"cmd": "dial", "to": b.direct_uri()})));
    let active = active_with(&mut p, &b, &id);
    assert_eq!(active["media_encryption"], "none", "{active}");
    let captured = talk_and_hang_up(&mut p, &mut b, &id, cap);
    let (sent, received) = rtp_at(&captured, local_media(&active));
    let (out, back) = (
        pcmu_tone_share(&sent, OURS_HZ),
        pcmu_tone_share(&received, PEERS_HZ),
    );
    assert!(
        out > 0.5 && back > 0.5,
        "plain tones not seen on the wire: {out:.3} {back:.3}"
    );
    assert_audio_both_ways(&p, &b, &active);

    // And the other way: the peer's plain offer is answered plain.
    let t2 = TestDir::new("srtp-optional-in");
    let mut b = peer(&t2, None);
    b.dial(&format!("sip:1001@{}", p.sip_addr()));
    let active = p
        .wait_event(Duration::from_secs(15), |e| {
            e["event"] == "call" && e["call"]["direction"] == "in" && e["call"]["state"] == "active"
        })
        .unwrap_or_else(|| panic!("incoming call not active: {:?}\n{}", p.events(), b.log()));
    assert_eq!(active["call"]["media_encryption"], "none", "{active}");
    b.hangup();
    b.stop();
}

/// A peer (SIPp) answering our mandatory SRTP offer with plain RTP: the
/// 2xx is ACKed, then a BYE with a Reason ends the call with the reason;
/// the offer carried RTP/SAVP and keys, which the trace shows redacted.
#[test]
fn plain_answer_to_our_srtp_offer_ends_the_call() {
    let t = TestDir::new("srtp-plain-answer");
    let mut p = phone(&t, "srtp", false);
    let sipp = Sipp::new("uas_answer", &t.sub("sipp")).timeout(20).spawn();
    let id = call_id_of(&p.ok(json!({"cmd": "dial", "to": format!("sip:uas@{}", sipp.addr())})));
    let ended = p
        .wait_call_state(&id, "ended", Duration::from_secs(10))
        .unwrap_or_else(|| panic!("call did not end: {:?}\n{}", p.events(), p.log_tail()));
    assert_eq!(
        ended["end_reason"],
        "media encryption mismatch: the peer answered without SRTP and this account requires it",
        "{ended}"
    );
    assert!(
        p.call_updates(&id).iter().all(|c| c["state"] != "active"),
        "{:?}",
        p.call_updates(&id)
    );
    let r = sipp.wait(Duration::from_secs(10));
    assert!(r.success(), "no ACK and BYE: {}", r.describe());
    let invite = r
        .traced()
        .into_iter()
        .find(|m| m.is_request("INVITE"))
        .expect("our INVITE");
    assert!(invite.text.contains(" RTP/SAVP "), "{}", invite.text);
    let key = invite
        .text
        .lines()
        .find_map(|l| l.strip_prefix("a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:"))
        .map(|k| k.trim().to_string())
        .unwrap_or_else(|| panic!("no AES_CM_128_HMAC_SHA1_80 key: {}", invite.text));
    assert_eq!(key.len(), 40, "30 bytes of key and salt in base64: {key}");
    assert!(
        r.messages
            .contains("Reason: SIP;cause=488;text=\"Incompatible media encryption\""),
        "{}",
        r.describe()
    );
    let traced = trace_lines(&p.socket, Duration::from_secs(3));
    let ours = traced
        .iter()
        .find(|m| m["summary"] == "INVITE" && m["direction"] == "out")
        .unwrap_or_else(|| panic!("our INVITE not in the trace: {traced:?}"));
    let text = ours["text"].as_str().unwrap_or_default();
    assert!(
        text.contains("a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:<redacted>"),
        "{text}"
    );
    assert!(!text.contains(&key), "the key is in the trace: {text}");
    assert!(!p.log_tail().contains(&key), "the key is in the log");
}

/// The received packet count of call `id` in `status`.
fn rx_packets(p: &mut TestPhone, id: &str) -> u64 {
    p.call(id)
        .and_then(|c| c["stats"]["rx_packets"].as_u64())
        .unwrap_or(0)
}

/// Hold and resume (re-INVITEs with our same keys) keep an SRTP call with
/// baresip encrypted and talking: after the resume its SRTP still
/// authenticates (packets counted, none dropped).
#[test]
fn srtp_call_survives_hold_and_resume() {
    let t = TestDir::new("srtp-hold");
    let mut b = peer(&t, Some("srtp-mand"));
    let mut p = phone(&t, "srtp", false);
    let id = call_id_of(&p.ok(json!({"cmd": "dial", "to": b.direct_uri()})));
    p.wait_call_state(&id, "active", Duration::from_secs(15))
        .unwrap_or_else(|| panic!("call not active: {:?}\n{}", p.events(), b.log()));
    assert!(b
        .wait_event("CALL_ESTABLISHED", Duration::from_secs(5))
        .is_some());
    std::thread::sleep(Duration::from_secs(1));
    let from = p.call_updates(&id).len();
    p.ok(json!({"cmd": "hold", "call": id}));
    p.wait_call_from(&id, from, Duration::from_secs(10), |c| c["held"] == true)
        .unwrap_or_else(|| panic!("not held: {:?}\n{}", p.events(), b.log()));
    std::thread::sleep(Duration::from_secs(1));
    let from = p.call_updates(&id).len();
    p.ok(json!({"cmd": "resume", "call": id}));
    let (_, resumed) = p
        .wait_call_from(&id, from, Duration::from_secs(10), |c| c["held"] == false)
        .unwrap_or_else(|| panic!("not resumed: {:?}\n{}", p.events(), b.log()));
    assert_eq!(resumed["state"], "active", "{resumed}");
    assert_eq!(resumed["media_encryption"], "srtp", "{resumed}");
    std::thread::sleep(Duration::from_millis(500));
    let before = rx_packets(&mut p, &id);
    std::thread::sleep(Duration::from_secs(2));
    let after = rx_packets(&mut p, &id);
    assert!(
        after >= before + 50,
        "no audio after the resume: {before} -> {after}\n{}",
        p.log_tail()
    );
    let call = p.call(&id).unwrap_or_default();
    assert!(call["stats"]["srtp_dropped"].is_null(), "{call}");
    p.ok(json!({"cmd": "hangup", "call": id}));
    assert!(p
        .wait_call_state(&id, "ended", Duration::from_secs(10))
        .is_some());
    b.stop();
}

/// An account without SRTP (the default) refuses an `RTP/SAVP` offer with
/// 488 instead of answering it with plain RTP.
#[test]
fn srtp_offer_to_a_plain_account_gets_488() {
    let t = TestDir::new("srtp-to-plain");
    let mut b = peer(&t, Some("srtp-mand"));
    let mut p = phone(&t, "none", true);
    b.dial(&format!("sip:1001@{}", p.sip_addr()));
    let closed = b
        .wait_event("CALL_CLOSED", Duration::from_secs(10))
        .unwrap_or_else(|| panic!("baresip's call was not refused:\n{}", b.log()));
    assert!(closed.to_string().contains("488"), "{closed}");
    let refused = p
        .wait_event(Duration::from_secs(5), |e| {
            e["event"] == "call" && e["call"]["state"] == "ended"
        })
        .unwrap_or_else(|| panic!("no ended incoming call: {:?}", p.events()));
    assert_eq!(
        refused["call"]["end_reason"],
        "488 incompatible media encryption: the peer offers SRTP and this account does not use it",
        "{refused}"
    );
    assert!(p
        .wait_any_call_state("active", Duration::from_millis(500))
        .is_none());
    b.stop();
}

/// The `a=crypto` lines of a SIP message's SDP.
fn crypto_lines(text: &str) -> Vec<String> {
    text.lines()
        .filter(|l| l.starts_with("a=crypto:"))
        .map(|l| l.trim().to_string())
        .collect()
}

/// An SRTP call (SIPp answering with SAVP and a key) put on hold: the
/// re-INVITE offers the same keys as the INVITE; the peer's plain answer
/// to it is ACKed and the call hung up with the reason, and the `hold`
/// command is answered with that reason.
#[test]
fn plain_answer_to_our_srtp_reoffer_ends_the_call() {
    let t = TestDir::new("srtp-reinvite-plain");
    let mut p = phone(&t, "srtp", false);
    let sipp = Sipp::new("uas_srtp_then_plain", &t.sub("sipp"))
        .timeout(20)
        .spawn();
    let id = call_id_of(&p.ok(json!({"cmd": "dial", "to": format!("sip:uas@{}", sipp.addr())})));
    let active = p
        .wait_call_state(&id, "active", Duration::from_secs(10))
        .unwrap_or_else(|| panic!("call not active: {:?}\n{}", p.events(), p.log_tail()));
    assert_eq!(active["media_encryption"], "srtp", "{active}");
    let hold = p.cmd(json!({"cmd": "hold", "call": id}));
    assert_eq!(hold["ok"], false, "{hold}");
    let ended = p
        .wait_call_state(&id, "ended", Duration::from_secs(10))
        .unwrap_or_else(|| panic!("call did not end: {:?}\n{}", p.events(), p.log_tail()));
    assert_eq!(
        ended["end_reason"],
        "media encryption mismatch: the peer answered without SRTP and this account requires it",
        "{ended}"
    );
    let r = sipp.wait(Duration::from_secs(10));
    assert!(r.success(), "{}\n{}", r.describe(), p.log_tail());
    let invites: Vec<_> = r
        .traced()
        .into_iter()
        .filter(|m| !m.sent && m.is_request("INVITE"))
        .collect();
    assert_eq!(invites.len(), 2, "{}", r.describe());
    let (first, again) = (
        crypto_lines(&invites[0].text),
        crypto_lines(&invites[1].text),
    );
    assert_eq!(first.len(), 2, "{}", invites[0].text);
    assert_eq!(first, again, "the re-INVITE changed the keys");
    assert!(
        invites[1].text.contains("a=sendonly"),
        "{}",
        invites[1].text
    );
}

/// `srtp-optional` answers a peer's SRTP offer with SRTP: the call is
/// encrypted on the wire.
#[test]
fn optional_srtp_takes_srtp_when_offered() {
    let t = TestDir::new("srtp-optional-savp");
    let mut b = peer(&t, Some("srtp-mand"));
    let mut p = phone(&t, "srtp-optional", true);
    let cap = Capture::start();
    b.dial(&format!("sip:1001@{}", p.sip_addr()));
    let active = p
        .wait_any_call_state("active", Duration::from_secs(15))
        .unwrap_or_else(|| panic!("call not active: {:?}\n{}", p.events(), b.log()));
    assert_eq!(active["media_encryption"], "srtp", "{active}");
    let id = active["id"].as_str().unwrap_or_default().to_string();
    let captured = talk_and_hang_up(&mut p, &mut b, &id, cap);
    assert_encrypted(&captured, local_media(&active));
}
