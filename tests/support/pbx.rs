//! Building blocks of the PBX feature tests (`tests/pbx_*.rs`): the phone's
//! `blf` lamps, and SIPp callers with a chosen caller number.

use super::phone::Phone;
use super::sipp::{Sipp, SippRun};
use super::TestDir;
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::time::Duration;

/// The `blf` entry of `target` (`{target, state, remote?}`), if listed.
pub fn lamp(p: &mut Phone, target: &str) -> Option<Value> {
    let r = p.ok(json!({"cmd": "blf"}));
    r["blf"]
        .as_array()?
        .iter()
        .find(|e| e["target"].as_str().is_some_and(|t| t.contains(target)))
        .cloned()
}

/// Polls `blf` until `target`'s lamp is in `state`; returns the entry.
pub fn wait_lamp(p: &mut Phone, target: &str, state: &str, timeout: Duration) -> Option<Value> {
    wait_lamp_where(p, target, timeout, |e| e["state"] == state)
}

/// Polls `blf` until `target`'s entry satisfies `ok`; returns the entry.
pub fn wait_lamp_where(
    p: &mut Phone,
    target: &str,
    timeout: Duration,
    ok: impl Fn(&Value) -> bool,
) -> Option<Value> {
    let end = std::time::Instant::now() + timeout;
    loop {
        if let Some(e) = lamp(p, target).filter(&ok) {
            return Some(e);
        }
        if std::time::Instant::now() >= end {
            return None;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A SIPp caller with From number `caller` calling `service` at `target`
/// (directly, no registrar) with scenario `scenario` (`uac_expect_302`,
/// `uac_expect_486`, `uac_from_answer`).
pub fn sipp_caller(
    t: &TestDir,
    scenario: &str,
    target: SocketAddr,
    service: &str,
    caller: &str,
) -> Sipp {
    Sipp::new(scenario, &t.sub(&format!("sipp-{scenario}-{caller}")))
        .target(target)
        .service(service)
        .key("caller", caller)
        .timeout(20)
}

/// The `Contact:` header lines of the SIP responses with `code` in a SIPp message trace.
pub fn response_contacts(trace: &str, code: u16) -> Vec<String> {
    let start = format!("SIP/2.0 {code} ");
    trace
        .split("\n\n")
        .flat_map(|chunk| {
            let is_resp = chunk.lines().any(|l| l.trim_start().starts_with(&start));
            chunk
                .lines()
                .filter(move |l| {
                    is_resp && {
                        let l = l.trim_start().to_ascii_lowercase();
                        l.starts_with("contact:") || l.starts_with("m:")
                    }
                })
                .map(|l| l.trim().to_string())
                .collect::<Vec<_>>()
        })
        .collect()
}

/// The `Diversion` header lines of the responses with `code` in a SIPp
/// message trace.
pub fn response_diversions(trace: &str, code: u16) -> Vec<String> {
    let start = format!("SIP/2.0 {code} ");
    trace
        .split("\n\n")
        .filter(|chunk| chunk.lines().any(|l| l.trim_start().starts_with(&start)))
        .flat_map(|chunk| {
            chunk
                .lines()
                .filter(|l| {
                    l.trim_start()
                        .to_ascii_lowercase()
                        .starts_with("diversion:")
                })
                .map(|l| l.trim().to_string())
                .collect::<Vec<_>>()
        })
        .collect()
}

/// Asserts that the 302s in `trace` carry one `Diversion` naming `aor`
/// with `reason`.
pub fn assert_diversion(trace: &str, aor: &str, reason: &str) {
    let found = response_diversions(trace, 302);
    let want = format!("Diversion: <{aor}>;reason={reason};counter=1");
    assert!(
        !found.is_empty() && found.iter().all(|d| d == &want),
        "302 Diversion {found:?}, wanted {want}"
    );
}

/// Whether a running SIPp's trace holds a response with `code`.
pub fn saw_response(run: &SippRun, code: u16) -> bool {
    run.messages().contains(&format!("SIP/2.0 {code} "))
}
