//! The outbound proxy as a loose route (RFC 3261 §8.1.2): a SIPp UAS set as
//! the account's proxy checks that requests reach it with the target still
//! the Request-URI and the proxy in `Route: <sip:…;lr>`: the INVITE, the ACK
//! and BYE of the dialog it answered without Record-Route, and the REGISTER;
//! and kamailio as registrar and proxy gets REGISTER and INVITE with its own
//! loose route (it logs each preloaded Route with the Request-URI).

mod support;

use serde_json::json;
use std::time::Duration;
use support::config::{Account, Config};
use support::kamailio::Kamailio;
use support::phone::{call_id_of, Phone};
use support::sipp::Sipp;
use support::TestDir;

#[test]
fn invite_ack_and_bye_carry_the_proxy_route_with_the_target_as_request_uri() {
    let t = TestDir::new("proxy-route");
    let proxy = Sipp::new("uas_proxy_route", &t.sub("sipp"))
        .timeout(20)
        .spawn();
    let config = Config::new().account(Account::via("office", "1001", proxy.addr()));
    let mut p = Phone::start(&t.sub("phone"), &config);
    let reply = p.ok(json!({"cmd": "dial", "to": "bob"}));
    let id = call_id_of(&reply);
    let active = p.wait_call_state(&id, "active", Duration::from_secs(10));
    assert!(
        active.is_some(),
        "not answered through the proxy: {:?}\n{}\n{}",
        p.events(),
        proxy.messages(),
        p.log_tail()
    );
    p.ok(json!({"cmd": "hangup", "call": id}));
    let r = proxy.wait(Duration::from_secs(20));
    assert!(r.success(), "{}\n{}", r.describe(), p.log_tail());
}

#[test]
fn register_goes_to_the_proxy_with_the_registrar_as_request_uri() {
    let t = TestDir::new("proxy-register");
    let proxy = Sipp::new("uas_proxy_register", &t.sub("sipp"))
        .timeout(20)
        .spawn();
    let mut account = Account::via("office", "1001", proxy.addr());
    account.register = true;
    let mut p = Phone::start(&t.sub("phone"), &Config::new().account(account));
    let registered = p.wait_status(Duration::from_secs(10), |s| {
        s["accounts"][0]["registered"] == true
    });
    assert!(
        registered.is_some(),
        "not registered through the proxy: {}\n{}",
        p.status(),
        proxy.messages()
    );
    let r = proxy.wait(Duration::from_secs(20));
    assert!(r.success(), "{}\n{}", r.describe(), p.log_tail());
}

#[test]
fn kamailio_gets_its_loose_route_with_the_target_as_request_uri() {
    let t = TestDir::new("proxy-kamailio");
    let k = Kamailio::start(&t.sub("kamailio"));
    let config = Config::new().account(Account::registered("office", "1001", &k));
    let mut p = Phone::start(&t.sub("phone"), &config);
    assert!(
        k.wait_registered("1001", Duration::from_secs(10)),
        "not registered: {}\n{}",
        p.status(),
        k.log()
    );
    // Nobody is 1099: kamailio answers 404 after the route was seen.
    let reply = p.ok(json!({"cmd": "dial", "to": "1099"}));
    let id = call_id_of(&reply);
    let ended = p.wait_call_state(&id, "ended", Duration::from_secs(10));
    assert!(ended.is_some(), "{:?}", p.events());
    let route = format!("route=<{};lr>", k.proxy_uri());
    let log = k.log();
    for (method, ruri) in [
        ("REGISTER", "ruri=sip:test.local"),
        ("INVITE", "ruri=sip:1099@test.local"),
    ] {
        assert!(
            log.lines()
                .any(|l| l.contains(&format!("PRELOADED {method} "))
                    && l.contains(&route)
                    && l.contains(ruri)),
            "no {method} with {route} and {ruri}:\n{log}"
        );
    }
}
