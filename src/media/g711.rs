//! G.711 μ-law (PCMU) and A-law (PCMA) sample codecs: 16-bit linear PCM to
//! and from 8-bit companded bytes. Pure functions, no state.

use super::Codec;

const ULAW_BIAS: i32 = 0x84;
const ULAW_CLIP: i32 = 32635;

/// Encodes one linear sample as μ-law.
pub fn linear_to_ulaw(pcm: i16) -> u8 {
    let mut x = i32::from(pcm);
    let sign = if x < 0 {
        x = -x;
        0x80
    } else {
        0
    };
    x = x.min(ULAW_CLIP) + ULAW_BIAS;
    let mut exponent = 7;
    let mut mask = 0x4000;
    while exponent > 0 && x & mask == 0 {
        exponent -= 1;
        mask >>= 1;
    }
    let mantissa = (x >> (exponent + 3)) & 0x0F;
    !(sign | (exponent << 4) | mantissa) as u8
}

/// Decodes one μ-law byte.
pub fn ulaw_to_linear(u: u8) -> i16 {
    let u = !u;
    let exponent = i32::from((u >> 4) & 0x07);
    let mantissa = i32::from(u & 0x0F);
    let x = (((mantissa << 3) + ULAW_BIAS) << exponent) - ULAW_BIAS;
    if u & 0x80 != 0 {
        -x as i16
    } else {
        x as i16
    }
}

const ALAW_SEG_END: [i32; 8] = [0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF];

/// Encodes one linear sample as A-law.
pub fn linear_to_alaw(pcm: i16) -> u8 {
    let mut v = i32::from(pcm) >> 3;
    let mask = if v >= 0 {
        0xD5
    } else {
        v = -v - 1;
        0x55
    };
    let Some(seg) = ALAW_SEG_END.iter().position(|&end| v <= end) else {
        return (0x7F ^ mask) as u8;
    };
    let shift = if seg < 2 { 1 } else { seg };
    let aval = ((seg as i32) << 4) | ((v >> shift) & 0x0F);
    (aval ^ mask) as u8
}

/// Decodes one A-law byte.
pub fn alaw_to_linear(a: u8) -> i16 {
    let a = a ^ 0x55;
    let mut t = i32::from(a & 0x0F) << 4;
    let seg = (a & 0x70) >> 4;
    match seg {
        0 => t += 8,
        1 => t += 0x108,
        _ => t = (t + 0x108) << (seg - 1),
    }
    if a & 0x80 != 0 {
        t as i16
    } else {
        -t as i16
    }
}

/// Encodes `pcm` with `codec`, appending to `out`. A codec that is not
/// G.711 appends nothing: those run through [`super::codec::Encoder`].
pub fn encode(codec: Codec, pcm: &[i16], out: &mut Vec<u8>) {
    match codec {
        Codec::Pcmu => out.extend(pcm.iter().map(|&s| linear_to_ulaw(s))),
        Codec::Pcma => out.extend(pcm.iter().map(|&s| linear_to_alaw(s))),
        Codec::G722 | Codec::Opus => {}
    }
}

/// Decodes `bytes` with `codec`, appending to `out`. A codec that is not
/// G.711 appends nothing: those run through [`super::codec::Decoder`].
pub fn decode(codec: Codec, bytes: &[u8], out: &mut Vec<i16>) {
    match codec {
        Codec::Pcmu => out.extend(bytes.iter().map(|&b| ulaw_to_linear(b))),
        Codec::Pcma => out.extend(bytes.iter().map(|&b| alaw_to_linear(b))),
        Codec::G722 | Codec::Opus => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ulaw_known_values() {
        assert_eq!(linear_to_ulaw(0), 0xFF);
        assert_eq!(linear_to_ulaw(-1), 0x7F);
        assert_eq!(linear_to_ulaw(i16::MAX), 0x80);
        assert_eq!(linear_to_ulaw(i16::MIN), 0x00);
        assert_eq!(ulaw_to_linear(0xFF), 0);
        assert_eq!(ulaw_to_linear(0x80), 32124);
        assert_eq!(ulaw_to_linear(0x00), -32124);
        assert_eq!(ulaw_to_linear(0xEF), 132);
    }

    #[test]
    fn alaw_known_values() {
        assert_eq!(linear_to_alaw(0), 0xD5);
        assert_eq!(linear_to_alaw(-1), 0x55);
        assert_eq!(linear_to_alaw(i16::MAX), 0xAA);
        assert_eq!(linear_to_alaw(i16::MIN), 0x2A);
        assert_eq!(alaw_to_linear(0xD5), 8);
        assert_eq!(alaw_to_linear(0x55), -8);
        assert_eq!(alaw_to_linear(0xAA), 32256);
        assert_eq!(alaw_to_linear(0x2A), -32256);
    }

    #[test]
    fn every_code_round_trips() {
        for b in 0..=255u8 {
            assert_eq!(linear_to_alaw(alaw_to_linear(b)), b, "alaw {b:#x}");
            let lin = ulaw_to_linear(b);
            // 0x7F and 0xFF both decode to 0 (negative and positive zero).
            if b != 0x7F {
                assert_eq!(linear_to_ulaw(lin), b, "ulaw {b:#x}");
            }
        }
    }

    #[test]
    fn quantisation_error_is_small() {
        for x in (-32000i32..32000).step_by(7) {
            let x = x as i16;
            let eu = (i32::from(ulaw_to_linear(linear_to_ulaw(x))) - i32::from(x)).abs();
            let ea = (i32::from(alaw_to_linear(linear_to_alaw(x))) - i32::from(x)).abs();
            let bound = (i32::from(x).abs() / 16).max(16);
            assert!(eu <= bound, "ulaw {x}: {eu}");
            assert!(ea <= bound, "alaw {x}: {ea}");
        }
    }

    #[test]
    fn slice_helpers() {
        let pcm = [0i16, 1000, -1000, 20000];
        for codec in [Codec::Pcmu, Codec::Pcma] {
            let mut bytes = Vec::new();
            encode(codec, &pcm, &mut bytes);
            assert_eq!(bytes.len(), 4);
            let mut back = Vec::new();
            decode(codec, &bytes, &mut back);
            for (a, b) in pcm.iter().zip(&back) {
                assert!((a - b).abs() <= 1300, "{codec:?} {a} {b}");
            }
        }
    }
}
