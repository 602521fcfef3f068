//! Registration against kamailio with digest auth: the right password
//! registers (status and event), a wrong one is reported with its reason
//! and is not retried in a loop.

mod support;

use serde_json::Value;
use std::time::Duration;
use support::config::{Account, Config};
use support::kamailio::Kamailio;
use support::phone::Phone;
use support::TestDir;

#[test]
fn registers_with_digest_auth() {
    let t = TestDir::new("reg-ok");
    let k = Kamailio::start(&t.sub("kamailio"));
    let config = Config::new().account(Account::registered("office", "1001", &k));
    let mut p = Phone::start(&t.sub("phone"), &config);

    let st = p.wait_status(Duration::from_secs(10), |s| {
        s["accounts"][0]["registered"] == true
    });
    assert!(
        st.is_some(),
        "not registered: {}\n{}",
        p.status(),
        p.log_tail()
    );
    let st = st.unwrap_or_default();
    let acc = &st["accounts"][0];
    assert_eq!(acc["name"], "office");
    assert!(
        acc["aor"]
            .as_str()
            .unwrap_or("")
            .contains("1001@test.local"),
        "{acc}"
    );
    assert!(acc["expires"].as_u64().unwrap_or(0) > 0, "{acc}");

    let ev = p.wait_event(Duration::from_secs(5), |e| {
        e["event"] == "registration" && e["registered"] == true
    });
    assert!(ev.is_some(), "no registration event: {:?}", p.events());
    assert_eq!(ev.unwrap_or_default()["account"], "office");
    assert!(
        k.wait_registered("1001", Duration::from_secs(5)),
        "{}",
        k.log()
    );
}

#[test]
fn wrong_password_is_reported_and_not_retried_in_a_loop() {
    let t = TestDir::new("reg-bad");
    let k = Kamailio::start(&t.sub("kamailio"));
    let config = Config::new()
        .account(Account::registered("office", "1003", &k).password("not-the-password"));
    let mut p = Phone::start(&t.sub("phone"), &config);

    // The first failure reported may be a timeout while kamailio is still
    // starting on a loaded machine; the phone retries, then names the refusal.
    let names_auth = |reason: &str| {
        let reason = reason.to_lowercase();
        reason.contains("401") || reason.contains("403") || reason.contains("password")
    };
    let st = p.wait_status(Duration::from_secs(20), |s| {
        s["accounts"][0]["reason"].as_str().is_some_and(names_auth)
    });
    assert!(
        st.is_some(),
        "no auth failure reported: {}\n{}",
        p.status(),
        p.log_tail()
    );
    let st = st.unwrap_or_default();
    let acc = &st["accounts"][0];
    assert_eq!(acc["registered"], false, "{acc}");
    let reason = acc["reason"].as_str().unwrap_or("");
    assert!(
        names_auth(reason),
        "reason should name the auth failure: {reason}"
    );
    assert!(!k.registered("1003"));

    // The failure is final until something changes: over the next 4 s the phone may
    // at most retry once (a fresh REGISTER plus its answer to the challenge).
    let before = k.count_requests("REGISTER", "1003");
    assert!(before >= 1, "kamailio saw no REGISTER:\n{}", k.log());
    std::thread::sleep(Duration::from_secs(4));
    let after = k.count_requests("REGISTER", "1003");
    assert!(
        after - before <= 2,
        "REGISTER loop: {before} before, {after} after 4 s"
    );
    let st = p.status();
    assert_eq!(st["accounts"][0]["registered"], false);
    let evs: Vec<Value> = p
        .events()
        .into_iter()
        .filter(|e| e["event"] == "registration" && e["registered"] == true)
        .collect();
    assert!(evs.is_empty(), "claimed registered: {evs:?}");
}
