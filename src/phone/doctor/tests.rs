//! The doctor's judgements, table-tested without sockets.

use super::probe::{status_of, ProbeError};
use super::*;
use crate::sip::transport::Protocol;
use std::path::PathBuf;

fn peer(addr: &str) -> Peer {
    Peer {
        protocol: Protocol::Udp,
        addr: addr.parse().unwrap(),
    }
}

#[test]
fn report_lines_say_ok_or_the_fix() {
    assert_eq!(Check::ok("audio", "null").line(), "ok    audio: null");
    let fail = Check::fail("audio", "no device", "set backend");
    assert!(fail.failed());
    assert_eq!(fail.line(), "FAIL  audio: no device; fix: set backend");
}

#[test]
fn registrar_is_the_proxy_else_the_domain_when_registering() {
    let mut a = Account::direct();
    assert_eq!(registrar_uri(&a), None, "direct IP: none");
    a.register = true;
    a.domain = "pbx.test".into();
    assert_eq!(registrar_uri(&a).as_deref(), Some("sip:pbx.test"));
    a.proxy = Some("sip:10.0.0.1:5070;transport=tcp".into());
    assert_eq!(
        registrar_uri(&a).as_deref(),
        Some("sip:10.0.0.1:5070;transport=tcp")
    );
}

#[test]
fn probe_outcomes() {
    let p = peer("127.0.0.1:5070");
    let cases: Vec<(Result<String, ProbeError>, bool, &str)> = vec![
        (
            Ok("200 OK".into()),
            false,
            "answers OPTIONS at 127.0.0.1:5070 over UDP (200 OK)",
        ),
        (
            Ok("407 Proxy Authentication Required".into()),
            false,
            "(407",
        ),
        (
            Err(ProbeError::Refused),
            true,
            "nothing listens at 127.0.0.1:5070",
        ),
        (Err(ProbeError::Silent), true, "no answer to OPTIONS"),
        (
            Err(ProbeError::NotProbed("tls".into())),
            false,
            "resolves to",
        ),
    ];
    for (answer, fails, needle) in cases {
        let c = probe_verdict("registrar".into(), "sip:x", p, answer);
        assert_eq!(c.failed(), fails, "{}", c.line());
        assert!(c.line().contains(needle), "{}", c.line());
        if fails {
            assert!(c.line().contains("; fix: "), "{}", c.line());
        }
    }
}

#[test]
fn the_socket_directory_must_be_ours_and_private() {
    let sock = PathBuf::from("/run/user/1000/termphone/control.sock");
    let dir = sock.parent().unwrap();
    let cases = [
        (None, false, "made 0700"),
        (Some((0o40700, 1000)), false, "private"),
        (
            Some((0o40755, 1000)),
            true,
            "chmod 700 /run/user/1000/termphone",
        ),
        (Some((0o40770, 1000)), true, "mode 770"),
        (Some((0o40700, 0)), true, "belongs to uid 0"),
    ];
    for (meta, fails, needle) in cases {
        let c = private_dir_verdict(&sock, dir, meta, 1000);
        assert_eq!(c.failed(), fails, "{meta:?}: {}", c.line());
        assert!(c.line().contains(needle), "{}", c.line());
    }
}

#[test]
fn the_advertised_address_must_reach_the_registrar() {
    let any: SocketAddr = "0.0.0.0:5062".parse().unwrap();
    let lo: SocketAddr = "127.0.0.1:5062".parse().unwrap();
    let pbx: SocketAddr = "192.0.2.10:5060".parse().unwrap();
    let local_pbx: SocketAddr = "127.0.0.1:5060".parse().unwrap();
    let ours: IpAddr = "192.0.2.5".parse().unwrap();
    type Routes = Vec<(SocketAddr, Option<IpAddr>)>;
    let cases: Vec<(SocketAddr, Routes, bool, &str)> = vec![
        (
            any,
            vec![(pbx, Some(ours))],
            false,
            "192.0.2.5:5062 toward 192.0.2.10:5060",
        ),
        (
            lo,
            vec![(local_pbx, None)],
            false,
            "127.0.0.1:5062 toward 127.0.0.1:5060",
        ),
        (lo, vec![(pbx, None)], true, "set `[sip] listen`"),
        (any, vec![(pbx, None)], true, "no route to the PBX"),
        (any, vec![], false, "routes to its peer"),
        (
            "127.0.0.1:0".parse().unwrap(),
            vec![],
            false,
            "a free port chosen at start",
        ),
    ];
    for (listen, routes, fails, needle) in cases {
        let c = address_verdict(listen, &routes);
        assert_eq!(c.failed(), fails, "{}", c.line());
        assert!(c.line().contains(needle), "{}", c.line());
    }
}

#[test]
fn only_an_answer_to_our_request_counts() {
    let ours = b"SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP x\r\nCall-ID: abc@termphone\r\n\r\n";
    assert_eq!(status_of(ours, "abc@termphone").as_deref(), Some("200 OK"));
    let compact = b"SIP/2.0 404 Not Found\r\ni: abc@termphone\r\n\r\n";
    assert_eq!(
        status_of(compact, "abc@termphone").as_deref(),
        Some("404 Not Found")
    );
    assert_eq!(status_of(ours, "other@termphone"), None, "another call id");
    let request = b"OPTIONS sip:x SIP/2.0\r\nCall-ID: abc@termphone\r\n\r\n";
    assert_eq!(
        status_of(request, "abc@termphone"),
        None,
        "a request is no answer"
    );
    assert_eq!(status_of(&[0xff, 0xfe], "abc@termphone"), None);
}
