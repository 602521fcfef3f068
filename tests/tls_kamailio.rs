//! SIP over TLS against kamailio's TLS module, with a CA and certificates
//! made by the test (`support::pki`): two termphones register over TLS and
//! call each other through kamailio, the callee hearing the caller's tone;
//! a server certificate from an unknown CA, and one for another host, are
//! each refused with the reason in the account's status and nothing sent in
//! clear (kamailio listens for UDP on the same port and logs every request
//! with its protocol).

mod support;

use serde_json::{json, Value};
use std::time::Duration;
use support::callctl::{call_wav, wait_ringing, wait_state, PHONE_HZ};
use support::config::Account;
use support::kamailio::Kamailio;
use support::pki::TestCa;
use support::setup::{registered_phone, PhoneOpts};
use support::{tone, wait_until, TestDir};

const TEMPLATE: &str = include_str!("peers/kamailio-tls.cfg.in");
/// The callee's tone.
const CALLEE_HZ: f64 = 600.0;

/// kamailio with TLS and UDP on one port, its certificate for `names` signed by `ca`.
fn kamailio(t: &TestDir, ca: &TestCa, names: &[&str]) -> Kamailio {
    kamailio_with(t, ca, names, None)
}

/// [`kamailio`], asking clients for a certificate signed by `clients` when given.
fn kamailio_with(t: &TestDir, ca: &TestCa, names: &[&str], clients: Option<&TestCa>) -> Kamailio {
    let dir = t.sub("kamailio");
    let cert = ca.server(&dir, "server", names);
    let client_check = match clients {
        Some(c) => format!(
            "verify_certificate = yes\nrequire_certificate = yes\nca_list = {}\n",
            c.ca_file.display()
        ),
        None => "verify_certificate = no\nrequire_certificate = no\n".to_string(),
    };
    let tls_cfg = format!(
        "[server:default]\nmethod = TLSv1.2+\n{client_check}\
         private_key = {}\ncertificate = {}\n\n[client:default]\nmethod = TLSv1.2+\nverify_certificate = no\n",
        cert.key.display(),
        cert.cert.display()
    );
    std::fs::write(dir.join("tls.cfg"), tls_cfg).expect("write tls.cfg");
    Kamailio::start_with(&dir, TEMPLATE)
}

/// Extension `user` registering to `k` over TLS.
fn tls_account(user: &str, k: &Kamailio) -> Account {
    Account {
        proxy: Some(format!("sip:{};transport=tls", k.addr())),
        ..Account::registered("office", user, k)
    }
}

/// The requests kamailio logged (`REQ …` lines), but its own OPTIONS probe.
fn requests(k: &Kamailio) -> Vec<String> {
    k.log()
        .lines()
        .filter(|l| l.contains("REQ ") && !l.contains("from=sip:probe@"))
        .map(str::to_string)
        .collect()
}

/// kamailio's TLS errors: lines of `TLS accept:error`.
fn tls_errors(k: &Kamailio) -> Vec<String> {
    k.log()
        .lines()
        .filter(|l| l.contains("TLS accept:error"))
        .map(str::to_string)
        .collect()
}

/// The phone spoke TLS and gave up with `alert` (as kamailio's OpenSSL
/// words it): the handshake was aborted by the phone, and no plain text
/// reached the TLS port (OpenSSL would call it `wrong version number` or
/// `http request`) nor the UDP one (a request line in the log).
fn refused_with_alert(k: &Kamailio, alert: &str) {
    let seen = wait_until(Duration::from_secs(5), || {
        tls_errors(k).iter().any(|l| l.contains(alert))
    });
    assert!(seen, "no `{alert}` from the phone: {:#?}", tls_errors(k));
    // Give a fallback time to happen: none does.
    assert!(!wait_until(Duration::from_secs(3), || !requests(k).is_empty()));
    assert!(requests(k).is_empty(), "sent in clear: {:#?}", requests(k));
    let errors = tls_errors(k);
    assert!(
        errors.iter().all(|l| l.contains(" alert ")),
        "not a handshake the phone aborted: {errors:#?}"
    );
}

/// The first account's status once `pred` holds (or panics with the status).
fn account_when(p: &mut support::phone::Phone, pred: impl Fn(&Value) -> bool) -> Value {
    let st = p.wait_status(Duration::from_secs(10), |s| pred(&s["accounts"][0]));
    match st {
        Some(s) => s["accounts"][0].clone(),
        None => panic!(
            "account never as expected: {}\n{}",
            p.status(),
            p.log_tail()
        ),
    }
}

#[test]
fn phones_register_and_call_over_tls() {
    let t = TestDir::new("tls-call");
    let ca = TestCa::new(&t.sub("pki"), "good");
    let k = kamailio(&t, &ca, &["127.0.0.1"]);
    let ca_file = ca.ca_file.display().to_string();
    let mut a = registered_phone(
        &t,
        PhoneOpts::new()
            .dir("a")
            .account(tls_account("1001", &k))
            .tone(PHONE_HZ)
            .sip("tls_ca_file", ca_file.clone()),
    );
    let mut b = registered_phone(
        &t,
        PhoneOpts::new()
            .dir("b")
            .account(tls_account("1002", &k))
            .tone(CALLEE_HZ)
            .sip("tls_ca_file", ca_file),
    );
    let st = a.status();
    assert_eq!(st["accounts"][0]["transport"], "tls", "{st}");

    let reply = a.ok(json!({"cmd": "dial", "to": "1002"}));
    let id = support::phone::call_id_of(&reply);
    let ringing = wait_ringing(&mut b, 10);
    b.ok(json!({"cmd": "answer", "call": ringing}));
    let placed = wait_state(&mut a, &id, "active", 10);
    let answered = wait_state(&mut b, &ringing, "active", 10);
    std::thread::sleep(Duration::from_millis(2500));
    let heard = call_wav(&mut b, &answered, 2.0);
    let (samples, rate) = tone::read_mono(&heard);
    let share = tone::tone_share(&samples, rate, PHONE_HZ);
    assert!(
        share > 0.5,
        "the callee does not hear the caller's tone: {share}"
    );
    let heard = call_wav(&mut a, &placed, 2.0);
    let (samples, rate) = tone::read_mono(&heard);
    let share = tone::tone_share(&samples, rate, CALLEE_HZ);
    assert!(
        share > 0.5,
        "the caller does not hear the callee's tone: {share}"
    );
    a.ok(json!({"cmd": "hangup", "call": id}));
    wait_state(&mut b, &ringing, "ended", 10);

    // Every request reached kamailio over TLS, the INVITE and the BYE too.
    let reqs = requests(&k);
    for method in ["REGISTER", "INVITE", "ACK", "BYE"] {
        assert!(
            reqs.iter().any(|l| l.contains(&format!("REQ {method} "))),
            "no {method} in {reqs:#?}"
        );
    }
    assert!(
        reqs.iter().all(|l| l.ends_with("proto=tls")),
        "a request not over TLS: {reqs:#?}"
    );
}

#[test]
fn a_server_certificate_of_an_unknown_ca_is_refused() {
    let t = TestDir::new("tls-unknown-ca");
    let ca = TestCa::new(&t.sub("pki"), "theirs");
    let ours = TestCa::new(&t.sub("pki"), "ours");
    let k = kamailio(&t, &ca, &["127.0.0.1"]);
    let mut p = support::phone::Phone::start(
        &t.sub("phone"),
        &PhoneOpts::new()
            .account(tls_account("1001", &k))
            .sip("tls_ca_file", ours.ca_file.display().to_string())
            .config,
    );
    let acc = account_when(&mut p, |a| {
        a["reason"].as_str().is_some_and(|r| r.contains("TLS"))
    });
    let reason = acc["reason"].as_str().unwrap_or_default();
    assert!(reason.contains("unknown CA"), "{acc}");
    assert_eq!(acc["registered"], false, "{acc}");
    assert_eq!(acc["transport"], "tls", "{acc}");
    // A call cannot leave either, and says why.
    let reply = p.ok(json!({"cmd": "dial", "to": "1002"}));
    let id = support::phone::call_id_of(&reply);
    let ended = wait_state(&mut p, &id, "ended", 10);
    let why = ended["end_reason"].as_str().unwrap_or_default();
    assert!(why.contains("TLS") && why.contains("unknown CA"), "{ended}");
    refused_with_alert(&k, "alert unknown ca");
}

#[test]
fn a_server_certificate_for_another_host_is_refused() {
    let t = TestDir::new("tls-wrong-host");
    let ca = TestCa::new(&t.sub("pki"), "good");
    let k = kamailio(&t, &ca, &["pbx.other.test"]);
    // By name: the certificate is checked against `localhost`, also sent as SNI.
    let account = Account {
        proxy: Some(format!("sip:localhost:{};transport=tls", k.port)),
        ..tls_account("1001", &k)
    };
    let mut p = support::phone::Phone::start(
        &t.sub("phone"),
        &PhoneOpts::new()
            .account(account)
            .sip("tls_ca_file", ca.ca_file.display().to_string())
            .config,
    );
    let acc = account_when(&mut p, |a| {
        a["reason"].as_str().is_some_and(|r| r.contains("TLS"))
    });
    let reason = acc["reason"].as_str().unwrap_or_default();
    assert!(
        reason.contains("host name mismatch") && reason.contains("localhost"),
        "{acc}"
    );
    refused_with_alert(&k, "alert bad certificate (sni: localhost)");
}

#[test]
fn a_closed_connection_is_opened_again_and_registered_on() {
    let t = TestDir::new("tls-reconnect");
    let ca = TestCa::new(&t.sub("pki"), "good");
    let k = kamailio(&t, &ca, &["127.0.0.1"]);
    let (dir, port) = (k.dir.clone(), k.port);
    let _p = registered_phone(
        &t,
        PhoneOpts::new()
            .account(tls_account("1001", &k))
            .sip("tls_ca_file", ca.ca_file.display().to_string()),
    );
    // A restart closes the connection; the registration lasts 600 s, so
    // only the reconnect registers again this soon.
    drop(k);
    let k = Kamailio::start_with_port(&dir, TEMPLATE, Some(port));
    assert!(
        k.wait_registered("1001", Duration::from_secs(15)),
        "not registered again after the connection closed:\n{}",
        k.log()
    );
    let reqs = requests(&k);
    assert!(reqs.iter().all(|l| l.ends_with("proto=tls")), "{reqs:#?}");
}

#[test]
fn a_client_certificate_is_shown_to_a_server_that_asks_for_one() {
    let t = TestDir::new("tls-client-cert");
    let ca = TestCa::new(&t.sub("pki"), "good");
    let clients = TestCa::new(&t.sub("pki"), "clients");
    let k = kamailio_with(&t, &ca, &["127.0.0.1"], Some(&clients));
    let me = clients.server(&t.sub("pki"), "phone-1001", &["1001.test.local"]);
    let mut p = registered_phone(
        &t,
        PhoneOpts::new()
            .account(tls_account("1001", &k).tls_identity(&me.cert, &me.key))
            .sip("tls_ca_file", ca.ca_file.display().to_string()),
    );
    assert_eq!(p.status()["accounts"][0]["transport"], "tls");
    assert!(
        k.wait_registered("1001", Duration::from_secs(5)),
        "{}",
        k.log()
    );
    // Without the certificate kamailio refuses the phone.
    let mut bare = support::phone::Phone::start(
        &t.sub("bare"),
        &PhoneOpts::new()
            .account(tls_account("1002", &k))
            .sip("tls_ca_file", ca.ca_file.display().to_string())
            .config,
    );
    let refused = wait_until(Duration::from_secs(10), || {
        k.log().contains("peer did not return a certificate")
    });
    assert!(
        refused,
        "kamailio did not refuse the phone without a certificate"
    );
    let st = bare.status();
    assert_eq!(st["accounts"][0]["registered"], false, "{st}");
    assert!(!k.registered("1002"), "{}", k.log());
}

#[test]
fn a_sips_target_is_not_dialed_through_a_plain_proxy() {
    let t = TestDir::new("tls-sips-plain-hop");
    let ca = TestCa::new(&t.sub("pki"), "good");
    let k = kamailio(&t, &ca, &["127.0.0.1"]);
    // The account's proxy is kamailio's UDP side.
    let mut p = registered_phone(
        &t,
        PhoneOpts::new().account(Account::registered("office", "1001", &k)),
    );
    assert_eq!(p.status()["accounts"][0]["transport"], "udp");
    let reply = p.ok(json!({"cmd": "dial", "to": "sips:1002@test.local"}));
    let id = support::phone::call_id_of(&reply);
    let ended = wait_state(&mut p, &id, "ended", 10);
    let reason = ended["end_reason"].as_str().unwrap_or_default();
    assert!(reason.contains("needs TLS"), "{ended}");
    let invites: Vec<String> = requests(&k)
        .into_iter()
        .filter(|l| l.contains("REQ INVITE"))
        .collect();
    assert!(invites.is_empty(), "sent in clear: {invites:#?}");
}
