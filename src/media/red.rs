//! RFC 2198 redundant audio (RED): the payload format, as pure functions.
//!
//! A RED payload carries the current frame (the primary block) after one
//! or more earlier frames (redundant blocks), each named by its payload
//! type; a redundant block also carries how many RTP timestamp ticks it
//! lies before the packet's timestamp (14 bits) and its length (10 bits):
//!
//! ```text
//!  redundant block header (4 bytes)      primary block header (1 byte)
//!  |1| block PT | ts offset | length |   |0| block PT |
//!     7 bits     14 bits     10 bits         7 bits
//! ```
//!
//! then the blocks' data in the same order. [`packetize`] builds a payload
//! from the primary frame and the previous one; [`depacketize`] splits a
//! received payload, rejecting (never panicking on) anything malformed: a
//! header cut short, a length beyond the payload, more than
//! [`MAX_REDUNDANT`] redundant blocks. [`redundant_sequence`] names the
//! packet a redundant block stands in for, and [`fmtp`] / [`parse_fmtp`]
//! the SDP `a=fmtp` line of `red` (payload types separated by `/`). This
//! module knows no sockets, sessions or jitter buffers.

/// Redundant blocks accepted in one payload (we send one).
pub const MAX_REDUNDANT: usize = 4;
/// The largest timestamp offset a redundant block can carry.
pub const MAX_TS_OFFSET: u32 = (1 << 14) - 1;
/// The largest redundant block.
pub const MAX_BLOCK_LEN: usize = (1 << 10) - 1;

/// A redundant block of a received RED payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Redundant<'a> {
    pub payload_type: u8,
    /// RTP timestamp ticks before the packet's timestamp.
    pub ts_offset: u16,
    pub data: &'a [u8],
}

/// A received RED payload split into its blocks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedPayload<'a> {
    /// Oldest first, as sent.
    pub redundant: Vec<Redundant<'a>>,
    pub primary_type: u8,
    pub primary: &'a [u8],
}

/// Why a RED payload was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RedError {
    #[error("RED payload ends inside a block header")]
    TruncatedHeader,
    #[error("RED block longer than the payload")]
    TruncatedBlock,
    #[error("more than {MAX_REDUNDANT} redundant blocks")]
    TooManyBlocks,
}

/// The previous frame to send again in a RED payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Previous<'a> {
    pub payload_type: u8,
    /// Ticks between its timestamp and the new packet's.
    pub ts_offset: u32,
    pub data: &'a [u8],
}

/// Appends to `out` the RED payload of `primary` (payload type
/// `primary_type`) with `previous` as its redundant block. A previous
/// frame that cannot be carried (offset beyond 14 bits, longer than
/// [`MAX_BLOCK_LEN`], empty) is left out and the payload holds the
/// primary block alone. Returns whether the redundant block went in.
pub fn packetize(
    primary_type: u8,
    primary: &[u8],
    previous: Option<Previous<'_>>,
    out: &mut Vec<u8>,
) -> bool {
    let previous = previous.filter(|p| {
        p.ts_offset <= MAX_TS_OFFSET && !p.data.is_empty() && p.data.len() <= MAX_BLOCK_LEN
    });
    if let Some(p) = previous {
        let len = p.data.len() as u32;
        let word =
            0x8000_0000 | (u32::from(p.payload_type & 0x7f) << 24) | (p.ts_offset << 10) | len;
        out.extend_from_slice(&word.to_be_bytes());
    }
    out.push(primary_type & 0x7f);
    if let Some(p) = previous {
        out.extend_from_slice(p.data);
    }
    out.extend_from_slice(primary);
    previous.is_some()
}

/// Splits a received RED payload into its blocks.
pub fn depacketize(payload: &[u8]) -> Result<RedPayload<'_>, RedError> {
    let mut headers: Vec<(u8, u16, usize)> = Vec::new();
    let mut at = 0;
    let primary_type = loop {
        let first = *payload.get(at).ok_or(RedError::TruncatedHeader)?;
        if first & 0x80 == 0 {
            at += 1;
            break first & 0x7f;
        }
        let h = payload.get(at..at + 4).ok_or(RedError::TruncatedHeader)?;
        if headers.len() == MAX_REDUNDANT {
            return Err(RedError::TooManyBlocks);
        }
        let word = u32::from_be_bytes([h[0], h[1], h[2], h[3]]);
        let pt = ((word >> 24) & 0x7f) as u8;
        let offset = ((word >> 10) & 0x3fff) as u16;
        let len = (word & 0x3ff) as usize;
        headers.push((pt, offset, len));
        at += 4;
    };
    let mut redundant = Vec::with_capacity(headers.len());
    for (payload_type, ts_offset, len) in headers {
        let data = payload.get(at..at + len).ok_or(RedError::TruncatedBlock)?;
        redundant.push(Redundant {
            payload_type,
            ts_offset,
            data,
        });
        at += len;
    }
    Ok(RedPayload {
        redundant,
        primary_type,
        primary: &payload[at..],
    })
}

/// The sequence number of the packet a redundant block repeats: the
/// packet `sequence` with timestamp offset `ts_offset` back, packets
/// `frame_ticks` apart. `None` for an offset of zero or not a whole
/// number of frames (not a frame we could have lost), or more than
/// [`MAX_REDUNDANT`] frames back.
pub fn redundant_sequence(sequence: u16, ts_offset: u16, frame_ticks: u32) -> Option<u16> {
    if frame_ticks == 0 || ts_offset == 0 || !u32::from(ts_offset).is_multiple_of(frame_ticks) {
        return None;
    }
    let back = u32::from(ts_offset) / frame_ticks;
    if back as usize > MAX_REDUNDANT {
        return None;
    }
    Some(sequence.wrapping_sub(back as u16))
}

/// The `a=fmtp` value of `red` for these payload types, primary last
/// (RFC 2198 section 5: `0/0` for PCMU with one redundant PCMU block).
pub fn fmtp(payload_types: &[u8]) -> String {
    payload_types
        .iter()
        .map(u8::to_string)
        .collect::<Vec<_>>()
        .join("/")
}

/// The payload types of a `red` `a=fmtp` value; `None` when it is not a
/// `/`-separated list of 1 to [`MAX_REDUNDANT`] + 1 payload types.
pub fn parse_fmtp(value: &str) -> Option<Vec<u8>> {
    let pts: Vec<u8> = value
        .trim()
        .split('/')
        .map(|p| p.trim().parse::<u8>().ok().filter(|&pt| pt < 128))
        .collect::<Option<_>>()?;
    (!pts.is_empty() && pts.len() <= MAX_REDUNDANT + 1).then_some(pts)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (primary type, primary, previous, expected bytes, carried)
    type PacketizeCase<'a> = (u8, &'a [u8], Option<Previous<'a>>, Vec<u8>, bool);

    #[test]
    fn packetize_table() {
        // (primary type, primary, previous, expected bytes, carried)
        let prev = Previous {
            payload_type: 0,
            ts_offset: 160,
            data: &[1, 2, 3],
        };
        let cases: Vec<PacketizeCase> = vec![
            (0, &[9, 9], None, vec![0, 9, 9], false),
            // F=1, PT 0, offset 160 (0x0a0 << 10 = 0x28000), length 3.
            (
                0,
                &[9, 9],
                Some(prev),
                vec![0x80, 0x02, 0x80, 0x03, 0x00, 1, 2, 3, 9, 9],
                true,
            ),
            // G.722 (PT 9), offset 320.
            (
                9,
                &[7],
                Some(Previous {
                    payload_type: 9,
                    ts_offset: 320,
                    data: &[5],
                }),
                vec![0x89, 0x05, 0x00, 0x01, 0x09, 5, 7],
                true,
            ),
            // Offset beyond 14 bits, block too long, empty: primary only.
            (
                0,
                &[9],
                Some(Previous {
                    ts_offset: MAX_TS_OFFSET + 1,
                    ..prev
                }),
                vec![0, 9],
                false,
            ),
            (
                0,
                &[9],
                Some(Previous {
                    data: &[0; MAX_BLOCK_LEN + 1],
                    ..prev
                }),
                vec![0, 9],
                false,
            ),
            (
                0,
                &[9],
                Some(Previous { data: &[], ..prev }),
                vec![0, 9],
                false,
            ),
        ];
        for (i, (pt, primary, previous, want, carried)) in cases.into_iter().enumerate() {
            let mut out = Vec::new();
            assert_eq!(
                packetize(pt, primary, previous, &mut out),
                carried,
                "case {i}"
            );
            assert_eq!(out, want, "case {i}");
        }
    }

    #[test]
    fn round_trip_and_largest_fields() {
        let data = vec![0xab; MAX_BLOCK_LEN];
        let mut out = Vec::new();
        let prev = Previous {
            payload_type: 111,
            ts_offset: MAX_TS_OFFSET,
            data: &data,
        };
        assert!(packetize(111, &[1, 2, 3], Some(prev), &mut out));
        let red = depacketize(&out).unwrap();
        assert_eq!(red.primary_type, 111);
        assert_eq!(red.primary, &[1, 2, 3]);
        assert_eq!(
            red.redundant,
            vec![Redundant {
                payload_type: 111,
                ts_offset: MAX_TS_OFFSET as u16,
                data: &data,
            }]
        );
    }

    #[test]
    fn depacketize_table() {
        let two = [
            0x80, 0x02, 0x80, 0x01, // PCMU, 160 ticks back, 1 byte
            0x80, 0x01, 0x40, 0x02, // PCMU, 80 ticks back, 2 bytes
            0x00, 0xaa, 0xbb, 0xbc, 0xcc,
        ];
        let red = depacketize(&two).unwrap();
        assert_eq!(red.redundant.len(), 2);
        assert_eq!(red.redundant[0].ts_offset, 160);
        assert_eq!(red.redundant[0].data, &[0xaa]);
        assert_eq!(red.redundant[1].ts_offset, 80);
        assert_eq!(red.redundant[1].data, &[0xbb, 0xbc]);
        assert_eq!(red.primary, &[0xcc]);
        // (payload, expected)
        let cases: Vec<(&[u8], Result<usize, RedError>)> = vec![
            (&[], Err(RedError::TruncatedHeader)),
            (&[0x80], Err(RedError::TruncatedHeader)),
            (&[0x80, 0, 0], Err(RedError::TruncatedHeader)),
            // A header and no final header.
            (&[0x80, 0, 0, 0], Err(RedError::TruncatedHeader)),
            // Length 5 with 1 byte of data.
            (&[0x80, 0, 0, 5, 0, 1], Err(RedError::TruncatedBlock)),
            (
                &[
                    0x80, 0, 0, 0, 0x80, 0, 0, 0, 0x80, 0, 0, 0, 0x80, 0, 0, 0, 0x80, 0, 0, 0, 0,
                ],
                Err(RedError::TooManyBlocks),
            ),
            // Primary only, and an empty primary.
            (&[0x00, 1, 2], Ok(0)),
            (&[0x09], Ok(0)),
            // Zero-length redundant block.
            (&[0x80, 0, 0, 0, 0x00, 7], Ok(1)),
        ];
        for (i, (payload, want)) in cases.into_iter().enumerate() {
            let got = depacketize(payload).map(|r| r.redundant.len());
            assert_eq!(got, want, "case {i}");
        }
    }

    #[test]
    fn random_payloads_never_panic_and_blocks_stay_inside() {
        // A fixed xorshift: the same million bytes on every run.
        let mut x: u64 = 0x2198_2198_2198_2198;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let mut ok = 0;
        for _ in 0..20_000 {
            let len = (next() % 48) as usize;
            let mut p: Vec<u8> = (0..len).map(|_| next() as u8).collect();
            // Bias towards plausible headers: small lengths, F bits set.
            if len > 4 && next() % 2 == 0 {
                p[0] |= 0x80;
                p[2] &= 0xfc;
                p[3] %= 8;
            }
            if let Ok(red) = depacketize(&p) {
                ok += 1;
                let total: usize = red.redundant.iter().map(|b| b.data.len()).sum::<usize>()
                    + red.primary.len()
                    + 4 * red.redundant.len()
                    + 1;
                assert_eq!(total, p.len());
                assert!(red.redundant.len() <= MAX_REDUNDANT);
            }
        }
        assert!(
            ok > 1000,
            "{ok} accepted: the generator should hit valid ones"
        );
    }

    #[test]
    fn redundant_sequence_table() {
        let cases = [
            (100u16, 160u16, 160u32, Some(99u16)),
            (100, 320, 160, Some(98)),
            (0, 160, 160, Some(65535)),
            (100, 0, 160, None),
            (100, 100, 160, None),
            (100, 160 * 5, 160, None),
            (100, 160, 0, None),
            (100, 960, 960, Some(99)),
        ];
        for (seq, off, ticks, want) in cases {
            assert_eq!(
                redundant_sequence(seq, off, ticks),
                want,
                "{seq} {off} {ticks}"
            );
        }
    }

    #[test]
    fn fmtp_round_trip() {
        assert_eq!(fmtp(&[0, 0]), "0/0");
        assert_eq!(fmtp(&[111, 111]), "111/111");
        assert_eq!(parse_fmtp("0/0"), Some(vec![0, 0]));
        assert_eq!(parse_fmtp(" 9/9 "), Some(vec![9, 9]));
        assert_eq!(parse_fmtp("111"), Some(vec![111]));
        for bad in ["", "0/", "a/0", "0/128", "0/0/0/0/0/0", "300/0"] {
            assert_eq!(parse_fmtp(bad), None, "{bad}");
        }
    }
}
