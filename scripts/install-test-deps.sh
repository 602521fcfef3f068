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
    man-db groff-base slapd ldap-utils)

install_packages "${BUILD_PACKAGES[@]}" "${C_COMPILER[@]}" "${TEST_PACKAGES[@]}"
