//! The receive path against hostile input, over loopback: malformed
//! datagrams, packets from sources other than the peer's, symmetric RTP
//! latching (and where we then send), and a task that panics.

use super::*;

fn pcmu(ssrc: u32, seq: u16) -> Vec<u8> {
    let mut v = vec![0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    v[2..4].copy_from_slice(&seq.to_be_bytes());
    v[4..8].copy_from_slice(&(u32::from(seq) * 160).to_be_bytes());
    v[8..12].copy_from_slice(&ssrc.to_be_bytes());
    v.extend(std::iter::repeat_n(0xFFu8, 160));
    v
}

/// A complete telephone-event for digit 5 (three end packets).
fn event_5(ssrc: u32, seq: u16) -> Vec<Vec<u8>> {
    (0..4u16)
        .map(|i| {
            let mut v = pcmu(ssrc, seq + i);
            v[1] = 101 | if i == 0 { 0x80 } else { 0 };
            v[4..8].copy_from_slice(&1000u32.to_be_bytes());
            v.truncate(12);
            let end = if i == 0 { 0 } else { 0x80 };
            let [hi, lo] = (160 * (i + 1)).to_be_bytes();
            v.extend_from_slice(&[5, end | 10, hi, lo]);
            v
        })
        .collect()
}

async fn wait_rx(m: &MediaSession, want: u64) -> MediaStats {
    for _ in 0..100 {
        let s = m.stats();
        if s.rx_packets >= want {
            return s;
        }
        sleep(Duration::from_millis(20)).await;
    }
    m.stats()
}

/// Without symmetric RTP only the SDP address is heard; malformed packets
/// (the report's 20-byte datagram among them), strangers' audio and
/// strangers' telephone-events change nothing, and a new SSRC from the
/// peer needs a run of packets.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_peer_is_heard() {
    let peer = tokio::net::UdpSocket::bind((ip(), 0)).await.unwrap();
    let stranger = tokio::net::UdpSocket::bind((ip(), 0)).await.unwrap();
    let s = RtpSockets::bind(ip()).await.unwrap().symmetric(false);
    let ours = s.rtp_addr();
    let (ev, mut events) = mpsc::unbounded_channel();
    let m = MediaSession::start(
        s,
        params(peer.local_addr().unwrap()),
        &null_audio(),
        "h",
        ev,
    )
    .unwrap();
    let malformed = [
        0x90u8, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0xBE, 0xDE, 0, 1, 0x1F, 0, 0, 0,
    ];
    for seq in 0..5 {
        peer.send_to(&pcmu(1, seq), ours).await.unwrap();
        peer.send_to(&malformed, ours).await.unwrap();
        stranger.send_to(&pcmu(2, seq), ours).await.unwrap();
    }
    for p in event_5(2, 100) {
        stranger.send_to(&p, ours).await.unwrap();
    }
    let got = wait_rx(&m, 5).await;
    sleep(Duration::from_millis(150)).await;
    assert_eq!(m.stats().rx_packets, 5, "{got:?}");
    assert!(events.try_recv().is_err(), "a stranger's DTMF was taken");
    // The peer's own event is taken.
    for p in event_5(1, 5) {
        peer.send_to(&p, ours).await.unwrap();
    }
    let ev = timeout(Duration::from_secs(2), events.recv())
        .await
        .unwrap();
    assert_eq!(ev, Some(MediaEvent::Dtmf('5')));
    // Three packets of a new SSRC from the peer's own address do not
    // take over; the old SSRC goes on being counted.
    for seq in 0..3 {
        peer.send_to(&pcmu(3, seq), ours).await.unwrap();
    }
    peer.send_to(&pcmu(1, 9), ours).await.unwrap();
    let s = wait_rx(&m, 10).await;
    assert_eq!(s.rx_packets, 10, "{s:?}");
    m.stop().await;
}

/// With symmetric RTP a peer that sends from another port than its SDP
/// names is latched onto and sent to; a stranger after it is not heard.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn symmetric_rtp_latches_and_sends_there() {
    let sdp_named = tokio::net::UdpSocket::bind((ip(), 0)).await.unwrap();
    let actual = tokio::net::UdpSocket::bind((ip(), 0)).await.unwrap();
    let stranger = tokio::net::UdpSocket::bind((ip(), 0)).await.unwrap();
    let s = RtpSockets::bind(ip()).await.unwrap();
    let ours = s.rtp_addr();
    let (ev, _events) = mpsc::unbounded_channel();
    let named = sdp_named.local_addr().unwrap();
    let m = MediaSession::start(s, params(named), &null_audio(), "sym", ev).unwrap();
    let mut buf = [0u8; 2048];
    // Before any packet: sent where the SDP says.
    timeout(Duration::from_secs(1), sdp_named.recv_from(&mut buf))
        .await
        .expect("nothing sent to the SDP address")
        .unwrap();
    for seq in 0..3 {
        actual.send_to(&pcmu(1, seq), ours).await.unwrap();
        stranger.send_to(&pcmu(2, seq), ours).await.unwrap();
    }
    let (_, from) = timeout(Duration::from_secs(1), actual.recv_from(&mut buf))
        .await
        .expect("no RTP at the latched source")
        .unwrap();
    assert_eq!(from, ours);
    let s = wait_rx(&m, 3).await;
    sleep(Duration::from_millis(100)).await;
    assert_eq!(m.stats().rx_packets, 3, "{s:?}");
    m.stop().await;
}

/// Audio that panics: the task dies, and the session says so once.
#[derive(Debug)]
struct Exploding;

struct Boom;
impl audio::Source for Boom {
    fn read(&mut self, _frame: &mut [i16; jitter::FRAME]) {
        panic!("microphone exploded");
    }
}
struct Quiet;
impl audio::Sink for Quiet {
    fn write(&mut self, _frame: &[i16; jitter::FRAME]) {}
}

impl audio::AudioBackend for Exploding {
    fn kind(&self) -> BackendKind {
        BackendKind::Null
    }
    fn open_call(&self, _call_id: &str) -> Result<(Box<dyn audio::Source>, Box<dyn audio::Sink>)> {
        Ok((Box::new(Boom), Box::new(Quiet)))
    }
}

#[tokio::test]
async fn a_panicking_task_is_reported() {
    let audio = AudioSystem {
        backend: Arc::new(Exploding),
    };
    let s = RtpSockets::bind(ip()).await.unwrap();
    let (ev, mut events) = mpsc::unbounded_channel();
    let m =
        MediaSession::start(s, params("127.0.0.1:9".parse().unwrap()), &audio, "x", ev).unwrap();
    let got = timeout(Duration::from_secs(2), events.recv())
        .await
        .unwrap();
    assert_eq!(
        got,
        Some(MediaEvent::Failed("microphone exploded".to_string()))
    );
    // Stopping the dead session returns at once.
    timeout(Duration::from_secs(1), m.stop()).await.unwrap();
}

/// An RR about `ours` answering the SR whose LSR is `lsr`, at once.
fn rr(ours: u32, lsr: u32) -> Vec<u8> {
    let mut v = vec![0x81, 201, 0, 7, 0, 0, 0x0B, 0xAD];
    v.extend_from_slice(&ours.to_be_bytes());
    v.extend_from_slice(&[0; 12]);
    v.extend_from_slice(&lsr.to_be_bytes());
    v.extend_from_slice(&[0; 4]);
    v
}

/// RTCP is taken from the peer's RTCP address only: a stranger's report
/// answering our SR gives no round-trip time, the peer's does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rtcp_from_a_stranger_is_not_read() {
    let (peer_rtp, peer_rtcp) = sockets::bind_pair(ip()).await.unwrap();
    let stranger = tokio::net::UdpSocket::bind((ip(), 0)).await.unwrap();
    let s = RtpSockets::bind(ip()).await.unwrap().symmetric(false);
    let our_rtcp = s.rtcp_addr();
    let (ev, _events) = mpsc::unbounded_channel();
    let p = params(peer_rtp.local_addr().unwrap());
    let rtcp_every = Duration::from_millis(100);
    let m = MediaSession::start_with(s, p, &null_audio(), "rtcp", ev, rtcp_every).unwrap();
    let mut buf = [0u8; 2048];
    // Our SR: its SSRC and the middle of its NTP time (the LSR to echo).
    let (ssrc, lsr) = loop {
        let (n, _) = timeout(Duration::from_secs(2), peer_rtcp.recv_from(&mut buf))
            .await
            .expect("no RTCP from the session")
            .unwrap();
        if n >= 28 && buf[1] == 200 {
            let at = |i: usize| u32::from_be_bytes([buf[i], buf[i + 1], buf[i + 2], buf[i + 3]]);
            break (at(4), at(10));
        }
    };
    stranger.send_to(&rr(ssrc, lsr), our_rtcp).await.unwrap();
    sleep(Duration::from_millis(300)).await;
    assert_eq!(m.stats().rtt_ms, None, "a stranger's RTCP was read");
    peer_rtcp.send_to(&rr(ssrc, lsr), our_rtcp).await.unwrap();
    let mut rtt = None;
    for _ in 0..50 {
        sleep(Duration::from_millis(20)).await;
        rtt = m.stats().rtt_ms;
        if rtt.is_some() {
            break;
        }
    }
    assert!(rtt.is_some(), "the peer's RTCP was not read");
    m.stop().await;
}

/// A panic in the handling of one datagram costs that datagram: the
/// stream's playout restarts, the counters go on, and the next packets are
/// taken as before.
#[test]
fn a_panic_in_one_datagram_restarts_the_stream() {
    let peer: SocketAddr = "127.0.0.1:4000".parse().unwrap();
    let (source, sink) = null_audio().open_call("g").unwrap();
    let (ev, _events) = mpsc::unbounded_channel();
    let (stats_tx, stats) = watch::channel(MediaStats::default());
    let mut s = session::Session::new(params(peer), source, sink, ev, stats_tx);
    for seq in 0..3 {
        s.guarded("RTP", peer, |s| s.on_rtp(&pcmu(1, seq), peer));
    }
    s.guarded("RTP", peer, |_| panic!("decoder met the unforeseen"));
    for seq in 3..5 {
        s.guarded("RTP", peer, |s| s.on_rtp(&pcmu(1, seq), peer));
    }
    s.publish_stats();
    let got = stats.borrow().clone();
    assert_eq!((got.rx_packets, got.lost), (5, 0), "{got:?}");
}
