//! Mutation fuzzing of the SIP and SDP parsers on the stable toolchain: valid
//! messages are mutated at random (bit flips, truncation, inserted and
//! duplicated bytes and lines, huge values, non-UTF-8) and fed to the SIP
//! codec, our header helpers (session timers' too), dialog creation and
//! SDP offer/answer; RTP and RTCP datagrams go the way a media session
//! takes them (`media::inbound`'s checks and reading, then the SSRC lock,
//! DTMF receiver, G.711 decoder and jitter buffer). Any panic fails the
//! test. Runs for `TERMPHONE_FUZZ_SECS` seconds per target (default 5; CI
//! sets 60).

use std::time::{Duration, Instant};
use termphone::media::dtmf::DtmfReceiver;
use termphone::media::inbound::{self, SsrcLock};
use termphone::media::jitter::{JitterBuffer, FRAME};
use termphone::media::{g711, Codec, Direction};
use termphone::sip::dialog::Dialog;
use termphone::sip::message as m;
use termphone::sip::msg::SipMessage;
use termphone::sip::sdp::{self, LocalMedia};
use termphone::sip::session_timer as st;

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
    let deadline = Instant::now() + budget();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ name.len() as u64);
    let mut n = 0u64;
    while Instant::now() < deadline {
        let seed = &seeds[rng.below(seeds.len())];
        let input = mutate(&mut rng, seed);
        f(&input);
        n += 1;
    }
    eprintln!("fuzz {name}: {n} inputs, no panic");
    assert!(n > 0);
}

#[test]
fn fuzz_sip_parser() {
    let invite = format!("{INVITE}{SDP}").into_bytes();
    run("sip", &[invite, RESPONSE.as_bytes().to_vec()], exercise_sip);
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
