//! Table tests of the packet checks and the source and SSRC decisions.

use super::*;
use std::net::SocketAddr;

/// An RTP header: V=2, the given first byte's low bits, PT 0, seq 7,
/// timestamp 160, SSRC 0xABCD.
fn header(flags: u8) -> Vec<u8> {
    let mut v = vec![0x80 | flags, 0x80, 0, 7, 0, 0, 0, 160, 0, 0, 0xAB, 0xCD];
    v.truncate(12);
    v
}

fn with(mut head: Vec<u8>, rest: &[u8]) -> Vec<u8> {
    head.extend_from_slice(rest);
    head
}

/// The datagram of the report: a one-byte extension whose element claims
/// 16 bytes in a 4-byte block, 20 bytes in all.
fn element_past_the_end() -> Vec<u8> {
    with(header(0x10), &[0xBE, 0xDE, 0, 1, 0x1F, 0, 0, 0])
}

/// A case: name, datagram, the payload it reads as or why it is dropped.
type RtpCase = (&'static str, Vec<u8>, Result<&'static [u8], Malformed>);

#[test]
fn rtp_checks() {
    let plain = with(header(0), &[1, 2, 3]);
    let cases: Vec<RtpCase> = vec![
        ("plain", plain.clone(), Ok(&[1, 2, 3])),
        ("empty payload", header(0), Ok(&[])),
        ("short", plain[..11].to_vec(), Err(Malformed::Short)),
        (
            "version 1",
            with(vec![0x40], &plain[1..]),
            Err(Malformed::Version),
        ),
        (
            "csrc past end",
            with(header(0x02), &[0, 0, 0, 1]),
            Err(Malformed::Csrc),
        ),
        ("csrc fits", with(header(0x01), &[0, 0, 0, 1, 9]), Ok(&[9])),
        (
            "ext header cut",
            with(header(0x10), &[0xBE, 0xDE, 0]),
            Err(Malformed::Extension),
        ),
        (
            "ext length past end",
            with(header(0x10), &[0xBE, 0xDE, 0, 2, 0x10, 1, 0, 0]),
            Err(Malformed::Extension),
        ),
        (
            "one-byte element past block",
            element_past_the_end(),
            Err(Malformed::ExtensionElement),
        ),
        (
            "one-byte elements fit",
            with(header(0x10), &[0xBE, 0xDE, 0, 1, 0x10, 5, 0, 0, 42]),
            Ok(&[42]),
        ),
        (
            "one-byte reserved id stops",
            with(header(0x10), &[0xBE, 0xDE, 0, 1, 0xFF, 0, 0, 0]),
            Ok(&[]),
        ),
        (
            "two-byte length missing",
            with(header(0x10), &[0x10, 0x00, 0, 1, 0, 0, 0, 7]),
            Err(Malformed::ExtensionElement),
        ),
        (
            "two-byte element past block",
            with(header(0x10), &[0x10, 0x00, 0, 1, 1, 9, 0, 0]),
            Err(Malformed::ExtensionElement),
        ),
        (
            "two-byte element fits",
            with(header(0x10), &[0x10, 0x00, 0, 1, 1, 2, 8, 8, 3]),
            Ok(&[3]),
        ),
        (
            "opaque profile",
            with(header(0x10), &[0x12, 0x34, 0, 1, 0xFF, 0xFF, 0xFF, 0xFF, 3]),
            Ok(&[3]),
        ),
        ("padding", with(header(0x20), &[5, 6, 0, 2]), Ok(&[5, 6])),
        (
            "padding zero",
            with(header(0x20), &[5, 0]),
            Err(Malformed::Padding),
        ),
        (
            "padding past payload",
            with(header(0x20), &[5, 3]),
            Err(Malformed::Padding),
        ),
        (
            "padding without payload",
            header(0x20),
            Err(Malformed::Padding),
        ),
    ];
    for (name, bytes, want) in cases {
        let got = rtp(&bytes).map(|v| v.payload);
        assert_eq!(got, want, "{name}");
    }
    let v = rtp(&plain).unwrap();
    assert_eq!(
        (v.marker, v.payload_type, v.sequence, v.timestamp, v.ssrc),
        (true, 0, 7, 160, 0xABCD)
    );
}

/// The report's datagram really is what panics the `rtp` crate's parser:
/// the check above is what keeps it away from it.
#[test]
fn the_reported_datagram_panics_the_crate_parser() {
    use webrtc_util::marshal::Unmarshal;
    let bytes = element_past_the_end();
    let crashed = std::panic::catch_unwind(|| {
        let _ = rtp::packet::Packet::unmarshal(&mut bytes.as_slice());
    });
    assert!(crashed.is_err());
}

fn rr(count: u8, blocks: usize) -> Vec<u8> {
    let words = (4 + blocks * 24) / 4;
    let mut v = vec![0x80 | count, 201, 0, words as u8, 0, 0, 0, 1];
    v.extend(std::iter::repeat_n(0u8, blocks * 24));
    v
}

#[test]
fn rtcp_checks() {
    let sdes_ok = vec![0x81, 202, 0, 3, 0, 0, 0, 1, 1, 2, b'a', b'b', 0, 0, 0, 0];
    let mut sdes_item_past = sdes_ok.clone();
    sdes_item_past[9] = 200;
    let bye_reason = vec![0x81, 203, 0, 2, 0, 0, 0, 1, 2, b'h', b'i', 0];
    let mut bye_reason_past = bye_reason.clone();
    bye_reason_past[8] = 9;
    let cases: Vec<(&str, Vec<u8>, Result<(), Malformed>)> = vec![
        ("empty RR", rr(0, 0), Ok(())),
        ("RR with a block", rr(1, 1), Ok(())),
        ("compound", [rr(1, 1), sdes_ok.clone()].concat(), Ok(())),
        ("short", vec![0x80, 201], Err(Malformed::Short)),
        (
            "trailing bytes",
            [rr(0, 0), vec![0x80]].concat(),
            Err(Malformed::Short),
        ),
        (
            "version",
            vec![0x40, 201, 0, 1, 0, 0, 0, 1],
            Err(Malformed::Version),
        ),
        (
            "length past end",
            vec![0x80, 201, 0, 9, 0, 0, 0, 1],
            Err(Malformed::Length),
        ),
        ("RR count past length", rr(2, 1), Err(Malformed::Count)),
        (
            "SR too short",
            vec![0x80, 200, 0, 1, 0, 0, 0, 1],
            Err(Malformed::Count),
        ),
        ("SDES", sdes_ok, Ok(())),
        ("SDES item past end", sdes_item_past, Err(Malformed::Count)),
        (
            "SDES count past end",
            vec![0x82, 202, 0, 1, 0, 0, 0, 1],
            Err(Malformed::Count),
        ),
        ("BYE with reason", bye_reason, Ok(())),
        (
            "BYE reason past end",
            bye_reason_past,
            Err(Malformed::Count),
        ),
        (
            "BYE count past end",
            vec![0x82, 203, 0, 1, 0, 0, 0, 1],
            Err(Malformed::Count),
        ),
        (
            "padding",
            vec![0xA0, 201, 0, 2, 0, 0, 0, 1, 0, 0, 0, 4],
            Ok(()),
        ),
        (
            "padding zero",
            vec![0xA0, 201, 0, 2, 0, 0, 0, 1, 0, 0, 0, 0],
            Err(Malformed::Padding),
        ),
        (
            "padding past body",
            vec![0xA0, 201, 0, 1, 0, 0, 0, 9],
            Err(Malformed::Padding),
        ),
    ];
    for (name, bytes, want) in cases {
        assert_eq!(rtcp(&bytes), want, "{name}");
    }
}

fn a(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

#[test]
fn source_verdicts() {
    let sdp = a("192.0.2.1:4000");
    let nat = a("198.51.100.7:61000");
    let other = a("203.0.113.9:4000");
    let unknown = a("0.0.0.0:0");
    use SourceVerdict::{Accept, Drop};
    let cases = [
        // (latch, negotiated, from, symmetric, verdict)
        (Latch::Open, sdp, sdp, false, Accept),
        (Latch::Open, sdp, nat, false, Drop),
        (Latch::Open, sdp, a("192.0.2.1:4002"), false, Drop),
        (
            Latch::Open,
            sdp,
            a("[::ffff:192.0.2.1]:4000"),
            false,
            Accept,
        ),
        (Latch::Open, unknown, sdp, false, Drop),
        (Latch::Open, unknown, sdp, true, Drop),
        (Latch::Open, sdp, sdp, true, SourceVerdict::Latch(sdp)),
        (Latch::Open, sdp, nat, true, SourceVerdict::Latch(nat)),
        (Latch::Pinned(nat), sdp, nat, true, Accept),
        (Latch::Pinned(nat), sdp, other, true, Drop),
        (
            Latch::Pinned(nat),
            sdp,
            sdp,
            true,
            SourceVerdict::Latch(sdp),
        ),
        (Latch::Pinned(sdp), sdp, nat, true, Drop),
        (Latch::Pinned(sdp), sdp, sdp, true, Accept),
        (
            Latch::Pinned(sdp),
            sdp,
            a("[::ffff:192.0.2.1]:4000"),
            true,
            Accept,
        ),
    ];
    for (latch, negotiated, from, symmetric, want) in cases {
        assert_eq!(
            source_verdict(latch, negotiated, from, symmetric),
            want,
            "{latch:?} {negotiated} {from} symmetric={symmetric}"
        );
    }
}

#[test]
fn latch_applies_and_names_the_target() {
    let sdp = a("192.0.2.1:4000");
    let nat = a("198.51.100.7:61000");
    let mut latch = Latch::Open;
    assert_eq!(latch.target(sdp, true), sdp);
    assert!(latch.apply(SourceVerdict::Latch(nat)));
    assert_eq!(latch, Latch::Pinned(nat));
    assert_eq!(latch.target(sdp, true), nat);
    assert_eq!(latch.target(sdp, false), sdp);
    assert!(latch.apply(SourceVerdict::Accept));
    assert!(!latch.apply(SourceVerdict::Drop));
    assert_eq!(latch, Latch::Pinned(nat));
}

#[test]
fn ssrc_lock_steps() {
    use SsrcVerdict::*;
    // (ssrc, seq, verdict, current after)
    let script: &[(u32, u16, SsrcVerdict, u32)] = &[
        (1, 100, Accept, 1),
        (1, 101, Accept, 1),
        // Three injected packets of a new SSRC do not take over...
        (2, 5, Probation { restart: true }, 1),
        (2, 6, Probation { restart: false }, 1),
        (2, 7, Probation { restart: false }, 1),
        // ...and the current one speaking again clears the run.
        (1, 102, Accept, 1),
        (2, 8, Probation { restart: true }, 1),
        // Out of order restarts the run.
        (2, 10, Probation { restart: true }, 1),
        (2, 11, Probation { restart: false }, 1),
        // Another candidate restarts it too.
        (3, 12, Probation { restart: true }, 1),
        (2, 12, Probation { restart: true }, 1),
        (2, 13, Probation { restart: false }, 1),
        (2, 14, Probation { restart: false }, 1),
        // The fourth in a row, across the sequence wrap elsewhere: switch.
        (2, 15, Switch, 2),
        (2, 16, Accept, 2),
        (1, 103, Probation { restart: true }, 2),
    ];
    let mut lock = SsrcLock::default();
    assert_eq!(lock.current(), None);
    for (i, &(ssrc, seq, want, current)) in script.iter().enumerate() {
        assert_eq!(lock.step(ssrc, seq), want, "step {i}");
        assert_eq!(lock.current(), Some(current), "step {i}");
    }
    // The run survives the sequence number wrap.
    let mut lock = SsrcLock::default();
    lock.step(1, 0);
    let seqs = [65_534u16, 65_535, 0, 1];
    let verdicts: Vec<_> = seqs.iter().map(|&s| lock.step(9, s)).collect();
    assert_eq!(verdicts[3], Switch, "{verdicts:?}");
    assert_eq!(SSRC_PROBATION as usize, seqs.len());
}
