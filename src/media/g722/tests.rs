//! G.722 against the reference: the known values below are what the
//! spandsp implementation of ITU-T G.722 (64 kbit/s, unpacked) gives for
//! the same input, bit for bit; plus a round trip with an SNR bound and a
//! tone above 4 kHz that only a wideband codec carries.

use super::*;
use crate::media::tone::{goertzel_power, sine};

/// 0.2 s at 16 kHz: 1 kHz and 6 kHz tones and a 300 Hz → 7.3 kHz sweep.
fn test_signal() -> Vec<i16> {
    let n = 3200;
    (0..n)
        .map(|i| {
            let t = f64::from(i) / 16000.0;
            let f = 300.0 + 7000.0 * f64::from(i) / f64::from(n);
            let tau = 2.0 * std::f64::consts::PI;
            (9000.0 * (tau * 1000.0 * t).sin()
                + 6000.0 * (tau * 6000.0 * t).sin()
                + 4000.0 * (tau * f * t).sin()) as i16
        })
        .collect()
}

/// 64-bit FNV-1a over the values' little-endian bytes.
fn fnv<T: Copy>(values: &[T], bytes: impl Fn(T) -> Vec<u8>) -> u64 {
    let mut h = 0xcbf2_9ce4_8422_2325u64;
    for &v in values {
        for b in bytes(v) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    h
}

fn fnv_pcm(pcm: &[i16]) -> u64 {
    fnv(pcm, |s| s.to_le_bytes().to_vec())
}

#[test]
fn encoder_matches_the_reference_bit_for_bit() {
    let mut codes = Vec::new();
    Encoder::new().encode(&test_signal(), &mut codes);
    assert_eq!(codes.len(), 1600);
    assert_eq!(
        codes[..24],
        [
            183, 22, 148, 160, 4, 160, 160, 160, 32, 48, 156, 147, 24, 53, 170, 168, 44, 59, 145,
            140, 14, 22, 184, 178
        ]
    );
    assert_eq!(fnv(&codes, |b| vec![b]), 0xfb7e_5f11_171b_5087);
}

#[test]
fn decoder_matches_the_reference_bit_for_bit() {
    let mut codes = Vec::new();
    Encoder::new().encode(&test_signal(), &mut codes);
    let mut pcm = Vec::new();
    Decoder::new().decode(&codes, &mut pcm);
    assert_eq!(pcm.len(), 3200);
    assert_eq!(
        pcm[1000..1008],
        [2048, 14777, 5522, 4050, 15552, -2462, -2960, 4186]
    );
    assert_eq!(fnv_pcm(&pcm), 0x0dbf_4725_732f_0f2f);
}

#[test]
fn arbitrary_bytes_decode_like_the_reference() {
    let mut x = 7u32;
    let bytes: Vec<u8> = (0..800)
        .map(|_| {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
            (x >> 16) as u8
        })
        .collect();
    assert_eq!(bytes[..4], [108, 78, 116, 146]);
    let mut pcm = Vec::new();
    Decoder::new().decode(&bytes, &mut pcm);
    assert_eq!(pcm[..8], [0, -1, -1, 0, 0, -1, 0, 1]);
    // The reference casts an overflowing output sample to 16 bits (it
    // wraps: -28017 and -32462 at these two); we saturate instead, which
    // is the only difference over the whole stream.
    assert_eq!((pcm[558], pcm[1554]), (32767, 32767));
    assert_eq!(fnv_pcm(&pcm), 0xe069_880d_073d_0def);
}

#[test]
fn silence_encodes_to_the_idle_code() {
    // From reset, a zero difference falls in QUANTL's interval 4 (code
    // 58) and below QUANTH's threshold (code 3): 0b11_111010.
    let mut codes = Vec::new();
    Encoder::new().encode(&[0; 320], &mut codes);
    assert_eq!(codes.len(), 160);
    assert_eq!(codes[0], 0xFA);
    let mut pcm = Vec::new();
    Decoder::new().decode(&codes, &mut pcm);
    assert!(pcm.iter().all(|s| s.abs() < 16), "{pcm:?}");
}

/// Best SNR in dB of `out` against `src` over a range of codec delays.
fn snr_db(src: &[i16], out: &[i16]) -> f64 {
    (0..64)
        .map(|delay| {
            let (mut sig, mut err) = (0.0f64, 0.0f64);
            for (a, b) in src[400..src.len() - 64].iter().zip(&out[400 + delay..]) {
                sig += f64::from(*a).powi(2);
                err += (f64::from(*a) - f64::from(*b)).powi(2);
            }
            10.0 * (sig / err.max(1.0)).log10()
        })
        .fold(f64::MIN, f64::max)
}

#[test]
fn a_tone_round_trips_with_good_snr() {
    for (freq, min_db) in [(1000.0, 25.0), (3000.0, 20.0), (6000.0, 12.0)] {
        let src = sine(freq, 0.5, 16_000);
        let (mut enc, mut dec) = (Encoder::new(), Decoder::new());
        let mut out = Vec::new();
        // 20 ms packets, as a session sends them.
        for frame in src.chunks(320) {
            let mut payload = Vec::new();
            enc.encode(frame, &mut payload);
            assert_eq!(payload.len(), frame.len() / 2);
            dec.decode(&payload, &mut out);
        }
        assert_eq!(out.len(), src.len());
        let snr = snr_db(&src, &out);
        assert!(snr > min_db, "{freq} Hz: SNR {snr:.1} dB");
        // Above narrowband's 4 kHz limit and still there.
        let p = goertzel_power(&out[1600..], 16_000, freq);
        assert!(p > 0.1, "{freq} Hz: power {p}");
    }
}

/// 1 s of a voiced sound: harmonics of a pitch gliding 110 → 190 Hz
/// (each to 7 kHz, falling 6 dB per octave) under a slow swell.
fn voiced() -> Vec<i16> {
    let mut phase = 0.0f64;
    (0..16_000)
        .map(|i| {
            let t = f64::from(i) / 16_000.0;
            let f0 = 110.0 + 80.0 * t;
            phase += std::f64::consts::TAU * f0 / 16_000.0;
            let harmonics = (1..)
                .take_while(|&k| f64::from(k) * f0 < 7000.0)
                .map(|k| (f64::from(k) * phase).sin() / f64::from(k))
                .sum::<f64>();
            let swell = 0.6 + 0.4 * (std::f64::consts::TAU * 3.0 * t).sin();
            (6000.0 * swell * harmonics) as i16
        })
        .collect()
}

/// SNR in dB of `got` against `want`, sample for sample.
fn snr_same_time(want: &[i16], got: &[i16]) -> f64 {
    let (mut sig, mut err) = (0.0f64, 0.0f64);
    for (a, b) in want.iter().zip(got) {
        sig += f64::from(*a).powi(2);
        err += (f64::from(*a) - f64::from(*b)).powi(2);
    }
    10.0 * (sig / err.max(1.0)).log10()
}

/// Decodes 20 ms packets with packet `lost` missing, bridged or skipped;
/// returns the two frames after the gap.
fn after_gap(packets: &[Vec<u8>], lost: usize, bridge: bool) -> Vec<i16> {
    let mut dec = Decoder::new();
    let mut out = Vec::new();
    for (i, p) in packets.iter().enumerate().take(lost + 3) {
        if i != lost {
            dec.decode(p, &mut out);
        } else if bridge {
            dec.bridge(320, &mut out);
        } else {
            out.extend([0; 320]);
        }
    }
    out[320 * (lost + 1)..320 * (lost + 3)].to_vec()
}

#[test]
fn a_bridged_gap_decodes_the_frames_after_it_closer_to_the_lossless_decode() {
    let src = voiced();
    let mut enc = Encoder::new();
    let packets: Vec<Vec<u8>> = src
        .chunks(320)
        .map(|f| {
            let mut p = Vec::new();
            enc.encode(f, &mut p);
            p
        })
        .collect();
    let mut clean = Vec::new();
    let mut dec = Decoder::new();
    for p in &packets {
        dec.decode(p, &mut clean);
    }
    let (mut skipped, mut bridged) = (0.0, 0.0);
    let losses = [5, 11, 17, 23, 29, 35, 41, 47];
    for lost in losses {
        let want = &clean[320 * (lost + 1)..320 * (lost + 3)];
        let s = snr_same_time(want, &after_gap(&packets, lost, false));
        let b = snr_same_time(want, &after_gap(&packets, lost, true));
        eprintln!("lost {lost}: skipped {s:.1} dB, bridged {b:.1} dB");
        skipped += s;
        bridged += b;
    }
    let n = losses.len() as f64;
    let (skipped, bridged) = (skipped / n, bridged / n);
    eprintln!("mean: skipped {skipped:.1} dB, bridged {bridged:.1} dB");
    assert!(
        bridged > skipped + 3.0,
        "bridged {bridged:.1} dB, skipped {skipped:.1} dB"
    );
}

#[test]
fn bridging_fades_to_silence_and_a_decode_ends_it() {
    let src = voiced();
    let mut enc = Encoder::new();
    let mut codes = Vec::new();
    enc.encode(&src[..3200], &mut codes);
    let mut dec = Decoder::new();
    let mut out = Vec::new();
    dec.decode(&codes, &mut out);
    let mut gap = Vec::new();
    for _ in 0..5 {
        dec.bridge(320, &mut gap);
    }
    let rms =
        |s: &[i16]| (s.iter().map(|&v| f64::from(v).powi(2)).sum::<f64>() / s.len() as f64).sqrt();
    assert!(rms(&gap[..320]) > 500.0, "{}", rms(&gap[..320]));
    assert!(rms(&gap[1280..]) < rms(&gap[..320]) / 4.0);
    assert_eq!(dec.bridged, 1600);
    dec.decode(&codes[..160], &mut out);
    assert_eq!(dec.bridged, 0);
}
