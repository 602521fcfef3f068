//! termphone on an IPv6-only network, on a test bed of hosts in network
//! namespaces (needs root, as .ci/run gives it). The `pbx` and `office`
//! hosts share a LAN with IPv6 addresses only (2001:db8::/64, no route
//! out). On the pbx host (2001:db8::10) kamailio listens on IPv6 as
//! registrar and proxy with digest auth, a dnsmasq serves `pbx.test`
//! (NAPTR → SRV → AAAA, there being no A record), and a baresip is
//! extension 1002. termphone on the office host (2001:db8::20) listens on
//! `[::]:5060` with `domain = "pbx.test"`, no proxy and that dnsmasq as its
//! DNS server: it finds kamailio through the AAAA record, registers, calls
//! baresip and is called by it, with audio both ways; every Via, Contact
//! and SDP it sent names 2001:db8::20 (`c=IN IP6 2001:db8::20`), never the
//! wildcard `::`, loopback `::1` or an IPv4 address.

mod support;

use serde_json::json;
use std::net::SocketAddr;
use std::time::Duration;
use support::callctl::talk_then_hang_up;
use support::config::{Account, Audio, Config};
use support::dnsmasq::Dnsmasq;
use support::kamailio::logging_registrar;
use support::netns::Place;
use support::office::{address_lines, office_lan, pbx_peers};
use support::phone::{call_id_of, recorded_wav, Phone};
use support::{tone, TestDir};

const PBX: &str = "2001:db8::10";
const OFFICE: &str = "2001:db8::20";
const PHONE_HZ: f64 = 1000.0;
const BARESIP_HZ: f64 = 600.0;

/// NAPTR for UDP, SRV to `sip.pbx.test`, and its AAAA record only.
fn records() -> Vec<String> {
    vec![
        "--local=/pbx.test/".into(),
        format!("--host-record=sip.pbx.test,{PBX}"),
        "--naptr-record=pbx.test,10,10,S,SIP+D2U,,_sip._udp.pbx.test".into(),
        "--srv-host=_sip._udp.pbx.test,sip.pbx.test,5060,10,10".into(),
    ]
}

#[test]
fn ipv6_only_office_finds_the_pbx_by_aaaa_registers_calls_and_is_called_with_audio() {
    let t = TestDir::new("net-ipv6");
    let (_bed, pbx, office) = office_lan("2001:db8::10/64", "2001:db8::20/64");
    let v4 = office.ip(&["-4", "addr", "show"]);
    assert!(
        !v4.contains("inet ")
            || v4
                .lines()
                .filter(|l| l.contains("inet "))
                .all(|l| l.contains("127.0.0.1")),
        "the office host has an IPv4 address: {v4}"
    );
    let at_pbx = Place::on(&pbx, PBX);

    let cfg = logging_registrar(true).replace(
        "alias=\"test.local\"",
        "alias=\"test.local\"\nalias=\"pbx.test\"",
    );
    let (k, mut b) = pbx_peers(&t, &cfg, &at_pbx, (BARESIP_HZ, 60.0));
    let dns = Dnsmasq::start_in(&t.sub("dns"), &at_pbx, 53, &records());

    let src = t.path().join("office-1000.wav");
    tone::write_sine_wav(&src, PHONE_HZ, 8000, 60.0);
    let rec = t.sub("office-rec");
    let account = Account {
        domain: "pbx.test".into(),
        password: Some("pw1001".into()),
        register: true,
        ..Account::direct("office", "1001")
    };
    let config = Config::new()
        .account(account)
        .audio(Audio::file(&src, &rec))
        .sip("dns_servers", vec![format!("[{PBX}]:53")]);
    let listen: SocketAddr = "[::]:5060".parse().unwrap();
    let mut p = Phone::start_in(
        &t.sub("office"),
        &config,
        &Place::on(&office, OFFICE),
        listen,
    );

    // Registered at the address of the AAAA record.
    let st = p.wait_status(Duration::from_secs(15), |s| {
        s["accounts"][0]["registered"] == true
    });
    assert!(
        st.is_some(),
        "not registered over IPv6: {}\n{}\n{}\n{}",
        p.status(),
        p.log_tail(),
        dns.log(),
        k.log()
    );
    let st = st.unwrap_or_default();
    assert_eq!(st["listen"], "[::]:5060", "{st}");
    assert_eq!(
        st["accounts"][0]["local_sip"],
        format!("[{OFFICE}]:5060"),
        "{st}"
    );
    let queries = dns.log();
    for kind in [
        "query[NAPTR] pbx.test",
        "query[SRV] _sip._udp.pbx.test",
        "query[AAAA] sip.pbx.test",
    ] {
        assert!(queries.contains(kind), "no `{kind}`:\n{queries}");
    }
    assert!(
        k.log().contains("REGISTERED sip:1001@pbx.test"),
        "{}",
        k.log()
    );

    // termphone → baresip over IPv6.
    let id = call_id_of(&p.ok(json!({"cmd": "dial", "to": "1002"})));
    let out_call = p.wait_active(&id);
    let live = p.call(&id).unwrap_or_default();
    assert_eq!(live["local_sip"], format!("[{OFFICE}]:5060"), "{live}");
    assert!(
        live["local_media"]
            .as_str()
            .unwrap_or_default()
            .starts_with(&format!("[{OFFICE}]:")),
        "{live}"
    );
    talk_then_hang_up(&mut p, &mut b, &id);
    tone::assert_tone(&recorded_wav(&rec, &out_call, 2.0), BARESIP_HZ, PHONE_HZ);

    // baresip → termphone over IPv6.
    b.clear_events();
    let r = b.dial("sip:1001@test.local");
    assert_eq!(r["ok"], true, "{r}");
    let ringing = p.wait_event(Duration::from_secs(10), |e| {
        e["event"] == "call" && e["call"]["direction"] == "in" && e["call"]["state"] == "ringing"
    });
    assert!(
        ringing.is_some(),
        "no incoming call over IPv6: {:?}\n{}",
        p.events(),
        k.log()
    );
    let in_id = ringing.unwrap_or_default()["call"]["id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    p.ok(json!({"cmd": "answer", "call": in_id}));
    let in_call = p.wait_active(&in_id);
    talk_then_hang_up(&mut p, &mut b, &in_id);
    tone::assert_tone(&recorded_wav(&rec, &in_call, 2.0), BARESIP_HZ, PHONE_HZ);
    b.stop();
    let got = b.received_wavs();
    assert_eq!(got.len(), 2, "{got:?}");
    for wav in &got {
        tone::assert_tone(wav, PHONE_HZ, BARESIP_HZ);
    }

    // What kamailio received from termphone names its IPv6 address.
    let msgs = k.logged_messages();
    let from_office: Vec<&String> = msgs
        .iter()
        .filter(|m| {
            m.lines()
                .any(|l| l.to_ascii_lowercase().starts_with("contact: <sip:1001@"))
        })
        .collect();
    for want in [
        "REGISTER sip:pbx.test",
        "INVITE sip:1002@pbx.test",
        "SIP/2.0 200 OK",
    ] {
        assert!(
            from_office.iter().any(|m| m.trim_start().starts_with(want)),
            "no `{want}` from termphone among:\n{from_office:#?}"
        );
    }
    let mut sdp_seen = 0;
    for m in &from_office {
        assert!(
            m.contains(&format!("Contact: <sip:1001@[{OFFICE}]:5060>")),
            "Contact does not name the office address:\n{m}"
        );
        for line in address_lines(m) {
            for wrong in ["[::]", "[::1]", "IP6 ::", "0.0.0.0", "127.0.0.1", "IP4"] {
                assert!(!line.contains(wrong), "`{line}` names `{wrong}`:\n{m}");
            }
        }
        let top_via = m
            .lines()
            .find(|l| l.to_ascii_lowercase().starts_with("via:"))
            .unwrap_or_default();
        if m.trim_start().starts_with("REGISTER") || m.trim_start().starts_with("INVITE") {
            assert!(
                top_via.contains(&format!("SIP/2.0/UDP [{OFFICE}]:5060")),
                "{top_via}\n{m}"
            );
        }
        if m.contains("application/sdp") {
            sdp_seen += 1;
            for prefix in ["o=", "c="] {
                let line = m.lines().find(|l| l.trim_start().starts_with(prefix));
                assert!(
                    line.is_some_and(|l| l.contains(&format!("IN IP6 {OFFICE}"))),
                    "{prefix} does not name the office address:\n{m}"
                );
            }
        }
    }
    assert!(sdp_seen >= 2, "offer and answer with SDP: {from_office:#?}");
    assert!(p.quit(), "phone did not quit");
}
