//! The delay a stateful codec's playout stands at under bursts of loss
//! and jitter: packets held in the reorder stage behind a missing one
//! count in it, so a gap is not mistaken for a short buffer and stretched
//! over (which added a frame of delay at nearly every loss and let an
//! Opus or G.722 call drift to most of a second behind).

use super::*;

/// Packets of the stream: 8 s of 20 ms frames.
const COUNT: u32 = 400;
/// Every 20th packet (the tenth of each twenty) is a beep, the rest
/// silence; each twenty starts with a burst of three lost.
const BEEP_EVERY: u32 = 20;
const BEEP_AT: u32 = 10;
const BURST: u32 = 3;

/// The seeded schedule: (send offset in ms, packet index), sorted by
/// offset, the lost packets left out; each packet is sent 0–40 ms late.
fn bursts_and_jitter() -> Vec<(u64, u32)> {
    let mut state: u32 = 0x2545_f491;
    let mut next = move || {
        // xorshift32: deterministic, no crate needed.
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        state
    };
    let mut out: Vec<(u64, u32)> = (0..COUNT)
        .filter(|i| i % BEEP_EVERY >= BURST)
        .map(|i| (u64::from(i) * 20 + u64::from(next() % 41), i))
        .collect();
    out.sort();
    out
}

/// Where each beep starts in `played` (16 kHz), in ms: the first sample
/// of each loud stretch after at least 100 ms of quiet.
fn onsets_ms(played: &[i16]) -> Vec<f64> {
    let mut out = Vec::new();
    let mut quiet = usize::MAX;
    for (n, &s) in played.iter().enumerate() {
        if s.unsigned_abs() > 4000 {
            if quiet >= 1600 {
                out.push(n as f64 / 16.0);
            }
            quiet = 0;
        } else {
            quiet = quiet.saturating_add(1);
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_g722_playout_does_not_drift_under_bursts_and_jitter() {
    let dir = tempfile::tempdir().unwrap();
    let (peer_rtp, ours, m, _keep) =
        recording_receiver(dir.path(), "delay", (Codec::G722, 9)).await;

    let beep = sine(1000.0, 0.02, 16_000);
    let silence = vec![0i16; 320];
    let mut enc = crate::media::codec::Encoder::new(Codec::G722);
    let payloads: Vec<Vec<u8>> = (0..COUNT)
        .map(|i| {
            let mut out = Vec::new();
            let pcm = if i % BEEP_EVERY == BEEP_AT {
                &beep
            } else {
                &silence
            };
            enc.encode(pcm, &mut out);
            out
        })
        .collect();
    let start = tokio::time::Instant::now();
    let mut delays = Vec::new();
    for (at, i) in bursts_and_jitter() {
        tokio::time::sleep_until(start + Duration::from_millis(at)).await;
        // G.722's RTP clock runs at 8000 Hz: 160 ticks a frame.
        let payload = payloads[i as usize].clone();
        let bytes = rtp_bytes(9, 500 + i as u16, i * 160, 0x722, payload);
        peer_rtp.send_to(&bytes, ours).await.unwrap();
        delays.extend(m.stats().playout_ms);
    }
    sleep(Duration::from_millis(300)).await;
    let st = m.stats();
    m.stop().await;
    assert!(st.lost >= 50, "{st:?}");

    let mut r = hound::WavReader::open(dir.path().join("delay.wav")).unwrap();
    assert_eq!(r.spec().sample_rate, 16_000);
    let played: Vec<i16> = r.samples::<i16>().map(Result::unwrap).collect();
    let onsets = onsets_ms(&played);
    let beeps = COUNT / BEEP_EVERY;
    assert_eq!(onsets.len(), beeps as usize, "beeps heard at {onsets:?}");
    // How far behind its send time each beep was played (the recording
    // starts with the session, a constant offset).
    let lag: Vec<f64> = onsets
        .iter()
        .enumerate()
        .map(|(k, t)| t - f64::from(k as u32 * BEEP_EVERY + BEEP_AT) * 20.0)
        .collect();
    // The delay grows over the first losses to what this jitter calls
    // for, and then holds: before packets held for reordering counted,
    // each burst added about a frame, and the lag grew by 25 ms every
    // 400 ms for as long as the call lasted.
    let half = lag.len() / 2;
    let settled = lag[half];
    let later = lag[half..].iter().copied().fold(f64::MIN, f64::max);
    assert!(
        later - settled <= 60.0,
        "the playout drifted {:.0} ms in the last 4 s: lags {lag:.0?}",
        later - settled
    );
    assert!(later - lag[0] <= 220.0, "lags {lag:.0?}");
    // `stats.playout_ms` tells the delay while playing, within the bounds.
    assert!(!delays.is_empty(), "no playout_ms while playing: {st:?}");
    let worst = delays.iter().copied().max().unwrap_or(0);
    eprintln!("lags {lag:.0?}; playout_ms up to {worst}");
    assert!(worst <= 220, "playout_ms up to {worst}: {delays:?}");
}
