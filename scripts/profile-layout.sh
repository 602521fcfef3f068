#!/usr/bin/env bash
# scripts/profile-layout.sh -- regenerates scripts/layout/order.txt, the code layout
# scripts/cc-ordered.sh gives the shipped binary (scripts/dist.sh).
#
# Builds termphone (dist profile, with symbols, plain link) and runs it under valgrind's callgrind, headless
# with the file audio backend, twice: once it starts, idles and quits; once it also calls
# the built-in echo peer, takes a call from a second phone and lists the history. The
# functions of the first run come first, then those the second added, each by its
# demangled name without hash. Needs valgrind (apt). Run it after larger changes and
# commit the list; bench/run.sh shows the effect on idle RSS.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
for tool in valgrind callgrind_control nm sox; do
    command -v "$tool" >/dev/null 2>&1 || { echo "missing $tool" >&2; exit 1; }
done
target="${CARGO_TARGET_DIR:-$root/target}/layout-profile"
echo "building termphone (dist profile, with symbols)..." >&2
(cd "$root" && CARGO_TARGET_DIR="$target" CARGO_PROFILE_DIST_STRIP=false \
    RUSTFLAGS="$("$root/scripts/layout/rustflags.sh")" cargo build --profile dist --bin termphone --quiet)
bin="$target/dist/termphone"

work=$(mktemp -d "${TMPDIR:-/tmp}/termphone-layout.XXXXXX")
pid=
caller=
cleanup() {
    [ -n "$pid" ] && kill "$pid" 2>/dev/null || true
    [ -n "$caller" ] && kill "$caller" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT INT TERM

sox -n -r 8000 -c 1 -b 16 "$work/tone.wav" synth 10 sine 600
# phone_config DIR -- a headless phone with the file backend that answers every call.
phone_config() {
    mkdir -p "$1/rec" "$1/runtime"
    chmod 700 "$1/runtime"
    cat >"$1/config.toml" <<CFG
control = "$1/control.sock"

[sip]
listen = "127.0.0.1:0"

# An account as most phones have one (bench/run.sh measures the same), kept off any server.
[[account]]
name = "profile"
user = "profile"
domain = "127.0.0.1"
register = false

[audio]
backend = "file"
input = "$work/tone.wav"
output_dir = "$1/rec"

[phone]
auto_answer = true
CFG
}
phone_config "$work"
phone_config "$work/caller"
# run_phone NAME SCENARIO -- runs the phone under callgrind (profile in $work/NAME.out)
# while SCENARIO drives it over the control socket, then quits it.
run_phone() {
    rm -f "$work/control.sock"
    env XDG_RUNTIME_DIR="$work/runtime" XDG_DATA_HOME="$work/data" XDG_STATE_HOME="$work/state" \
        HOME="$work" valgrind --tool=callgrind --demangle=no --callgrind-out-file="$work/$1.out" \
        "$bin" --headless --config "$work/config.toml" >"$work/$1.log" 2>&1 &
    pid=$!
    local _
    for _ in $(seq 300); do
        [ -S "$work/control.sock" ] && ctl status 2>/dev/null && break
        sleep 0.2
    done
    "$2"
    # The profile so far, apart from what quitting runs ($work/NAME.out.1): the code of
    # shutting down goes after that of idling and calling.
    callgrind_control --dump "$pid" >/dev/null
    ctl quit
    wait "$pid" || true
    pid=
}
ctl() { "$bin" ctl --socket "$work/control.sock" "$@" >/dev/null; }
idle() { sleep 3; }
call() {
    ctl dial echo
    sleep 6
    ctl hangup
    # An incoming call, from a second phone (not profiled).
    local listen
    listen=$("$bin" ctl --socket "$work/control.sock" status | grep -o '"listen":"[^"]*"' | cut -d'"' -f4)
    env XDG_RUNTIME_DIR="$work/caller/runtime" XDG_DATA_HOME="$work/caller/data" HOME="$work/caller" \
        "$bin" --headless --config "$work/caller/config.toml" >"$work/caller.log" 2>&1 &
    caller=$!
    local _
    for _ in $(seq 100); do
        [ -S "$work/caller/control.sock" ] && break
        sleep 0.1
    done
    "$bin" ctl --socket "$work/caller/control.sock" dial "sip:profile@$listen" >/dev/null
    sleep 6
    "$bin" ctl --socket "$work/caller/control.sock" quit >/dev/null
    wait "$caller" || true
    caller=
    ctl history
    sleep 1
}
run_phone idle idle
run_phone call call

# Symbol -> name (scripts/layout/functions.sh, as cc-ordered.sh reads them), then the
# functions that ran: first those of the idle phone, then those a call adds.
"$root/scripts/layout/functions.sh" "$bin" >"$work/names"
out="$root/scripts/layout/order.txt"
mkdir -p "$(dirname "$out")"
{
    echo "# Functions in the order the phone first runs them (scripts/profile-layout.sh)."
    echo "# Read by scripts/cc-ordered.sh when scripts/dist.sh links the shipped binary."
    awk '
        FNR == NR { split($0, f, "\t"); name[f[1]] = f[2]; next }
        match($0, /^c?fn=\([0-9]+\) /) {
            s = substr($0, RLENGTH + 1)
            if (!(s in name) || (name[s] in seen)) next
            seen[name[s]] = 1
            print name[s]
        }' "$work/names" "$work/idle.out.1" "$work/call.out.1" "$work/idle.out" "$work/call.out"
} >"$out"
echo "$(($(wc -l <"$out") - 2)) functions written to $out" >&2
