#!/usr/bin/env bash
# start-registrar.sh PORT RUNDIR -- starts kamailio as registrar + proxy with digest auth on
# 127.0.0.1:PORT (udp+tcp), pid in RUNDIR/kamailio.pid.
# tests/support/kamailio.rs does the same from Rust; this script is for trying the config by hand.
set -euo pipefail
port=${1:?port}; rundir=${2:?rundir}
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$rundir"
cfg=kamailio-registrar.cfg.in
sed -e "s|@PORT@|$port|g" -e "s|@RUNDIR@|$rundir|g" "$here/$cfg" > "$rundir/kamailio.cfg"
kamailio -c -f "$rundir/kamailio.cfg" >"$rundir/kamailio-check.log" 2>&1 || { cat "$rundir/kamailio-check.log" >&2; exit 1; }
kamailio -f "$rundir/kamailio.cfg" -P "$rundir/kamailio.pid" -m 64 -M 8 -E -w "$rundir" >"$rundir/kamailio.log" 2>&1
for _ in $(seq 50); do [ -s "$rundir/kamailio.pid" ] && break; sleep 0.1; done
[ -s "$rundir/kamailio.pid" ] || { echo "kamailio did not start" >&2; cat "$rundir/kamailio.log" >&2; exit 1; }
