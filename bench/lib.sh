# bench/lib.sh -- sourced by the bench scripts: the measuring venv, a temporary work dir and a
# runner that starts the measurement in its own process group, so that an
# exit or Ctrl-C ends every receiver and peer it started and removes the
# work dir.
#
#   bench_venv MODULES PACKAGES…  sets $venv (QUALITY_VENV, else the shared
#                        quality venv in the cache dir) and makes it with the
#                        pip PACKAGES when python cannot import MODULES
#   bench_work NAME      makes the dir, sets $work, installs the trap
#   bench_run CMD ARGS…  runs CMD in its own group, waits, exits with its status

bench_pid=""

bench_venv() {
    local modules=$1
    shift
    venv=${QUALITY_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/termphone/quality-venv}
    if ! "$venv/bin/python" -c "import $modules" 2>/dev/null; then
        python3 -m venv "$venv"
        "$venv/bin/pip" install --quiet "$@"
    fi
}

bench_cleanup() {
    if [ -n "$bench_pid" ]; then
        kill -- "-$bench_pid" 2>/dev/null || kill "$bench_pid" 2>/dev/null || true
        wait "$bench_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}

bench_work() {
    work=$(mktemp -d "${TMPDIR:-/tmp}/termphone-$1.XXXXXX")
    trap bench_cleanup EXIT INT TERM
}

bench_run() {
    set -m
    "$@" &
    bench_pid=$!
    set +m
    local status=0
    wait "$bench_pid" || status=$?
    bench_pid=""
    exit "$status"
}
