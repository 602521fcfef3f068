//! Call recording between two loopback sessions: A sends 600 Hz, B sends
//! 1400 Hz; A's stereo recording must hold its own tone on the left and
//! B's on the right, last as long as it ran, and go silent on the left
//! while A is muted.

use super::*;

/// The left and right channels of a finished stereo recording.
fn read_stereo(path: &Path) -> (Vec<i16>, Vec<i16>) {
    let mut r = hound::WavReader::open(path).unwrap();
    let spec = r.spec();
    assert_eq!(
        (spec.channels, spec.sample_rate, spec.bits_per_sample),
        (2, 8000, 16)
    );
    let s: Vec<i16> = r.samples::<i16>().map(Result::unwrap).collect();
    assert_eq!(s.len() % 2, 0);
    let left = s.iter().step_by(2).copied().collect();
    let right = s.iter().skip(1).step_by(2).copied().collect();
    (left, right)
}

/// Power at 600 Hz and 1400 Hz of the last two thirds of `s`.
fn powers(s: &[i16]) -> (f64, f64) {
    let tail = &s[s.len() / 3..];
    (
        goertzel_power(tail, 8000, 600.0),
        goertzel_power(tail, 8000, 1400.0),
    )
}

fn assert_secs(samples: usize, secs: f64) {
    let want = secs * 8000.0;
    let got = samples as f64;
    assert!(
        (got - want).abs() <= want * 0.2,
        "{samples} samples, expected about {want}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_both_directions_in_stereo_and_mute_silences_the_left() {
    let dir = tempfile::tempdir().unwrap();
    let audio_a = file_audio(dir.path(), "a", 600.0, 8000);
    let audio_b = file_audio(dir.path(), "b", 1400.0, 8000);
    let (a, b, _events_b) = connected_pair(&audio_a, &audio_b, RTCP_INTERVAL).await;

    // A bad path fails at once.
    let plain = dir.path().join("plain");
    std::fs::write(&plain, b"x").unwrap();
    let bad = a.set_recording(Some(plain.join("rec.wav")));
    assert!(matches!(bad, Err(MediaError::Audio(_))), "{bad:?}");

    // About 1 s, then stop: parent directories are created.
    let first = dir.path().join("rec/sub/first.wav");
    a.set_recording(Some(first.clone())).unwrap();
    sleep(Duration::from_millis(1000)).await;
    a.set_recording(None).unwrap();
    sleep(Duration::from_millis(200)).await;
    let (left, right) = read_stereo(&first);
    assert_secs(left.len(), 1.0);
    let (l600, l1400) = powers(&left);
    let (r600, r1400) = powers(&right);
    assert!(
        l600 > 0.05 && l1400 < l600 / 100.0,
        "left: 600 {l600}, 1400 {l1400}"
    );
    assert!(
        r1400 > 0.05 && r600 < r1400 / 100.0,
        "right: 600 {r600}, 1400 {r1400}"
    );
    // Stopped: the file no longer grows.
    sleep(Duration::from_millis(200)).await;
    assert_eq!(read_stereo(&first).0.len(), left.len());

    // Switching files finalises the old one; muted, the left is silent.
    let second = dir.path().join("second.wav");
    let third = dir.path().join("third.wav");
    a.set_recording(Some(second.clone())).unwrap();
    sleep(Duration::from_millis(500)).await;
    a.set_mute(true);
    a.set_recording(Some(third.clone())).unwrap();
    sleep(Duration::from_millis(600)).await;
    // Stopping the session finalises the running recording.
    a.stop().await;
    b.stop().await;
    let (left2, _) = read_stereo(&second);
    assert_secs(left2.len(), 0.5);
    assert!(powers(&left2).0 > 0.05);
    let (left3, right3) = read_stereo(&third);
    assert_secs(left3.len(), 0.6);
    assert!(left3.iter().all(|&s| s == 0), "sent audio while muted");
    let (r600, r1400) = powers(&right3);
    assert!(
        r1400 > 0.05 && r600 < r1400 / 100.0,
        "right: 600 {r600}, 1400 {r1400}"
    );
}

/// Music on hold is what the left channel gets (not the microphone); the
/// file is a readable WAV while the recording still runs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hold_music_is_recorded_as_sent_and_the_file_is_readable_midway() {
    let dir = tempfile::tempdir().unwrap();
    let audio_a = file_audio(dir.path(), "a", 600.0, 8000);
    let audio_b = file_audio(dir.path(), "b", 1400.0, 8000);
    let (a, b, _events_b) = connected_pair(&audio_a, &audio_b, RTCP_INTERVAL).await;
    a.set_hold_music(true);
    let path = dir.path().join("hold.wav");
    a.set_recording(Some(path.clone())).unwrap();
    sleep(Duration::from_millis(700)).await;
    // Not finalised yet, but valid and already holding most of the audio.
    let (midway, _) = read_stereo(&path);
    assert!(midway.len() >= 4000, "{} samples", midway.len());
    // Dropping the handle still finalises the recording.
    drop(a);
    sleep(Duration::from_millis(200)).await;
    b.stop().await;
    let (left, _) = read_stereo(&path);
    assert!(left.len() >= midway.len());
    assert_secs(left.len(), 0.7);
    let energy = left.iter().map(|&s| f64::from(s).powi(2)).sum::<f64>() / left.len() as f64;
    assert!(energy > 1e4, "left energy {energy}");
    let (l600, _) = powers(&left);
    assert!(l600 < 1e-3, "microphone leaked into hold music: {l600}");
}
