//! Locating the PBX by DNS (RFC 3263) on a test bed of hosts in network
//! namespaces (needs root, as .ci/run gives it). The `pbx` LAN
//! (198.51.100.0/24, no route out) holds two kamailio registrars with digest
//! auth, `sip1.pbx.test` (.11) and `sip2.pbx.test` (.12), each on 5060 of
//! its own address, and a dnsmasq (.53, port 53) serving NAPTR → SRV
//! (sip1 priority 10, sip2 priority 20) → A for `pbx.test`; the LAN has
//! IPv4 addresses only, so there are no AAAA records. termphone on the
//! `office` host (.20, `listen = "0.0.0.0:5060"`) has `domain = "pbx.test"`,
//! no proxy and that dnsmasq as its only DNS server: it registers at sip1
//! and calls a baresip registered there, with audio both ways; then sip1's
//! kamailio stops, and within the UDP transaction timeout (64 × T1 = 32 s)
//! its registration and a new call go to sip2, where a second baresip
//! answers, again with audio both ways.

mod support;

use serde_json::{json, Value};
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;
use support::baresip::Baresip;
use support::callctl::talk_then_hang_up;
use support::config::{Account, Audio, Config};
use support::dnsmasq::Dnsmasq;
use support::kamailio::Kamailio;
use support::netns::{Bed, Place};
use support::phone::recorded_wav;
use support::phone::{call_id_of, Phone};
use support::{tone, wait_until, TestDir};

const SIP1: &str = "198.51.100.11";
const SIP2: &str = "198.51.100.12";
const DNS: &str = "198.51.100.53";
const OFFICE: &str = "198.51.100.20";
/// What the office phone plays and what the baresips play.
const PHONE_HZ: f64 = 1000.0;
const BARESIP_HZ: f64 = 600.0;
/// The UDP transaction timeout (32 s) and some slack for the refresh.
const FAILOVER: Duration = Duration::from_secs(45);

const REGISTRAR: &str = include_str!("peers/kamailio-registrar.cfg.in");

/// The test registrar on 5060 of `place`, also serving `pbx.test`.
fn kamailio(dir: &Path, place: &Place) -> Kamailio {
    let template = REGISTRAR.replace(
        "alias=\"test.local\"",
        "alias=\"test.local\"\nalias=\"pbx.test\"",
    );
    Kamailio::start_in(dir, &template, Some(5060), place)
}

/// NAPTR for UDP, SRV with sip1 first and sip2 second, A for both; nothing
/// else (NXDOMAIN for the rest of `pbx.test`).
fn records() -> Vec<String> {
    vec![
        "--local=/pbx.test/".into(),
        format!("--host-record=sip1.pbx.test,{SIP1}"),
        format!("--host-record=sip2.pbx.test,{SIP2}"),
        "--naptr-record=pbx.test,10,10,S,SIP+D2U,,_sip._udp.pbx.test".into(),
        "--srv-host=_sip._udp.pbx.test,sip2.pbx.test,5060,20,10".into(),
        "--srv-host=_sip._udp.pbx.test,sip1.pbx.test,5060,10,10".into(),
    ]
}

fn registered_at(k: &Kamailio) -> bool {
    k.log().contains("REGISTERED sip:1001@pbx.test")
}

/// A baresip 1002 registered at `k`, answering by itself and playing
/// `BARESIP_HZ`.
fn baresip(t: &TestDir, name: &str, k: &Kamailio, place: &Place) -> Baresip {
    Baresip::tone_callee_in(&t.sub(name), "1002", k.addr(), (BARESIP_HZ, 60.0), place)
}

/// Three seconds of call `id` to baresip `b`, hung up by the phone; the
/// phone heard the baresip's tone and not its own, and the other way round.
fn talk(p: &mut Phone, b: &mut Baresip, rec: &Path, id: &str, call: &Value) {
    talk_then_hang_up(p, b, id);
    tone::assert_tone(&recorded_wav(rec, call, 2.0), BARESIP_HZ, PHONE_HZ);
    b.stop();
    let got = b.received_wavs();
    assert_eq!(got.len(), 1, "{got:?}");
    tone::assert_tone(&got[0], PHONE_HZ, BARESIP_HZ);
}

#[test]
fn office_phone_finds_the_pbx_by_dns_and_fails_over_to_the_second_srv_target() {
    let t = TestDir::new("net-dns");
    let mut bed = Bed::new();
    let sip1 = bed.host("sip1");
    let sip2 = bed.host("sip2");
    let dns_host = bed.host("dns");
    let office = bed.host("office");
    bed.lan(&[
        (&sip1, "198.51.100.11/24"),
        (&sip2, "198.51.100.12/24"),
        (&dns_host, "198.51.100.53/24"),
        (&office, "198.51.100.20/24"),
    ]);
    let at_sip1 = Place::on(&sip1, SIP1);
    let at_sip2 = Place::on(&sip2, SIP2);
    let k1 = kamailio(&t.sub("kamailio1"), &at_sip1);
    let k2 = kamailio(&t.sub("kamailio2"), &at_sip2);
    let dns = Dnsmasq::start_in(&t.sub("dns"), &Place::on(&dns_host, DNS), 53, &records());
    let mut b1 = baresip(&t, "baresip-sip1", &k1, &at_sip1);
    let mut b2 = baresip(&t, "baresip-sip2", &k2, &at_sip2);

    let src = t.path().join("office-1000.wav");
    tone::write_sine_wav(&src, PHONE_HZ, 8000, 60.0);
    let rec = t.sub("office-rec");
    let account = Account {
        domain: "pbx.test".into(),
        password: Some("pw1001".into()),
        register: true,
        expires: Some(10),
        ..Account::direct("office", "1001")
    };
    let config = Config::new()
        .account(account)
        .audio(Audio::file(&src, &rec))
        .sip("dns_servers", vec![format!("{DNS}:53")]);
    let listen: SocketAddr = "0.0.0.0:5060".parse().unwrap();
    let mut p = Phone::start_in(
        &t.sub("office"),
        &config,
        &Place::on(&office, OFFICE),
        listen,
    );

    // Registered at priority 10, found through NAPTR, SRV and A.
    let registered = p.wait_status(Duration::from_secs(15), |s| {
        s["accounts"][0]["registered"] == true
    });
    assert!(
        registered.is_some(),
        "not registered: {}\n{}\n{}",
        p.status(),
        p.log_tail(),
        dns.log()
    );
    assert!(registered_at(&k1), "not at priority 10:\n{}", k1.log());
    assert!(!registered_at(&k2), "at priority 20 first:\n{}", k2.log());
    let queries = dns.log();
    for kind in ["NAPTR", "SRV", "query[A] sip1.pbx.test"] {
        assert!(queries.contains(kind), "no {kind} query:\n{queries}");
    }
    let st = registered.unwrap_or_default();
    assert_eq!(st["accounts"][0]["local_sip"], "198.51.100.20:5060", "{st}");

    // A call through sip1 to the baresip registered there.
    let id = call_id_of(&p.ok(json!({"cmd": "dial", "to": "1002"})));
    let call = p.wait_active(&id);
    assert!(k1.count_requests("INVITE", "1001") > 0, "{}", k1.log());
    talk(&mut p, &mut b1, &rec, &id, &call);

    // sip1 goes away: the next refresh and a new call go to sip2.
    drop(k1);
    let id = call_id_of(&p.ok(json!({"cmd": "dial", "to": "1002"})));
    let invited = wait_until(FAILOVER, || k2.count_requests("INVITE", "1001") > 0);
    assert!(
        invited,
        "the INVITE did not reach sip2:\n{}\n{}",
        p.log_tail(),
        k2.log()
    );
    let call = p.wait_active(&id);
    talk(&mut p, &mut b2, &rec, &id, &call);
    let moved = wait_until(FAILOVER, || registered_at(&k2));
    assert!(
        moved,
        "no registration at sip2:\n{}\n{}",
        p.log_tail(),
        k2.log()
    );
    let st = p.wait_status(Duration::from_secs(5), |s| {
        s["accounts"][0]["registered"] == true
    });
    assert!(st.is_some(), "{}", p.status());
    assert!(
        dns.log().contains("query[A] sip2.pbx.test"),
        "{}",
        dns.log()
    );
    assert!(p.quit(), "phone did not quit");
}
