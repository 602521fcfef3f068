//! Malformed SIP sent to termphone's port (UDP and TCP): the phone answers
//! 400 or nothing, never crashes, and afterwards still serves the control
//! socket and answers OPTIONS with 200 and an Allow header.

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;
use support::setup::{direct_phone, PhoneOpts};
use support::sip::{header, status_code, SipProbe};
use support::TestDir;

/// A valid INVITE from the probe with its headers as (name, value) pairs, for mangling.
fn invite_headers(port: u16, target: &str, n: u32) -> Vec<(String, String)> {
    [
        (
            "Via",
            format!("SIP/2.0/UDP 127.0.0.1:{port};branch=z9hG4bK-bad-{n};rport"),
        ),
        ("Max-Forwards", "70".into()),
        ("From", format!("<sip:probe@127.0.0.1:{port}>;tag=bad{n}")),
        ("To", format!("<sip:1001@{target}>")),
        ("Call-ID", format!("bad-{n}@127.0.0.1")),
        ("CSeq", "1 INVITE".into()),
        ("Contact", format!("<sip:probe@127.0.0.1:{port}>")),
    ]
    .into_iter()
    .map(|(a, b)| (a.to_string(), b))
    .collect()
}

fn build(target: &str, headers: &[(String, String)], body: &str, content_length: &str) -> Vec<u8> {
    let mut s = format!("INVITE sip:1001@{target} SIP/2.0\r\n");
    for (n, v) in headers {
        s.push_str(&format!("{n}: {v}\r\n"));
    }
    s.push_str(&format!("Content-Length: {content_length}\r\n\r\n{body}"));
    s.into_bytes()
}

/// Status codes a case may be answered with (none at all is always fine).
const BAD_REQUEST: &[u16] = &[400];
/// Well-formed SIP carrying an unusable SDP: refusing the offer is also right.
const BAD_OFFER: &[u16] = &[100, 400, 488, 606];
const NO_ANSWER: &[u16] = &[];

fn cases(port: u16, target: &str) -> Vec<(&'static str, &'static [u16], Vec<u8>)> {
    let sdp = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n";
    let ok = invite_headers(port, target, 1);
    let mut v: Vec<(&'static str, Vec<u8>)> = Vec::new();
    let mut special: Vec<(&'static str, &'static [u16], Vec<u8>)> = Vec::new();
    let full = build(target, &ok, sdp, &sdp.len().to_string());
    v.push(("truncated", full[..full.len() / 3].to_vec()));
    v.push((
        "content-length too big",
        build(target, &invite_headers(port, target, 2), sdp, "5000"),
    ));
    v.push((
        "content-length negative",
        build(target, &invite_headers(port, target, 3), sdp, "-5"),
    ));
    v.push((
        "content-length not a number",
        build(target, &invite_headers(port, target, 4), sdp, "abc"),
    ));
    let mut no_via = invite_headers(port, target, 5);
    no_via.retain(|(n, _)| n != "Via");
    v.push(("missing Via", build(target, &no_via, "", "0")));
    let mut no_cseq = invite_headers(port, target, 6);
    no_cseq.retain(|(n, _)| n != "CSeq");
    v.push(("missing CSeq", build(target, &no_cseq, "", "0")));
    let mut bad_cseq = invite_headers(port, target, 7);
    for h in bad_cseq.iter_mut().filter(|(n, _)| n == "CSeq") {
        h.1 = "x INVITE".into();
    }
    v.push(("bad CSeq", build(target, &bad_cseq, "", "0")));
    v.push(("bad request line", b"INVITE  SIP/2.0\r\n\r\n".to_vec()));
    v.push(("just a status line", b"SIP/2.0\r\n\r\n".to_vec()));
    v.push(("zero bytes", vec![0u8; 64]));
    // deterministic garbage
    let mut x: u32 = 0x1234_5678;
    let garbage: Vec<u8> = (0..1400)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect();
    v.push(("garbage", garbage));
    let mut huge = invite_headers(port, target, 8);
    huge.push(("X-Filler".into(), "a".repeat(60_000)));
    v.push(("60 KB header", build(target, &huge, "", "0")));
    let mut bad_sdp = invite_headers(port, target, 9);
    bad_sdp.push(("Content-Type".into(), "application/sdp".into()));
    let junk_sdp = "v=0\r\nm=audio notaport RTP/AVP\r\nc=IN IP9\r\n";
    special.push((
        "broken SDP",
        BAD_OFFER,
        build(target, &bad_sdp, junk_sdp, &junk_sdp.len().to_string()),
    ));
    special.push((
        "stray response",
        NO_ANSWER,
        format!(
            "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.1:{port};branch=z9hG4bK-none\r\n\
             From: <sip:a@b>;tag=1\r\nTo: <sip:c@d>;tag=2\r\nCall-ID: none\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n"
        )
        .into_bytes(),
    ));
    v.into_iter()
        .map(|(name, data)| (name, BAD_REQUEST, data))
        .chain(special)
        .collect()
}

#[test]
fn malformed_sip_gets_400_or_nothing_and_the_phone_survives() {
    let t = TestDir::new("malformed");
    let mut p = direct_phone(&t, PhoneOpts::new()).phone;
    let probe = SipProbe::new();
    let target = p.sip_addr().to_string();

    for (name, allowed, data) in cases(probe.local_port(), &target) {
        probe.send(p.sip_addr(), &data);
        let sent = String::from_utf8_lossy(&data).into_owned();
        let call_id = header_value(&sent, "Call-ID");
        for resp in probe.recv_all(Duration::from_millis(400)) {
            // Retransmissions of an earlier case's final response (we never
            // ACK them) belong to that case, not this one.
            if call_id.is_some() && header_value(&resp, "Call-ID") != call_id {
                continue;
            }
            let code = status_code(&resp).unwrap_or(0);
            assert!(
                allowed.contains(&code),
                "{name}: unexpected answer (allowed {allowed:?}):\n{resp}"
            );
        }
        assert!(p.running(), "phone died on {name}:\n{}", p.log_tail());
    }

    // 70 KB of headers over TCP: the phone may answer 400/413/513 or close.
    let mut huge = invite_headers(probe.local_port(), &target, 10);
    huge.push(("X-Filler".into(), "b".repeat(70_000)));
    if let Ok(mut s) = TcpStream::connect(p.sip_addr()) {
        let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
        let _ = s.write_all(&build(&target, &huge, "", "0"));
        let mut buf = vec![0u8; 4096];
        if let Ok(n) = s.read(&mut buf) {
            let text = String::from_utf8_lossy(&buf[..n]);
            if n > 0 {
                let code = status_code(&text);
                assert!(
                    matches!(code, Some(400) | Some(413) | Some(513)),
                    "TCP 70 KB headers: {text}"
                );
            }
        }
    }
    assert!(
        p.running(),
        "phone died on 70 KB TCP headers:\n{}",
        p.log_tail()
    );

    let st = p.status();
    assert_eq!(st["ok"], true);
    let opts = probe.options(p.sip_addr(), "1001");
    let resp = probe.request(p.sip_addr(), opts.as_bytes(), Duration::from_secs(3));
    assert!(resp.is_some(), "no answer to OPTIONS:\n{}", p.log_tail());
    let resp = resp.unwrap_or_default();
    assert_eq!(status_code(&resp), Some(200), "{resp}");
    let allow = header(&resp, "Allow").unwrap_or("");
    for m in ["INVITE", "ACK", "BYE", "CANCEL", "OPTIONS"] {
        assert!(allow.contains(m), "Allow lacks {m}: {allow}");
    }
}

/// The value of the first header `name` in a message's text.
fn header_value(text: &str, name: &str) -> Option<String> {
    text.split("\r\n")
        .take_while(|l| !l.is_empty())
        .find_map(|l| {
            let (n, v) = l.split_once(':')?;
            n.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().to_string())
        })
}
