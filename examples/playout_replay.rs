//! Replays an impaired stream through termphone's playout (the jitter
//! buffer and its loss concealment, `media::jitter`) on a virtual clock,
//! for `bench/replay.sh`: the same figures as the live bench's rows, but
//! deterministic (no sockets, no real-time scheduling) and in seconds, so
//! a change to the concealment can be judged on several seeds at once.
//!
//! Usage: `playout_replay pcmu|pcma|g722 PAYLOADS [TICK_PHASE_MS] < SCHEDULE > PCM`.
//! PAYLOADS is `quality_encode`'s output (one 20 ms payload per frame,
//! each behind its big-endian u16 length); SCHEDULE has a line per sent
//! packet, "send offset in seconds, packet index" (what
//! `bench/quality/streams.py` makes); the playout ticks every 20 ms,
//! TICK_PHASE_MS (default 5) after the first packet's send time. Writes
//! raw 16-bit little-endian PCM at the codec's rate and, on stderr, the
//! buffer's stats. G.722's decoder keeps state: before a packet that
//! follows missing ones it is moved on over them
//! (`Decoder::skip_frame`), as the session does when packets come in
//! order, so the clean and random-loss streams replay faithfully; under
//! jitter the session's reorder stage would decode in sequence order,
//! which this (decoding in arrival order) does not. Opus is not replayed
//! (its decoder's own concealment and FEC run in the session).

use std::io::{Read, Write};
use std::process::ExitCode;
use termphone::media::codec::Decoder;
use termphone::media::jitter::JitterBuffer;
use termphone::media::Codec;

const SSRC: u32 = 0x5eed;
const USAGE: &str = "usage: playout_replay pcmu|pcma|g722 PAYLOADS [TICK_PHASE_MS] < SCHEDULE";

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("playout_replay: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let codec = match args.first().map(String::as_str) {
        Some("pcmu") => Codec::Pcmu,
        Some("pcma") => Codec::Pcma,
        Some("g722") => Codec::G722,
        other => return Err(format!("{USAGE} (got {other:?})")),
    };
    let path = args.get(1).ok_or("missing PAYLOADS")?;
    let phase_ms: f64 = match args.get(2) {
        Some(v) => v.parse().map_err(|_| format!("bad TICK_PHASE_MS {v:?}"))?,
        None => 5.0,
    };
    let bytes = std::fs::read(path).map_err(|e| format!("{path}: {e}"))?;
    let payloads = split_payloads(&bytes)?;
    let mut text = String::new();
    std::io::stdin()
        .read_to_string(&mut text)
        .map_err(|e| format!("reading the schedule: {e}"))?;
    let schedule = parse_schedule(&text, payloads.len())?;

    let mut decoder = Decoder::new(codec);
    let mut jb = JitterBuffer::with_rate(codec.sample_rate());
    let mut last: Option<usize> = None;
    let mut frame = vec![0i16; jb.frame_len()];
    let mut out = Vec::with_capacity((payloads.len() + 20) * frame.len());
    let mut next = schedule.iter().peekable();
    // Ticks until every packet has had its turn and the buffer has drained.
    for tick in 0..payloads.len() + 20 {
        let now = phase_ms / 1000.0 + tick as f64 * 0.020;
        while let Some(&&(_, index)) = next.peek().filter(|(at, _)| *at <= now) {
            for _ in last.map_or(index, |l| l + 1)..index {
                decoder.skip_frame();
            }
            last = Some(last.map_or(index, |l| l.max(index)));
            let mut samples = Vec::new();
            decoder.decode(payloads[index], &mut samples);
            jb.push(SSRC, index as u16, samples);
            next.next();
        }
        jb.pop(&mut frame);
        out.extend(frame.iter().flat_map(|s| s.to_le_bytes()));
    }
    std::io::stdout()
        .write_all(&out)
        .map_err(|e| format!("writing the PCM: {e}"))?;
    eprintln!("{:?}", jb.stats());
    Ok(())
}

fn split_payloads(bytes: &[u8]) -> Result<Vec<&[u8]>, String> {
    let mut payloads = Vec::new();
    let mut rest = bytes;
    while let [hi, lo, tail @ ..] = rest {
        let n = usize::from(u16::from_be_bytes([*hi, *lo]));
        if tail.len() < n {
            return Err("PAYLOADS ends inside a payload".into());
        }
        payloads.push(&tail[..n]);
        rest = &tail[n..];
    }
    Ok(payloads)
}

/// The schedule's (send offset, packet index) pairs, sorted by offset.
fn parse_schedule(text: &str, count: usize) -> Result<Vec<(f64, usize)>, String> {
    let mut schedule = Vec::new();
    for (n, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let bad = || format!("schedule line {}: {line:?}", n + 1);
        let mut fields = line.split_whitespace();
        let at: f64 = fields.next().and_then(|v| v.parse().ok()).ok_or_else(bad)?;
        let index: usize = fields.next().and_then(|v| v.parse().ok()).ok_or_else(bad)?;
        if index >= count || !at.is_finite() {
            return Err(bad());
        }
        schedule.push((at, index));
    }
    schedule.sort_by(|a, b| a.0.total_cmp(&b.0));
    Ok(schedule)
}
