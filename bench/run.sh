#!/usr/bin/env bash
# bench/run.sh -- resource use of termphone next to baresip under the same SIPp loads, on loopback.
#
# Both run headless and answer every call (termphone: [phone] auto_answer, file audio backend
# playing a tone; baresip: answermode=auto, aufile source, aubridge player). For each of them:
#   (a) 20 concurrent PCMU calls, RTP both ways for 15 s (SIPp rtp_stream on one side, the
#       phone's own stream on the other): idle RSS, peak RSS, CPU seconds used during the load;
#   (b) call setup rate: 100 ms calls without media at 200/s and 400/s, about 5 s each:
#       completed and failed calls, RSS after the load;
#   (c) memory after a burst: RSS after 20 warm-up calls (measured once their transactions
#       have ended, before the loads above), then a burst of 3000 short calls at 150/s after
#       the loads, and RSS a minute later, against the warm-up's.
# Prints a table with both and the termphone/baresip ratios. Needs sipp, baresip, sox
# (scripts/install-test-deps.sh). Builds the shipped binary first (scripts/dist.sh: the
# release profile with its code laid out), or measures TERMPHONE_BIN when that is set.
# Environment: BENCH_SECS (media call length, default 15), BENCH_CALLS (default 20),
# BENCH_ONLY=termphone|baresip (measure one of them), BENCH_KEEP=1 (keep the work dir),
# BENCH_PLAIN_CONFIG=1 (a build older than the [sip] limit keys).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
media_secs=${BENCH_SECS:-15}
media_calls=${BENCH_CALLS:-20}
rates=(200 400)
rate_secs=5

for tool in sipp baresip sox ss; do
    command -v "$tool" >/dev/null 2>&1 || { echo "missing $tool: run scripts/install-test-deps.sh" >&2; exit 1; }
done

only=${BENCH_ONLY:-}
bin=${TERMPHONE_BIN:-}
if [ "$only" != baresip ] && [ -z "$bin" ]; then
    echo "building termphone (scripts/dist.sh)..." >&2
    bin=$("$root/scripts/dist.sh" --quiet)
fi
[ "$only" = baresip ] || [ -x "$bin" ] || { echo "no binary at $bin" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/termphone-bench.XXXXXX")
pids=()
cleanup() {
    local p
    for p in "${pids[@]}"; do
        kill -TERM -- "-$p" 2>/dev/null || kill -TERM "$p" 2>/dev/null || true
    done
    sleep 0.5
    for p in "${pids[@]}"; do
        kill -KILL -- "-$p" 2>/dev/null || kill -KILL "$p" 2>/dev/null || true
    done
    if [ -n "${BENCH_KEEP:-}" ]; then echo "bench files kept in $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT INT TERM

# free_port [span] -- a port on 127.0.0.1 free for UDP and TCP, with `span` free ports after it.
used_ports=" "
free_port() {
    local span=${1:-0} tries=0 base p ok
    while [ $tries -lt 500 ]; do
        tries=$((tries + 1))
        base=$((20000 + RANDOM % 30000))
        ok=1
        for ((p = base; p <= base + span; p++)); do
            case "$used_ports" in *" $p "*) ok=0; break ;; esac
            if [ -n "$(ss -Hlnu "sport = :$p")" ] || [ -n "$(ss -Hlnt "sport = :$p")" ]; then ok=0; break; fi
        done
        if [ $ok = 1 ]; then
            for ((p = base; p <= base + span; p++)); do used_ports+="$p "; done
            echo "$base"
            return 0
        fi
    done
    echo "no free port" >&2
    return 1
}

rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
hwm_kb() { awk '/^VmHWM:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
# cpu_ticks PID -- utime + stime (fields 14, 15 of /proc/PID/stat; the name may contain spaces)
cpu_ticks() { sed -e 's/^.*) //' "/proc/$1/stat" 2>/dev/null | awk '{print $12 + $13}' || echo 0; }
hz=$(getconf CLK_TCK)

sox -n -r 8000 -c 1 -t ul "$work/tone.ul" synth "$((media_secs + 10))" sine 1000
sox -n -r 8000 -c 1 -b 16 "$work/tone-600.wav" synth 60 sine 600

# The setup-rate loads come from one address far faster than a PBX sends: the
# flood limits (docs/control.md, [sip]) would refuse part of them. Builds from
# before those keys existed refuse them: BENCH_PLAIN_CONFIG=1 leaves them out.
sip_limits=$'max_requests_per_source = 100000\nmax_transactions = 100000'
[ -n "${BENCH_PLAIN_CONFIG:-}" ] && sip_limits=""

start_termphone() {
    local port=$1 dir="$work/termphone"
    mkdir -p "$dir/rec" "$dir/xdg/runtime"
    chmod 700 "$dir/xdg/runtime"
    cat >"$dir/config.toml" <<CFG
control = "$dir/control.sock"

[sip]
listen = "127.0.0.1:$port"
$sip_limits

[[account]]
name = "bench"
user = "bench"
domain = "127.0.0.1"
register = false

[audio]
backend = "file"
input = "$work/tone-600.wav"
output_dir = "$dir/rec"

[phone]
auto_answer = true
max_calls = 1000
CFG
    XDG_RUNTIME_DIR="$dir/xdg/runtime" XDG_DATA_HOME="$dir/xdg/data" XDG_CONFIG_HOME="$dir/xdg/config" \
        XDG_STATE_HOME="$dir/xdg/state" HOME="$dir" \
        setsid "$bin" --headless --config "$dir/config.toml" >"$dir/termphone.log" 2>&1 &
    echo $!
}

start_baresip() {
    local port=$1 dir="$work/baresip"
    mkdir -p "$dir"
    cat >"$dir/config" <<CFG
poll_method epoll
sip_listen 127.0.0.1:$port
dns_server 127.0.0.1:$(free_port)
call_max_calls 1000
audio_player aubridge,player
audio_alert aubridge,player
audio_source aufile,$work/tone-600.wav
module_path /usr/lib/baresip/modules
module g711.so
module aufile.so
module aubridge.so
module_app account.so
module_app menu.so
CFG
    echo '<sip:bench@127.0.0.1>;regint=0;answermode=auto' >"$dir/accounts"
    : >"$dir/contacts"
    setsid baresip -f "$dir" -n 127.0.0.1 >"$dir/baresip.log" 2>&1 &
    echo $!
}

# wait_listen PORT -- until something listens on UDP PORT (10 s at most)
wait_listen() {
    local i
    for i in $(seq 100); do
        [ -n "$(ss -Hlnu "sport = :$1")" ] && return 0
        sleep 0.1
    done
    return 1
}

# stat_field FILE NAME -- last value of a column of a sipp -stf CSV
stat_field() {
    awk -F';' -v name="$2" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == name) c = i; next }
        c { v = $c } END { print (v == "" ? "?" : v) }' "$1"
}

# short_calls name port label calls rate -- `calls` 100 ms calls without media at `rate`/s;
# records the completed ones as R[name.label_ok].
short_calls() {
    local name=$1 port=$2 label=$3 calls=$4 rate=$5 dir="$work/sipp-$1" sp mp spid
    sp=$(free_port)
    mp=$(free_port 4)
    (cd "$dir" && exec sipp -sf "$root/tests/sipp/uac_nomedia.xml" "127.0.0.1:$port" -s bench \
        -i 127.0.0.1 -mi 127.0.0.1 -p "$sp" -mp "$mp" -d 100 -r "$rate" -m "$calls" \
        -l "$((rate * 2))" -nostdin -timeout "$((calls / rate + 30))s" -timeout_error \
        -trace_stat -stf "$dir/$label.csv" -fd 1 >"$dir/$label.screen" 2>&1) &
    spid=$!
    pids+=("$spid")
    wait "$spid" || true
    R[$name.${label}_ok]=$(stat_field "$dir/$label.csv" "SuccessfulCall(C)")
}

declare -A R
run_target() {
    local name=$1 pid=$2 port=$3
    local dir="$work/sipp-$name"
    mkdir -p "$dir"
    cp "$work/tone.ul" "$dir/tone.ul"
    wait_listen "$port" || { echo "$name did not start" >&2; tail -20 "$work/$name/"*.log >&2; exit 1; }
    sleep 2
    R[$name.idle]=$(rss_kb "$pid")

    # (c), first part: a few warm-up calls, measured once their transactions are gone.
    short_calls "$name" "$port" warmup 20 10
    sleep 34
    R[$name.warm]=$(rss_kb "$pid")

    # (a) concurrent media calls
    local mp t0 t1 peak=0 r sp
    mp=$(free_port $((media_calls * 4 + 4)))
    sp=$(free_port)
    t0=$(cpu_ticks "$pid")
    (cd "$dir" && exec sipp -sf "$root/tests/sipp/uac_rtpstream.xml" "127.0.0.1:$port" -s bench \
        -i 127.0.0.1 -mi 127.0.0.1 -p "$sp" -mp "$mp" -d "$((media_secs * 1000))" \
        -l "$media_calls" -m "$media_calls" -r "$media_calls" -nostdin \
        -timeout "$((media_secs + 30))s" -timeout_error -trace_stat -stf "$dir/media.csv" -fd 1 \
        >"$dir/media.screen" 2>&1) &
    local spid=$!
    pids+=("$spid")
    while kill -0 "$spid" 2>/dev/null; do
        r=$(rss_kb "$pid")
        [ "${r:-0}" -gt "$peak" ] && peak=$r
        sleep 0.5
    done
    wait "$spid" && R[$name.media_rc]=0 || R[$name.media_rc]=$?
    t1=$(cpu_ticks "$pid")
    local hwm
    hwm=$(hwm_kb "$pid")
    [ "${hwm:-0}" -gt "$peak" ] && peak=$hwm
    R[$name.peak]=$peak
    R[$name.cpu]=$(awk -v a="$t0" -v b="$t1" -v hz="$hz" 'BEGIN { printf "%.2f", (b - a) / hz }')
    R[$name.media_ok]=$(stat_field "$dir/media.csv" "SuccessfulCall(C)")
    R[$name.media_fail]=$(stat_field "$dir/media.csv" "FailedCall(C)")

    # (b) call setup rate
    local rate
    for rate in "${rates[@]}"; do
        sp=$(free_port)
        mp=$(free_port 4)
        t0=$(cpu_ticks "$pid")
        (cd "$dir" && exec sipp -sf "$root/tests/sipp/uac_nomedia.xml" "127.0.0.1:$port" -s bench \
            -i 127.0.0.1 -mi 127.0.0.1 -p "$sp" -mp "$mp" -d 100 -r "$rate" -m "$((rate * rate_secs))" \
            -l "$((rate * 2))" -nostdin -timeout "$((rate_secs + 25))s" -timeout_error \
            -trace_stat -stf "$dir/rate-$rate.csv" -fd 1 >"$dir/rate-$rate.screen" 2>&1) &
        spid=$!
        pids+=("$spid")
        wait "$spid" || true
        t1=$(cpu_ticks "$pid")
        R[$name.r$rate.ok]=$(stat_field "$dir/rate-$rate.csv" "SuccessfulCall(C)")
        R[$name.r$rate.fail]=$(stat_field "$dir/rate-$rate.csv" "FailedCall(C)")
        R[$name.r$rate.cpu]=$(awk -v a="$t0" -v b="$t1" -v hz="$hz" 'BEGIN { printf "%.2f", (b - a) / hz }')
    done
    sleep 1
    R[$name.after]=$(rss_kb "$pid")
    # Transactions linger 64*T1 = 32 s after the last message (RFC 3261 timers
    # D, H, J, K and RFC 6026's Accepted state): measure again once they are gone.
    sleep "${BENCH_SETTLE_SECS:-40}"
    R[$name.settled]=$(rss_kb "$pid")

    # (c), second part: the burst, and a minute later.
    short_calls "$name" "$port" burst 3000 150
    R[$name.burst_after]=$(rss_kb "$pid")
    sleep 60
    R[$name.burst_settled]=$(rss_kb "$pid")
    R[$name.burst_pct]=$(awk -v a="${R[$name.burst_settled]}" -v w="${R[$name.warm]}" \
        'BEGIN { if (w > 0) printf "%+.0f %%", (a - w) * 100 / w; else print "?" }')
    kill -0 "$pid" 2>/dev/null && R[$name.alive]=yes || R[$name.alive]=no
}

if [ "$only" != baresip ]; then
    tp_port=$(free_port 1)
    tp_pid=$(start_termphone "$tp_port")
    pids+=("$tp_pid")
    run_target termphone "$tp_pid" "$tp_port"
    kill -TERM -- "-$tp_pid" 2>/dev/null || true
fi
if [ "$only" != termphone ]; then
    bs_port=$(free_port 1)
    bs_pid=$(start_baresip "$bs_port")
    pids+=("$bs_pid")
    run_target baresip "$bs_pid" "$bs_port"
    kill -TERM -- "-$bs_pid" 2>/dev/null || true
fi

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a ~ /^[0-9.]+$/ && b ~ /^[0-9.]+$/ && b > 0) printf "%.2f", a / b; else print "-" }'; }
row() { # label key unit
    local a=${R[termphone.$2]:-?} b=${R[baresip.$2]:-?}
    printf "%-40s %14s %14s %8s\n" "$1" "$a" "$b" "$(ratio "$a" "$b")"
}
echo
printf "%-40s %14s %14s %8s\n" "measure" "termphone" "baresip" "ratio"
printf "%-40s %14s %14s %8s\n" "-------" "---------" "-------" "-----"
row "idle RSS (KiB)" idle
row "(a) ${media_calls} calls x ${media_secs}s: peak RSS (KiB)" peak
row "(a) CPU seconds during the load" cpu
row "(a) calls completed" media_ok
row "(a) calls failed" media_fail
for rate in "${rates[@]}"; do
    row "(b) ${rate}/s: calls completed" "r$rate.ok"
    row "(b) ${rate}/s: calls failed" "r$rate.fail"
    row "(b) ${rate}/s: CPU seconds" "r$rate.cpu"
done
row "RSS 1 s after the loads (KiB)" after
row "RSS 40 s after the loads (KiB)" settled
row "(c) RSS after 20 warm-up calls (KiB)" warm
row "(c) 3000 calls at 150/s: completed" burst_ok
row "(c) RSS right after the burst (KiB)" burst_after
row "(c) RSS a minute after the burst (KiB)" burst_settled
row "(c) ... against the warm-up's" burst_pct
row "still running" alive
