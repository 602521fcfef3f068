#!/usr/bin/env bash
# bench/interop.sh -- wideband calls between termphone and baresip 1.0, both
# ways, and how each side sounds to the other.
#
# For G.722 and Opus, termphone calls baresip and baresip calls termphone on
# loopback, each side limited to that one codec (bench/interop/run.py):
# termphone headless on the file backend, baresip with a config dir of its
# own (aufile microphone, sndfile recording, ctrl_tcp to dial and hang up).
# Both play the same espeak-ng speech reference; what each recorded is
# aligned to it and scored with PESQ-WB (pip pesq, bench/quality/run.py's
# helpers). Prints a table ready for the README. Not a test: the interop
# tests are tests/call_wideband.rs; this asserts nothing.
#
# Environment: INTEROP_CODECS (default g722,opus), QUALITY_VENV (default
# $XDG_CACHE_HOME/termphone/quality-venv, shared with bench/quality.sh).
# Needs baresip (with its g722, opus, aufile, aubridge, sndfile and ctrl_tcp
# modules), python3 with venv, espeak-ng and sox; the venv is made on first use.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
command -v baresip >/dev/null || { echo "bench/interop.sh: baresip is not installed (scripts/install-test-deps.sh)" >&2; exit 1; }
# shellcheck source=bench/lib.sh
. bench/lib.sh
bench_venv "pesq, numpy" pesq numpy
cargo build --quiet --bin termphone
bench_work interop
bench_run "$venv/bin/python" bench/interop/run.py target/debug/termphone "$work" \
    --codecs "${INTEROP_CODECS:-g722,opus}"
