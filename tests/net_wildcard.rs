//! termphone listening on the wildcard, on a test bed of hosts in network
//! namespaces (needs root, as .ci/run gives it): on the `office` host
//! (198.51.100.20) with `listen = "0.0.0.0:5060"`, registered to kamailio
//! on the `pbx` host (198.51.100.10, same LAN), it calls a baresip on the
//! pbx host and is called by it, with audio both ways; every Via, Contact
//! and SDP address kamailio saw names 198.51.100.20, never 0.0.0.0 or
//! 127.0.0.1; the built-in echo target still answers. Then two termphones
//! on an IPv6-only link, both on `[::]`, call each other directly. The bed
//! itself is checked first: removed on drop, and stale beds of killed runs
//! removed at the next start.

mod support;

use serde_json::json;
use std::net::SocketAddr;
use std::process::Command;
use std::time::Duration;
use support::callctl::talk_then_hang_up;
use support::config::{Account, Audio, Config};
use support::kamailio::logging_registrar;
use support::netns::{Bed, Place};
use support::office::{address_lines, office_lan, pbx_peers};
use support::phone::recorded_wav;
use support::phone::{call_id_of, Phone};
use support::{tone, TestDir};

const PBX: &str = "198.51.100.10";
const OFFICE: &str = "198.51.100.20";

fn netns_list() -> String {
    let out = Command::new("ip")
        .args(["netns", "list"])
        .output()
        .expect("ip netns list");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn bed_is_removed_on_drop_and_stale_beds_at_the_next_start() {
    // A namespace left by a killed run: our prefix, a pid that is gone.
    let mut gone = Command::new("true").spawn().expect("run true");
    let dead_pid = gone.id();
    gone.wait().expect("wait for true");
    let stale = format!("tp-{dead_pid}-0-stale");
    assert!(Command::new("ip")
        .args(["netns", "add", &stale])
        .status()
        .expect("ip netns add")
        .success());

    let mut bed = Bed::new();
    assert!(
        !netns_list().contains(&stale),
        "stale namespace {stale} survived a new bed"
    );
    let a = bed.host("a");
    let b = bed.host("b");
    bed.link(&a, "192.0.2.1/24", &b, "192.0.2.2/24");
    let names = [a.name().to_string(), b.name().to_string()];
    assert!(names.iter().all(|n| netns_list().contains(n.as_str())));
    // Loopback up, the cable carries, and there is no way out of the bed.
    let rx = b.enter(|| std::net::UdpSocket::bind("192.0.2.2:0").expect("bind in b"));
    let to = rx.local_addr().expect("local addr");
    a.enter(move || {
        let s = std::net::UdpSocket::bind("192.0.2.1:0").expect("bind in a");
        s.send_to(b"over the cable", to).expect("send a to b");
    });
    rx.set_read_timeout(Some(Duration::from_secs(3)))
        .expect("timeout");
    let mut buf = [0u8; 64];
    let (n, from) = rx.recv_from(&mut buf).expect("b received nothing from a");
    assert_eq!(&buf[..n], b"over the cable");
    assert_eq!(from.ip().to_string(), "192.0.2.1");
    let lo = a.ip(&["link", "show", "lo"]);
    assert!(lo.contains(",UP"), "loopback down: {lo}");
    let out = a.enter(|| {
        let s = std::net::UdpSocket::bind("0.0.0.0:0").expect("bind");
        s.connect("203.0.113.99:9").is_ok()
    });
    assert!(!out, "a host of the bed has a route out");
    let routes = a.ip(&["route", "show"]);
    assert!(
        !routes.contains("default"),
        "a route out of the bed: {routes}"
    );
    drop(bed);
    let after = netns_list();
    assert!(
        names.iter().all(|n| !after.contains(n.as_str())),
        "bed not removed: {after}"
    );
}

#[test]
fn wildcard_listen_on_the_office_lan_calls_and_is_called_with_audio() {
    let t = TestDir::new("net-wildcard");
    let (_bed, pbx, office) = office_lan("198.51.100.10/24", "198.51.100.20/24");
    let at_pbx = Place::on(&pbx, PBX);
    let (k, mut b) = pbx_peers(&t, &logging_registrar(true), &at_pbx, (600.0, 60.0));

    let p_src = t.path().join("office-1000.wav");
    tone::write_sine_wav(&p_src, 1000.0, 8000, 30.0);
    let rec = t.sub("office-rec");
    let config = Config::new()
        .account(Account::registered("office", "1001", &k))
        .audio(Audio::file(&p_src, &rec));
    let listen: SocketAddr = "0.0.0.0:5060".parse().unwrap();
    let mut p = Phone::start_in(
        &t.sub("office"),
        &config,
        &Place::on(&office, OFFICE),
        listen,
    );
    let st = p.wait_status(Duration::from_secs(10), |s| {
        s["accounts"][0]["registered"] == true
    });
    assert!(
        st.is_some(),
        "not registered: {}\n{}\n{}",
        p.status(),
        p.log_tail(),
        k.log()
    );
    let st = st.unwrap_or_default();
    assert_eq!(st["listen"], "0.0.0.0:5060", "{st}");
    assert_eq!(st["accounts"][0]["local_sip"], "198.51.100.20:5060", "{st}");

    // termphone → baresip.
    let id = call_id_of(&p.ok(json!({"cmd": "dial", "to": "1002"})));
    let out_call = p.wait_active(&id);
    assert!(b
        .wait_event("CALL_ESTABLISHED", Duration::from_secs(5))
        .is_some());
    let live = p.call(&id).unwrap_or_default();
    assert_eq!(live["local_sip"], "198.51.100.20:5060", "{live}");
    let media = live["local_media"].as_str().unwrap_or_default();
    assert!(media.starts_with("198.51.100.20:"), "{live}");
    std::thread::sleep(Duration::from_secs(3));
    p.hang_up(&id);
    assert!(b
        .wait_event("CALL_CLOSED", Duration::from_secs(10))
        .is_some());
    tone::assert_tone(&recorded_wav(&rec, &out_call, 2.0), 600.0, 1000.0);

    // baresip → termphone.
    b.clear_events();
    let r = b.dial("sip:1001@test.local");
    assert_eq!(r["ok"], true, "{r}");
    let ringing = p.wait_event(Duration::from_secs(10), |e| {
        e["event"] == "call" && e["call"]["direction"] == "in" && e["call"]["state"] == "ringing"
    });
    assert!(ringing.is_some(), "no incoming call: {:?}", p.events());
    let in_id = ringing.unwrap_or_default()["call"]["id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    p.ok(json!({"cmd": "answer", "call": in_id}));
    let in_call = p.wait_active(&in_id);
    talk_then_hang_up(&mut p, &mut b, &in_id);
    tone::assert_tone(&recorded_wav(&rec, &in_call, 2.0), 600.0, 1000.0);
    b.stop();
    let got = b.received_wavs();
    assert_eq!(got.len(), 2, "{got:?}");
    for wav in &got {
        tone::assert_tone(wav, 1000.0, 600.0);
    }

    // The built-in echo target works on the wildcard too: it hears itself.
    let echo = call_id_of(&p.ok(json!({"cmd": "dial", "to": "echo"})));
    let echo_call = p.wait_active(&echo);
    std::thread::sleep(Duration::from_secs(3));
    p.hang_up(&echo);
    tone::assert_tone(&recorded_wav(&rec, &echo_call, 2.0), 1000.0, 600.0);

    // What kamailio saw: termphone's REGISTER, INVITE, answers and SDP name
    // the office address, and nothing names the wildcard or loopback.
    let msgs = k.logged_messages();
    assert!(
        !msgs.is_empty(),
        "kamailio logged no messages:\n{}",
        k.log()
    );
    for msg in &msgs {
        for line in address_lines(msg) {
            assert!(
                !line.contains("0.0.0.0") && !line.contains("127.0.0.1"),
                "`{line}` in a message kamailio received:\n{msg}"
            );
        }
    }
    let from_office: Vec<&String> = msgs
        .iter()
        .filter(|m| {
            m.lines()
                .any(|l| l.to_ascii_lowercase().starts_with("contact: <sip:1001@"))
        })
        .collect();
    for want in [
        "REGISTER sip:test.local",
        "INVITE sip:1002@test.local",
        "SIP/2.0 200 OK",
    ] {
        assert!(
            from_office.iter().any(|m| m.trim_start().starts_with(want)),
            "no `{want}` from termphone among:\n{from_office:#?}"
        );
    }
    for m in &from_office {
        assert!(
            m.contains("Contact: <sip:1001@198.51.100.20:5060>"),
            "Contact does not name the office address:\n{m}"
        );
        if m.contains("application/sdp") {
            for prefix in ["o=", "c="] {
                let line = m.lines().find(|l| l.trim_start().starts_with(prefix));
                assert!(
                    line.is_some_and(|l| l.contains("IN IP4 198.51.100.20")),
                    "{prefix} does not name the office address:\n{m}"
                );
            }
        }
    }
}

/// An account called directly by IP on an IPv6 host.
fn v6_account(user: &str, host: &str) -> Account {
    Account {
        domain: format!("[{host}]"),
        ..Account::direct("direct", user)
    }
}

#[test]
fn ipv6_only_pair_on_the_ipv6_wildcard_calls_with_audio() {
    let t = TestDir::new("net-v6");
    let mut bed = Bed::new();
    let a = bed.host("v6a");
    let b = bed.host("v6b");
    bed.link(&a, "2001:db8::1/64", &b, "2001:db8::2/64");
    let listen: SocketAddr = "[::]:5060".parse().unwrap();

    let start = |name: &str, user: &str, host: &str, hz: f64, ns: &support::netns::Netns| {
        let src = t.path().join(format!("{name}-{hz}.wav"));
        tone::write_sine_wav(&src, hz, 8000, 30.0);
        let rec = t.sub(&format!("{name}-rec"));
        let config = Config::new()
            .account(v6_account(user, host))
            .audio(Audio::file(&src, &rec));
        let p = Phone::start_in(&t.sub(name), &config, &Place::on(ns, host), listen);
        (p, rec)
    };
    let (mut pa, rec_a) = start("a", "1001", "2001:db8::1", 1000.0, &a);
    let (mut pb, rec_b) = start("b", "1002", "2001:db8::2", 600.0, &b);

    let id = call_id_of(&pa.ok(json!({"cmd": "dial", "to": "sip:1002@[2001:db8::2]:5060"})));
    let ringing = pb.wait_any_call_state("ringing", Duration::from_secs(10));
    assert!(
        ringing.is_some(),
        "b not ringing: {:?}\n{}\n{}",
        pb.events(),
        pb.log_tail(),
        pa.log_tail()
    );
    let b_id = ringing.unwrap_or_default()["id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    pb.ok(json!({"cmd": "answer", "call": b_id}));
    let a_call = pa.wait_active(&id);
    let b_call = pb.wait_active(&b_id);
    let a_live = pa.call(&id).unwrap_or_default();
    assert_eq!(a_live["local_sip"], "[2001:db8::1]:5060", "{a_live}");
    assert!(
        a_live["local_media"]
            .as_str()
            .unwrap_or_default()
            .starts_with("[2001:db8::1]:"),
        "{a_live}"
    );
    let b_live = pb.call(&b_id).unwrap_or_default();
    assert_eq!(b_live["local_sip"], "[2001:db8::2]:5060", "{b_live}");
    std::thread::sleep(Duration::from_secs(3));
    pa.hang_up(&id);
    assert!(pb
        .wait_call_state(&b_id, "ended", Duration::from_secs(10))
        .is_some());
    tone::assert_tone(&recorded_wav(&rec_a, &a_call, 2.0), 600.0, 1000.0);
    tone::assert_tone(&recorded_wav(&rec_b, &b_call, 2.0), 1000.0, 600.0);
}
