//! RFC 2198 redundancy (RED), `[[account]] red = true`.
//!
//! Against SIPp: termphone dials a SIPp UAS whose SDP names this test's
//! own UDP socket as its media address, so the test reads what termphone
//! sends. A peer answering with `red/8000` (`uas_answer_red.xml`) gets
//! RED packets whose redundant block is the previous packet's frame; a
//! peer answering without it (`uas_answer_plain.xml`) gets plain PCMU.
//!
//! Between two termphones with PCMU under seeded, deterministic loss (a
//! network namespace's loopback, as in `call_opus_fec.rs`; needs root):
//! every tenth RTP packet to the callee is dropped; with RED on both the
//! callee fills (nearly) every loss from the next packet's redundant
//! block (`stats.red_recovered`) and conceals far fewer frames than were
//! lost; with RED off, the control, it conceals them.

mod support;

use serde_json::{json, Value};
use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};
use support::config::{Account, Audio, Config};
use support::netns::{Bed, Netns, Place};
use support::phone::{call_id_of, Phone};
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
    let call = phone
        .wait_call_state(&id, "active", Duration::from_secs(15))
        .unwrap_or_else(|| panic!("call not active: {}", phone.log_tail()));
    (phone, id, call, sipp)
}

/// The hang-up's BYE ends the SIPp scenario successfully.
fn hang_up(phone: &mut Phone, id: &str, sipp: SippRun) {
    phone.hang_up(id);
    let result = sipp.wait(Duration::from_secs(10));
    assert!(result.success(), "{}", result.describe());
}

#[test]
fn a_peer_that_takes_red_gets_the_previous_frame_in_each_packet() {
    let t = TestDir::new("red-sipp");
    let socket = UdpSocket::bind("127.0.0.1:0").expect("media socket");
    let (mut phone, id, call, sipp) = call_sipp(&t, "uas_answer_red", &socket);
    assert_eq!(call["red"], true, "{call}");
    assert_eq!(call["codec"], "PCMU", "{call}");
    let packets = receive(&socket, 30);
    hang_up(&mut phone, &id, sipp);
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
    hang_up(&mut phone, &id, sipp);
    for p in &packets {
        assert_eq!(p.pt, 0, "plain PCMU");
        assert_eq!(p.payload.len(), 160, "a bare 20 ms frame");
    }
}

const CALLER_SIP: u16 = 5071;
const CALLEE_SIP: u16 = 5073;
/// Losses the callee must have seen before the call is judged.
const LOSSES: u64 = 20;

fn phone(t: &TestDir, ns: &Netns, name: &str, user: &str, ip: &str, red: bool) -> Phone {
    let src = t.path().join(format!("{name}.wav"));
    tone::write_sine_wav(&src, 440.0, 8000, 30.0);
    let config = Config::new()
        .account(Account::direct("direct", user).codecs(&["PCMU"]).red(red))
        .audio(Audio::file(&src, &t.sub(&format!("{name}-rec"))))
        .phone("auto_answer", name == "callee");
    let port = if name == "callee" {
        CALLEE_SIP
    } else {
        CALLER_SIP
    };
    let listen: SocketAddr = format!("{ip}:{port}").parse().expect("listen address");
    Phone::start_in(&t.sub(name), &config, &Place::on(ns, ip), listen)
}

/// Drops every tenth RTP packet to 127.0.0.2 (even ports).
fn drop_every_tenth_rtp(t: &TestDir, ns: &Netns) {
    let rules = "table inet loss {\n\
        \tchain out {\n\
        \t\ttype filter hook output priority 0; policy accept;\n\
        \t\tip daddr 127.0.0.2 udp dport & 1 == 0 numgen inc mod 10 == 5 counter drop\n\
        \t}\n\
        }\n";
    let file = t.path().join("loss.nft");
    std::fs::write(&file, rules).expect("write the loss rules");
    ns.run("nft", &["-f", &file.display().to_string()]);
}

fn stats_of(call: &Value) -> (u64, u64, u64) {
    let n = |k: &str| call["stats"][k].as_u64().unwrap_or(0);
    (n("lost"), n("red_recovered"), n("concealed_frames"))
}

/// A PCMU call between two termphones under the seeded loss; the callee's
/// call once it has seen [`LOSSES`] losses and `done` holds.
fn lossy_call(name: &str, red: bool, done: impl Fn(u64, u64) -> bool) -> Value {
    let t = TestDir::new(name);
    let mut bed = Bed::new();
    let ns = bed.host("lan");
    drop_every_tenth_rtp(&t, &ns);
    let mut callee = phone(&t, &ns, "callee", "1002", "127.0.0.2", red);
    let mut caller = phone(&t, &ns, "caller", "1001", "127.0.0.1", red);
    let to = format!("sip:1002@127.0.0.2:{CALLEE_SIP}");
    let id = call_id_of(&caller.ok(json!({"cmd": "dial", "to": to})));
    caller
        .wait_call_state(&id, "active", Duration::from_secs(15))
        .unwrap_or_else(|| panic!("call not active: {}", caller.log_tail()));
    let incoming = callee
        .wait_any_call_state("active", Duration::from_secs(15))
        .unwrap_or_else(|| panic!("callee not active: {}", callee.log_tail()));
    assert_eq!(incoming["codec"], "PCMU", "{incoming}");
    let in_id = incoming["id"].as_str().unwrap_or_default().to_string();
    let judged = wait_for(Duration::from_secs(30), || {
        let call = callee.call(&in_id)?;
        let (lost, recovered, _) = stats_of(&call);
        (lost >= LOSSES && done(lost, recovered)).then_some(call)
    });
    let last = callee.call(&in_id).unwrap_or(Value::Null);
    caller.hang_up(&id);
    let call = judged.unwrap_or_else(|| panic!("not judged in time: {last}"));
    // The losses were ours (the nft counter), not the loopback's.
    let rules = ns.run("nft", &["list", "table", "inet", "loss"]);
    assert!(rules.contains("counter packets"), "{rules}");
    call
}

#[test]
fn red_fills_single_lost_pcmu_packets_between_termphones() {
    let call = lossy_call("red-loss", true, |lost, recovered| recovered + 1 >= lost);
    assert_eq!(call["red"], true, "{call}");
    let (lost, recovered, concealed) = stats_of(&call);
    eprintln!("lost {lost}, filled by RED {recovered}, concealed {concealed}");
    // Each loss is a single packet and the next one carries its frame:
    // all but the latest (whose next packet may be on its way) filled,
    // and a filled frame is played, never concealed; what is concealed is
    // only the scheduling jitter of a loaded host, far fewer.
    assert!(recovered > 0 && recovered + 1 >= lost, "{call}");
    assert!(
        concealed < lost - recovered + lost / 2,
        "concealed {concealed} frames where RED had {recovered} of {lost} losses: {call}"
    );
}

#[test]
fn without_red_the_same_losses_are_concealed() {
    // The control: the same loss with RED off on both.
    let call = lossy_call("red-off-loss", false, |_, _| true);
    assert!(call.get("red").is_none(), "{call}");
    let (lost, recovered, concealed) = stats_of(&call);
    eprintln!("lost {lost}, concealed {concealed}");
    assert_eq!(recovered, 0, "{call}");
    assert!(
        concealed + 2 >= lost,
        "concealed {concealed} frames of {lost} losses without RED: {call}"
    );
}
