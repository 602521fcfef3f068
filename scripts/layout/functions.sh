#!/bin/sh
# scripts/layout/functions.sh FILE... -- the functions the object files or binaries
# define, one a line: the symbol, a tab, its demangled name without hash or LTO suffix
# (`.llvm.N`). The one naming shared by scripts/profile-layout.sh, which writes
# order.txt in these names, and scripts/cc-ordered.sh, which maps them back to
# symbols. Relies on `nm` and `nm -C` listing the same symbols in the same order.

syms=$(mktemp "${TMPDIR:-/tmp}/termphone-syms.XXXXXX") || exit 1
trap 'rm -f "$syms"' EXIT
nm --defined-only "$@" 2>/dev/null | awk 'NF == 3 { print $2 " " $3 }' >"$syms"
nm -C --defined-only "$@" 2>/dev/null | awk -v syms="$syms" '
    NF < 3 { next }
    {
        if ((getline line < syms) <= 0) exit
        split(line, f, " ")
        if (f[1] !~ /^[tTwW]$/) next
        $1 = ""
        $2 = ""
        name = substr($0, 3)
        gsub(/\.llvm\.[0-9]+/, "", name)
        print f[2] "\t" name
    }'
