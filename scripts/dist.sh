#!/usr/bin/env bash
# scripts/dist.sh -- builds the termphone binary to ship: the `dist` profile (the release
# profile, whole-program optimised) with its code laid out in the order the phone runs it
# (scripts/cc-ordered.sh, scripts/layout/order.txt; README, Benchmarks). Plain `cargo
# build`, `cargo test` and `cargo build --release` never go through the layout step.
#
# Prints the binary's path on stdout and, on stderr, how many functions of the layout list
# the build had (a stale list shows here: regenerate it with scripts/profile-layout.sh).
# Honours CARGO_TARGET_DIR.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
target="${CARGO_TARGET_DIR:-$root/target}"
linker="$root/scripts/cc-ordered.sh"
for f in "$linker" "$root/scripts/layout/functions.sh" "$root/scripts/layout/rustflags.sh"; do
    [ -x "$f" ] || { echo "$f is not executable (chmod +x it; a checkout may have lost the bit)" >&2; exit 1; }
    if grep -q $'\r' "$f"; then
        echo "$f has CRLF line ends (check it out with LF; .gitattributes asks for that)" >&2
        exit 1
    fi
done
host=$(rustc -vV | sed -n 's/^host: //p')
var="CARGO_TARGET_$(echo "$host" | tr '[:lower:]-' '[:upper:]_')_LINKER"
report="$target/dist/layout-report.txt"
rm -f "$report"
(cd "$root" && env "$var=$linker" TERMPHONE_CODE_LAYOUT=1 RUSTFLAGS="$("$root/scripts/layout/rustflags.sh")" cargo build --profile dist --bin termphone "$@" >&2)
bin="$target/dist/termphone"
[ -x "$bin" ] || { echo "no binary at $bin" >&2; exit 1; }
if [ -f "$report" ]; then
    head -n 1 "$report" >&2
    missing=$(($(wc -l <"$report") - 2))
    [ "$missing" -gt 0 ] && echo "$missing listed Rust functions are not in this build: see $report" >&2
else
    # Cargo had nothing to relink: the binary and its report are from an earlier run.
    echo "binary up to date (no new link, no layout report)" >&2
fi
echo "$bin"
