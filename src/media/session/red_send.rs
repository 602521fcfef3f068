//! Sending with RFC 2198 redundancy (RED), once the SDP negotiated it:
//! each audio packet carries its own frame as the primary block and the
//! frame sent just before it as one redundant block, its timestamp offset
//! the distance between the two packets' timestamps.
//!
//! The previous frame goes in only when it was the packet right before
//! (the sequence number one less, the timestamp one frame back): after a
//! telephone-event, a mute or a hold the receiver could not tell which
//! packet such a block stands in for, so the packet then carries its
//! primary alone. Owns only the last frame sent; the payload format is
//! [`crate::media::red`]'s, the socket, SRTP and the RTP header are the
//! session's (SRTP protects the whole RED packet like any other).

use crate::media::red::{self, Previous};

/// The last audio frame sent, kept for the next packet.
#[derive(Debug, Default)]
pub(super) struct RedSend {
    last: Option<Last>,
    /// The RED payload being built (swapped with the session's payload).
    out: Vec<u8>,
}

#[derive(Debug)]
struct Last {
    seq: u16,
    ts: u32,
    payload_type: u8,
    frame: Vec<u8>,
}

impl RedSend {
    /// Turns `payload` (the encoded frame of the packet `seq` at `ts`, of
    /// payload type `primary_type`, frames `frame_ticks` apart) into its
    /// RED payload in place, and keeps the frame for the next packet.
    pub(super) fn wrap(
        &mut self,
        primary_type: u8,
        (seq, ts, frame_ticks): (u16, u32, u32),
        payload: &mut Vec<u8>,
    ) {
        let previous = self.last.as_ref().and_then(|l| {
            let follows = l.seq.wrapping_add(1) == seq
                && ts.wrapping_sub(l.ts) == frame_ticks
                && l.payload_type == primary_type;
            follows.then_some(Previous {
                payload_type: l.payload_type,
                ts_offset: frame_ticks,
                data: &l.frame,
            })
        });
        self.out.clear();
        red::packetize(primary_type, payload, previous, &mut self.out);
        let mut last = self.last.take().unwrap_or(Last {
            seq,
            ts,
            payload_type: primary_type,
            frame: Vec::new(),
        });
        last.seq = seq;
        last.ts = ts;
        last.payload_type = primary_type;
        last.frame.clear();
        last.frame.extend_from_slice(payload);
        self.last = Some(last);
        std::mem::swap(payload, &mut self.out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_packet_carries_the_one_before_it() {
        let mut tx = RedSend::default();
        let mut p = vec![1, 1];
        tx.wrap(0, (10, 1000, 160), &mut p);
        // The first packet has nothing before it.
        assert_eq!(p, vec![0, 1, 1]);
        let mut p = vec![2, 2];
        tx.wrap(0, (11, 1160, 160), &mut p);
        let red = red::depacketize(&p).unwrap();
        assert_eq!(red.primary, &[2, 2]);
        assert_eq!(red.redundant.len(), 1);
        assert_eq!(red.redundant[0].data, &[1, 1]);
        assert_eq!(red.redundant[0].ts_offset, 160);
        assert_eq!(red::redundant_sequence(11, 160, 160), Some(10));
    }

    #[test]
    fn no_redundancy_across_a_gap_in_sequence_or_time() {
        // (previous seq/ts/pt, this seq/ts/pt, carried)
        let cases = [
            ((10, 1000, 0), (11, 1160, 0), true),
            // A telephone-event took sequence number 11.
            ((10, 1000, 0), (12, 1320, 0), false),
            // Muted for a while: the timestamp jumped.
            ((10, 1000, 0), (11, 1640, 0), false),
            // Another codec.
            ((10, 1000, 8), (11, 1160, 0), false),
            // Wrapping numbers.
            ((65535, u32::MAX - 159, 0), (0, 0, 0), true),
        ];
        for (i, ((s0, t0, pt0), (s1, t1, pt1), carried)) in cases.into_iter().enumerate() {
            let mut tx = RedSend::default();
            let mut p = vec![7];
            tx.wrap(pt0, (s0, t0, 160), &mut p);
            let mut p = vec![8];
            tx.wrap(pt1, (s1, t1, 160), &mut p);
            let red = red::depacketize(&p).unwrap();
            assert_eq!(red.redundant.len(), usize::from(carried), "case {i}");
            assert_eq!(red.primary, &[8], "case {i}");
            assert_eq!(red.primary_type, pt1, "case {i}");
        }
    }
}
