//! A conference of real sessions over loopback: three peers, each in its
//! own file-backend audio system sending its own tone, talk to three member
//! sessions of one conference whose microphone sends a fourth tone. Member
//! 2 joins late, member 0 leaves; the recordings tell who heard whom.

use super::*;
use crate::media::conference::Conference;
use std::time::Instant;

/// Our tone and the peers' tones: no one is a sum or difference of two
/// others, so G.711's intermodulation cannot fake a tone.
const OURS: f64 = 530.0;
const PEERS: [f64; 3] = [770.0, 1190.0, 1870.0];
/// Tone amplitude: four of them still stay below full scale.
const AMP: f64 = 0.2;

fn quiet_tone_audio(dir: &Path, name: &str, freq: f64) -> AudioSystem {
    let input = dir.join(format!("{name}.wav"));
    let mut w = hound::WavWriter::create(&input, audio::wav::spec_8k_mono()).unwrap();
    let w_rad = 2.0 * std::f64::consts::PI * freq / 8000.0;
    for i in 0..8000 {
        let s = ((w_rad * f64::from(i)).sin() * AMP * 32767.0).round() as i16;
        w.write_sample(s).unwrap();
    }
    w.finalize().unwrap();
    AudioSystem::open(&AudioConfig {
        backend: BackendKind::File,
        input: Some(input),
        output_dir: Some(dir.join(format!("out-{name}"))),
        ..AudioConfig::default()
    })
    .unwrap()
}

/// Which of our tone and the peers' tones `s` holds, asserting each is
/// clearly there (power > 0.006, the sine alone gives 0.02) or clearly not
/// (< 0.0003).
fn heard(s: &[i16], what: &str) -> Vec<f64> {
    let mut found = Vec::new();
    for f in std::iter::once(OURS).chain(PEERS) {
        let p = goertzel_power(s, 8000, f);
        assert!(
            !(0.0003..=0.006).contains(&p),
            "{what}: unclear {f} Hz power {p}"
        );
        if p > 0.006 {
            found.push(f);
        }
    }
    found
}

/// Samples of a recording between `from` and `to` seconds after `t0`.
fn window(rec: &[i16], from: f64, to: f64) -> &[i16] {
    let a = ((from * 8000.0) as usize).min(rec.len());
    let b = ((to * 8000.0) as usize).min(rec.len());
    &rec[a..b]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn members_hear_everybody_but_themselves_and_leave_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let ours = quiet_tone_audio(dir.path(), "us", OURS);
    let conf = Conference::new(&ours, "conf").unwrap();
    assert_eq!(conf.name(), "conf");
    let t0 = Instant::now();
    let mut peers = Vec::new();
    let mut members = Vec::new();
    for (k, &f) in PEERS.iter().enumerate() {
        let audio = quiet_tone_audio(dir.path(), &format!("p{k}"), f);
        let sp = RtpSockets::bind(ip()).await.unwrap();
        let sm = RtpSockets::bind(ip()).await.unwrap();
        let (ap, am) = (sp.rtp_addr(), sm.rtp_addr());
        let (ev, _) = mpsc::unbounded_channel();
        let peer = MediaSession::start(sp, params(am), &audio, &format!("p{k}"), ev).unwrap();
        let (ev, _) = mpsc::unbounded_channel();
        let member = MediaSession::start(sm, params(ap), &ours, &format!("m{k}"), ev).unwrap();
        peers.push(peer);
        members.push(member);
    }
    // Phase 1 (0-1.2 s): members 0 and 1.
    let m0 = conf.join(&members[0]);
    let m1 = members[1].set_conference(Some(&conf)).unwrap();
    sleep(Duration::from_millis(1200)).await;
    let t1 = t0.elapsed().as_secs_f64();
    // Phase 2: member 2 joins late.
    let m2 = conf.join(&members[2]);
    assert_eq!(conf.members(), vec![m0, m1, m2]);
    sleep(Duration::from_millis(1200)).await;
    let levels = conf.levels();
    let t2 = t0.elapsed().as_secs_f64();
    // Phase 3: member 0 leaves, back to its own call audio.
    assert!(conf.leave(m0));
    assert!(!conf.leave(m0));
    sleep(Duration::from_millis(1200)).await;
    let t3 = t0.elapsed().as_secs_f64();
    conf.stop().await;
    for s in peers.into_iter().chain(members) {
        s.stop().await;
    }

    // Every member is speaking its tone at AMP: about -17 dBFS.
    assert_eq!(levels.len(), 3);
    for (id, db) in &levels {
        assert!((-22.0..-12.0).contains(db), "{id}: {db} dBFS");
    }

    let rec = |name: &str| read_wav(&dir.path().join(format!("out-{name}/{name}.wav")));
    let conf_rec = read_wav(&dir.path().join("out-us/conf.wav"));
    let [o, p0, p1, p2] = [OURS, PEERS[0], PEERS[1], PEERS[2]];
    // Settling margins: 300 ms after each change.
    let phases = [(0.3, t1), (t1 + 0.3, t2), (t2 + 0.3, t3 - 0.1)];
    let expect_peer: [[Vec<f64>; 3]; 3] = [
        // Peer 0, 1, 2 in phase 1: peer 2's member is not in yet, so it
        // hears its member's own call audio (our microphone).
        [vec![o, p1], vec![o, p0], vec![o]],
        [vec![o, p1, p2], vec![o, p0, p2], vec![o, p0, p1]],
        // Member 0 left: its peer hears our microphone on its own call.
        [vec![o], vec![o, p2], vec![o, p1]],
    ];
    let expect_us = [vec![p0, p1], vec![p0, p1, p2], vec![p1, p2]];
    let recs: Vec<Vec<i16>> = (0..3).map(|k| rec(&format!("p{k}"))).collect();
    for (ph, (&(a, b), expect)) in phases.iter().zip(&expect_peer).enumerate() {
        for (k, (r, want)) in recs.iter().zip(expect).enumerate() {
            let what = format!("peer {k}, phase {}", ph + 1);
            assert_eq!(&heard(window(r, a, b), &what), want, "{what}");
        }
    }
    for (ph, &(a, b)) in phases.iter().enumerate() {
        let what = format!("our speaker, phase {}", ph + 1);
        // Our recording starts with the conference, a little before t0.
        assert_eq!(
            heard(window(&conf_rec, a, b), &what),
            expect_us[ph],
            "{what}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn split_rejoin_and_hold_with_real_sessions() {
    let dir = tempfile::tempdir().unwrap();
    let ours = quiet_tone_audio(dir.path(), "us", OURS);
    let conf = Conference::new(&ours, "conf").unwrap();
    let t0 = Instant::now();
    let mut peers = Vec::new();
    let mut members = Vec::new();
    let mut to_peer = Vec::new();
    for (k, &f) in PEERS[..2].iter().enumerate() {
        let audio = quiet_tone_audio(dir.path(), &format!("p{k}"), f);
        let sp = RtpSockets::bind(ip()).await.unwrap();
        let sm = RtpSockets::bind(ip()).await.unwrap();
        let (ap, am) = (sp.rtp_addr(), sm.rtp_addr());
        let (ev, _) = mpsc::unbounded_channel();
        peers.push(MediaSession::start(sp, params(am), &audio, &format!("p{k}"), ev).unwrap());
        let (ev, _) = mpsc::unbounded_channel();
        members.push(MediaSession::start(sm, params(ap), &ours, &format!("m{k}"), ev).unwrap());
        to_peer.push(params(ap));
    }
    let ids: Vec<MemberId> = members.iter().map(|m| conf.join(m)).collect();
    sleep(Duration::from_millis(1000)).await;
    let t1 = t0.elapsed().as_secs_f64();
    // Split with member 1: it and we talk privately, member 0 is alone.
    assert!(conf.split(ids[1]));
    assert_eq!(conf.split_member(), Some(ids[1]));
    sleep(Duration::from_millis(1000)).await;
    let t2 = t0.elapsed().as_secs_f64();
    conf.rejoin();
    // Member 0 on hold (we only send to it) and our microphone muted.
    let mut held = to_peer[0].clone();
    held.direction = Direction::SendOnly;
    members[0].update(held);
    conf.set_muted(true);
    sleep(Duration::from_millis(1000)).await;
    let t3 = t0.elapsed().as_secs_f64();
    // Back from hold, member 1 muted; we leave the conference for good:
    // members go back to their own calls.
    members[0].update(to_peer[0].clone());
    conf.set_muted(false);
    assert!(conf.set_member_muted(ids[1], true));
    sleep(Duration::from_millis(1000)).await;
    let t4 = t0.elapsed().as_secs_f64();
    conf.stop().await;
    sleep(Duration::from_millis(800)).await;
    let t5 = t0.elapsed().as_secs_f64();
    for s in peers.into_iter().chain(members) {
        s.stop().await;
    }

    let rec = |name: &str| read_wav(&dir.path().join(format!("out-{name}/{name}.wav")));
    let (r0, r1) = (rec("p0"), rec("p1"));
    let conf_rec = read_wav(&dir.path().join("out-us/conf.wav"));
    let [o, p0, p1] = [OURS, PEERS[0], PEERS[1]];
    let phases = [
        (0.3, t1),
        (t1 + 0.3, t2),
        (t2 + 0.3, t3),
        (t3 + 0.3, t4),
        (t4 + 0.3, t5 - 0.1),
    ];
    let expect: [[Vec<f64>; 3]; 5] = [
        [vec![o, p1], vec![o, p0], vec![p0, p1]],
        // Split: peer 0 alone hears nothing.
        [vec![], vec![o], vec![p1]],
        // Peer 0 held: nobody hears it; it still gets peer 1. We are muted.
        [vec![p1], vec![], vec![p1]],
        // Member 1 muted: nobody hears it.
        [vec![o], vec![o, p0], vec![p0]],
        // Conference over: each member sends its own call's microphone.
        [vec![o], vec![o], vec![]],
    ];
    for (ph, (&(a, b), want)) in phases.iter().zip(&expect).enumerate() {
        let what = |who: &str| format!("{who}, phase {}", ph + 1);
        assert_eq!(heard(window(&r0, a, b), &what("peer 0")), want[0]);
        assert_eq!(heard(window(&r1, a, b), &what("peer 1")), want[1]);
        if ph < 4 {
            let w = what("our speaker");
            assert_eq!(heard(window(&conf_rec, a, b), &w), want[2], "{w}");
        }
    }
}
