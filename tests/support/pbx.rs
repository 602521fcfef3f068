//! Building blocks of the PBX feature tests (`tests/pbx_*.rs`): baresip
//! extensions and a termphone extension registered to one kamailio, the
//! phone's `blf` lamps, and SIPp callers with a chosen caller number.

use super::baresip::{Baresip, BaresipOpts};
use super::kamailio::{Kamailio, DOMAIN};
use super::phone::{account_toml, Phone};
use super::sipp::{Sipp, SippRun};
use super::TestDir;
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

/// A baresip extension `user` registered to `k`, playing `wav`; waits for its registration.
pub fn baresip_ext(
    t: &TestDir,
    k: &Kamailio,
    user: &str,
    wav: &Path,
    auto_answer: bool,
) -> Baresip {
    let mut b = Baresip::start(
        &t.sub(&format!("b{user}")),
        BaresipOpts {
            user: user.into(),
            registrar: Some(k.addr()),
            password: None,
            source_wav: wav.to_path_buf(),
            auto_answer,
        },
    );
    assert!(
        b.wait_registered(Duration::from_secs(10)),
        "baresip {user} not registered:\n{}",
        b.log()
    );
    b
}

/// `[[account]]` of extension `user` registered to `k` (password `pw<user>`).
pub fn kamailio_account(name: &str, user: &str, k: &Kamailio) -> String {
    account_toml(
        name,
        user,
        DOMAIN,
        Some(&k.proxy_uri()),
        Some(&format!("pw{user}")),
    )
}

/// Starts termphone with `body` in `t/<dir>` and waits until every account
/// in `status` is registered.
pub fn registered_phone(t: &TestDir, dir: &str, body: &str) -> Phone {
    let mut p = Phone::start(&t.sub(dir), body);
    let st = p.wait_status(Duration::from_secs(10), |s| {
        s["accounts"]
            .as_array()
            .is_some_and(|a| !a.is_empty() && a.iter().all(|x| x["registered"] == true))
    });
    assert!(
        st.is_some(),
        "phone not registered: {}\n{}",
        p.status(),
        p.log_tail()
    );
    p
}

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

/// Whether a running SIPp's trace holds a response with `code`.
pub fn saw_response(run: &SippRun, code: u16) -> bool {
    run.messages().contains(&format!("SIP/2.0 {code} "))
}
