//! Session tests over loopback: two sessions talking through the file
//! backend, DTMF between sessions, the echo reflector, RTCP, mute and the
//! packets on the wire; `conference.rs`: a conference with real member
//! sessions; `recording.rs`: stereo call recording; `red.rs`: RFC 2198
//! redundancy received; `playout_delay.rs`: the delay a stateful codec's
//! playout stands at under loss and jitter.

use super::tone::{goertzel_power, sine};
use super::*;
use std::path::Path;
use std::time::Duration;
use tokio::time::{sleep, timeout};
use webrtc_util::marshal::Unmarshal;

mod conference;
mod hardening;
mod playout_delay;
mod recording;
mod red;
mod secure;
mod tones;

const LO: &str = "127.0.0.1";

fn ip() -> IpAddr {
    LO.parse().unwrap()
}

fn params(remote: SocketAddr) -> RtpParams {
    RtpParams {
        remote,
        rtcp: None,
        codec: Codec::Pcmu,
        payload_type: 0,
        dtmf_payload_type: Some(101),
        direction: Direction::SendRecv,
        red_payload_type: None,
        opus: Default::default(),
    }
}

fn write_tone(path: &Path, freq: f64, rate: u32) {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(path, spec).unwrap();
    for s in sine(freq, 1.0, rate) {
        w.write_sample(s).unwrap();
    }
    w.finalize().unwrap();
}

fn file_audio(dir: &Path, name: &str, freq: f64, rate: u32) -> AudioSystem {
    let input = dir.join(format!("{name}.wav"));
    write_tone(&input, freq, rate);
    AudioSystem::open(&AudioConfig {
        backend: BackendKind::File,
        input: Some(input),
        output_dir: Some(dir.join(format!("out-{name}"))),
        ..AudioConfig::default()
    })
    .unwrap()
}

fn read_wav(path: &Path) -> Vec<i16> {
    let mut r = hound::WavReader::open(path).unwrap();
    assert_eq!(r.spec().sample_rate, 8000);
    assert_eq!(r.spec().channels, 1);
    r.samples::<i16>().map(Result::unwrap).collect()
}

fn null_audio() -> AudioSystem {
    AudioSystem::open(&AudioConfig {
        backend: BackendKind::Null,
        ..AudioConfig::default()
    })
    .unwrap()
}

/// Two sessions sending to each other over loopback, A (`call-a`) with
/// `audio_a` and B (`call-b`) with `audio_b`, RTCP every `rtcp`; with B's
/// events.
async fn connected_pair(
    audio_a: &AudioSystem,
    audio_b: &AudioSystem,
    rtcp: Duration,
) -> (
    MediaSession,
    MediaSession,
    mpsc::UnboundedReceiver<MediaEvent>,
) {
    let sa = RtpSockets::bind(ip()).await.unwrap();
    let sb = RtpSockets::bind(ip()).await.unwrap();
    let (addr_a, addr_b) = (sa.rtp_addr(), sb.rtp_addr());
    let (ev_a, _) = mpsc::unbounded_channel();
    let (ev_b, events_b) = mpsc::unbounded_channel();
    let a = MediaSession::start_with(sa, params(addr_b), audio_a, "call-a", ev_a, rtcp).unwrap();
    let b = MediaSession::start_with(sb, params(addr_a), audio_b, "call-b", ev_b, rtcp).unwrap();
    (a, b, events_b)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_sessions_hear_each_others_tone() {
    let dir = tempfile::tempdir().unwrap();
    let audio_a = file_audio(dir.path(), "a", 600.0, 8000);
    // B's input is 44.1 kHz stereo-less: exercises the resampler too.
    let audio_b = file_audio(dir.path(), "b", 1400.0, 44100);
    let (a, b, _events_b) = connected_pair(&audio_a, &audio_b, Duration::from_millis(300)).await;
    sleep(Duration::from_millis(1500)).await;
    let stats = a.stats();
    a.stop().await;
    b.stop().await;

    assert!(stats.rx_packets > 50, "{stats:?}");
    assert_eq!(stats.lost, 0, "{stats:?}");
    assert!(stats.jitter_ms < 40.0, "{stats:?}");
    assert!(stats.rtt_ms.is_some(), "{stats:?}");
    assert!(stats.mos.unwrap_or(0.0) > 4.0, "{stats:?}");

    let out_a = read_wav(&dir.path().join("out-a/call-a.wav"));
    let out_b = read_wav(&dir.path().join("out-b/call-b.wav"));
    // Paced by the clock: about 1.5 s each.
    for out in [&out_a, &out_b] {
        assert!(
            (10_000..14_500).contains(&out.len()),
            "{} samples",
            out.len()
        );
    }
    let tail = |v: &Vec<i16>| v[v.len() / 3..].to_vec();
    let (ta, tb) = (tail(&out_a), tail(&out_b));
    let a1400 = goertzel_power(&ta, 8000, 1400.0);
    let a600 = goertzel_power(&ta, 8000, 600.0);
    let b600 = goertzel_power(&tb, 8000, 600.0);
    let b1400 = goertzel_power(&tb, 8000, 1400.0);
    assert!(
        a1400 > 0.05 && a600 < a1400 / 100.0,
        "A: 1400 {a1400}, 600 {a600}"
    );
    assert!(
        b600 > 0.05 && b1400 < b600 / 100.0,
        "B: 600 {b600}, 1400 {b1400}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dtmf_goes_from_one_session_to_the_other() {
    let audio = null_audio();
    let (a, b, mut rb) = connected_pair(&audio, &audio, RTCP_INTERVAL).await;
    a.send_dtmf("12x#D");
    let mut got = Vec::new();
    while got.len() < 4 {
        match timeout(Duration::from_secs(3), rb.recv()).await {
            Ok(Some(MediaEvent::Dtmf(c))) => got.push(c),
            other => panic!("after {got:?}: {other:?}"),
        }
    }
    assert_eq!(got, vec!['1', '2', '#', 'D']);
    // No repeats from the end packets.
    sleep(Duration::from_millis(200)).await;
    assert!(rb.try_recv().is_err());
    a.stop().await;
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn echo_reflector_returns_our_own_tone() {
    let dir = tempfile::tempdir().unwrap();
    let audio = file_audio(dir.path(), "e", 600.0, 16000);
    let echo = EchoReflector::start(ip()).await.unwrap();
    let s = RtpSockets::bind(ip()).await.unwrap();
    let (ev, _r) = mpsc::unbounded_channel();
    let rtcp = Duration::from_millis(200);
    let m = MediaSession::start_with(s, params(echo.rtp_addr()), &audio, "echo", ev, rtcp).unwrap();
    sleep(Duration::from_millis(1000)).await;
    let stats = m.stats();
    m.stop().await;
    let out = read_wav(&dir.path().join("out-e/echo.wav"));
    let tail = &out[out.len() / 3..];
    assert!(goertzel_power(tail, 8000, 600.0) > 0.05);
    assert!(stats.rx_packets > 30, "{stats:?}");
    let rtt = stats.rtt_ms.unwrap_or(-1.0);
    assert!((0.0..50.0).contains(&rtt), "{stats:?}");
}

/// Receives RTP from a session on a plain socket pair and checks the wire.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn packets_on_the_wire_mute_and_bye() {
    let (peer_rtp, peer_rtcp) = sockets::bind_pair(ip()).await.unwrap();
    let peer = peer_rtp.local_addr().unwrap();
    let s = RtpSockets::bind(ip()).await.unwrap();
    let ours = s.rtp_addr();
    assert_eq!(s.rtcp_addr().port(), ours.port() + 1);
    let (ev, _r) = mpsc::unbounded_channel();
    let mut p = params(peer);
    p.codec = Codec::Pcma;
    p.payload_type = 8;
    let m = MediaSession::start(s, p.clone(), &null_audio(), "w", ev).unwrap();

    let mut buf = [0u8; 2048];
    let mut headers = Vec::new();
    for _ in 0..5 {
        let (n, from) = timeout(Duration::from_secs(1), peer_rtp.recv_from(&mut buf))
            .await
            .unwrap()
            .unwrap();
        // Symmetric RTP: sent from the socket we receive on.
        assert_eq!(from, ours);
        let pkt = rtp::packet::Packet::unmarshal(&mut &buf[..n]).unwrap();
        assert_eq!(pkt.payload.len(), 160);
        // A-law silence.
        assert!(pkt.payload.iter().all(|&b| b == 0xD5));
        headers.push(pkt.header);
    }
    assert!(headers[0].marker);
    for w in headers.windows(2) {
        assert_eq!(w[1].version, 2);
        assert_eq!(w[1].payload_type, 8);
        assert!(!w[1].marker);
        assert_eq!(w[1].ssrc, w[0].ssrc);
        assert_eq!(w[1].sequence_number, w[0].sequence_number.wrapping_add(1));
        assert_eq!(w[1].timestamp, w[0].timestamp.wrapping_add(160));
    }

    // Packets we must ignore: garbage, wrong payload type, RTCP-looking.
    peer_rtp.send_to(b"\x00\x01garbage", ours).await.unwrap();
    let mut bad = headers[0].clone();
    bad.payload_type = 96;
    let junk = rtp::packet::Packet {
        header: bad,
        payload: bytes::Bytes::from_static(&[0u8; 160]),
    };
    peer_rtp
        .send_to(
            &webrtc_util::marshal::Marshal::marshal(&junk).unwrap(),
            ours,
        )
        .await
        .unwrap();

    // Mute: packets stop, then resume with the marker set.
    m.set_mute(true);
    sleep(Duration::from_millis(100)).await;
    while peer_rtp.try_recv_from(&mut buf).is_ok() {}
    sleep(Duration::from_millis(100)).await;
    assert!(
        peer_rtp.try_recv_from(&mut buf).is_err(),
        "sent while muted"
    );
    m.set_mute(false);
    let (n, _) = timeout(Duration::from_secs(1), peer_rtp.recv_from(&mut buf))
        .await
        .unwrap()
        .unwrap();
    let pkt = rtp::packet::Packet::unmarshal(&mut &buf[..n]).unwrap();
    assert!(pkt.header.marker);

    // Hold from the other side: recvonly means we send nothing.
    m.update(RtpParams {
        direction: Direction::RecvOnly,
        ..p
    });
    sleep(Duration::from_millis(60)).await;
    while peer_rtp.try_recv_from(&mut buf).is_ok() {}
    sleep(Duration::from_millis(100)).await;
    assert!(
        peer_rtp.try_recv_from(&mut buf).is_err(),
        "sent while recvonly"
    );
    assert_eq!(m.stats().rx_packets, 0);

    // Stop sends RTCP BYE to port + 1.
    m.stop().await;
    let mut saw_bye = false;
    while let Ok(Ok((n, _))) =
        timeout(Duration::from_millis(500), peer_rtcp.recv_from(&mut buf)).await
    {
        let pkts = rtcp::packet::unmarshal(&mut &buf[..n]).unwrap();
        saw_bye |= pkts.iter().any(|p| {
            p.as_any()
                .downcast_ref::<rtcp::goodbye::Goodbye>()
                .is_some()
        });
        if saw_bye {
            break;
        }
    }
    assert!(saw_bye);
}

/// With `RtpParams::rtcp` (the peer's `a=rtcp`), reports and BYE go there,
/// not to the RTP port + 1.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rtcp_goes_to_the_address_the_peer_named() {
    let (peer_rtp, peer_plus_one) = sockets::bind_pair(ip()).await.unwrap();
    let named = tokio::net::UdpSocket::bind((ip(), 0)).await.unwrap();
    let s = RtpSockets::bind(ip()).await.unwrap();
    let (ev, _r) = mpsc::unbounded_channel();
    let p = RtpParams {
        rtcp: Some(named.local_addr().unwrap()),
        ..params(peer_rtp.local_addr().unwrap())
    };
    let rtcp = Duration::from_millis(100);
    let m = MediaSession::start_with(s, p, &null_audio(), "r", ev, rtcp).unwrap();
    let mut buf = [0u8; 2048];
    let (n, _) = timeout(Duration::from_secs(2), named.recv_from(&mut buf))
        .await
        .expect("no RTCP at the named address")
        .unwrap();
    assert!(!rtcp::packet::unmarshal(&mut &buf[..n]).unwrap().is_empty());
    m.stop().await;
    assert!(
        peer_plus_one.try_recv_from(&mut buf).is_err(),
        "RTCP still went to port + 1"
    );
}

#[tokio::test]
async fn missing_output_dir_records_nothing_and_dropping_stops() {
    let dir = tempfile::tempdir().unwrap();
    let audio = AudioSystem::open(&AudioConfig {
        backend: BackendKind::File,
        input: None,
        output_dir: None,
        ..AudioConfig::default()
    })
    .unwrap();
    assert_eq!(audio.backend(), BackendKind::File);
    let s = RtpSockets::bind(ip()).await.unwrap();
    let (ev, _r) = mpsc::unbounded_channel();
    let m =
        MediaSession::start(s, params("127.0.0.1:9".parse().unwrap()), &audio, "x", ev).unwrap();
    sleep(Duration::from_millis(50)).await;
    m.stop().await;
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    let bad = AudioSystem::open(&AudioConfig {
        backend: BackendKind::File,
        input: Some(dir.path().join("nope.wav")),
        output_dir: None,
        ..AudioConfig::default()
    });
    assert!(matches!(bad, Err(MediaError::Audio(_))));
}

/// Feeds a session from a plain socket across a sequence wrap: a lost
/// packet and a reordered pair, then a new SSRC. Loss is counted, the hole is concealed (no
/// silent frame in the recording) and the new source is followed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn receive_path_counts_loss_and_conceals_it() {
    let dir = tempfile::tempdir().unwrap();
    let (peer_rtp, ours, m, _keep) = recording_receiver(dir.path(), "rx", (Codec::Pcmu, 0)).await;

    let tone = sine(500.0, 2.0, 8000);
    let packet = |ssrc: u32, seq: u16, i: usize| {
        let mut payload = Vec::new();
        g711::encode(Codec::Pcmu, &tone[i * 160..(i + 1) * 160], &mut payload);
        rtp_bytes(0, seq, (i * 160) as u32, ssrc, payload)
    };
    let mut clock = tokio::time::interval(Duration::from_millis(20));
    let mut held = None;
    for i in 0..50usize {
        clock.tick().await;
        let seq = 65_520u16.wrapping_add(i as u16); // wraps at i = 16
        match i {
            20 => continue, // lost
            30 => {
                held = Some(packet(0xABCD, seq, i)); // reordered with 31
                continue;
            }
            _ => {}
        }
        peer_rtp
            .send_to(&packet(0xABCD, seq, i), ours)
            .await
            .unwrap();
        if let Some(h) = held.take() {
            peer_rtp.send_to(&h, ours).await.unwrap();
        }
    }
    sleep(Duration::from_millis(150)).await;
    let first = m.stats();
    assert_eq!(first.lost, 1, "{first:?}");
    assert_eq!(first.rx_packets, 49, "{first:?}");
    assert!(first.jitter_ms < 40.0, "{first:?}");

    // A new source takes over.
    for i in 0..20usize {
        clock.tick().await;
        peer_rtp
            .send_to(&packet(0x1234, 7 + i as u16, 50 + i), ours)
            .await
            .unwrap();
    }
    sleep(Duration::from_millis(150)).await;
    let second = m.stats();
    m.stop().await;
    assert_eq!(second.rx_packets, 20, "{second:?}");
    assert_eq!(second.lost, 0, "{second:?}");

    let out = read_wav(&dir.path().join("rx.wav"));
    let frames: Vec<f64> = out
        .chunks(160)
        .map(|f| f.iter().map(|&s| f64::from(s).powi(2)).sum::<f64>() / 160.0)
        .collect();
    let start = frames.iter().position(|&e| e > 1e6).unwrap();
    // The first 48 frames of playout (covering the loss and the reorder)
    // are all at the tone's level: no silent or half-silent frame.
    let full = 16384.0f64.powi(2) / 2.0;
    for (k, e) in frames[start + 1..start + 48].iter().enumerate() {
        assert!(
            *e > 0.6 * full,
            "frame {k} after start: energy {e} of {full}"
        );
    }
}

/// A receive-only Opus session (payload type 111; RED on `red` when
/// given) named `name`, and the socket that plays its peer: `(peer, our
/// RTP address, session, what must outlive the session)`.
async fn opus_receiver(name: &str, red: Option<u8>) -> Receiver {
    receiver(name, (Codec::Opus, 111), red).await
}

/// What [`receiver`] gives: the peer's RTP socket, our RTP address, the
/// receiving session, and what must live as long as it.
type Receiver = (
    tokio::net::UdpSocket,
    SocketAddr,
    MediaSession,
    (mpsc::UnboundedReceiver<MediaEvent>, AudioSystem),
);

/// A receive-only session of `codec` (with its payload type) and `red`,
/// on the null audio backend.
async fn receiver(name: &str, codec: (Codec, u8), red: Option<u8>) -> Receiver {
    receiver_on(null_audio(), name, codec, red).await
}

/// A receive-only session on the file backend, writing what it plays to
/// `<dir>/<name>.wav`.
async fn recording_receiver(dir: &Path, name: &str, codec: (Codec, u8)) -> Receiver {
    let audio = AudioSystem::open(&AudioConfig {
        backend: BackendKind::File,
        input: None,
        output_dir: Some(dir.to_path_buf()),
        ..AudioConfig::default()
    })
    .unwrap();
    receiver_on(audio, name, codec, None).await
}

async fn receiver_on(
    audio: AudioSystem,
    name: &str,
    (codec, payload_type): (Codec, u8),
    red: Option<u8>,
) -> Receiver {
    let (peer_rtp, _peer_rtcp) = sockets::bind_pair(ip()).await.unwrap();
    let s = RtpSockets::bind(ip()).await.unwrap();
    let ours = s.rtp_addr();
    let (ev, events) = mpsc::unbounded_channel();
    let mut p = params(peer_rtp.local_addr().unwrap());
    p.codec = codec;
    p.payload_type = payload_type;
    p.red_payload_type = red;
    p.direction = Direction::RecvOnly;
    let m = MediaSession::start(s, p, &audio, name, ev).unwrap();
    (peer_rtp, ours, m, (events, audio))
}

/// One RTP packet, marshalled.
fn rtp_bytes(payload_type: u8, seq: u16, ts: u32, ssrc: u32, payload: Vec<u8>) -> Vec<u8> {
    let pkt = rtp::packet::Packet {
        header: rtp::header::Header {
            version: 2,
            payload_type,
            sequence_number: seq,
            timestamp: ts,
            ssrc,
            ..Default::default()
        },
        payload: payload.into(),
    };
    webrtc_util::marshal::Marshal::marshal(&pkt)
        .unwrap()
        .to_vec()
}

/// Opus with two packets lost in a row: the second comes back from the
/// FEC of the packet after the gap, the first from libopus's own
/// concealment (both in the decoder's order, before that packet), and
/// the call's stats count one of each.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn opus_gap_of_two_is_filled_by_the_decoder_and_its_fec() {
    let (peer_rtp, ours, m, _keep) = opus_receiver("opus-rx", None).await;
    let tone = sine(1000.0, 1.0, opus::RATE);
    let mut enc = opus::Encoder::new();
    let mut clock = tokio::time::interval(Duration::from_millis(20));
    for (i, frame) in tone.chunks(opus::FRAME).enumerate().take(40) {
        let mut payload = Vec::new();
        enc.encode(frame, &mut payload);
        clock.tick().await;
        if i == 20 || i == 21 {
            continue; // lost
        }
        let bytes = rtp_bytes(
            111,
            1000 + i as u16,
            (i * opus::FRAME) as u32,
            0x0F05,
            payload,
        );
        peer_rtp.send_to(&bytes, ours).await.unwrap();
    }
    // The gap is filled at its playout turn and the stats published on
    // the session's own schedule: wait for them (a loaded machine is slow).
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    let mut st = m.stats();
    while (st.fec_recovered == 0 || st.concealed_frames == 0)
        && std::time::Instant::now() < deadline
    {
        sleep(Duration::from_millis(50)).await;
        st = m.stats();
    }
    m.stop().await;
    assert_eq!(st.lost, 2, "{st:?}");
    assert_eq!(st.fec_recovered, 1, "{st:?}");
    assert!(st.concealed_frames >= 1, "{st:?}");
}
