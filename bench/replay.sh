#!/usr/bin/env bash
# bench/replay.sh -- bench/quality.sh's PCMU (or G.722) streams replayed
# offline through termphone's playout (jitter buffer and concealment) on a
# virtual clock, for several seeds: PESQ per seed and the mean, the same on
# every run of a build. G.722's jittered rows are not faithful (decoded in
# arrival order; see examples/playout_replay.rs). For judging a change to
# the concealment or the jitter buffer; the live bench/quality.sh remains
# what the README quotes. Not a test.
#
# Environment: REPLAY_CODEC (pcmu, the default, or g722), REPLAY_SEEDS
# (default 1,2,3), REPLAY_STREAMS (default all),
# QUALITY_VENV as for bench/quality.sh (pesq, numpy; made on first use).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
# shellcheck source=bench/lib.sh
. bench/lib.sh
bench_venv "pesq, numpy" pesq numpy
cargo build --quiet --example quality_encode --example playout_replay
bench_work replay
bench_run "$venv/bin/python" bench/quality/replay.py target/debug/examples/playout_replay \
    target/debug/examples/quality_encode "$work" \
    --codec "${REPLAY_CODEC:-pcmu}" --seeds "${REPLAY_SEEDS:-1,2,3}" --streams "${REPLAY_STREAMS:-clean,jitter,loss,bursts}"
