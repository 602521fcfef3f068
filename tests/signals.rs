//! Signals to a headless phone with a call up to baresip: SIGHUP (its
//! terminal went away) leaves the phone and the call up; SIGTERM and SIGINT
//! end the call with BYE and the phone exits cleanly. With no call up a
//! SIGHUP stops the phone.

mod support;

use serde_json::json;
use std::time::Duration;
use support::phone::call_id_of;
use support::proc::signal;
use support::setup::{baresip, direct_phone, PeerOpts, PhoneOpts};
use support::{wait_until, TestDir};

fn call_up(t: &TestDir) -> (support::baresip::Baresip, support::setup::TestPhone, String) {
    let mut b = baresip(t, "1002", PeerOpts::tone(600.0));
    let mut p = direct_phone(t, PhoneOpts::new().tone(1000.0));
    let id = call_id_of(&p.ok(json!({"cmd": "dial", "to": b.direct_uri()})));
    assert!(
        p.wait_call_state(&id, "active", Duration::from_secs(15))
            .is_some(),
        "call not active:\n{}",
        p.log_tail()
    );
    assert!(b
        .wait_event("CALL_ESTABLISHED", Duration::from_secs(5))
        .is_some());
    (b, p, id)
}

#[test]
fn sighup_never_ends_a_phone_with_calls_up() {
    let t = TestDir::new("signal-hup");
    let (mut b, mut p, id) = call_up(&t);
    signal(p.pid(), "HUP");
    // the phone logs that it stays; the call goes on
    assert!(
        wait_until(Duration::from_secs(5), || p
            .log_tail()
            .contains("SIGHUP: calls are up")),
        "{}",
        p.log_tail()
    );
    std::thread::sleep(Duration::from_millis(500));
    assert!(p.running(), "{}", p.log_tail());
    assert_eq!(p.call(&id).expect("call in status")["state"], "active");
    assert!(b.events_of("CALL_CLOSED").is_empty());
    // once the calls are gone, a SIGHUP stops it
    p.ok(json!({"cmd": "hangup", "call": id}));
    assert!(b
        .wait_event("CALL_CLOSED", Duration::from_secs(10))
        .is_some());
    assert!(p
        .wait_call_state(&id, "ended", Duration::from_secs(10))
        .is_some());
    signal(p.pid(), "HUP");
    assert!(
        wait_until(Duration::from_secs(10), || !p.running()),
        "an idle phone did not stop on SIGHUP"
    );
}

#[test]
fn sigterm_and_sigint_end_calls_with_bye() {
    for sig in ["TERM", "INT"] {
        let t = TestDir::new(&format!("signal-{}", sig.to_lowercase()));
        let (mut b, mut p, _id) = call_up(&t);
        signal(p.pid(), sig);
        assert!(
            b.wait_event("CALL_CLOSED", Duration::from_secs(10))
                .is_some(),
            "SIG{sig}: baresip got no BYE\n{}",
            p.log_tail()
        );
        assert!(
            wait_until(Duration::from_secs(10), || !p.running()),
            "SIG{sig}: the phone did not exit"
        );
        let status = p.terminate(Duration::from_secs(1));
        assert!(
            status.is_some_and(|s| s.success()),
            "SIG{sig}: exit status {status:?}\n{}",
            p.log_tail()
        );
    }
}

#[test]
fn sigterm_unregisters_the_accounts() {
    use support::config::Account;
    use support::kamailio::Kamailio;
    use support::setup::registered_phone;
    let t = TestDir::new("signal-unregister");
    let k = Kamailio::start(&t.sub("kamailio"));
    let mut p = registered_phone(
        &t,
        PhoneOpts::new().account(Account::registered("office", "1001", &k)),
    );
    assert!(
        k.wait_registered("1001", Duration::from_secs(5)),
        "{}",
        k.log()
    );
    let before = k.count_requests("REGISTER", "1001");
    signal(p.pid(), "TERM");
    assert!(
        wait_until(Duration::from_secs(10), || !p.running()),
        "the phone did not exit"
    );
    // one more REGISTER: the one that removes the binding (Expires 0)
    assert!(
        k.count_requests("REGISTER", "1001") > before,
        "no REGISTER on the way out:\n{}\n{}",
        p.log_tail(),
        k.log()
    );
    assert!(
        p.log_tail().to_lowercase().contains("unregister"),
        "{}",
        p.log_tail()
    );
}
