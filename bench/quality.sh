#!/usr/bin/env bash
# bench/quality.sh -- what a listener hears over an impaired network, termphone beside pjsua2.
#
# A speech reference (espeak-ng, Harvard sentences) is encoded once per codec
# (examples/quality_encode.rs, termphone's own encoders) and the same RTP
# packets are sent, on the same seeded schedules, to a termphone (headless,
# auto_answer, file audio backend recording what it plays out) and to pjsua2
# (pip pjsua2-python: null sound device, AudioMediaRecorder on the call) by a
# small SIP caller on loopback (bench/quality/sipsend.py). Streams: clean;
# 0–40 ms jitter; 5 % random loss; 5 % loss in bursts of up to 3 plus 0–40 ms
# jitter (bench/quality/streams.py). Each recording is aligned to the
# reference and scored with PESQ (pip pesq): NB for PCMU, WB for G.722 and
# Opus (pjsua2-python has no Opus: that column reads n/a). Prints a table
# ready for the README. Not a test: it asserts nothing.
#
# Environment: QUALITY_SEED (default 1), QUALITY_CODECS (default
# pcmu,g722,opus), QUALITY_VENV (default $XDG_CACHE_HOME/termphone/quality-venv).
# Needs python3 with venv, espeak-ng and sox; the venv is made on first use.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
# shellcheck source=bench/lib.sh
. bench/lib.sh
bench_venv "pesq, numpy, pjsua2" pesq numpy pjsua2-python
cargo build --quiet --bin termphone --example quality_encode
bench_work quality
bench_run "$venv/bin/python" bench/quality/run.py target/debug/termphone target/debug/examples/quality_encode "$work" \
    --seed "${QUALITY_SEED:-1}" --codecs "${QUALITY_CODECS:-pcmu,g722,opus}"
