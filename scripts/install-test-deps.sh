#!/usr/bin/env bash
# Installs what building and testing termphone needs on Debian bookworm: the build deps plus
# the SIP peers the integration tests start (kamailio, SIPp, baresip) and the audio tools.
# Idempotent and quiet: does nothing when every package is already installed.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=install-deps.sh
. "$here/install-deps.sh"

TEST_PACKAGES=(kamailio kamailio-presence-modules kamailio-sqlite-modules kamailio-tls-modules sip-tester
    baresip baresip-core sox espeak-ng tmux procps iproute2 nftables dnsmasq-base coturn
    man-db groff-base slapd ldap-utils python3-venv python3-dev)

install_packages "${BUILD_PACKAGES[@]}" "${C_COMPILER[@]}" "${TEST_PACKAGES[@]}"

# PESQ (ITU-T P.862) for the tests that score speech (tests/support/pesq.rs):
# a venv of its own, made once; TERMPHONE_TEST_VENV moves it.
VENV=${TERMPHONE_TEST_VENV:-/opt/termphone-test/venv}
if ! "$VENV/bin/python" -c 'import pesq, numpy' >/dev/null 2>&1; then
    sudo=()
    [ "$(id -u)" -ne 0 ] && sudo=(sudo)
    log=$(mktemp)
    if ! { "${sudo[@]}" mkdir -p "$(dirname "$VENV")" &&
        "${sudo[@]}" python3 -m venv "$VENV" &&
        "${sudo[@]}" "$VENV/bin/pip" install -q numpy &&
        "${sudo[@]}" "$VENV/bin/pip" install -q pesq; } >"$log" 2>&1; then
        cat "$log" >&2
        rm -f "$log"
        echo "failed to make the PESQ venv at $VENV" >&2
        exit 1
    fi
    rm -f "$log"
fi
