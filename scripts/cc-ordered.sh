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
trap 'rm -f "$list" "$list.m" "$list.d"' EXIT
# One line a defined function: the symbol, then its demangled name without hash or
# LTO suffix. `nm` and `nm -C` list the same symbols in the same order.
# shellcheck disable=SC2086
nm --defined-only $objs 2>/dev/null | awk 'NF == 3 { print $2 " " $3 }' >"$list.m"
# shellcheck disable=SC2086
nm -C --defined-only $objs 2>/dev/null | awk 'NF >= 3 { $1 = ""; print substr($0, 2) }' >"$list.d"
awk -v order="$order" '
    function norm(s) { gsub(/\.llvm\.[0-9]+/, "", s); return s }
    FNR == NR { kind[FNR] = $1; sym[FNR] = $2; next }
    {
        k = kind[FNR]
        if (k != "t" && k != "T" && k != "W" && k != "w") next
        name = norm(substr($0, index($0, " ") + 1))
        syms[name] = (name in syms) ? syms[name] "\n" sym[FNR] : sym[FNR]
    }
    END {
        while ((getline line < order) > 0) {
            if (line == "" || substr(line, 1, 1) == "#") continue
            # C functions (the built-in SQLite and jemalloc) keep their names.
            if (line in syms) print syms[line]; else print line
        }
    }' "$list.m" "$list.d" >"$list"

cc "$@" -Wl,--symbol-ordering-file="$list" -Wl,--no-warn-symbol-ordering
