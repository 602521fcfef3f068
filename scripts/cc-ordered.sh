#!/bin/sh
# scripts/cc-ordered.sh -- the C compiler driver the `dist` build links through
# (scripts/dist.sh sets it as the linker for that build only; plain `cargo build`,
# `cargo test` and `cargo build --release` link with the default driver).
#
# For the termphone binary of the `dist` profile, linked by LLD, it lays the code out in
# the order of scripts/layout/order.txt: the functions a phone runs when it starts, idles
# and takes a call, one after the other, so they fill a few pages instead of touching
# most of the binary (the kernel maps code in 64 KB windows; README, Benchmarks). The
# list names functions without the hashes rustc puts in symbols, so it survives code
# changes and compiler updates; this script finds each function's symbol in the object
# rustc hands over and passes LLD the exact names (--symbol-ordering-file). A function
# that no longer exists is skipped and counted: the count goes to `layout-report.txt`
# beside the binary, which scripts/dist.sh prints. Every other link goes straight to `cc`.
# Regenerate the list with scripts/profile-layout.sh.

order="$(dirname "$0")/layout/order.txt"
out=
lld=
objs=
prev=
for arg in "$@"; do
    case "$arg" in
        -fuse-ld=lld) lld=1 ;;
        *.rcgu.o) objs="$objs $arg" ;;
    esac
    [ "$prev" = "-o" ] && out=$arg
    prev=$arg
done

case "$out" in
    */dist/deps/termphone-*) ;;
    *) exec cc "$@" ;;
esac
report="$(dirname "$out")/../layout-report.txt"
if [ -z "$lld" ] || [ -z "$objs" ] || [ ! -f "$order" ] || ! command -v nm >/dev/null 2>&1; then
    echo "code layout not applied: needs LLD, nm and $order" >"$report"
    exec cc "$@"
fi

list=$(mktemp "${TMPDIR:-/tmp}/termphone-order.XXXXXX") || exec cc "$@"
trap 'rm -f "$list" "$list.f"' EXIT
# shellcheck disable=SC2086
"$(dirname "$0")/layout/functions.sh" $objs >"$list.f"
awk -F '\t' -v order="$order" -v report="$report" '
    { syms[$2] = ($2 in syms) ? syms[$2] "\n" $1 : $1 }
    END {
        rust = 0; found = 0; other = 0
        while ((getline line < order) > 0) {
            if (line == "" || substr(line, 1, 1) == "#") continue
            if (index(line, "::")) rust++
            if (line in syms) {
                print syms[line]
                if (index(line, "::")) found++
            } else {
                # C functions (the built-in SQLite and jemalloc) are in the
                # static libraries, not in the object: they keep their names.
                print line
                if (index(line, "::")) missing = missing "\n  " line; else other++
            }
        }
        printf "code layout: %d of %d Rust functions of %s found (and %d C functions by name)\n", found, rust, order, other > report
        if (found < rust) printf "not in this build (the list may need scripts/profile-layout.sh):%s\n", missing > report
    }' "$list.f" >"$list"

cc "$@" -Wl,--symbol-ordering-file="$list" -Wl,--no-warn-symbol-ordering
