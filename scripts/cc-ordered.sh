#!/bin/sh
# scripts/cc-ordered.sh -- the C compiler driver rustc links through (.cargo/config.toml).
#
# For the release termphone binary linked by LLD it lays the code out in the order of
# scripts/layout/order.txt: the functions a phone runs when it starts, idles and takes a
# call, one after the other, so they fill a few pages instead of touching most of the
# binary (the kernel maps code in 64 KB windows; README, Benchmarks). The list names
# functions without the hashes rustc puts in symbols, so it survives code changes and
# compiler updates; this script finds each function's symbol in the object rustc hands
# over and passes LLD the exact names (--symbol-ordering-file). A function that no longer
# exists is skipped. Every other link, or a missing nm, goes straight to `cc`.
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
    */release/deps/termphone-*) ;;
    *) exec cc "$@" ;;
esac
if [ -z "$lld" ] || [ -z "$objs" ] || [ ! -f "$order" ] || ! command -v nm >/dev/null 2>&1; then
    exec cc "$@"
fi

list=$(mktemp "${TMPDIR:-/tmp}/termphone-order.XXXXXX") || exec cc "$@"
trap 'rm -f "$list" "$list.f"' EXIT
# shellcheck disable=SC2086
"$(dirname "$0")/layout/functions.sh" $objs >"$list.f"
awk -F '\t' -v order="$order" '
    { syms[$2] = ($2 in syms) ? syms[$2] "\n" $1 : $1 }
    END {
        while ((getline line < order) > 0) {
            if (line == "" || substr(line, 1, 1) == "#") continue
            # C functions (the built-in SQLite and jemalloc) keep their names.
            if (line in syms) print syms[line]; else print line
        }
    }' "$list.f" >"$list"

cc "$@" -Wl,--symbol-ordering-file="$list" -Wl,--no-warn-symbol-ordering
