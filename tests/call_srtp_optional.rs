//! `srtp-optional` calling baresip 1.0 with mandatory SRTP
//! (`mediaenc=srtp-mand`). Our optional offer is `RTP/AVP` with `a=crypto`
//! lines; baresip refuses it with 488 (it takes only `RTP/SAVP`). As desk
//! phones with optional SRTP do, termphone then sends the INVITE again
//! offering the same keys as `RTP/SAVP`, which baresip takes: the call is
//! up with SRTP, tones heard both ways, no plain audio on the wire (a
//! packet socket, root). The SIP trace shows the ladder: INVITE (RTP/AVP),
//! 488, INVITE (RTP/SAVP, CSeq + 1), 200. A peer refusing the retry too
//! (SIPp) gets it only once.

mod support;

use serde_json::{json, Value};
use std::time::Duration;
use support::capture::Capture;
use support::phone::call_id_of;
use support::phone::trace_lines;
use support::setup::{baresip, direct_phone, PeerOpts, PhoneOpts};
use support::srtp_call::{
    active_with, assert_audio_both_ways, assert_encrypted, local_media, OURS_HZ, PEERS_HZ,
};
use support::TestDir;

/// The `m=audio` line of a traced message's text.
fn m_audio(msg: &Value) -> String {
    msg["text"]
        .as_str()
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("m=audio "))
        .unwrap_or_default()
        .trim()
        .to_string()
}

/// The CSeq number of a traced message's text.
fn cseq(msg: &Value) -> u32 {
    msg["text"]
        .as_str()
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("CSeq:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no CSeq in {msg}"))
}

#[test]
fn optional_srtp_retries_as_savp_when_the_peer_requires_srtp() {
    let t = TestDir::new("srtp-optional-mand");
    let mut b = baresip(&t, "1002", PeerOpts::tone(PEERS_HZ).mediaenc("srtp-mand"));
    let mut p = direct_phone(
        &t,
        PhoneOpts::new()
            .tone(OURS_HZ)
            .media_encryption("srtp-optional"),
    );
    let cap = Capture::start();
    let id = call_id_of(&p.ok(json!({"cmd": "dial", "to": b.direct_uri()})));
    let active = active_with(&mut p, &b, &id);
    assert_eq!(active["media_encryption"], "srtp", "{active}");
    assert_eq!(active["signalling"], "udp", "{active}");
    assert!(
        b.wait_event("CALL_ESTABLISHED", Duration::from_secs(5))
            .is_some(),
        "baresip did not establish:\n{}",
        b.log()
    );
    std::thread::sleep(Duration::from_secs(3));
    p.ok(json!({"cmd": "hangup", "call": id}));
    assert!(p
        .wait_call_state(&id, "ended", Duration::from_secs(10))
        .is_some());
    assert!(b
        .wait_event("CALL_CLOSED", Duration::from_secs(10))
        .is_some());
    let captured = cap.stop();
    b.stop();

    // The ladder: our AVP offer refused with 488, the SAVP one taken.
    let traced = trace_lines(&p.socket, Duration::from_secs(3));
    let invites: Vec<&Value> = traced
        .iter()
        .filter(|m| m["summary"] == "INVITE" && m["direction"] == "out")
        .collect();
    assert_eq!(invites.len(), 2, "{traced:#?}");
    assert!(
        m_audio(invites[0]).contains(" RTP/AVP "),
        "{}",
        m_audio(invites[0])
    );
    assert!(
        m_audio(invites[1]).contains(" RTP/SAVP "),
        "{}",
        m_audio(invites[1])
    );
    assert_eq!(cseq(invites[1]), cseq(invites[0]) + 1);
    let finals: Vec<String> = traced
        .iter()
        .filter(|m| m["direction"] == "in")
        .filter_map(|m| m["summary"].as_str())
        .filter(|s| s.starts_with("488") || s.starts_with("200"))
        .map(str::to_string)
        .collect();
    assert!(
        finals.first().is_some_and(|s| s.starts_with("488")),
        "{finals:?}"
    );
    assert!(finals.iter().any(|s| s.starts_with("200")), "{finals:?}");

    // Encrypted on the wire, audio both ways.
    assert_encrypted(&captured, local_media(&active));
    assert_audio_both_ways(&p, &b, &active);
}

/// A peer refusing the `RTP/SAVP` retry too (SIPp, 488 to everything):
/// the retry happens once, offering the first offer's keys as SAVP, and
/// the call ends with the 488.
#[test]
fn optional_srtp_retries_once() {
    let t = TestDir::new("srtp-optional-488");
    let mut p = direct_phone(&t, PhoneOpts::new().media_encryption("srtp-optional"));
    let sipp = support::sipp::Sipp::new("uas_488_twice", &t.sub("sipp"))
        .timeout(15)
        .spawn();
    let id = call_id_of(&p.ok(json!({"cmd": "dial", "to": format!("sip:uas@{}", sipp.addr())})));
    let ended = p
        .wait_call_state(&id, "ended", Duration::from_secs(10))
        .unwrap_or_else(|| panic!("call did not end: {:?}\n{}", p.events(), p.log_tail()));
    let reason = ended["end_reason"].as_str().unwrap_or_default();
    assert!(reason.starts_with("488"), "end_reason: {reason}");
    let r = sipp.wait(Duration::from_secs(10));
    assert!(r.success(), "{}", r.describe());
    let invites: Vec<String> = r
        .traced()
        .into_iter()
        .filter(|m| !m.sent && m.is_request("INVITE"))
        .map(|m| m.text.clone())
        .collect();
    assert_eq!(invites.len(), 2, "{invites:#?}");
    assert!(invites[0].contains(" RTP/AVP "), "{}", invites[0]);
    assert!(invites[0].contains("a=crypto:"), "{}", invites[0]);
    assert!(invites[1].contains(" RTP/SAVP "), "{}", invites[1]);
    // The same keys in both offers.
    let keys = |text: &str| -> Vec<String> {
        text.lines()
            .filter(|l| l.starts_with("a=crypto:"))
            .map(str::to_string)
            .collect()
    };
    assert_eq!(keys(&invites[0]), keys(&invites[1]));
    // Never up, and the 488 to the retry stands: no third INVITE.
    assert!(
        p.call_updates(&id).iter().all(|c| c["state"] != "active"),
        "{:?}",
        p.call_updates(&id)
    );
}
