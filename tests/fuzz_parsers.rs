//! Mutation fuzzing of the SIP and SDP parsers on the stable toolchain: valid
//! messages are mutated at random (bit flips, truncation, inserted and
//! duplicated bytes and lines, huge values, non-UTF-8) and fed to the SIP
//! codec, our header helpers (session timers', a redirect's Contacts and a
//! Reason too), dialog creation and
//! SDP offer/answer; RTP and RTCP datagrams go the way a media session
//! takes them (`media::inbound`'s checks and reading, then the SSRC lock,
//! DTMF receiver, G.711 decoder and jitter buffer). Digest challenges go
//! through the parser and `DigestState::authorize` as a 401/407 would; the
//! event bodies (dialog-info, PIDF, message-summary) through their parsers;
//! TCP streams of valid and mutated messages through the stream framer in
//! random chunkings (valid messages must come out whole, in order); control
//! socket lines through `parse_request` (and what parses must survive
//! `to_json` back). Any panic fails the test. The SIP, SDP, RTP and RTCP
//! targets run for `TERMPHONE_FUZZ_SECS` seconds each (default 5; CI sets
//! 60), the other four for half of it each.

use serde_json::Value;
use std::time::{Duration, Instant};
use termphone::command::Command;
use termphone::control::protocol::parse_request;
use termphone::media::dtmf::DtmfReceiver;
use termphone::media::inbound::{self, SsrcLock};
use termphone::media::jitter::{JitterBuffer, FRAME};
use termphone::media::{g711, Codec, Direction};
use termphone::sip::auth::{parse_challenges, Credentials, DigestState};
use termphone::sip::dialog::Dialog;
use termphone::sip::message as m;
use termphone::sip::msg::SipMessage;
use termphone::sip::sdp::{self, LocalMedia};
use termphone::sip::session_timer as st;
use termphone::sip::subscription::{dialog_info, message_summary, pidf};
use termphone::sip::transport::{Frame, Framer};

const INVITE: &str = "INVITE sip:1002@test.local SIP/2.0\r\n\
Via: SIP/2.0/UDP 127.0.0.1:5062;branch=z9hG4bK1;rport\r\n\
v: SIP/2.0/TCP 10.0.0.1:5060;branch=z9hG4bK2\r\n\
Max-Forwards: 70\r\n\
f: \"Alice\" <sip:1001@test.local>;tag=aaa\r\n\
t: <sip:1002@test.local>\r\n\
i: call-1@host\r\n\
CSeq: 1 INVITE\r\n\
m: <sip:1001@127.0.0.1:5062;transport=udp>\r\n\
Record-Route: <sip:127.0.0.1:5070;lr>, <sip:[::1]:5070;lr>\r\n\
Session-Expires: 1800;refresher=uac\r\n\
Min-SE: 90\r\n\
k: timer, replaces\r\n\
Content-Type: application/sdp\r\n\
Content-Length: 211\r\n\
\r\n";

const SDP: &str = "v=0\r\no=- 123 456 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
m=audio 10000 RTP/AVP 9 8 0 96\r\na=rtpmap:96 telephone-event/8000\r\na=fmtp:96 0-15\r\n\
a=ptime:20\r\na=sendrecv\r\nm=video 0 RTP/AVP 31\r\n";

/// A redirect with a Contact list and a Reason, for the redirect readers.
const REDIRECT: &str = "SIP/2.0 302 Moved Temporarily\r\n\
Via: SIP/2.0/UDP 127.0.0.1:5062;branch=z9hG4bK1\r\n\
From: <sip:1001@test.local>;tag=aaa\r\n\
To: <sip:1002@test.local>;tag=bbb\r\n\
Call-ID: inv-1\r\n\
CSeq: 1 INVITE\r\n\
Contact: \"A, B\" <sip:1003@test.local;transport=tcp>;q=0.5, <sip:1004@[::1]:5070>;q=1\r\n\
Contact: <sips:1005@test.local?Replaces=x>;q=0.1\r\n\
Reason: Q.850;cause=16;text=\"a, b\", SIP;cause=200;text=\"Call completed elsewhere\"\r\n\
Content-Length: 0\r\n\r\n";

const RESPONSE: &str = "SIP/2.0 401 Unauthorized\r\n\
Via: SIP/2.0/UDP 127.0.0.1:5062;branch=z9hG4bK1;rport=5062;received=127.0.0.1\r\n\
From: <sip:1001@test.local>;tag=aaa\r\n\
To: <sip:1001@test.local>;tag=bbb\r\n\
Call-ID: reg-1\r\n\
CSeq: 2 REGISTER\r\n\
WWW-Authenticate: Digest realm=\"test.local\", nonce=\"Y2l0eQ==\", qop=\"auth\", algorithm=MD5\r\n\
Content-Length: 0\r\n\r\n";

/// xorshift64*: deterministic per seed, no extra crate.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
}

const TOKENS: &[&[u8]] = &[
    b"\r\n",
    b":",
    b";",
    b",",
    b"<",
    b">",
    b"\"",
    b"=",
    b"@",
    b"[",
    b"]",
    b"sip:",
    b";tag=",
    b"Content-Length: 99999\r\n",
    b"CSeq: x\r\n",
    b"\r\n\r\n",
    b"\x00",
    b"\xff\xfe",
    b"m=audio",
    b"a=rtpmap:",
    b"c=IN IP6 ",
    b"/",
    b"%",
    b" ",
    b"\t",
    b"</",
    b"/>",
    b"&amp;",
    b"<![CDATA[",
    b"xmlns=",
    b"\\",
    b"{",
    b"}",
    b"[]",
    b"null",
];

fn mutate(rng: &mut Rng, seed: &[u8]) -> Vec<u8> {
    let mut v = seed.to_vec();
    for _ in 0..=rng.below(6) {
        let len = v.len();
        match rng.below(8) {
            0 if len > 0 => {
                let i = rng.below(len);
                v[i] ^= 1 << rng.below(8);
            }
            1 => v.truncate(rng.below(len + 1)),
            2 => {
                let i = rng.below(len + 1);
                let t = TOKENS[rng.below(TOKENS.len())];
                v.splice(i..i, t.iter().copied());
            }
            3 if len > 0 => {
                let a = rng.below(len);
                let b = (a + rng.below(64)).min(len);
                let chunk: Vec<u8> = v[a..b].to_vec();
                let i = rng.below(v.len() + 1);
                v.splice(i..i, chunk);
            }
            4 if len > 0 => {
                let a = rng.below(len);
                let b = (a + rng.below(32)).min(len);
                v.drain(a..b);
            }
            5 => {
                let i = rng.below(len + 1);
                let n = 1 + rng.below(5000);
                v.splice(i..i, std::iter::repeat_n(b'a' + (rng.below(26) as u8), n));
            }
            6 => {
                let i = rng.below(len + 1);
                let bytes: Vec<u8> = (0..rng.below(16)).map(|_| rng.next() as u8).collect();
                v.splice(i..i, bytes);
            }
            _ => {
                // Swap two lines.
                let text = String::from_utf8_lossy(&v).into_owned();
                let mut lines: Vec<&str> = text.split("\r\n").collect();
                if lines.len() > 2 {
                    let a = rng.below(lines.len());
                    let b = rng.below(lines.len());
                    lines.swap(a, b);
                }
                v = lines.join("\r\n").into_bytes();
            }
        }
    }
    v
}

fn budget() -> Duration {
    let secs = std::env::var("TERMPHONE_FUZZ_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5u64);
    Duration::from_secs(secs)
}

fn exercise_sip(bytes: &[u8]) {
    let Ok(msg) = SipMessage::try_from(bytes) else {
        return;
    };
    let headers = match &msg {
        SipMessage::Request(r) => &r.headers,
        SipMessage::Response(r) => &r.headers,
    };
    let _ = m::call_id(headers);
    let _ = m::cseq(headers);
    for name in ["From", "To", "Contact", "Via", "Record-Route"] {
        if let Some(v) = m::header(headers, name) {
            let _ = m::tag(v);
            let _ = m::uri_of(v);
            let _ = m::display_name(v);
            let _ = m::host_port(&m::uri_of(v));
        }
    }
    // A redirect's Contacts and a CANCEL's Reason, as the call reads them.
    let contacts = m::headers_all(headers, "Contact");
    for t in termphone::sip::contact_list::redirect_targets(&contacts) {
        let _ = termphone::sip::contact_list::same_target(&t.uri, "sip:a@127.0.0.1");
    }
    if let Some(reason) = m::header(headers, "Reason") {
        let _ = termphone::sip::reason::sip_cause(reason);
    }
    let _ = st::SessionExpires::of(headers).map(|se| se.value());
    let _ = st::min_se(headers);
    let _ = st::supports(headers, "timer");
    let _ = st::requires(headers, "timer");
    if let SipMessage::Request(req) = &msg {
        if let Ok(mut d) = Dialog::from_uas(req, "t", "<sip:x@127.0.0.1>") {
            let _ = d.accept_remote_cseq(req);
            let _ = d.request(
                termphone::sip::msg::Method::Bye,
                "SIP/2.0/UDP 127.0.0.1;branch=z9hG4bKx",
            );
            let _ = d.next_hop_uri();
        }
        let _ = m::response(req, 400, Some("x"));
        let _ = String::from_utf8(req.to_bytes());
    }
}

fn exercise_sdp(bytes: &[u8]) {
    let text = String::from_utf8_lossy(bytes);
    let local = LocalMedia {
        addr: "127.0.0.1:4000".parse().expect("addr"),
        codecs: vec![Codec::Pcmu, Codec::Pcma],
        dtmf_payload_type: 101,
        direction: Direction::SendRecv,
        session_id: 1,
        session_version: 1,
        // SRTP when offered: the a=crypto lines are read too.
        crypto: termphone::sip::sdp_crypto::LocalCrypto::new(
            termphone::sip::sdp_crypto::MediaEncryption::SrtpOptional,
        ),
        // RED too: its rtpmap and fmtp lines are read.
        red: true,
    };
    if let Ok(s) = sdp::SessionDescription::parse(&text) {
        let _ = s.audio_addr();
        let _ = s.audio_direction();
    }
    let _ = sdp::answer(&text, &local);
    let _ = sdp::read_answer(&text, &local);
}

/// A datagram on the RTP port, as the session takes it once its source is
/// accepted: checked and read, its SSRC locked, then a telephone-event
/// (PT 101) or G.711 audio into the jitter buffer, which is played out.
fn exercise_rtp(bytes: &[u8]) {
    let Ok(p) = inbound::rtp(bytes) else {
        return;
    };
    let mut lock = SsrcLock::default();
    lock.step(0x5EED, p.sequence.wrapping_sub(1));
    let _ = lock.step(p.ssrc, p.sequence);
    let mut dtmf = DtmfReceiver::default();
    let _ = dtmf.on_packet(p.timestamp, p.payload);
    let mut pcm = Vec::new();
    let codec = if p.payload_type == 8 {
        Codec::Pcma
    } else {
        Codec::Pcmu
    };
    g711::decode(codec, p.payload, &mut pcm);
    let mut jb = JitterBuffer::new();
    jb.push(p.ssrc, p.sequence, pcm);
    jb.push(p.ssrc, p.sequence.wrapping_add(1), Vec::new());
    let mut out = [0i16; FRAME];
    for _ in 0..4 {
        jb.pop(&mut out);
    }
}

/// A datagram on the RTCP port, as the session reads it.
fn exercise_rtcp(bytes: &[u8]) {
    let _ = inbound::rtcp_summary(bytes);
}

/// Valid RTP seeds: audio with a CSRC, a one-byte and a two-byte header
/// extension and padding; a telephone-event.
fn rtp_seeds() -> Vec<Vec<u8>> {
    let head = |b0: u8, pt: u8| vec![b0, pt, 0x12, 0x34, 0, 0, 0x0A, 0, 0xDE, 0xAD, 0xBE, 0xEF];
    let audio: Vec<u8> = std::iter::repeat_n(0x55u8, 160).collect();
    let mut plain = head(0x80, 0);
    plain.extend_from_slice(&audio);
    let mut rich = head(0xB1, 0x88);
    rich.extend_from_slice(&[0, 0, 0, 7]);
    rich.extend_from_slice(&[0xBE, 0xDE, 0, 2, 0x10, 0xAA, 0x22, 1, 2, 3, 0, 0]);
    rich.extend_from_slice(&audio);
    rich.extend_from_slice(&[0, 0, 3]);
    let mut two = head(0x90, 8);
    two.extend_from_slice(&[0x10, 0x00, 0, 2, 1, 3, 9, 9, 9, 0, 2, 0, 0, 0, 0, 0]);
    two.extend_from_slice(&audio);
    let mut event = head(0x80, 101 | 0x80);
    event.extend_from_slice(&[5, 0x8A, 0x03, 0x20]);
    vec![plain, rich, two, event]
}

/// Valid RTCP seeds: SR with a report block + SDES CNAME + BYE with a
/// reason; a padded RR; an APP.
fn rtcp_seeds() -> Vec<Vec<u8>> {
    let mut sr = vec![0x81, 200, 0, 12, 0, 0, 0, 1];
    sr.extend_from_slice(&[
        0xE6, 0, 0, 0, 0x10, 0, 0, 0, 0, 0, 0x0A, 0, 0, 0, 0, 9, 0, 0, 5, 0,
    ]);
    sr.extend_from_slice(&[0, 0, 0, 2, 0x05, 0, 0, 3, 0, 0, 0x12, 0x34, 0, 0, 0, 7]);
    sr.extend_from_slice(&[0x10, 0, 0, 0, 0, 1, 0, 0]);
    let sdes = vec![
        0x81, 202, 0, 3, 0, 0, 0, 1, 1, 5, b'a', b'@', b'b', b'.', b'c', 0,
    ];
    let bye = vec![0x81, 203, 0, 2, 0, 0, 0, 1, 2, b'o', b'k', 0];
    let rr = vec![0xA0, 201, 0, 2, 0, 0, 0, 1, 0, 0, 0, 4];
    let app = vec![
        0x81, 204, 0, 3, 0, 0, 0, 1, b'n', b'a', b'm', b'e', 1, 2, 3, 4,
    ];
    vec![[sr, sdes, bye].concat(), rr, app]
}

fn run(name: &str, seeds: &[Vec<u8>], f: fn(&[u8])) {
    run_for(name, budget(), seeds, |input, _| f(input));
}

/// `run` for half the budget (the targets added beside the first four, so
/// that they do not double the time CI spends fuzzing).
fn run_half(name: &str, seeds: &[Vec<u8>], f: impl FnMut(&[u8], &mut Rng)) {
    run_for(name, budget() / 2, seeds, f);
}

fn run_for(name: &str, time: Duration, seeds: &[Vec<u8>], mut f: impl FnMut(&[u8], &mut Rng)) {
    let deadline = Instant::now() + time;
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ name.len() as u64);
    let mut n = 0u64;
    while Instant::now() < deadline {
        let seed = &seeds[rng.below(seeds.len())];
        let input = mutate(&mut rng, seed);
        f(&input, &mut rng);
        n += 1;
    }
    eprintln!("fuzz {name}: {n} inputs, no panic");
    assert!(n > 0);
}

#[test]
fn fuzz_sip_parser() {
    let invite = format!("{INVITE}{SDP}").into_bytes();
    let seeds = [
        invite,
        RESPONSE.as_bytes().to_vec(),
        REDIRECT.as_bytes().to_vec(),
    ];
    let redirect = SipMessage::try_from(REDIRECT.as_bytes()).expect("the redirect seed parses");
    let SipMessage::Response(redirect) = redirect else {
        panic!("the redirect seed is a response");
    };
    let contacts = m::headers_all(&redirect.headers, "Contact");
    let targets = termphone::sip::contact_list::redirect_targets(&contacts);
    assert_eq!(targets.len(), 3, "{targets:?}");
    run("sip", &seeds, exercise_sip);
}

#[test]
fn fuzz_sdp_parser() {
    run("sdp", &[SDP.as_bytes().to_vec()], exercise_sdp);
}

#[test]
fn fuzz_rtp_input() {
    let seeds = rtp_seeds();
    for s in &seeds {
        assert!(inbound::rtp(s).is_ok(), "seed not valid RTP: {s:?}");
    }
    run("rtp", &seeds, exercise_rtp);
}

#[test]
fn fuzz_rtcp_input() {
    let seeds = rtcp_seeds();
    for s in &seeds {
        let read = inbound::rtcp_summary(s);
        assert!(read.is_ok(), "seed not valid RTCP: {read:?} {s:?}");
    }
    run("rtcp", &seeds, exercise_rtcp);
}

/// Challenge header values: several challenges in one value, escapes,
/// stray commas and whitespace, every algorithm, another scheme first.
const CHALLENGES: &[&str] = &[
    "Digest realm=\"test.local\", nonce=\"Y2l0eQ==\", qop=\"auth\", algorithm=MD5",
    "Digest realm=\"test.local\",nonce=\"n1\",algorithm=SHA-256,qop=\"auth,auth-int\",opaque=\"o\",stale=TRUE, Digest realm=\"test.local\", nonce=\"n2\", algorithm=MD5-sess",
    "Basic realm=\"x\", Digest  realm = \"a\\\"b\\\\c\" ,, nonce=abc , algorithm=sha-256-sess, qop=auth",
    "Digest realm=\"test.local\", nonce=\"n\", qop=\"auth-int\", algorithm=\"SHA-512-256\"",
];

fn register() -> termphone::sip::msg::Request {
    termphone::sip::msg::Request::try_from(
        "REGISTER sip:test.local SIP/2.0\r\n\
         Via: SIP/2.0/UDP 127.0.0.1:5070;rport;branch=z9hG4bKfirst\r\n\
         From: <sip:1001@test.local>;tag=f\r\n\
         To: <sip:1001@test.local>\r\n\
         Call-ID: reg-1\r\n\
         CSeq: 5 REGISTER\r\n\
         Contact: <sip:1001@127.0.0.1:5070>\r\n\
         Content-Length: 0\r\n\r\n",
    )
    .expect("REGISTER seed")
}

/// A challenge value as the phone meets it: parsed on its own, then in a
/// 401 (WWW-Authenticate) and a 407 (Proxy-Authenticate) answered by
/// `DigestState::authorize` for a REGISTER.
fn exercise_digest(bytes: &[u8], request: &termphone::sip::msg::Request) {
    let value = String::from_utf8_lossy(bytes);
    for c in parse_challenges(&value) {
        let _ = c.algorithm();
        let _ = c.qop();
    }
    // A header value holds no line break; one here would start a new header.
    let value = value.replace(['\r', '\n'], " ");
    for (status, name) in [
        ("401 Unauthorized", "WWW-Authenticate"),
        ("407 Proxy Authentication Required", "Proxy-Authenticate"),
    ] {
        let text = format!(
            "SIP/2.0 {status}\r\n\
             Via: SIP/2.0/UDP 127.0.0.1:5070;rport=5070;branch=z9hG4bKfirst\r\n\
             From: <sip:1001@test.local>;tag=f\r\n\
             To: <sip:1001@test.local>;tag=srv\r\n\
             Call-ID: reg-1\r\n\
             CSeq: 5 REGISTER\r\n\
             {name}: {value}\r\n\
             Content-Length: 0\r\n\r\n"
        );
        let Ok(SipMessage::Response(challenge)) = SipMessage::try_from(text.as_bytes()) else {
            continue;
        };
        let creds = Credentials {
            user: "1001".into(),
            password: "pw1001".into(),
            scope: Default::default(),
        };
        let mut state = DigestState::default();
        if let Ok(again) = state.authorize(request, &challenge, &creds) {
            let _ = again.to_string();
            // The same challenge once more: the nonce count goes up.
            let _ = state.authorize(&again, &challenge, &creds);
        }
    }
}

#[test]
fn fuzz_digest_challenges() {
    let request = register();
    let seeds: Vec<Vec<u8>> = CHALLENGES.iter().map(|c| c.as_bytes().to_vec()).collect();
    let mut state = DigestState::default();
    let creds = Credentials {
        user: "1001".into(),
        password: "pw1001".into(),
        scope: Default::default(),
    };
    let Ok(SipMessage::Response(challenge)) = SipMessage::try_from(RESPONSE.as_bytes()) else {
        panic!("challenge seed does not parse");
    };
    assert!(state.authorize(&request, &challenge, &creds).is_ok());
    for c in CHALLENGES {
        assert!(!parse_challenges(c).is_empty(), "seed has no digest: {c}");
    }
    run_half("digest", &seeds, |input, _| {
        exercise_digest(input, &request)
    });
}

/// Event bodies: dialog-info (full and partial, with the pickup target),
/// PIDF (with the RPID activities the phone reads) and message-summary.
const DIALOG_INFO: &[&str] = &[
    r#"<?xml version="1.0"?><dialog-info xmlns="urn:ietf:params:xml:ns:dialog-info" version="1" state="full" entity="sip:1002@test.local"><dialog id="d" call-id="c" local-tag="l" remote-tag="r" direction="recipient"><state>early</state><remote><identity display="A &amp; B">sip:x@y</identity><target uri="sip:x@127.0.0.1"/></remote></dialog></dialog-info>"#,
    r#"<dialog-info xmlns="urn:ietf:params:xml:ns:dialog-info" version="2" state="partial" entity="sip:a@b"><dialog id="d"><state event="replaced">terminated</state></dialog><dialog id="e" direction="initiator"><state>confirmed</state></dialog></dialog-info>"#,
];
const PIDF: &[&str] = &[
    r#"<?xml version="1.0" encoding="UTF-8"?><presence xmlns="urn:ietf:params:xml:ns:pidf" xmlns:rpid="urn:ietf:params:xml:ns:pidf:rpid" xmlns:dm="urn:ietf:params:xml:ns:pidf:data-model" entity="sip:a@b"><tuple id="t"><status><basic>open</basic></status><note>busy</note></tuple><dm:person id="p"><rpid:activities><rpid:on-the-phone/></rpid:activities></dm:person></presence>"#,
    r#"<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:a@b"><tuple id="t"><status><basic>closed</basic></status></tuple></presence>"#,
];
const SUMMARY: &[&str] = &[
    "Messages-Waiting: yes\r\nMessage-Account: sip:*97@test.local\r\nVoice-Message: 2/8 (0/1)\r\n",
    "Messages-Waiting: no\r\nVoice-Message: 0/0\r\nFax-Message: 1/2\r\n",
];

fn exercise_xml(bytes: &[u8]) {
    let text = String::from_utf8_lossy(bytes);
    if let Ok(info) = dialog_info::parse(&text) {
        let lamp = info.lamp();
        if let Some(p) = lamp.pickup {
            let _ = p.replaces_to_caller().header_value();
        }
        let mut merged = info.clone();
        merged.merge(info);
        let _ = merged.lamp();
    }
    if let Ok(p) = pidf::parse(&text) {
        let _ = (p.dnd(), p.busy(), p.availability());
    }
    if let Some(m) = message_summary::parse(&text) {
        let _ = m.new_old();
    }
}

#[test]
fn fuzz_event_bodies() {
    for d in DIALOG_INFO {
        assert!(dialog_info::parse(d).is_ok(), "seed: {d}");
    }
    for d in PIDF {
        assert!(pidf::parse(d).is_ok(), "seed: {d}");
    }
    for d in SUMMARY {
        assert!(message_summary::parse(d).is_some(), "seed: {d}");
    }
    let seeds: Vec<Vec<u8>> = [DIALOG_INFO, PIDF, SUMMARY]
        .concat()
        .iter()
        .map(|d| d.as_bytes().to_vec())
        .collect();
    run_half("xml", &seeds, |input, _| exercise_xml(input));
}

/// Whole messages a TCP peer may send.
fn stream_messages() -> Vec<Vec<u8>> {
    // The INVITE with its Content-Length set to the SDP's (the SIP seed's
    // does not match, on purpose for the codec, not for a stream).
    let head = INVITE.replace(
        "Content-Length: 211",
        &format!("Content-Length: {}", SDP.len()),
    );
    vec![
        format!("{head}{SDP}").into_bytes(),
        RESPONSE.as_bytes().to_vec(),
        b"OPTIONS sip:a@b SIP/2.0\r\nl: 3\r\n\r\nabc".to_vec(),
        b"MESSAGE sip:a@b SIP/2.0\r\nContent-Length: 4\r\n\r\n\r\n\r\n".to_vec(),
    ]
}

/// Feeds `stream` to a framer in random chunks; the frames until the
/// framer gives up, and whether it did.
fn frame(stream: &[u8], rng: &mut Rng) -> (Vec<Frame>, bool) {
    let mut framer = Framer::default();
    let mut frames = Vec::new();
    let mut at = 0;
    while at < stream.len() {
        let end = match rng.below(4) {
            0 => at + 1,
            1 => at + 1 + rng.below(8),
            2 => at + 1 + rng.below(200),
            _ => at + 1 + rng.below(stream.len()),
        }
        .min(stream.len());
        framer.push(&stream[at..end]);
        at = end;
        loop {
            match framer.next_frame() {
                Ok(Some(f)) => frames.push(f),
                Ok(None) => break,
                Err(_) => return (frames, true),
            }
        }
    }
    let _ = framer.pending();
    (frames, false)
}

/// A stream of valid messages (some pings and stray CRLFs between) must
/// come out whole and in order whatever the chunking; then the same
/// messages followed by `mutated`: no panic, and the valid ones still come
/// out whole before whatever the mutated tail makes of it.
fn exercise_stream(mutated: &[u8], rng: &mut Rng, messages: &[Vec<u8>]) {
    let mut stream = Vec::new();
    let mut expected = Vec::new();
    for _ in 0..1 + rng.below(4) {
        let m = &messages[rng.below(messages.len())];
        stream.extend_from_slice(m);
        expected.push(Frame::Message(m.clone()));
        match rng.below(4) {
            0 => stream.extend_from_slice(b"\r\n"),
            1 => {
                stream.extend_from_slice(b"\r\n\r\n");
                expected.push(Frame::Ping);
            }
            _ => {}
        }
    }
    let (frames, failed) = frame(&stream, rng);
    assert!(!failed, "valid stream refused");
    assert_eq!(frames, expected, "valid stream framed wrong");
    stream.extend_from_slice(mutated);
    let (frames, _) = frame(&stream, rng);
    assert!(
        frames.len() >= expected.len() && frames[..expected.len()] == expected[..],
        "valid messages before a mutated one framed wrong"
    );
    for f in frames {
        if let Frame::Message(m) = f {
            exercise_sip(&m);
        }
    }
}

#[test]
fn fuzz_tcp_framer() {
    let messages = stream_messages();
    for m in &messages {
        let mut f = Framer::default();
        f.push(m);
        assert_eq!(f.next_frame(), Ok(Some(Frame::Message(m.clone()))));
    }
    run_half("tcp", &messages, |input, rng| {
        exercise_stream(input, rng, &messages)
    });
}

/// Control socket request lines: every argument kind, ids of several types.
const REQUESTS: &[&str] = &[
    r#"{"id":1,"cmd":"dial","to":"1002","account":"work"}"#,
    r#"{"id":"x","cmd":"status"}"#,
    r#"{"id":[1,{"a":null}],"cmd":"history","limit":5}"#,
    r#"{"id":2.5,"cmd":"conference","calls":["c1","c3"]}"#,
    r#"{"cmd":"mute","on":true,"call":"c1"}"#,
    r#"{"cmd":"reject","call":"c2","code":486}"#,
    r#"{"cmd":"dtmf","digits":"12#*","call":"c1"}"#,
    r#"{"cmd":"transfer","call":"c1","to":"1003"}"#,
    r#"{"cmd":"hangup"}"#,
];

/// One line as the control server reads it; a command that parses must
/// come back the same from its own request object.
fn exercise_request(bytes: &[u8]) {
    let line = String::from_utf8_lossy(bytes);
    let (_, parsed) = parse_request(&line);
    if let Ok(cmd) = parsed {
        let _ = cmd.name();
        let json: Value = cmd.to_json();
        assert_eq!(
            Command::from_json(&json).as_ref(),
            Ok(&cmd),
            "{line} -> {json}"
        );
    }
}

#[test]
fn fuzz_control_json() {
    let parsed = REQUESTS
        .iter()
        .filter(|r| parse_request(r).1.is_ok())
        .count();
    assert!(parsed >= REQUESTS.len() - 2, "too few seeds parse");
    let seeds: Vec<Vec<u8>> = REQUESTS.iter().map(|r| r.as_bytes().to_vec()).collect();
    run_half("json", &seeds, |input, _| exercise_request(input));
}

/// The SRTP receive path as the media session takes it: the clear-part
/// checks (`inbound::srtp`, `inbound::srtcp`), then authentication and
/// decryption by the SRTP contexts, then the plain checks; seeds are
/// protected RTP and RTCP of fixed keys.
#[test]
fn fuzz_srtp_input() {
    use termphone::media::srtp::SrtpSession;
    use termphone::rtp_types::{CryptoSuite, KeySalt, SrtpKeys};
    let keys = |a: u8, b: u8| SrtpKeys {
        suite: CryptoSuite::AesCm128HmacSha1_80,
        local: KeySalt {
            key: [a; 16],
            salt: [a; 14],
        },
        remote: KeySalt {
            key: [b; 16],
            salt: [b; 14],
        },
    };
    let mut sender = SrtpSession::from_keys(&keys(2, 1)).expect("sender");
    let mut seeds: Vec<Vec<u8>> = rtp_seeds()
        .iter()
        .filter_map(|p| sender.protect_rtp(p).ok())
        .collect();
    seeds.extend(
        rtcp_seeds()
            .iter()
            .filter_map(|p| sender.protect_rtcp(p).ok()),
    );
    assert!(!seeds.is_empty());
    let mut receiver = SrtpSession::from_keys(&keys(1, 2)).expect("receiver");
    run_half("srtp", &seeds, |bytes, _| {
        if inbound::srtp(bytes, 10).is_ok() {
            if let Ok(plain) = receiver.unprotect_rtp(bytes) {
                exercise_rtp(&plain);
            }
        }
        if inbound::srtcp(bytes, 10).is_ok() {
            if let Ok(plain) = receiver.unprotect_rtcp(bytes) {
                exercise_rtcp(&plain);
            }
        }
    });
}
