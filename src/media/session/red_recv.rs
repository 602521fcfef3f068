//! Receiving RFC 2198 redundancy (RED), once the SDP negotiated it: a
//! packet of the RED payload type is split ([`split`]); its primary block
//! goes on as an ordinary packet of its codec, and each redundant block
//! whose packet ([`red::redundant_sequence`]) never came and whose
//! playout turn has not yet passed ([`wanted`]) is put in that packet's
//! place: through the reorder stage for a stateful codec (G.722, Opus),
//! else decoded into the jitter buffer (G.711), either of which still
//! refuses it when it is too late or already there. Each block taken
//! counts in `stats.red_recovered`; a copy that came after its slot was
//! concealed raises the playout delay as a late packet would (the
//! playout also keeps a frame more from the start, `recovery_frames`).
//! A malformed RED payload is dropped whole (before it can latch a
//! source or count anywhere).
//!
//! The block's offset names its packet by counting frames back
//! ([`red::redundant_sequence`]), which assumes one sequence number per
//! frame; a sender that pauses (DTX, comfort noise) advances the
//! timestamp without the sequence number, so a block is only taken when
//! its timestamp agrees with those of the packets received around its
//! slot ([`Received::fits`]).
//!
//! Owns the window of sequence numbers received ([`Received`], with the
//! timestamps of the latest) and the blocks' way in; the primary's path,
//! the statistics of what arrived, the jitter buffer and the decoders
//! stay the session's.

use super::decode_order::{Held, Taken};
use super::{receives, stateful, Session};
use crate::media::inbound::RtpView;
use crate::media::jitter::Pushed;
use crate::media::red::{self, RedError, Redundant};

/// A received packet's primary part (as a packet of its codec) and the
/// redundant blocks it carried (none for a packet that is not RED).
pub(super) fn split(
    packet: RtpView<'_>,
    red_payload_type: Option<u8>,
) -> Result<(RtpView<'_>, Vec<Redundant<'_>>), RedError> {
    if red_payload_type != Some(packet.payload_type) {
        return Ok((packet, Vec::new()));
    }
    let red = red::depacketize(packet.payload)?;
    let primary = RtpView {
        payload_type: red.primary_type,
        payload: red.primary,
        ..packet
    };
    Ok((primary, red.redundant))
}

/// How many of the latest packets' timestamps [`Received`] keeps.
const RECENT: usize = 16;

/// The sequence numbers received lately (the last 64) of one SSRC, and
/// the timestamps of the latest [`RECENT`] of them.
#[derive(Debug, Default)]
pub(super) struct Received {
    ssrc: Option<u32>,
    highest: u16,
    /// Bit `n`: `highest - n` was received.
    bits: u64,
    /// (sequence number, timestamp), the oldest overwritten first.
    recent: [(u16, u32); RECENT],
    /// Entries of `recent` in use, and the next one to write.
    kept: usize,
    next: usize,
}

impl Received {
    /// Notes packet `seq` of `ssrc`, with RTP timestamp `ts`.
    pub(super) fn note(&mut self, ssrc: u32, seq: u16, ts: u32) {
        if self.ssrc != Some(ssrc) {
            *self = Received {
                ssrc: Some(ssrc),
                highest: seq,
                bits: 1,
                ..Received::default()
            };
        } else {
            let ahead = seq.wrapping_sub(self.highest) as i16;
            if ahead > 0 {
                let shift = ahead as u32;
                self.bits = if shift >= 64 { 0 } else { self.bits << shift };
                self.bits |= 1;
                self.highest = seq;
            } else if ahead > -64 {
                self.bits |= 1 << (-ahead) as u32;
            }
        }
        self.recent[self.next] = (seq, ts);
        self.next = (self.next + 1) % RECENT;
        self.kept = (self.kept + 1).min(RECENT);
    }

    /// Whether `seq` of `ssrc` was received (as far as the window reaches).
    pub(super) fn has(&self, ssrc: u32, seq: u16) -> bool {
        let back = self.highest.wrapping_sub(seq) as i16;
        self.ssrc == Some(ssrc) && (0..64).contains(&back) && self.bits & (1 << back) != 0
    }

    /// Whether a frame of timestamp `ts` can be packet `slot` of `ssrc`,
    /// frames `frame_ticks` apart, as far as the packets kept say: each
    /// received packet `n` numbers after (before) the slot lies at least
    /// `n` frames later (earlier). A sender may skip time (DTX) but never
    /// sequence numbers, so a slot counted from an offset across such a
    /// pause lands where the neighbours' timestamps leave no room for it.
    pub(super) fn fits(&self, ssrc: u32, slot: u16, ts: u32, frame_ticks: u32) -> bool {
        if self.ssrc != Some(ssrc) {
            return false;
        }
        self.recent[..self.kept].iter().all(|&(seq, at)| {
            let frames = i64::from(seq.wrapping_sub(slot) as i16);
            let ticks = i64::from(at.wrapping_sub(ts) as i32);
            let room = frames * i64::from(frame_ticks);
            match frames.signum() {
                1 => ticks >= room,
                -1 => ticks <= room,
                _ => ticks == 0,
            }
        })
    }
}

/// Whether a redundant block standing in for packet `seq` is worth
/// putting in: that packet never came, and its turn (`turn`: the
/// sequence number the playout plays next, `None` while it waits to
/// start) has not passed.
pub(super) fn wanted(received: &Received, ssrc: u32, seq: u16, turn: Option<u16>) -> bool {
    !received.has(ssrc, seq) && turn.is_none_or(|t| seq.wrapping_sub(t) as i16 >= 0)
}

impl Session {
    /// Notes the packet as received and puts the redundant blocks it
    /// carried in the places of missing packets (before the packet
    /// itself is taken, so a gap is filled before the reorder stage
    /// could give it up).
    pub(super) fn take_redundant(&mut self, packet: &RtpView<'_>, blocks: &[Redundant<'_>]) {
        self.red_rx
            .note(packet.ssrc, packet.sequence, packet.timestamp);
        if !receives(self.params.direction) {
            return;
        }
        let codec = self.decoder.codec();
        for block in blocks {
            if self.payload_kind(block.payload_type) != Some(Some(codec)) || block.data.is_empty() {
                continue;
            }
            let ticks = codec.frame_ticks();
            let Some(seq) = red::redundant_sequence(packet.sequence, block.ts_offset, ticks) else {
                continue;
            };
            let ts = packet.timestamp.wrapping_sub(u32::from(block.ts_offset));
            if self.red_rx.has(packet.ssrc, seq) || !self.red_rx.fits(packet.ssrc, seq, ts, ticks) {
                continue;
            }
            if !wanted(&self.red_rx, packet.ssrc, seq, self.jb.next_to_play()) {
                // The copy of a missing packet came after its turn: the
                // playout concealed it, and waits longer from now on.
                self.jb.copy_missed_turn(packet.ssrc, seq);
                continue;
            }
            let filled = if stateful(codec) {
                let held = Held {
                    payload: block.data.to_vec(),
                    audio: true,
                };
                self.order.push(packet.ssrc, seq, held) == Taken::Held
            } else {
                let mut samples = Vec::with_capacity(codec.frame_samples());
                self.decoder.decode(block.data, &mut samples);
                self.jb.push(packet.ssrc, seq, samples) == Pushed::Accepted
            };
            if filled {
                self.red_rx.note(packet.ssrc, seq, ts);
                self.red_recovered += 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(pt: u8, payload: &[u8]) -> RtpView<'_> {
        RtpView {
            marker: false,
            payload_type: pt,
            sequence: 7,
            timestamp: 1120,
            ssrc: 1,
            payload,
        }
    }

    #[test]
    fn split_table() {
        let red = [0x80, 0x02, 0x80, 0x01, 0x00, 0xaa, 0xbb];
        // Not negotiated, or another payload type: the packet as it is.
        let (p, blocks) = split(view(122, &red), None).unwrap();
        assert_eq!((p.payload_type, p.payload.len(), blocks.len()), (122, 7, 0));
        let (p, blocks) = split(view(0, &[1, 2]), Some(122)).unwrap();
        assert_eq!(
            (p.payload_type, p.payload, blocks.len()),
            (0, &[1u8, 2][..], 0)
        );
        // RED: the primary as a PCMU packet of the same header.
        let (p, blocks) = split(view(122, &red), Some(122)).unwrap();
        assert_eq!((p.payload_type, p.payload, p.sequence), (0, &[0xbb][..], 7));
        assert_eq!(blocks.len(), 1);
        assert_eq!((blocks[0].ts_offset, blocks[0].data), (160, &[0xaa][..]));
        assert_eq!(
            split(view(122, &[0x80]), Some(122)),
            Err(RedError::TruncatedHeader)
        );
    }

    #[test]
    fn random_payloads_never_panic() {
        let mut x: u64 = 0x5eed_2198;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for _ in 0..20_000 {
            let len = (next() % 40) as usize;
            let bytes: Vec<u8> = (0..len).map(|_| next() as u8).collect();
            if let Ok((p, blocks)) = split(view(122, &bytes), Some(122)) {
                let inside = blocks.iter().map(|b| b.data.len()).sum::<usize>() + p.payload.len();
                assert!(inside <= bytes.len());
                for b in blocks {
                    let _ = red::redundant_sequence(p.sequence, b.ts_offset, 160);
                }
            }
        }
    }

    #[test]
    fn received_window() {
        let mut r = Received::default();
        assert!(!r.has(1, 5));
        for seq in [5u16, 6, 8] {
            r.note(1, seq, u32::from(seq) * 160);
        }
        assert!(r.has(1, 5) && r.has(1, 6) && r.has(1, 8));
        assert!(!r.has(1, 7) && !r.has(1, 9) && !r.has(2, 5));
        // Late arrival, then far ahead: the old ones fall out of the window.
        r.note(1, 7, 1120);
        assert!(r.has(1, 7));
        r.note(1, 200, 32_000);
        assert!(r.has(1, 200) && !r.has(1, 8));
        // Wrapping.
        let mut r = Received::default();
        r.note(1, 65535, 0);
        r.note(1, 1, 320);
        assert!(r.has(1, 65535) && r.has(1, 1) && !r.has(1, 0));
        // A new SSRC starts afresh.
        r.note(2, 1, 0);
        assert!(!r.has(1, 1) && r.has(2, 1));
    }

    #[test]
    fn wanted_table() {
        let mut r = Received::default();
        r.note(1, 10, 1600);
        r.note(1, 12, 1920);
        // (seq, turn, wanted)
        let cases = [
            (11, None, true),
            (11, Some(9), true),
            (11, Some(11), true),
            // Its turn has passed: played or concealed already.
            (11, Some(12), false),
            // Received already.
            (10, Some(9), false),
            (12, None, false),
        ];
        for (seq, turn, want) in cases {
            assert_eq!(wanted(&r, 1, seq, turn), want, "{seq} {turn:?}");
        }
    }

    #[test]
    fn a_block_is_taken_only_where_the_neighbours_timestamps_leave_room() {
        // A DTX-like stream, 160 ticks a frame: 10 and 11 in a row, a
        // pause of two frames' time (no packets, no sequence numbers
        // used), then 12, 13 lost, 14, 15; 9 and 16 never came either.
        let mut r = Received::default();
        for (seq, ts) in [
            (10u16, 1600u32),
            (11, 1760),
            (12, 2240),
            (14, 2560),
            (15, 2720),
        ] {
            r.note(1, seq, ts);
        }
        // (carrying packet seq/ts, block offset, slot counted, fits)
        let cases = [
            // 14 carries 13's frame: 160 after 12, 160 before 14.
            ((14u16, 2560u32), 160u16, 13u16, true),
            // 12 (after the pause) carries 11's frame, 480 ticks back:
            // counted as three packets back, 9, which 10 only 160
            // ticks later leaves no room for.
            ((12, 2240), 480, 9, false),
            // 12's own frame, received: it fits its own timestamp (and
            // is never wanted).
            ((14, 2560), 320, 12, true),
            // A frame counted into 11's place with a time 11 does not
            // have.
            ((14, 2560), 480, 11, false),
            // 15, two frames after 13's place, carrying 13's frame.
            ((15, 2720), 320, 13, true),
        ];
        for ((seq, ts), offset, slot, fits) in cases {
            let counted = red::redundant_sequence(seq, offset, 160);
            assert_eq!(counted, Some(slot), "{seq} {offset}");
            let at = ts.wrapping_sub(u32::from(offset));
            assert_eq!(r.fits(1, slot, at, 160), fits, "{seq} {offset}");
        }
        // Another SSRC's packets say nothing for this one.
        assert!(!r.fits(2, 13, 2400, 160));
        // Wrapping sequence numbers and timestamps.
        let mut r = Received::default();
        r.note(1, 65535, u32::MAX - 159);
        r.note(1, 1, 160);
        assert!(r.fits(1, 0, 0, 160));
        assert!(!r.fits(1, 0, 160, 160));
    }
}
