#!/usr/bin/env bash
# bench/mixer.sh -- cost of the local conference mixer (src/media/conference/mixer.rs).
#
# Runs examples/mixer_bench.rs in release mode: for 3, 6 and 10 members (at 8, 16 and 48 kHz in
# turn, converted to the 48 kHz mix as at their ports), every party (us and
# each member) exchanges one synthetic 20 ms frame with the mix per tick, through the same
# mutex the member sessions use. Prints a table of CPU time per tick, per member per 20 ms
# frame, and as a share of the 20 ms frame period. Not a test: it asserts nothing.
# Environment: MIXER_BENCH_TICKS (measured ticks per size, default 20000 = 400 s of audio).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
cargo run --release --quiet --example mixer_bench
