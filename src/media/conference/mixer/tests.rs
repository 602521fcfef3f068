//! Mixer tests with synthetic frames.

use super::*;
use crate::media::tone::goertzel_power;

/// A sine of `freq` at `amp` (fraction of full scale), frame `n`.
fn tone_frame(freq: f64, amp: f64, n: usize) -> [i16; MIX_FRAME] {
    let mut f = [0i16; MIX_FRAME];
    let w = 2.0 * std::f64::consts::PI * freq / f64::from(MIX_RATE);
    for (i, s) in f.iter_mut().enumerate() {
        let t = (n * MIX_FRAME + i) as f64;
        *s = ((w * t).sin() * amp * 32767.0).round() as i16;
    }
    f
}

/// Runs `ticks` ticks: each party in `parties` (id, freq) writes its tone;
/// returns every party's output, concatenated.
fn run(mixer: &mut Mixer, parties: &[(u64, f64)], ticks: usize) -> Vec<Vec<i16>> {
    let mut outs = vec![Vec::new(); parties.len()];
    for n in 0..ticks {
        for (k, &(id, freq)) in parties.iter().enumerate() {
            let mut out = [0i16; MIX_FRAME];
            assert!(mixer.exchange(id, &tone_frame(freq, 0.1, n), true, &mut out));
            outs[k].extend_from_slice(&out);
        }
    }
    outs
}

fn power(s: &[i16], f: f64) -> f64 {
    goertzel_power(s, MIX_RATE, f)
}

/// Each party hears every other party's tone and not its own.
fn assert_mix_minus(parties: &[(u64, f64)], outs: &[Vec<i16>], skip: usize) {
    for (k, &(id, own)) in parties.iter().enumerate() {
        let s = &outs[k][skip..];
        assert!(power(s, own) < 1e-6, "{id} hears itself: {}", power(s, own));
        for &(other, f) in parties.iter().filter(|p| p.0 != id) {
            let p = power(s, f);
            // 0.1 of full scale: 0.005.
            assert!(p > 0.004, "{id} does not hear {other}: {p}");
        }
    }
}

const FREQS: [f64; 11] = [
    400.0, 620.0, 860.0, 1100.0, 1380.0, 1700.0, 2050.0, 2330.0, 2640.0, 2950.0, 3270.0,
];

fn conference(members: usize) -> (Mixer, Vec<(u64, f64)>) {
    let mut m = Mixer::new();
    let mut parties = vec![(LOCAL, FREQS[0])];
    for (i, &f) in FREQS.iter().enumerate().take(members + 1).skip(1) {
        assert!(m.add(i as u64));
        parties.push((i as u64, f));
    }
    (m, parties)
}

#[test]
fn mix_minus_with_three_members() {
    let (mut m, parties) = conference(3);
    let outs = run(&mut m, &parties, 50);
    assert_mix_minus(&parties, &outs, 4 * MIX_FRAME);
}

#[test]
fn mix_minus_with_six_members() {
    let (mut m, parties) = conference(6);
    assert_eq!(m.members(), vec![1, 2, 3, 4, 5, 6]);
    let outs = run(&mut m, &parties, 50);
    assert_mix_minus(&parties, &outs, 4 * MIX_FRAME);
    // The frames arrive whole and in order: after the start-up lag, the
    // output is exactly the others' sum (no gaps, no repeats).
    let expect: Vec<i16> = (0..10)
        .flat_map(|n| {
            let mut acc = [0i32; MIX_FRAME];
            for &(_, f) in &parties[1..] {
                for (a, s) in acc.iter_mut().zip(tone_frame(f, 0.1, n)) {
                    *a += i32::from(s);
                }
            }
            acc.map(saturate)
        })
        .collect();
    // LOCAL ticks first: it reads frame n - 2 of the members at tick n...
    // after the 10 ms fade-in, which ends within the first frame read.
    assert_eq!(
        &outs[0][3 * MIX_FRAME..12 * MIX_FRAME],
        &expect[MIX_FRAME..10 * MIX_FRAME]
    );
}

#[test]
fn mix_minus_with_ten_members() {
    let (mut m, parties) = conference(10);
    let outs = run(&mut m, &parties, 50);
    assert_mix_minus(&parties, &outs, 4 * MIX_FRAME);
}

#[test]
fn full_scale_saturates_instead_of_wrapping() {
    let mut m = Mixer::new();
    m.add(1);
    m.add(2);
    let mut out = [0i16; MIX_FRAME];
    for _ in 0..6 {
        m.exchange(1, &[i16::MAX; MIX_FRAME], true, &mut out);
        m.exchange(2, &[i16::MAX; MIX_FRAME], true, &mut out);
        m.exchange(LOCAL, &[0; MIX_FRAME], true, &mut out);
    }
    assert!(out.iter().all(|&s| s == i16::MAX), "{:?}", &out[..4]);
    for _ in 0..6 {
        m.exchange(1, &[i16::MIN; MIX_FRAME], true, &mut out);
        m.exchange(2, &[i16::MIN; MIX_FRAME], true, &mut out);
        m.exchange(LOCAL, &[0; MIX_FRAME], true, &mut out);
    }
    assert!(out.iter().all(|&s| s == i16::MIN), "{:?}", &out[..4]);
    // One full-scale party alone passes unchanged.
    m.remove(2);
    for _ in 0..6 {
        m.exchange(1, &[-12345; MIX_FRAME], true, &mut out);
        m.exchange(LOCAL, &[0; MIX_FRAME], true, &mut out);
    }
    assert!(out.iter().all(|&s| s == -12345));
}

#[test]
fn a_stalled_member_does_not_stall_or_glitch_the_others() {
    let (mut m, parties) = conference(3);
    let mut outs = vec![Vec::new(); 4];
    for n in 0..60 {
        for (k, &(id, f)) in parties.iter().enumerate() {
            // Member 3 stops ticking after frame 20 (task stalled).
            if id == 3 && n >= 20 {
                continue;
            }
            let mut out = [0i16; MIX_FRAME];
            m.exchange(id, &tone_frame(f, 0.1, n), true, &mut out);
            outs[k].extend_from_slice(&out);
        }
    }
    // Member 1 keeps hearing us and member 2 in every single frame.
    for (n, frame) in outs[1].chunks(MIX_FRAME).enumerate().skip(3) {
        assert!(power(frame, FREQS[0]) > 0.003, "frame {n}: no local");
        assert!(power(frame, FREQS[2]) > 0.003, "frame {n}: no member 2");
    }
    // ... and member 3 only until it stalled (plus the frames in flight).
    assert!(power(&outs[1][25 * MIX_FRAME..], FREQS[3]) < 1e-9);
    // Exactly the sum of the two others: no holes.
    assert_eq!(outs[1].len(), 60 * MIX_FRAME);
}

#[test]
fn a_member_far_behind_skips_ahead_instead_of_lagging() {
    let (mut m, _) = conference(1);
    let mut out = [0i16; MIX_FRAME];
    for n in 0..30 {
        m.exchange(LOCAL, &tone_frame(400.0, 0.1, n), true, &mut out);
    }
    // Member 1 ticks for the first time 30 frames in: it gets recent
    // audio at once (frame 28, fading in), not the oldest.
    m.exchange(1, &[0; MIX_FRAME], true, &mut out);
    let src = tone_frame(400.0, 0.1, 28);
    for i in FADE..MIX_FRAME {
        assert_eq!(out[i], src[i]);
    }
    // Then member 1 falls far behind: it skips ahead to LAG frames back.
    for n in 30..40 {
        m.exchange(LOCAL, &tone_frame(400.0, 0.1, n), true, &mut out);
    }
    m.exchange(1, &[0; MIX_FRAME], true, &mut out);
    assert_eq!(out, tone_frame(400.0, 0.1, 38));
    m.exchange(1, &[0; MIX_FRAME], true, &mut out);
    assert_eq!(out, tone_frame(400.0, 0.1, 39));
    // Nothing new: silence, not a repeat.
    m.exchange(1, &[0; MIX_FRAME], true, &mut out);
    assert!(out.iter().all(|&s| s == 0));
}

#[test]
fn split_and_rejoin() {
    let (mut m, parties) = conference(3);
    run(&mut m, &parties, 10);
    assert!(m.split(2));
    assert_eq!(m.split_member(), Some(2));
    let outs = run(&mut m, &parties, 40);
    let skip = 4 * MIX_FRAME;
    let p = |k: usize, f: usize| power(&outs[k][skip..], FREQS[f]);
    // We hear only member 2, member 2 hears only us.
    assert!(p(0, 2) > 0.004 && p(0, 1) < 1e-6 && p(0, 3) < 1e-6);
    assert!(p(2, 0) > 0.004 && p(2, 1) < 1e-6 && p(2, 3) < 1e-6);
    // Members 1 and 3 hear each other, not us, not member 2.
    assert!(p(1, 3) > 0.004 && p(1, 0) < 1e-6 && p(1, 2) < 1e-6);
    assert!(p(3, 1) > 0.004 && p(3, 0) < 1e-6 && p(3, 2) < 1e-6);
    m.rejoin();
    assert_eq!(m.split_member(), None);
    let outs = run(&mut m, &parties, 40);
    assert_mix_minus(&parties, &outs, 4 * MIX_FRAME);
    // Removing the split member ends the split.
    assert!(m.split(3));
    assert!(m.remove(3));
    assert_eq!(m.split_member(), None);
    assert!(!m.split(LOCAL) && !m.split(9));
    let parties = &parties[..3];
    let outs = run(&mut m, parties, 40);
    assert_mix_minus(parties, &outs, 4 * MIX_FRAME);
}

#[test]
fn hold_and_mute_fade_out_without_a_click() {
    let mut m = Mixer::new();
    m.add(1);
    let mut out = [0i16; MIX_FRAME];
    let dc = [10_000i16; MIX_FRAME];
    let mut heard = Vec::new();
    for n in 0..20 {
        // Member 1 goes on hold (not receiving) at frame 8.
        m.exchange(1, &dc, n < 8, &mut out);
        m.exchange(LOCAL, &[0; MIX_FRAME], true, &mut out);
        heard.extend_from_slice(&out);
    }
    let max_step = heard
        .windows(2)
        .map(|w| (i32::from(w[1]) - i32::from(w[0])).abs())
        .max()
        .unwrap();
    // A 10 ms linear ramp: 10000 / 80 per sample, both ways.
    assert!(max_step <= 10_000 / FADE as i32 + 1, "{max_step}");
    let first_full = heard.iter().position(|&s| s == 10_000).unwrap();
    assert!(first_full < MIX_FRAME * 3);
    let fade_start = 8 * MIX_FRAME;
    assert_eq!(heard[fade_start - 1], 10_000);
    assert!(heard[fade_start + FADE / 2] > 4000 && heard[fade_start + FADE / 2] < 6000);
    assert!(heard[fade_start + FADE..].iter().all(|&s| s == 0));

    // Mute: the same fade.
    let mut m = Mixer::new();
    m.add(1);
    let mut heard = Vec::new();
    for n in 0..12 {
        if n == 6 {
            assert!(m.set_muted(1, true));
        }
        m.exchange(1, &dc, true, &mut out);
        m.exchange(LOCAL, &[0; MIX_FRAME], true, &mut out);
        heard.extend_from_slice(&out);
    }
    assert_eq!(heard[6 * MIX_FRAME - 1], 10_000);
    assert!(heard[6 * MIX_FRAME + FADE..].iter().all(|&s| s == 0));
    assert!(!m.set_muted(7, true));
}

#[test]
fn levels_follow_the_input() {
    let (mut m, parties) = conference(2);
    let mut out = [0i16; MIX_FRAME];
    m.exchange(1, &tone_frame(400.0, 0.5, 0), true, &mut out);
    m.exchange(2, &[0; MIX_FRAME], true, &mut out);
    m.exchange(LOCAL, &tone_frame(400.0, 1.0, 0), true, &mut out);
    let levels = m.levels();
    assert_eq!(levels.len(), 2);
    assert_eq!(levels[0].0, 1);
    // A sine at half scale: RMS -9 dBFS.
    assert!((levels[0].1 + 9.03).abs() < 0.2, "{levels:?}");
    assert_eq!(levels[1], (2, SILENCE_DBFS));
    assert!((m.local_level() + 3.01).abs() < 0.2);
    // The level decays over a few frames of silence.
    for _ in 0..40 {
        m.exchange(1, &[0; MIX_FRAME], true, &mut out);
    }
    assert!(m.levels()[0].1 < -60.0);
    assert_eq!(parties.len(), 3);
}

#[test]
fn removed_ports_and_unknown_ids() {
    let mut m = Mixer::new();
    assert!(m.add(5));
    assert!(!m.add(5));
    assert!(!m.add(LOCAL));
    assert!(m.contains(5));
    let mut out = [1i16; MIX_FRAME];
    assert!(!m.exchange(6, &[0; MIX_FRAME], true, &mut out));
    assert!(out.iter().all(|&s| s == 0));
    assert!(m.remove(5));
    assert!(!m.remove(5));
    assert!(!m.remove(LOCAL));
    assert!(m.members().is_empty());
}
