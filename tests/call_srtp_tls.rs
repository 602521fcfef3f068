//! Fully secure calls with baresip 1.0: both phones registered to kamailio
//! over TLS (its TLS module, a CA and certificate made by the test), media
//! by SRTP (termphone `media_encryption = "srtp"`, baresip
//! `mediaenc=srtp-mand`). A call each way through kamailio: the tones are
//! heard both ways, a capture of the call's RTP (a packet socket, root)
//! holds no plain audio, every request reached kamailio over TLS, and the
//! call's status says `signalling: "tls"` and `media_encryption: "srtp"`.
//!
//! baresip 1.0 speaks SIP over TLS by `;transport=tls` in its account's
//! AOR and outbound proxy, with the test's CA as its `sip_cafile`. Whether
//! baresip refuses a certificate that does not verify is not what these
//! tests are about; termphone's side of that is tests/tls_kamailio.rs.

mod support;

use serde_json::{json, Value};
use std::time::Duration;
use support::baresip::{Baresip, BaresipOpts};
use support::capture::Capture;
use support::config::Account;
use support::kamailio::Kamailio;
use support::phone::call_id_of;
use support::pki::TestCa;
use support::setup::{registered_phone, PhoneOpts, TestPhone};
use support::srtp_call::{
    active_with, assert_audio_both_ways, assert_encrypted, local_media, talk_and_hang_up, OURS_HZ,
    PEERS_HZ,
};
use support::{tone, TestDir};

const TEMPLATE: &str = include_str!("peers/kamailio-tls.cfg.in");

/// kamailio with TLS (and UDP) on one port, its certificate for 127.0.0.1
/// signed by `ca`.
fn kamailio(t: &TestDir, ca: &TestCa) -> Kamailio {
    let dir = t.sub("kamailio");
    let cert = ca.server(&dir, "server", &["127.0.0.1"]);
    let tls_cfg = format!(
        "[server:default]\nmethod = TLSv1.2+\nverify_certificate = no\nrequire_certificate = no\n\
         private_key = {}\ncertificate = {}\n\n[client:default]\nmethod = TLSv1.2+\nverify_certificate = no\n",
        cert.key.display(),
        cert.cert.display()
    );
    std::fs::write(dir.join("tls.cfg"), tls_cfg).expect("write tls.cfg");
    Kamailio::start_with(&dir, TEMPLATE)
}

/// termphone 1001 registered over TLS with mandatory SRTP, playing 1000 Hz.
fn phone(t: &TestDir, ca: &TestCa, k: &Kamailio, auto_answer: bool) -> TestPhone {
    let account = Account {
        proxy: Some(format!("sip:{};transport=tls", k.addr())),
        media_encryption: Some("srtp".into()),
        ..Account::registered("office", "1001", k)
    };
    registered_phone(
        t,
        PhoneOpts::new()
            .account(account)
            .tone(OURS_HZ)
            .sip("tls_ca_file", ca.ca_file.display().to_string())
            .phone("auto_answer", auto_answer),
    )
}

/// baresip 1002 registered over TLS, SRTP only, playing 600 Hz and
/// answering by itself.
fn peer(t: &TestDir, ca: &TestCa, k: &Kamailio) -> Baresip {
    let dir = t.sub("baresip-1002");
    let source_wav = dir.join("tone.wav");
    tone::write_sine_wav(&source_wav, PEERS_HZ, 8000, 60.0);
    let mut b = Baresip::start_tls(
        &dir,
        BaresipOpts {
            user: "1002".into(),
            registrar: Some(k.addr()),
            password: None,
            source_wav,
            auto_answer: true,
            mediaenc: Some("srtp-mand".into()),
            wideband: None,
        },
        &ca.ca_file,
    );
    assert!(
        b.wait_registered(Duration::from_secs(10)),
        "baresip 1.0 did not register over TLS:\n{}\nkamailio:\n{}",
        b.full_log(),
        k.log()
    );
    b
}

/// The requests kamailio logged (`REQ …` lines), but its own OPTIONS probe.
fn requests(k: &Kamailio) -> Vec<String> {
    k.log()
        .lines()
        .filter(|l| l.contains("REQ ") && !l.contains("from=sip:probe@"))
        .map(str::to_string)
        .collect()
}

/// Every request of both phones, the REGISTERs and the call's, reached
/// kamailio over TLS.
fn assert_all_over_tls(k: &Kamailio) {
    let reqs = requests(k);
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

/// The call is fully secure in its event and in `ctl status`.
fn assert_secure(p: &mut TestPhone, call: &Value) {
    assert_eq!(call["signalling"], "tls", "{call}");
    assert_eq!(call["media_encryption"], "srtp", "{call}");
    let status = p.ctl(&["status"]).1;
    assert!(status.contains("\"signalling\":\"tls\""), "{status}");
    assert!(status.contains("\"media_encryption\":\"srtp\""), "{status}");
}

#[test]
fn tls_and_srtp_call_to_baresip() {
    let t = TestDir::new("srtp-tls-out");
    let ca = TestCa::new(&t.sub("pki"), "good");
    let k = kamailio(&t, &ca);
    let mut b = peer(&t, &ca, &k);
    let mut p = phone(&t, &ca, &k, false);
    let cap = Capture::start();
    let id = call_id_of(&p.ok(json!({"cmd": "dial", "to": "1002"})));
    let active = active_with(&mut p, &b, &id);
    assert_secure(&mut p, &active);
    let captured = talk_and_hang_up(&mut p, &mut b, &id, cap);
    assert_encrypted(&captured, local_media(&active));
    assert_audio_both_ways(&p, &b, &active);
    assert_all_over_tls(&k);
}

#[test]
fn tls_and_srtp_call_from_baresip() {
    let t = TestDir::new("srtp-tls-in");
    let ca = TestCa::new(&t.sub("pki"), "good");
    let k = kamailio(&t, &ca);
    let mut b = peer(&t, &ca, &k);
    let mut p = phone(&t, &ca, &k, true);
    let cap = Capture::start();
    b.dial("sip:1001@test.local");
    let active = p
        .wait_any_call_state("active", Duration::from_secs(15))
        .unwrap_or_else(|| {
            panic!(
                "call not active: {:?}\n{}\n{}",
                p.events(),
                p.log_tail(),
                b.log()
            )
        });
    assert_eq!(active["direction"], "in", "{active}");
    assert_secure(&mut p, &active);
    let id = active["id"].as_str().unwrap_or_default().to_string();
    let captured = talk_and_hang_up(&mut p, &mut b, &id, cap);
    assert_encrypted(&captured, local_media(&active));
    assert_audio_both_ways(&p, &b, &active);
    assert_all_over_tls(&k);
}
