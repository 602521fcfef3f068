//! SIPp calls termphone directly (INVITE with PCMA, RTP from a pcap);
//! termphone answers through the real `termphone ctl`, SIPp hangs up, and
//! the call is in the history.

mod support;

use serde_json::json;
use std::time::Duration;
use support::setup::{direct_phone, PhoneOpts};
use support::sipp::Sipp;
use support::TestDir;

#[test]
fn incoming_sipp_call_answered_by_ctl() {
    let t = TestDir::new("sipp-uac");
    let mut p = direct_phone(&t, PhoneOpts::new()).phone;

    let sipp = Sipp::new("uac_pcap", &t.sub("sipp"))
        .target(p.sip_addr())
        .service("1001")
        .timeout(30)
        .spawn();
    let ringing = p.wait_any_call_state("ringing", Duration::from_secs(10));
    assert!(
        ringing.is_some(),
        "no ringing call: {:?}\n{}",
        p.events(),
        p.log_tail()
    );
    let call = ringing.unwrap_or_default();
    assert_eq!(call["direction"], "in");
    let id = call["id"].as_str().unwrap_or("").to_string();

    let (code, out) = p.ctl(&["answer"]);
    assert_eq!(code, 0, "ctl answer failed: {out}");
    let reply: serde_json::Value =
        serde_json::from_str(out.trim()).expect("ctl prints one JSON line");
    assert_eq!(reply["ok"], true, "{reply}");

    assert!(
        p.wait_call_state(&id, "active", Duration::from_secs(5))
            .is_some(),
        "not active: {:?}",
        p.events()
    );
    let r = sipp.wait(Duration::from_secs(40));
    assert!(r.success(), "{}\n{}", r.describe(), p.log_tail());
    let ended = p.wait_call_state(&id, "ended", Duration::from_secs(5));
    assert!(ended.is_some(), "not ended: {:?}", p.events());

    let h = p.ok(json!({"cmd": "history", "limit": 5}));
    let e = &h["history"][0];
    assert_eq!(e["direction"], "in", "{h}");
    assert!(e["remote"].as_str().unwrap_or("").contains("sipp"), "{e}");
    assert!(e["answered_at"].is_string(), "{e}");
    assert!(e["ended_at"].is_string(), "{e}");
    assert!(e["end_reason"].is_string(), "{e}");
    assert_eq!(e["missed"], false, "{e}");
}
