//! Conference mixer cost: CPU time per member per 20 ms frame for 3, 6 and
//! 10 members, on synthetic frames (every party speaks a tone), locked
//! through the same `Arc<Mutex<Mixer>>` the sessions use. Members take
//! turns at 8, 16 and 48 kHz (G.711, G.722, Opus) and convert to and from
//! the mix rate the way their ports do, so a member's cost is its
//! conversion plus its part of the mix.
//! Run by `bench/mixer.sh` (`cargo run --release --example mixer_bench`).
//! `MIXER_BENCH_TICKS` sets the measured ticks per size (default 20000,
//! 400 s of audio).

use std::sync::{Arc, Mutex};
use std::time::Instant;
use termphone::media::conference::mixer::{Mixer, LOCAL, MIX_FRAME, MIX_RATE};
use termphone::media::conference::rate::RateAdapter;

/// Member rates, in turn.
const RATES: [u32; 3] = [8000, 16_000, 48_000];

/// This thread's CPU time in ns (Linux `/proc/thread-self/schedstat`).
fn thread_cpu_ns() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    s.split_whitespace().next()?.parse().ok()
}

/// Frame `n` of a tone at `rate` (20 ms).
fn tone(freq: f64, rate: u32, n: usize) -> Vec<i16> {
    let len = rate as usize / 50;
    let w = 2.0 * std::f64::consts::PI * freq / f64::from(rate);
    (0..len)
        .map(|i| ((w * (n * len + i) as f64).sin() * 3000.0) as i16)
        .collect()
}

struct Row {
    members: usize,
    tick_us: f64,
    per_member_us: f64,
    wall_us: f64,
}

fn measure(members: usize, ticks: usize) -> Row {
    let mixer = Arc::new(Mutex::new(Mixer::new()));
    let ids: Vec<u64> = (1..=members as u64).collect();
    for &id in &ids {
        if let Ok(mut m) = mixer.lock() {
            m.add(id);
        }
    }
    let parties: Vec<u64> = std::iter::once(LOCAL).chain(ids).collect();
    // Our side at the mix rate, members in turn at RATES.
    let rates: Vec<u32> = parties
        .iter()
        .map(|&id| match id {
            LOCAL => MIX_RATE,
            _ => RATES[(id as usize - 1) % RATES.len()],
        })
        .collect();
    // 50 different frames per party, prepared up front.
    let frames: Vec<Vec<Vec<i16>>> = parties
        .iter()
        .zip(&rates)
        .map(|(&id, &rate)| {
            (0..50)
                .map(|n| tone(300.0 + 170.0 * id as f64, rate, n))
                .collect()
        })
        .collect();
    let mut adapters: Vec<Option<RateAdapter>> = rates
        .iter()
        .map(|&r| (r != MIX_RATE).then(|| RateAdapter::between(r, MIX_RATE)))
        .collect();
    let mut inp = [0i16; MIX_FRAME];
    let mut out = [0i16; MIX_FRAME];
    let mut send = vec![0i16; MIX_FRAME];
    let mut sink = 0i64;
    let mut run = |n_ticks: usize| {
        for n in 0..n_ticks {
            for (k, &id) in parties.iter().enumerate() {
                let frame = &frames[k][n % 50];
                match adapters[k].as_mut() {
                    Some(a) => a.to_mix(frame, &mut inp),
                    None => inp.copy_from_slice(frame),
                }
                if let Ok(mut m) = mixer.lock() {
                    m.exchange(id, &inp, true, &mut out);
                }
                send.resize(frame.len(), 0);
                match adapters[k].as_mut() {
                    Some(a) => a.from_mix(&out, &mut send),
                    None => send.copy_from_slice(&out),
                }
                sink = sink.wrapping_add(i64::from(send[n % send.len()]));
            }
        }
    };
    run(500);
    let cpu0 = thread_cpu_ns();
    let wall0 = Instant::now();
    run(ticks);
    let wall = wall0.elapsed().as_secs_f64() * 1e6;
    let cpu = match (cpu0, thread_cpu_ns()) {
        (Some(a), Some(b)) => (b - a) as f64 / 1e3,
        _ => wall,
    };
    std::hint::black_box(sink);
    let tick_us = cpu / ticks as f64;
    Row {
        members,
        tick_us,
        per_member_us: tick_us / members as f64,
        wall_us: wall / ticks as f64,
    }
}

fn main() {
    let ticks = std::env::var("MIXER_BENCH_TICKS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000usize)
        .max(1);
    let source = if thread_cpu_ns().is_some() {
        "thread CPU time"
    } else {
        "wall time (no /proc/thread-self/schedstat)"
    };
    println!(
        "conference mixer, {MIX_RATE} Hz mix, members at 8/16/48 kHz in turn, 20 ms frames, \
         {ticks} ticks per size, {source}"
    );
    println!(
        "{:>7}  {:>16}  {:>22}  {:>14}  {:>12}",
        "members", "per tick (us)", "per member/frame (us)", "% of 20 ms", "wall/tick"
    );
    for members in [3, 6, 10] {
        let r = measure(members, ticks);
        println!(
            "{:>7}  {:>16.2}  {:>22.2}  {:>13.3}%  {:>10.2}us",
            r.members,
            r.tick_us,
            r.per_member_us,
            r.tick_us / 20_000.0 * 100.0,
            r.wall_us
        );
    }
    println!(
        "(a tick = our side plus every member converting and exchanging one frame with the mix)"
    );
}
