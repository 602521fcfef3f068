//! Hostile packets against a live call's media, from raw sockets on
//! loopback. SIPp places the call with an SDP naming a UDP socket of the
//! test (`uac_media_socket`), so the test is the far end's RTP: it sends
//! the peer's audio and sees ours. Malformed RTP and RTCP (the 20-byte
//! datagram that used to panic the media task) leave the call up with its
//! counters growing; RTP and telephone-events from any other source are
//! not counted, played or turned into `dtmf` events; with symmetric RTP
//! (the default) a peer sending from another port than its SDP names gets
//! our audio there, and without it only the SDP address counts.

mod support;

use serde_json::{json, Value};
use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, AtomicU16, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use support::phone::Phone;
use support::setup::{direct_phone, PhoneOpts, TestPhone};
use support::sipp::{Sipp, SippRun};
use support::TestDir;

/// An RTP packet: PCMU silence, or a telephone-event when `event` is given.
fn rtp(ssrc: u32, seq: u16, ts: u32, event: Option<[u8; 4]>) -> Vec<u8> {
    let pt = if event.is_some() { 101 } else { 0 };
    let mut v = vec![0x80, pt, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    v[2..4].copy_from_slice(&seq.to_be_bytes());
    v[4..8].copy_from_slice(&ts.to_be_bytes());
    v[8..12].copy_from_slice(&ssrc.to_be_bytes());
    match event {
        Some(e) => v.extend_from_slice(&e),
        None => v.extend(std::iter::repeat_n(0xFFu8, 160)),
    }
    v
}

/// A whole RFC 4733 event for `digit` (code 0-9): start, then three end
/// packets, all with one timestamp, from sequence number `seq` on.
fn dtmf(ssrc: u32, seq: u16, ts: u32, code: u8) -> Vec<Vec<u8>> {
    (0..4u16)
        .map(|i| {
            let end = if i == 0 { 0 } else { 0x80 };
            let [hi, lo] = (160 * (i + 1)).to_be_bytes();
            rtp(ssrc, seq + i, ts, Some([code, end | 10, hi, lo]))
        })
        .collect()
}

/// The report's datagram: an RTP header with a one-byte header extension
/// whose element claims 16 bytes in a 4-byte block, 20 bytes in all.
const CRASHER: [u8; 20] = [
    0x90, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0xBE, 0xDE, 0, 1, 0x1F, 0, 0, 0,
];

/// The peer's audio: PCMU every 20 ms from `socket`, SSRC 0x5EED, until
/// paused or dropped. The sequence number is shared, so the test can send
/// the peer's own telephone-event in between.
struct Stream {
    on: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
    seq: Arc<AtomicU16>,
    thread: Option<JoinHandle<()>>,
}

const PEER_SSRC: u32 = 0x5EED;

impl Stream {
    fn start(socket: &UdpSocket, to: SocketAddr) -> Stream {
        let socket = socket.try_clone().expect("clone socket");
        let on = Arc::new(AtomicBool::new(true));
        let stop = Arc::new(AtomicBool::new(false));
        let seq = Arc::new(AtomicU16::new(1));
        let (on2, stop2, seq2) = (on.clone(), stop.clone(), seq.clone());
        let thread = std::thread::spawn(move || {
            while !stop2.load(Ordering::SeqCst) {
                if on2.load(Ordering::SeqCst) {
                    let s = seq2.fetch_add(1, Ordering::SeqCst);
                    let _ = socket.send_to(&rtp(PEER_SSRC, s, u32::from(s) * 160, None), to);
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        });
        Stream {
            on,
            stop,
            seq,
            thread: Some(thread),
        }
    }
    fn pause(&self, paused: bool) {
        self.on.store(!paused, Ordering::SeqCst);
    }
    /// Takes `n` sequence numbers for packets the test sends itself.
    fn take_seq(&self, n: u16) -> u16 {
        self.seq.fetch_add(n, Ordering::SeqCst)
    }
}

impl Drop for Stream {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn udp() -> UdpSocket {
    let s = UdpSocket::bind("127.0.0.1:0").expect("bind UDP");
    s.set_read_timeout(Some(Duration::from_secs(3)))
        .expect("read timeout");
    s
}

/// A call from SIPp whose SDP names `sdp_socket`, answered by a phone with
/// `opts`; the phone, SIPp, the call id and the phone's RTP address.
fn call(
    t: &TestDir,
    opts: PhoneOpts,
    sdp_socket: &UdpSocket,
) -> (TestPhone, SippRun, String, SocketAddr) {
    let mut p = direct_phone(t, opts.phone("auto_answer", true));
    let port = sdp_socket.local_addr().expect("address").port();
    let sipp = Sipp::new("uac_media_socket", &t.sub("sipp"))
        .target(p.sip_addr())
        .service("1001")
        .key("rtp_port", &port.to_string())
        .timeout(60)
        .spawn();
    let active = p.wait_any_call_state("active", Duration::from_secs(10));
    let Some(call) = active else {
        panic!("not answered: {:?}\n{}", p.events(), p.log_tail());
    };
    let id = call["id"].as_str().expect("call id").to_string();
    let media = call["local_media"]
        .as_str()
        .and_then(|m| m.parse().ok())
        .unwrap_or_else(|| panic!("no local_media in {call}"));
    (p, sipp, id, media)
}

fn rx_packets(p: &mut Phone, id: &str) -> u64 {
    p.call(id)
        .and_then(|c| c["stats"]["rx_packets"].as_u64())
        .unwrap_or(0)
}

/// Polls until the call's `rx_packets` holds still for 1.5 s (stats reach
/// `status` once a second); that value.
fn settled_rx(p: &mut Phone, id: &str) -> u64 {
    let end = Instant::now() + Duration::from_secs(15);
    let mut last = rx_packets(p, id);
    let mut since = Instant::now();
    while Instant::now() < end {
        std::thread::sleep(Duration::from_millis(250));
        let now = rx_packets(p, id);
        if now != last {
            last = now;
            since = Instant::now();
        } else if since.elapsed() >= Duration::from_millis(1500) {
            return now;
        }
    }
    panic!("rx_packets never settled (last {last})\n{}", p.log_tail());
}

/// Polls until the call's `rx_packets` reaches `want`; the last value.
fn wait_rx(p: &mut Phone, id: &str, want: u64) -> u64 {
    let end = Instant::now() + Duration::from_secs(10);
    loop {
        let n = rx_packets(p, id);
        if n >= want || Instant::now() >= end {
            return n;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Waits for one RTP packet from `from` on `socket` (others are skipped).
fn rtp_from(socket: &UdpSocket, from: SocketAddr) -> bool {
    let end = Instant::now() + Duration::from_secs(3);
    let mut buf = [0u8; 2048];
    while Instant::now() < end {
        if let Ok((n, src)) = socket.recv_from(&mut buf) {
            if src == from && n >= 12 && buf[0] >> 6 == 2 {
                return true;
            }
        }
    }
    false
}

fn hang_up(mut p: TestPhone, sipp: SippRun, id: &str) {
    p.ok(json!({"cmd": "hangup", "call": id}));
    let r = sipp.wait(Duration::from_secs(20));
    assert!(r.success(), "{}\n{}", r.describe(), p.log_tail());
}

fn state(p: &mut Phone, id: &str) -> Value {
    p.call(id)
        .map(|c| c["state"].clone())
        .unwrap_or(Value::Null)
}

#[test]
fn malformed_rtp_and_rtcp_leave_the_call_alive() {
    let t = TestDir::new("media-malformed");
    let peer = udp();
    let attacker = udp();
    let (mut p, sipp, id, ours) = call(&t, PhoneOpts::new(), &peer);
    let stream = Stream::start(&peer, ours);
    assert!(
        wait_rx(&mut p, &id, 10) >= 10,
        "no RTP counted\n{}",
        p.log_tail()
    );

    // From a stranger and from the peer's own address alike.
    let rtcp = SocketAddr::new(ours.ip(), ours.port() + 1);
    let bad_rtcp: [&[u8]; 3] = [
        &[0x81, 201, 0, 1, 0, 0, 0, 1],
        &[0x81, 202, 0, 1, 0, 0, 0, 1],
        &[0x80, 203, 0x40, 0, 0, 0, 0, 1],
    ];
    for _ in 0..5 {
        for s in [&attacker, &peer] {
            s.send_to(&CRASHER, ours).expect("send");
            s.send_to(&CRASHER[..13], ours).expect("send");
            for b in bad_rtcp {
                s.send_to(b, rtcp).expect("send");
            }
        }
    }
    // The call is up, counts on, and our audio still reaches the peer.
    let before = rx_packets(&mut p, &id);
    let after = wait_rx(&mut p, &id, before + 50);
    assert!(
        after >= before + 50,
        "rx_packets stuck at {after} (from {before}) after malformed packets\n{}",
        p.log_tail()
    );
    assert_eq!(state(&mut p, &id), json!("active"));
    while peer.set_nonblocking(true).is_ok() && peer.recv_from(&mut [0u8; 2048]).is_ok() {}
    peer.set_nonblocking(false).expect("blocking");
    assert!(
        rtp_from(&peer, ours),
        "no RTP from the phone after the malformed packets"
    );
    drop(stream);
    hang_up(p, sipp, &id);
}

#[test]
fn a_strangers_rtp_and_dtmf_are_not_taken() {
    let t = TestDir::new("media-foreign");
    let peer = udp();
    let stranger = udp();
    let (mut p, sipp, id, ours) = call(&t, PhoneOpts::new(), &peer);
    let stream = Stream::start(&peer, ours);
    assert!(
        wait_rx(&mut p, &id, 10) >= 10,
        "no RTP counted\n{}",
        p.log_tail()
    );
    stream.pause(true);
    let base = settled_rx(&mut p, &id);

    // A stranger's stream with a new SSRC, in order, and its digits.
    for i in 0..50u16 {
        stranger
            .send_to(
                &rtp(0xBAD, 100 + i, 16_000 + u32::from(i) * 160, None),
                ours,
            )
            .expect("send");
    }
    for pkt in dtmf(0xBAD, 200, 40_000, 7) {
        stranger.send_to(&pkt, ours).expect("send");
    }
    for pkt in dtmf(PEER_SSRC, 300, 50_000, 7) {
        // The peer's SSRC, but not the peer's source.
        stranger.send_to(&pkt, ours).expect("send");
    }
    assert_eq!(
        settled_rx(&mut p, &id),
        base,
        "a stranger's packets were counted"
    );
    assert!(
        p.dtmf_events().is_empty(),
        "a stranger's telephone-event became a dtmf event: {:?}",
        p.dtmf_events()
    );

    // The peer's own digit is taken: the check above could have failed.
    let seq = stream.take_seq(4);
    for pkt in dtmf(PEER_SSRC, seq, 60_000, 7) {
        peer.send_to(&pkt, ours).expect("send");
    }
    let digit = p.wait_event(Duration::from_secs(5), |e| e["event"] == "dtmf");
    assert!(
        digit.is_some(),
        "the peer's DTMF was lost\n{}",
        p.log_tail()
    );
    assert_eq!(digit.unwrap_or_default()["digit"], json!("7"));
    stream.pause(false);
    let resumed = wait_rx(&mut p, &id, base + 4 + 20);
    assert!(
        resumed >= base + 24,
        "the peer is no longer heard: {resumed}"
    );
    drop(stream);
    hang_up(p, sipp, &id);
}

#[test]
fn symmetric_rtp_sends_where_the_peer_sends_from() {
    let t = TestDir::new("media-symmetric");
    let named = udp();
    let actual = udp();
    let stranger = udp();
    let (mut p, sipp, id, ours) = call(&t, PhoneOpts::new(), &named);
    let stream = Stream::start(&actual, ours);
    assert!(
        wait_rx(&mut p, &id, 10) >= 10,
        "RTP from another port than the SDP's is not counted\n{}",
        p.log_tail()
    );
    assert!(
        rtp_from(&actual, ours),
        "no RTP where the peer sends from\n{}",
        p.log_tail()
    );
    // Latched: a stranger is not heard.
    stream.pause(true);
    let base = settled_rx(&mut p, &id);
    for i in 0..20u16 {
        stranger
            .send_to(&rtp(0xBAD, i, u32::from(i) * 160, None), ours)
            .expect("send");
    }
    assert_eq!(
        settled_rx(&mut p, &id),
        base,
        "a stranger's packets were counted"
    );
    drop(stream);
    hang_up(p, sipp, &id);
}

#[test]
fn without_symmetric_rtp_only_the_sdp_address_counts() {
    let t = TestDir::new("media-asymmetric");
    let named = udp();
    let actual = udp();
    let opts = PhoneOpts::new().phone("symmetric_rtp", false);
    let (mut p, sipp, id, ours) = call(&t, opts, &named);
    let stream = Stream::start(&actual, ours);
    // Our audio keeps going to the SDP address...
    std::thread::sleep(Duration::from_secs(1));
    assert!(rtp_from(&named, ours), "no RTP at the SDP address");
    // ...and what comes from elsewhere is not counted.
    assert_eq!(
        settled_rx(&mut p, &id),
        0,
        "RTP from another port was counted"
    );
    drop(stream);
    let stream = Stream::start(&named, ours);
    assert!(
        wait_rx(&mut p, &id, 10) >= 10,
        "RTP from the SDP address is not counted"
    );
    drop(stream);
    hang_up(p, sipp, &id);
}
