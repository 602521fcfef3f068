//! SRTP sessions over loopback: what goes on the wire is SRTP/SRTCP the
//! peer's keys open; tampered, plain and replayed-from-elsewhere packets
//! are dropped (the tampered and plain ones counted) and the call goes on;
//! two SRTP sessions hear each other's tone.

use super::*;
use crate::media::srtp::SrtpSession;
use crate::rtp_types::{CryptoSuite, KeySalt, SrtpKeys};

fn keys(suite: CryptoSuite) -> (SrtpKeys, SrtpKeys) {
    let (a, b) = (KeySalt::random(), KeySalt::random());
    let ours = SrtpKeys {
        suite,
        local: a.clone(),
        remote: b.clone(),
    };
    let theirs = SrtpKeys {
        suite,
        local: b,
        remote: a,
    };
    (ours, theirs)
}

fn pcmu(seq: u16) -> Vec<u8> {
    let mut v = vec![0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x0B, 0xAD];
    v[2..4].copy_from_slice(&seq.to_be_bytes());
    v[4..8].copy_from_slice(&(u32::from(seq) * 160).to_be_bytes());
    v.extend(std::iter::repeat_n(0xFFu8, 160));
    v
}

async fn wait_stats(m: &MediaSession, done: impl Fn(&MediaStats) -> bool) -> MediaStats {
    for _ in 0..100 {
        let s = m.stats();
        if done(&s) {
            return s;
        }
        sleep(Duration::from_millis(20)).await;
    }
    m.stats()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tampered_srtp_is_dropped_and_counted_while_the_call_goes_on() {
    let peer = tokio::net::UdpSocket::bind((ip(), 0)).await.unwrap();
    let stranger = tokio::net::UdpSocket::bind((ip(), 0)).await.unwrap();
    let s = RtpSockets::bind(ip()).await.unwrap().symmetric(false);
    let ours = s.rtp_addr();
    let (session_keys, peer_keys) = keys(CryptoSuite::AesCm128HmacSha1_80);
    let mut theirs = SrtpSession::from_keys(&peer_keys).unwrap();
    let (ev, _events) = mpsc::unbounded_channel();
    let m = MediaSession::start_secure(
        s,
        params(peer.local_addr().unwrap()),
        Some(session_keys),
        &null_audio(),
        "srtp",
        ev,
    )
    .unwrap();

    // What we send is SRTP: the peer's keys open it, it is longer by the
    // tag, and the payload on the wire is not the plain one.
    let mut buf = [0u8; 2048];
    let (n, _) = timeout(Duration::from_secs(1), peer.recv_from(&mut buf))
        .await
        .expect("nothing sent")
        .unwrap();
    let plain = theirs
        .unprotect_rtp(&buf[..n])
        .expect("not SRTP of our keys");
    assert_eq!(n, plain.len() + 10);
    assert_ne!(buf[12..n - 10], plain[12..]);

    for seq in 0..5 {
        let wire = theirs.protect_rtp(&pcmu(seq)).unwrap();
        peer.send_to(&wire, ours).await.unwrap();
    }
    let got = wait_stats(&m, |s| s.rx_packets >= 5).await;
    assert_eq!((got.rx_packets, got.srtp_dropped), (5, 0), "{got:?}");

    // Tampered payloads and plain RTP fail authentication: dropped, counted.
    for seq in 5..8 {
        let mut wire = theirs.protect_rtp(&pcmu(seq)).unwrap();
        wire[40] ^= 0x01;
        peer.send_to(&wire, ours).await.unwrap();
    }
    peer.send_to(&pcmu(8), ours).await.unwrap();
    let got = wait_stats(&m, |s| s.srtp_dropped >= 4).await;
    assert_eq!((got.rx_packets, got.srtp_dropped), (5, 4), "{got:?}");

    // A valid packet from a stranger is dropped by its source before any
    // decryption (not counted); malformed headers likewise.
    let wire = theirs.protect_rtp(&pcmu(9)).unwrap();
    stranger.send_to(&wire, ours).await.unwrap();
    peer.send_to(
        &[0x90, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0xBE, 0xDE, 0, 9],
        ours,
    )
    .await
    .unwrap();
    // The call goes on: the peer's next packets are heard.
    for seq in 10..12 {
        let wire = theirs.protect_rtp(&pcmu(seq)).unwrap();
        peer.send_to(&wire, ours).await.unwrap();
    }
    let got = wait_stats(&m, |s| s.rx_packets >= 7).await;
    assert_eq!((got.rx_packets, got.srtp_dropped), (7, 4), "{got:?}");
    m.stop().await;
}

/// Two SRTP sessions with matching keys hear each other's tone, and the
/// SRTCP reports go through (a round-trip time is measured).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_srtp_sessions_hear_each_other() {
    let dir = tempfile::tempdir().unwrap();
    let audio_a = file_audio(dir.path(), "a", 600.0, 8000);
    let audio_b = file_audio(dir.path(), "b", 1000.0, 8000);
    let sa = RtpSockets::bind(ip()).await.unwrap();
    let sb = RtpSockets::bind(ip()).await.unwrap();
    let (addr_a, addr_b) = (sa.rtp_addr(), sb.rtp_addr());
    let (ka, kb) = keys(CryptoSuite::AesCm128HmacSha1_32);
    let (ev_a, _a) = mpsc::unbounded_channel();
    let (ev_b, _b) = mpsc::unbounded_channel();
    let rtcp = Duration::from_millis(200);
    let a =
        MediaSession::start_secure_with(sa, params(addr_b), Some(ka), &audio_a, "sa", ev_a, rtcp)
            .unwrap();
    let b =
        MediaSession::start_secure_with(sb, params(addr_a), Some(kb), &audio_b, "sb", ev_b, rtcp)
            .unwrap();
    let got = wait_stats(&b, |s| s.rx_packets >= 40 && s.rtt_ms.is_some()).await;
    assert!(got.rx_packets >= 40 && got.rtt_ms.is_some(), "{got:?}");
    assert_eq!(got.srtp_dropped, 0);
    a.stop().await;
    b.stop().await;
    let heard = read_wav(&dir.path().join("out-b").join("sb.wav"));
    let f = |hz| goertzel_power(&heard[heard.len() / 2..], 8000, hz);
    assert!(f(600.0) > 10.0 * f(1000.0), "B did not hear A's 600 Hz");
}
