//! RFC 2198 redundancy (RED), `[[account]] red = true`.
//!
//! Against SIPp: termphone dials a SIPp UAS whose SDP names this test's
//! own UDP socket as its media address, so the test reads what termphone
//! sends. A peer answering with `red/8000` (`uas_answer_red.xml`) gets
//! RED packets whose redundant block is the previous packet's frame; a
//! peer answering without it (`uas_answer_plain.xml`) gets plain PCMU.
//!
//! A SIPp UAS that takes RED also sends it: the test's socket, the media
//! address SIPp's SDP named, sends termphone hand-made RFC 2198 packets
//! (each carrying the frame before it) with two primaries missing, and
//! termphone fills both from the redundant blocks that follow.
//!
//! Between two termphones under seeded, deterministic loss
//! ([`support::lossy`]: every tenth RTP packet to the callee dropped, in a
//! network namespace; needs root): with RED on both the callee fills
//! (nearly) every loss from the next packet's redundant block
//! (`stats.red_recovered`) and conceals far fewer frames than were lost;
//! with RED off, the control, it conceals them. RED also fills the losses
//! of an SRTP call (the RED packet is what SRTP protects; nothing fails
//! to decrypt), of G.722 and of Opus (where RED, taken first, leaves the
//! in-band FEC nothing to recover), and the callee hears the caller.

mod support;

use serde_json::{json, Value};
use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};
use support::config::{Account, Audio, Config};
use support::lossy::{stat, LossyCall, LOSSES};
use support::phone::{call_id_of, recorded_wav, Phone};
use support::sipp::{Sipp, SippRun};
use support::{tone, wait_for, TestDir};
use termphone::media::red;

/// One RTP packet as the test's socket got it.
struct Rtp {
    pt: u8,
    seq: u16,
    ts: u32,
    payload: Vec<u8>,
}

fn parse_rtp(b: &[u8]) -> Option<Rtp> {
    // Our packets: version 2, no CSRC, no extension, no padding.
    (b.len() >= 12 && b[0] == 0x80).then(|| Rtp {
        pt: b[1] & 0x7f,
        seq: u16::from_be_bytes([b[2], b[3]]),
        ts: u32::from_be_bytes([b[4], b[5], b[6], b[7]]),
        payload: b[12..].to_vec(),
    })
}

/// The first `n` RTP packets termphone sends to `socket`.
fn receive(socket: &UdpSocket, n: usize) -> Vec<Rtp> {
    socket
        .set_read_timeout(Some(Duration::from_millis(200)))
        .expect("read timeout");
    let end = Instant::now() + Duration::from_secs(15);
    let mut got = Vec::new();
    let mut buf = [0u8; 2048];
    while got.len() < n && Instant::now() < end {
        if let Ok(len) = socket.recv(&mut buf) {
            got.extend(parse_rtp(&buf[..len]));
        }
    }
    assert_eq!(got.len(), n, "termphone sent too few RTP packets");
    got
}

/// termphone (RED on) dials a SIPp UAS running `scenario`, whose SDP
/// names `socket`; returns the phone, its call id, the call once active,
/// and the SIPp run.
fn call_sipp(t: &TestDir, scenario: &str, socket: &UdpSocket) -> (Phone, String, Value, SippRun) {
    let src = t.path().join("mic.wav");
    tone::write_sine_wav(&src, 440.0, 8000, 30.0);
    let config = Config::new()
        .account(Account::direct("direct", "1001").red(true))
        .audio(Audio::file(&src, &t.sub("rec")));
    let mut phone = Phone::start(&t.sub("phone"), &config);
    let port = socket.local_addr().expect("socket address").port();
    let sipp = Sipp::new(scenario, &t.sub("sipp"))
        .key("rtp_port", &port.to_string())
        .timeout(30)
        .spawn();
    let reply = phone.ok(json!({"cmd": "dial", "to": format!("sip:uas@{}", sipp.addr())}));
    let id = call_id_of(&reply);
    let call = phone.wait_active(&id);
    (phone, id, call, sipp)
}

#[test]
fn a_peer_that_takes_red_gets_the_previous_frame_in_each_packet() {
    let t = TestDir::new("red-sipp");
    let socket = UdpSocket::bind("127.0.0.1:0").expect("media socket");
    let (mut phone, id, call, sipp) = call_sipp(&t, "uas_answer_red", &socket);
    assert_eq!(call["red"], true, "{call}");
    assert_eq!(call["codec"], "PCMU", "{call}");
    let packets = receive(&socket, 30);
    sipp.ended_by_hang_up(&mut phone, &id);
    let mut carried = 0;
    for pair in packets.windows(2) {
        let (before, p) = (&pair[0], &pair[1]);
        assert_eq!(p.pt, 122, "RED payload type on the wire");
        let payload = red::depacketize(&p.payload).expect("a well-formed RED payload");
        assert_eq!(payload.primary_type, 0, "PCMU primary");
        assert_eq!(payload.primary.len(), 160, "one 20 ms PCMU frame");
        if p.seq != before.seq.wrapping_add(1) {
            continue;
        }
        let prev = red::depacketize(&before.payload).expect("RED");
        assert_eq!(payload.redundant.len(), 1, "one redundant block");
        let block = payload.redundant[0];
        assert_eq!(block.payload_type, 0);
        assert_eq!(u32::from(block.ts_offset), p.ts.wrapping_sub(before.ts));
        assert_eq!(block.ts_offset, 160);
        assert_eq!(block.data, prev.primary, "the previous packet's frame");
        carried += 1;
    }
    assert!(
        carried >= 25,
        "{carried} of 29 packets carried the one before"
    );
}

#[test]
fn a_peer_without_red_gets_plain_pcmu() {
    let t = TestDir::new("red-sipp-plain");
    let socket = UdpSocket::bind("127.0.0.1:0").expect("media socket");
    let (mut phone, id, call, sipp) = call_sipp(&t, "uas_answer_plain", &socket);
    assert!(call.get("red").is_none(), "no red field: {call}");
    let packets = receive(&socket, 20);
    sipp.ended_by_hang_up(&mut phone, &id);
    for p in &packets {
        assert_eq!(p.pt, 0, "plain PCMU");
        assert_eq!(p.payload.len(), 160, "a bare 20 ms frame");
    }
}

/// A PCMU frame (20 ms) of a 700 Hz tone, the `n`th of the stream.
fn tone_frame(n: u32) -> Vec<u8> {
    (0..160u32)
        .map(|i| {
            let t = f64::from(n * 160 + i) / 8000.0;
            let s = (2.0 * std::f64::consts::PI * 700.0 * t).sin() * 8000.0;
            tone::linear_to_ulaw(s as i16)
        })
        .collect()
}

/// An RTP packet of payload type 122 whose RFC 2198 payload (written out
/// here byte by byte, not by the code under test) carries PCMU `primary`
/// after `previous` as one redundant block 160 ticks back.
fn red_packet(seq: u16, ts: u32, previous: Option<&[u8]>, primary: &[u8]) -> Vec<u8> {
    let mut p = vec![0x80, 122];
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(&ts.to_be_bytes());
    p.extend_from_slice(&0x2198_0001u32.to_be_bytes());
    if let Some(prev) = previous {
        // F=1, block PT 0, 14-bit offset 160, 10-bit length.
        let word: u32 = (1 << 31) | (160 << 10) | prev.len() as u32;
        p.extend_from_slice(&word.to_be_bytes());
    }
    p.push(0); // F=0, primary PT 0.
    if let Some(prev) = previous {
        p.extend_from_slice(prev);
    }
    p.extend_from_slice(primary);
    p
}

#[test]
fn red_from_a_sipp_peer_fills_its_missing_packets() {
    let t = TestDir::new("red-sipp-in");
    let socket = UdpSocket::bind("127.0.0.1:0").expect("media socket");
    let (mut phone, id, call, sipp) = call_sipp(&t, "uas_answer_red", &socket);
    assert_eq!(call["red"], true, "{call}");
    let ours: SocketAddr = call["local_media"]
        .as_str()
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| panic!("no local_media in {call}"));
    // Three seconds of RED from the address SIPp's SDP named, paced as a
    // phone would; the packets of 40 and 90 never go out, their frames
    // only as the redundant block of the packet after.
    let missing = [40u32, 90];
    let start = Instant::now();
    for n in 0..150u32 {
        let due = start + Duration::from_millis(u64::from(n) * 20);
        std::thread::sleep(due.saturating_duration_since(Instant::now()));
        if missing.contains(&n) {
            continue;
        }
        let previous = (n > 0).then(|| tone_frame(n - 1));
        let packet = red_packet(
            1000 + n as u16,
            n * 160,
            previous.as_deref(),
            &tone_frame(n),
        );
        socket.send_to(&packet, ours).expect("send RTP");
    }
    let filled = wait_for(Duration::from_secs(5), || {
        let c = phone.call(&id)?;
        (stat(&c, "red_recovered") >= 2).then_some(c)
    });
    let last = phone.call(&id).unwrap_or(Value::Null);
    sipp.ended_by_hang_up(&mut phone, &id);
    let filled = filled.unwrap_or_else(|| panic!("the missing packets were not filled: {last}"));
    assert_eq!(stat(&filled, "red_recovered"), 2, "{filled}");
    tone::assert_tone(&recorded_wav(&t.sub("rec"), &call, 2.0), 700.0, 440.0);
}

/// (lost, red_recovered, concealed_frames) of a judged call.
fn stats_of(call: &Value) -> (u64, u64, u64) {
    (
        stat(call, "lost"),
        stat(call, "red_recovered"),
        stat(call, "concealed_frames"),
    )
}

/// A RED call of `codec` (at `rate` Hz) under the seeded loss, with
/// `more` of the account, judged once RED filled every loss after the
/// playout settled ([`LossyCall::judge_settled`]); hung up.
fn red_call(
    name: &str,
    codec: &str,
    rate: u32,
    more: impl Fn(Account) -> Account,
) -> (LossyCall, Value) {
    let t = TestDir::new(name);
    let mut call = LossyCall::start(&t, rate, |a| more(a.codecs(&[codec]).red(true)));
    assert_eq!(call.incoming["codec"], codec, "{}", call.incoming);
    assert_eq!(call.incoming["red"], true, "{}", call.incoming);
    let judged = call.judge_settled("red_recovered");
    call.hang_up();
    let (done, settled) = judged.unwrap_or_else(|last| panic!("RED did not keep up: {last}"));
    call.assert_losses_were_ours();
    let (lost, recovered, concealed) = stats_of(&done);
    eprintln!(
        "{codec}: lost {lost}, filled by RED {recovered}, concealed {concealed} (settled at {settled:?})"
    );
    assert!(recovered >= LOSSES, "{done}");
    call.assert_callee_heard_the_caller();
    (call, done)
}

#[test]
fn red_fills_single_lost_pcmu_packets_between_termphones() {
    let (_call, done) = red_call("red-loss", "PCMU", 8000, |a| a);
    let (lost, recovered, concealed) = stats_of(&done);
    // Each loss is a single packet and the next one carries its frame:
    // all but the latest filled, and a filled frame is played, never
    // concealed; what is concealed is only the scheduling jitter of a
    // loaded host, far fewer.
    assert!(
        concealed < lost - recovered + lost / 2,
        "concealed {concealed} frames where RED had {recovered} of {lost} losses: {done}"
    );
}

#[test]
fn without_red_the_same_losses_are_concealed() {
    // The control: the same loss with RED off on both.
    let t = TestDir::new("red-off-loss");
    let mut call = LossyCall::start(&t, 8000, |a| a.codecs(&["PCMU"]).red(false));
    assert_eq!(call.incoming["codec"], "PCMU", "{}", call.incoming);
    let judged = call.judge(|_| true);
    call.hang_up();
    let done = judged.unwrap_or_else(|last| panic!("not judged in time: {last}"));
    call.assert_losses_were_ours();
    assert!(done.get("red").is_none(), "{done}");
    let (lost, recovered, concealed) = stats_of(&done);
    eprintln!("lost {lost}, concealed {concealed}");
    assert_eq!(recovered, 0, "{done}");
    assert!(
        concealed + 2 >= lost,
        "concealed {concealed} frames of {lost} losses without RED: {done}"
    );
}

#[test]
fn red_fills_losses_of_an_srtp_call() {
    let (call, done) = red_call("red-srtp", "PCMU", 8000, |a| a.media_encryption("srtp"));
    assert_eq!(
        call.incoming["media_encryption"], "srtp",
        "{}",
        call.incoming
    );
    // Every RED packet that arrived was authenticated and decrypted.
    assert_eq!(stat(&done, "srtp_dropped"), 0, "{done}");
    assert!(stat(&done, "rx_packets") > 100, "{done}");
}

#[test]
fn red_fills_losses_of_a_g722_call() {
    red_call("red-g722", "G722", 16_000, |a| a);
}

#[test]
fn red_fills_opus_losses_before_fec_would() {
    let (_call, done) = red_call("red-opus", "opus", 48_000, |a| a);
    // The packet after a loss carries the lost frame twice, as RED's
    // block and as Opus FEC; RED's block is taken first and fills the
    // slot, so the decoder's FEC never recovers a frame.
    assert_eq!(stat(&done, "fec_recovered"), 0, "{done}");
}
