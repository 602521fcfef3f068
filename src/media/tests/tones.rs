//! Session tests of the generated audio: call-progress tones in the
//! speaker (recorded by the file backend), the call-waiting beep mixed over
//! a peer's audio, music on hold sent to a peer, and a session started
//! before the remote address is known.

use super::*;
use crate::media::tones::HOLD_NOTES;

/// File backend without a microphone, recording into `dir/out-<name>`.
fn recorder(dir: &Path, name: &str) -> AudioSystem {
    AudioSystem::open(&AudioConfig {
        backend: BackendKind::File,
        input: None,
        output_dir: Some(dir.join(format!("out-{name}"))),
        ..AudioConfig::default()
    })
    .unwrap()
}

fn unknown_remote() -> RtpParams {
    RtpParams {
        direction: Direction::Inactive,
        red_payload_type: None,
        ..params("0.0.0.0:0".parse().unwrap())
    }
}

/// Index of the first clearly non-silent sample.
fn onset(s: &[i16]) -> usize {
    s.iter().position(|x| x.unsigned_abs() > 500).unwrap()
}

/// Plays `tone` from an inactive start for `ms` and returns the recording.
async fn record_tone(tone: Tone, ms: u64) -> Vec<i16> {
    let dir = tempfile::tempdir().unwrap();
    let audio = recorder(dir.path(), "t");
    let s = RtpSockets::bind(ip()).await.unwrap();
    let (ev, _r) = mpsc::unbounded_channel();
    let m = MediaSession::start(s, unknown_remote(), &audio, "t", ev).unwrap();
    m.set_tone(Some(tone));
    sleep(Duration::from_millis(ms)).await;
    m.stop().await;
    read_wav(&dir.path().join("out-t/t.wav"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ringback_one_second_on_then_silence() {
    let out = record_tone(Tone::Ringback, 1300).await;
    let t0 = onset(&out);
    assert!(t0 < 800, "tone starts late: {t0}");
    assert!(out.len() > t0 + 9000, "{} samples", out.len());
    let on = &out[t0..t0 + 7900];
    assert!(goertzel_power(on, 8000, 425.0) > 0.025);
    let off = &out[t0 + 8000..];
    assert!(off.iter().all(|&x| x == 0), "sound after the on-period");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn busy_half_second_cadence() {
    let out = record_tone(Tone::Busy, 1300).await;
    let t0 = onset(&out);
    assert!(out.len() > t0 + 9800, "{} samples", out.len());
    assert!(goertzel_power(&out[t0..t0 + 3900], 8000, 425.0) > 0.025);
    assert!(out[t0 + 4000..t0 + 7950].iter().all(|&x| x == 0));
    assert!(goertzel_power(&out[t0 + 8050..t0 + 9800], 8000, 425.0) > 0.025);
}

/// Two sessions over loopback; B's microphone is `freq_b`, A's `freq_a`.
async fn pair(
    dir: &Path,
    freq_a: Option<f64>,
    freq_b: Option<f64>,
) -> (MediaSession, MediaSession) {
    let audio = |name: &str, f: Option<f64>| match f {
        Some(f) => file_audio(dir, name, f, 8000),
        None => recorder(dir, name),
    };
    let (audio_a, audio_b) = (audio("a", freq_a), audio("b", freq_b));
    let sa = RtpSockets::bind(ip()).await.unwrap();
    let sb = RtpSockets::bind(ip()).await.unwrap();
    let (addr_a, addr_b) = (sa.rtp_addr(), sb.rtp_addr());
    let (ev_a, _) = mpsc::unbounded_channel();
    let (ev_b, _) = mpsc::unbounded_channel();
    let a = MediaSession::start(sa, params(addr_b), &audio_a, "a", ev_a).unwrap();
    let b = MediaSession::start(sb, params(addr_a), &audio_b, "b", ev_b).unwrap();
    (a, b)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tone_replaces_the_peer_until_cleared() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = pair(dir.path(), None, Some(1400.0)).await;
    a.set_tone(Some(Tone::Ringback));
    sleep(Duration::from_millis(600)).await;
    a.set_tone(None);
    sleep(Duration::from_millis(700)).await;
    a.stop().await;
    b.stop().await;
    let out = read_wav(&dir.path().join("out-a/a.wav"));
    let t0 = onset(&out);
    let ringing = &out[t0 + 800..t0 + 4000];
    assert!(goertzel_power(ringing, 8000, 425.0) > 0.025);
    assert!(goertzel_power(ringing, 8000, 1400.0) < 1e-5);
    // The last 0.4 s: the peer again (ringback would be in its pause).
    let peer = &out[out.len() - 3200..];
    assert!(goertzel_power(peer, 8000, 1400.0) > 0.05);
    assert!(goertzel_power(peer, 8000, 425.0) < 1e-4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waiting_beep_is_mixed_over_the_peer_and_not_sent() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = pair(dir.path(), Some(600.0), Some(1400.0)).await;
    sleep(Duration::from_millis(400)).await;
    a.set_waiting_beep(true);
    sleep(Duration::from_millis(500)).await;
    a.stop().await;
    b.stop().await;
    let out_a = read_wav(&dir.path().join("out-a/a.wav"));
    let out_b = read_wav(&dir.path().join("out-b/b.wav"));
    // The beep (200 ms) is within the last 600 ms, over the peer's tone.
    let end = &out_a[out_a.len() - 4800..];
    assert!(goertzel_power(end, 8000, 1400.0) > 0.05);
    assert!(goertzel_power(end, 8000, 425.0) > 0.001);
    // 2.8 s pause follows: the very end is the peer alone.
    let tail = &out_a[out_a.len() - 1200..];
    assert!(goertzel_power(tail, 8000, 425.0) < 1e-4);
    // B hears A's microphone, never the beep.
    let heard = &out_b[out_b.len() / 3..];
    assert!(goertzel_power(heard, 8000, 600.0) > 0.05);
    assert!(goertzel_power(heard, 8000, 425.0) < 1e-5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hold_music_is_sent_instead_of_the_microphone() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = pair(dir.path(), Some(600.0), None).await;
    a.set_hold_music(true);
    // Sent even while muted.
    a.set_mute(true);
    sleep(Duration::from_millis(1100)).await;
    a.stop().await;
    b.stop().await;
    let out = read_wav(&dir.path().join("out-b/b.wav"));
    let heard = &out[onset(&out) + 800..];
    assert!(heard.len() > 5000, "{} samples", heard.len());
    assert!(goertzel_power(heard, 8000, 600.0) < 1e-4);
    for f in &HOLD_NOTES[..2] {
        let p = goertzel_power(heard, 8000, *f);
        assert!(p > 1e-4, "note {f} Hz: {p}");
    }
}

/// Starts with no remote address (nothing goes out, even when the
/// direction says send), then `update` brings real media.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inactive_start_sends_nothing_until_updated() {
    let (peer_rtp, peer_rtcp) = sockets::bind_pair(ip()).await.unwrap();
    let peer = peer_rtp.local_addr().unwrap();
    let s = RtpSockets::bind(ip()).await.unwrap();
    let ours = s.rtp_addr();
    let (ev, _r) = mpsc::unbounded_channel();
    let rtcp = Duration::from_millis(200);
    let m = MediaSession::start_with(s, unknown_remote(), &null_audio(), "i", ev, rtcp).unwrap();
    m.set_tone(Some(Tone::Ringback));
    sleep(Duration::from_millis(250)).await;
    // Unspecified address with the peer's port: on Linux 0.0.0.0 would
    // reach this host, so silence here shows the address is not used.
    let mut unknown = params(SocketAddr::new("0.0.0.0".parse().unwrap(), peer.port()));
    unknown.direction = Direction::SendRecv;
    m.update(unknown);
    sleep(Duration::from_millis(300)).await;
    let mut buf = [0u8; 2048];
    assert!(peer_rtp.try_recv_from(&mut buf).is_err(), "RTP sent");
    assert!(peer_rtcp.try_recv_from(&mut buf).is_err(), "RTCP sent");

    m.update(params(peer));
    m.set_tone(None);
    let (n, from) = timeout(Duration::from_secs(1), peer_rtp.recv_from(&mut buf))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(from, ours);
    let first = rtp::packet::Packet::unmarshal(&mut &buf[..n]).unwrap();
    assert!(first.header.marker);
    assert_eq!(first.header.payload_type, 0);
    let (_, from) = timeout(Duration::from_secs(1), peer_rtcp.recv_from(&mut buf))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(from.port(), ours.port() + 1);

    // And it receives: the peer's packets are counted.
    let mut pkt = first.clone();
    pkt.header.ssrc = 0x5EED;
    for i in 0..10u16 {
        pkt.header.sequence_number = i;
        pkt.header.timestamp = u32::from(i) * 160;
        let bytes = webrtc_util::marshal::Marshal::marshal(&pkt).unwrap();
        peer_rtp.send_to(&bytes, ours).await.unwrap();
    }
    sleep(Duration::from_millis(150)).await;
    assert_eq!(m.stats().rx_packets, 10);
    m.stop().await;
}
