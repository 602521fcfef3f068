//! Reliable provisional responses (RFC 3262) and UPDATE (RFC 3311) against
//! SIPp: a callee that sends 183 with SDP and 180, both with `Require:
//! 100rel`, gets our PRACKs (and our answer to its UPDATE in the early
//! dialog) and its early media is heard; a caller that
//! requires 100rel gets a reliable 180 and the 200 only after its PRACK,
//! and 481 for a PRACK that matches nothing;
//! UPDATE without and with SDP in a confirmed dialog (the `sendonly` one
//! shows as `remote_held`) and in an early one.

mod support;

use serde_json::json;
use std::time::Duration;
use support::callctl::{call_wav, wait_state, PHONE_HZ, SIPP_HZ};
use support::phone::{call_id_of, remote_held_changes};
use support::setup::{called_by_sipp_auto_answered, direct_phone, ended_call_updates, PhoneOpts};
use support::sipp::Sipp;
use support::{tone, TestDir};

#[test]
fn reliable_183_and_180_are_pracked_and_early_media_heard() {
    let t = TestDir::new("rel-uac");
    let mut p = direct_phone(&t, PhoneOpts::new().tone(PHONE_HZ));
    let dir = t.sub("sipp");
    tone::write_sine_ulaw(&dir.join("tone.ul"), SIPP_HZ, 15.0);
    let sipp = Sipp::new("uas_100rel", &dir).timeout(20).spawn();
    let reply = p.ok(json!({"cmd": "dial", "to": format!("sip:uas@{}", sipp.addr())}));
    let id = call_id_of(&reply);
    let active = wait_state(&mut p, &id, "active", 15);
    p.ok(json!({"cmd": "hangup", "call": id}));
    wait_state(&mut p, &id, "ended", 10);
    let r = sipp.wait(Duration::from_secs(15));
    assert!(r.success(), "{}\n{}", r.describe(), p.log_tail());

    let pracks: Vec<String> = r
        .traced()
        .into_iter()
        .filter(|m| !m.sent && m.is_request("PRACK"))
        .map(|m| m.header("RAck").unwrap_or_default().trim().to_string())
        .collect();
    assert_eq!(pracks, ["1 1 INVITE", "2 1 INVITE"], "{}", r.describe());
    // The dialog's CSeq goes on from the PRACKs of the early dialog.
    let cseqs: Vec<(String, u32)> = r
        .traced()
        .into_iter()
        .filter(|m| !m.sent && (m.is_request("PRACK") || m.is_request("BYE")))
        .map(|m| {
            let cseq = m.header("CSeq").unwrap_or_default().trim().to_string();
            let n = cseq.split_whitespace().next().unwrap_or_default();
            (cseq.clone(), n.parse().unwrap_or(0))
        })
        .collect();
    let numbers: Vec<u32> = cseqs.iter().map(|c| c.1).collect();
    assert!(
        numbers.len() == 3 && numbers.windows(2).all(|w| w[0] < w[1]),
        "CSeqs {cseqs:?}"
    );

    // The 183's SDP was the answer: its early media reached the speaker.
    let wav = call_wav(&mut p, &active, 1.0);
    let early = tone::tone_secs(&wav, SIPP_HZ);
    assert!(early >= 1.2, "{}: {early} s of early media", wav.display());
}

#[test]
fn caller_requiring_100rel_gets_a_reliable_180_then_the_200() {
    let t = TestDir::new("rel-uas");
    let (mut p, r) = called_by_sipp_auto_answered(&t, "uac_100rel", 20);

    let msgs = r.traced();
    let ringing = msgs
        .iter()
        .find(|m| !m.sent && m.is_response(180))
        .expect("a 180 reached SIPp");
    let rseq = ringing.header("RSeq").unwrap_or_default().trim();
    assert!(rseq.parse::<u32>().is_ok_and(|n| n > 0), "RSeq {rseq:?}");
    let require = ringing.header("Require").unwrap_or_default();
    assert!(require.contains("100rel"), "Require {require:?}");
    let first_prack = msgs.iter().position(|m| m.sent && m.is_request("PRACK"));
    let first_200 = msgs.iter().position(|m| {
        !m.sent && m.is_response(200) && m.header("CSeq").unwrap_or_default().contains("INVITE")
    });
    assert!(
        first_prack.is_some() && first_prack < first_200,
        "the 200 came before the PRACK: {}",
        r.describe()
    );
    let ended = p
        .wait_any_call_state("ended", Duration::from_secs(5))
        .unwrap_or_default();
    assert!(ended["answered_at"].is_string(), "{ended}");
}

#[test]
fn update_in_a_confirmed_dialog_refreshes_and_holds() {
    let t = TestDir::new("rel-update");
    let (mut p, _) = called_by_sipp_auto_answered(&t, "uac_update", 20);
    let updates = ended_call_updates(&mut p);
    let seq = remote_held_changes(&updates);
    // Not held, held by the sendonly UPDATE, resumed by the sendrecv one.
    assert_eq!(seq, [false, true, false], "{updates:?}");
}

#[test]
fn update_in_an_early_dialog() {
    let t = TestDir::new("rel-update-early");
    let mut p = direct_phone(&t, PhoneOpts::new());
    let sipp = Sipp::new("uac_update_early", &t.sub("sipp"))
        .target(p.sip_addr())
        .service("1001")
        .timeout(20)
        .spawn();
    let r = sipp.wait(Duration::from_secs(30));
    assert!(r.success(), "{}\n{}", r.describe(), p.log_tail());
    let call = p
        .wait_any_call_state("ended", Duration::from_secs(5))
        .unwrap_or_default();
    assert_eq!(call["end_reason"], "caller cancelled", "{call}");
}
