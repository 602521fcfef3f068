//! Building blocks of the call-control tests: the tones the parties play
//! and the checks that recur (a call reaching a state, the WAV a call
//! recorded). The phone and its baresip peers are set up by [`super::setup`].

use super::baresip::Baresip;
use super::phone::{call_id_of, Phone};
use super::setup::TestPhone;
use super::sipp::Sipp;
use super::TestDir;
use serde_json::{json, Value};
use std::path::PathBuf;
use std::time::Duration;

/// Tone played as termphone's microphone.
pub const PHONE_HZ: f64 = 1000.0;
/// Tone of the first baresip peer (A).
pub const A_HZ: f64 = 600.0;
/// Tone of the second baresip peer (C).
pub const C_HZ: f64 = 800.0;
/// Tone streamed by SIPp (`tone.ul`).
pub const SIPP_HZ: f64 = 700.0;
/// Ringback and busy tones (CEPT).
pub const RING_HZ: f64 = 425.0;

/// Dials `to` and waits for the call to be active; returns its id.
pub fn dial_active(p: &mut Phone, to: &str) -> String {
    let reply = p.ok(json!({"cmd": "dial", "to": to}));
    let id = call_id_of(&reply);
    wait_state(p, &id, "active", 15);
    id
}

/// A SIPp caller (`uac_expect_486`, in `t/<dir>`) calling `p` directly
/// must get 486 Busy Here without a 180 first.
pub fn expect_busy_without_ringing(t: &TestDir, p: &Phone, dir: &str) {
    let r = Sipp::new("uac_expect_486", &t.sub(dir))
        .target(p.sip_addr())
        .service("1001")
        .timeout(10)
        .spawn()
        .wait(Duration::from_secs(15));
    assert!(r.success(), "{dir}: {}\n{}", r.describe(), p.log_tail());
    assert!(
        !r.traced().iter().any(|m| m.is_response(180)),
        "the call from {dir} rang: {}",
        r.describe()
    );
}

/// Waits for call `id` to reach `state`; returns the Call object.
pub fn wait_state(p: &mut Phone, id: &str, state: &str, secs: u64) -> Value {
    match p.wait_call_state(id, state, Duration::from_secs(secs)) {
        Some(c) => c,
        None => panic!(
            "call {id} never {state}: {:?}\n{}",
            p.call_updates(id),
            p.log_tail()
        ),
    }
}

/// Waits until the latest update of call `id` satisfies `pred` (described by
/// `what`), i.e. the call is now in that condition; returns that Call object.
pub fn wait_next(
    p: &mut Phone,
    id: &str,
    what: &str,
    secs: u64,
    pred: impl Fn(&Value) -> bool,
) -> Value {
    let end = std::time::Instant::now() + Duration::from_secs(secs);
    loop {
        let last = p.call_updates(id).pop();
        if let Some(c) = last.filter(|c| pred(c)) {
            return c;
        }
        if std::time::Instant::now() >= end {
            panic!(
                "call {id}: not {what}: {:?}\n{}",
                p.call_updates(id),
                p.log_tail()
            );
        }
        // Blocks until the next event (or 200 ms).
        let _ = p.wait_event(Duration::from_millis(200), |_| false);
    }
}

/// The id of the first incoming call that rings.
pub fn wait_ringing(p: &mut Phone, secs: u64) -> String {
    match p.wait_any_call_state("ringing", Duration::from_secs(secs)) {
        Some(c) => c["id"].as_str().unwrap_or_default().to_string(),
        None => panic!("no call rings: {:?}\n{}", p.events(), p.log_tail()),
    }
}

/// The id of a ringing call other than the ones in `not`.
pub fn wait_ringing_other(p: &mut Phone, not: &[&str], secs: u64) -> String {
    let found = p.wait_event(Duration::from_secs(secs), |e| {
        e["event"] == "call"
            && e["call"]["state"] == "ringing"
            && !not.iter().any(|n| e["call"]["id"] == *n)
    });
    match found {
        Some(e) => e["call"]["id"].as_str().unwrap_or_default().to_string(),
        None => panic!("no second call rings: {:?}\n{}", p.events(), p.log_tail()),
    }
}

/// The WAV termphone recorded for a call (file backend), once it holds `min_secs`.
pub fn call_wav(p: &mut TestPhone, call: &Value, min_secs: f64) -> PathBuf {
    super::phone::recorded_wav(&p.rec, call, min_secs)
}

/// Once baresip has the call `id` established, lets audio flow for 3 s,
/// hangs up from termphone and waits until baresip has closed it too.
pub fn talk_then_hang_up(p: &mut Phone, b: &mut Baresip, id: &str) {
    assert!(
        b.wait_event("CALL_ESTABLISHED", Duration::from_secs(5))
            .is_some(),
        "baresip did not establish:\n{}",
        b.log()
    );
    std::thread::sleep(Duration::from_secs(3));
    p.hang_up(id);
    assert!(
        b.wait_event("CALL_CLOSED", Duration::from_secs(10))
            .is_some(),
        "baresip did not close the call:\n{}",
        b.log()
    );
}

/// The last WAV of received audio baresip wrote (after `stop`).
pub fn last_received(b: &Baresip) -> PathBuf {
    let wavs = b.received_wavs();
    match wavs.last() {
        Some(p) => p.clone(),
        None => panic!("baresip recorded nothing:\n{}", b.log()),
    }
}

/// A header's value in the first message of a SIPp trace matching `pick`.
pub fn traced_header(
    msgs: &[super::sipp::TracedMessage],
    pick: impl Fn(&super::sipp::TracedMessage) -> bool,
    header: &str,
) -> Option<String> {
    msgs.iter()
        .find(|m| pick(m))
        .and_then(|m| m.header(header))
        .map(str::to_string)
}

/// The value of `;tag=` in a From/To header value.
pub fn tag_of(header_value: &str) -> Option<String> {
    header_value.split(';').find_map(|p| {
        p.trim()
            .strip_prefix("tag=")
            .map(|t| t.trim_end_matches('>').to_string())
    })
}
