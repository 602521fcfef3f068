//! The reorder stage in front of a stateful decoder (G.722, Opus): their
//! predictors must see the packets in sequence order, so received packets
//! wait here still encoded and come out in order; a missing one is given
//! up (reported as a [`Out::Gap`], with the packet after it when that is
//! here, for Opus's in-band FEC) only once its playout turn has come, so
//! a packet that is merely late is decoded in its place instead of being
//! concealed.
//!
//! Pure: knows sequence numbers and opaque payloads, no decoder, jitter
//! buffer or socket. The session decides what a gap becomes and feeds the
//! decoded frames to the jitter buffer.

use std::collections::BTreeMap;

/// A sequence number this far ahead of the one expected is a restart of
/// the stream's numbering (as in the jitter buffer), not a gap.
const MAX_AHEAD: i16 = 1000;

/// One received packet of the stream, waiting to be decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Held {
    pub payload: Vec<u8>,
    /// Whether it is audio of the decoder's codec (else it only takes a
    /// sequence number: telephone-event, comfort noise).
    pub audio: bool,
}

/// What comes out next, in sequence order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Out {
    /// The packet with this sequence number.
    Packet(u16, Held),
    /// This sequence number never came and its turn has come: `next` is
    /// the following packet's payload when it is here (audio only), `run`
    /// how many gaps in a row this one is (1 for the first).
    Gap {
        seq: u16,
        next: Option<Vec<u8>>,
        run: u16,
    },
}

/// What happened to a pushed packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Taken {
    Held,
    /// Its place has already gone out (decoded or given up): dropped.
    Late,
    Duplicate,
}

/// The stage: packets of one SSRC keyed by their distance from `next`.
#[derive(Debug, Default)]
pub struct DecodeOrder {
    ssrc: Option<u32>,
    /// The sequence number to hand out next.
    next: Option<u16>,
    held: BTreeMap<u16, Held>,
    /// Gaps handed out in a row.
    run: u16,
}

impl DecodeOrder {
    /// Forgets everything (a new stream or decoder).
    pub fn reset(&mut self) {
        *self = DecodeOrder::default();
    }

    /// The stream's SSRC (what gaps and packets belong to).
    pub fn ssrc(&self) -> Option<u32> {
        self.ssrc
    }

    /// Takes a received packet.
    pub fn push(&mut self, ssrc: u32, seq: u16, packet: Held) -> Taken {
        if self.ssrc != Some(ssrc) {
            self.reset();
            self.ssrc = Some(ssrc);
        }
        let next = *self.next.get_or_insert(seq);
        let ahead = seq.wrapping_sub(next) as i16;
        if ahead < 0 {
            return Taken::Late;
        }
        if ahead > MAX_AHEAD {
            // Renumbered: start over from this packet.
            self.held.clear();
            self.next = Some(seq);
            self.run = 0;
        }
        if self.held.contains_key(&seq) {
            return Taken::Duplicate;
        }
        self.held.insert(seq, packet);
        Taken::Held
    }

    /// Audio packets held, waiting for one before them (each a frame).
    pub fn waiting(&self) -> usize {
        self.held.values().filter(|p| p.audio).count()
    }

    /// The next packet in order when it is here; never a gap (between
    /// playout ticks, when a missing packet may still come in time).
    pub fn pop_in_order(&mut self) -> Option<Out> {
        let next = self.next?;
        let packet = self.held.remove(&next)?;
        self.next = Some(next.wrapping_add(1));
        self.run = 0;
        Some(Out::Packet(next, packet))
    }

    /// The next packet in order, or the gap in its place once it is due:
    /// `turn` is the sequence number the playout plays next, and a gap is
    /// due when it is that one (never earlier: a packet that comes in the
    /// tick before its turn is still decoded in its place). `None` while
    /// the playout is not playing, when a gap is given up only once
    /// `hold_limit` packets wait behind it, enough for it to start.
    pub fn pop(&mut self, turn: Option<u16>, hold_limit: usize) -> Option<Out> {
        let next = self.next?;
        if let Some(packet) = self.held.remove(&next) {
            self.next = Some(next.wrapping_add(1));
            self.run = 0;
            return Some(Out::Packet(next, packet));
        }
        if self.held.is_empty() {
            return None;
        }
        let due = match turn {
            Some(t) => next.wrapping_sub(t) as i16 <= 0,
            None => self.held.len() >= hold_limit.max(1),
        };
        if !due {
            return None;
        }
        let after = next.wrapping_add(1);
        self.next = Some(after);
        self.run = self.run.saturating_add(1);
        let following = self
            .held
            .get(&after)
            .filter(|p| p.audio)
            .map(|p| p.payload.clone());
        Some(Out::Gap {
            seq: next,
            next: following,
            run: self.run,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::codec::{Decoder, Encoder};
    use crate::media::Codec;

    fn audio(b: u8) -> Held {
        Held {
            payload: vec![b],
            audio: true,
        }
    }

    fn drain(o: &mut DecodeOrder, turn: Option<u16>, limit: usize) -> Vec<Out> {
        std::iter::from_fn(|| o.pop(turn, limit)).collect()
    }

    #[test]
    fn reordered_packets_come_out_in_sequence_order() {
        let mut o = DecodeOrder::default();
        assert_eq!(o.push(7, 65534, audio(0)), Taken::Held);
        assert_eq!(o.push(7, 0, audio(2)), Taken::Held);
        // 65535 is late: nothing after the gap comes out before its turn.
        assert_eq!(drain(&mut o, None, 3), vec![Out::Packet(65534, audio(0))]);
        assert_eq!(drain(&mut o, Some(65533), 3), vec![]);
        assert_eq!(o.push(7, 65535, audio(1)), Taken::Held);
        assert_eq!(o.push(7, 65535, audio(1)), Taken::Duplicate);
        assert_eq!(
            drain(&mut o, Some(65535), 3),
            vec![Out::Packet(65535, audio(1)), Out::Packet(0, audio(2))]
        );
        assert_eq!(o.push(7, 65535, audio(1)), Taken::Late);
    }

    #[test]
    fn a_gap_is_given_up_at_its_turn_with_the_packet_after_it() {
        let mut o = DecodeOrder::default();
        o.push(1, 10, audio(10));
        o.push(1, 12, audio(12));
        o.push(1, 13, audio(13));
        assert_eq!(drain(&mut o, Some(9), 9), vec![Out::Packet(10, audio(10))]);
        assert_eq!(drain(&mut o, Some(10), 9), vec![]);
        let gap = Out::Gap {
            seq: 11,
            next: Some(vec![12]),
            run: 1,
        };
        assert_eq!(
            drain(&mut o, Some(11), 9),
            vec![gap, Out::Packet(12, audio(12)), Out::Packet(13, audio(13))]
        );
        // Too late now.
        assert_eq!(o.push(1, 11, audio(11)), Taken::Late);
        // Two in a row, the second without a following packet here yet
        // (a non-audio packet offers no FEC).
        o.push(
            1,
            16,
            Held {
                payload: vec![],
                audio: false,
            },
        );
        let out = drain(&mut o, Some(15), 9);
        assert_eq!(
            out[..2],
            [
                Out::Gap {
                    seq: 14,
                    next: None,
                    run: 1
                },
                Out::Gap {
                    seq: 15,
                    next: None,
                    run: 2
                }
            ]
        );
    }

    #[test]
    fn a_packet_coming_the_tick_before_its_turn_is_decoded_not_given_up() {
        let mut o = DecodeOrder::default();
        o.push(1, 10, audio(10));
        o.push(1, 12, audio(12));
        // The playout plays 10 next: 11 is a tick away and not yet due,
        // even with the packet after it (and its FEC) here.
        assert_eq!(drain(&mut o, Some(10), 9), vec![Out::Packet(10, audio(10))]);
        assert_eq!(o.push(1, 11, audio(11)), Taken::Held);
        assert_eq!(
            drain(&mut o, Some(11), 9),
            vec![Out::Packet(11, audio(11)), Out::Packet(12, audio(12))]
        );
        // Not here at its turn: given up then, with the FEC carrier.
        o.push(1, 14, audio(14));
        assert_eq!(drain(&mut o, Some(12), 9), vec![]);
        assert_eq!(
            drain(&mut o, Some(13), 9),
            vec![
                Out::Gap {
                    seq: 13,
                    next: Some(vec![14]),
                    run: 1
                },
                Out::Packet(14, audio(14))
            ]
        );
    }

    #[test]
    fn between_ticks_only_packets_in_order_come_out_never_a_gap() {
        let mut o = DecodeOrder::default();
        o.push(1, 10, audio(10));
        o.push(1, 12, audio(12));
        o.push(1, 13, audio(13));
        let got: Vec<Out> = std::iter::from_fn(|| o.pop_in_order()).collect();
        assert_eq!(got, vec![Out::Packet(10, audio(10))]);
        // 11 is overdue for the playout, but a packet arriving between two
        // ticks gives nothing up: 11 may still come before its tick.
        assert_eq!(o.pop_in_order(), None);
        assert_eq!(o.push(1, 11, audio(11)), Taken::Held);
        let got: Vec<Out> = std::iter::from_fn(|| o.pop_in_order()).collect();
        assert_eq!(
            got,
            vec![
                Out::Packet(11, audio(11)),
                Out::Packet(12, audio(12)),
                Out::Packet(13, audio(13))
            ]
        );
    }

    #[test]
    fn while_the_playout_waits_a_gap_goes_once_enough_waits_behind_it() {
        let mut o = DecodeOrder::default();
        o.push(1, 1, audio(1));
        o.push(1, 3, audio(3));
        assert_eq!(drain(&mut o, None, 2).len(), 1);
        o.push(1, 4, audio(4));
        let out = drain(&mut o, None, 2);
        assert_eq!(out.len(), 3, "{out:?}");
        assert!(matches!(out[0], Out::Gap { seq: 2, .. }));
    }

    #[test]
    fn a_new_ssrc_or_a_renumbering_starts_afresh() {
        let mut o = DecodeOrder::default();
        o.push(1, 100, audio(1));
        o.push(1, 102, audio(2));
        assert_eq!(o.push(2, 5, audio(5)), Taken::Held);
        assert_eq!(drain(&mut o, None, 9), vec![Out::Packet(5, audio(5))]);
        assert_eq!(o.push(2, 30_000, audio(6)), Taken::Held);
        assert_eq!(o.held.len(), 1);
        assert_eq!(drain(&mut o, None, 9), vec![Out::Packet(30_000, audio(6))]);
    }

    /// Encodes a tone, delivers it shuffled within a few packets, and
    /// checks that decoding through the stage equals the in-order decode.
    fn reordered_decode_matches_in_order(codec: Codec) {
        let rate = codec.sample_rate();
        let tone = crate::media::tone::sine(1000.0, 1.0, rate);
        let mut enc = Encoder::new(codec);
        let packets: Vec<Vec<u8>> = tone
            .chunks(codec.frame_samples())
            .map(|f| {
                let mut p = Vec::new();
                enc.encode(f, &mut p);
                p
            })
            .collect();
        let mut expected = Vec::new();
        let mut dec = Decoder::new(codec);
        for p in &packets {
            dec.decode(p, &mut expected);
        }
        // Arrival order: swap neighbours and delay some by three.
        let mut order: Vec<usize> = (0..packets.len()).collect();
        for i in (4..order.len() - 3).step_by(4) {
            order.swap(i, i + 1);
            order.swap(i + 2, i + 3);
            order.swap(i + 1, i + 3);
        }
        let mut o = DecodeOrder::default();
        let mut dec = Decoder::new(codec);
        let mut got = Vec::new();
        let first = 40_000u16;
        for &i in &order {
            o.push(9, first.wrapping_add(i as u16), audio(0));
            // The real payload (the test's `audio` is a marker).
            o.held
                .get_mut(&first.wrapping_add(i as u16))
                .unwrap()
                .payload = packets[i].clone();
            while let Some(out) = o.pop(None, usize::MAX) {
                match out {
                    Out::Packet(_, p) => dec.decode(&p.payload, &mut got),
                    Out::Gap { .. } => panic!("no packet is lost"),
                }
            }
        }
        assert_eq!(got.len(), expected.len());
        assert!(got == expected, "{codec:?}: decoded output differs");
    }

    #[test]
    fn opus_decodes_a_reordered_stream_as_in_order() {
        reordered_decode_matches_in_order(Codec::Opus);
    }

    #[test]
    fn g722_decodes_a_reordered_stream_as_in_order() {
        reordered_decode_matches_in_order(Codec::G722);
    }
}
