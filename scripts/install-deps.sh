#!/usr/bin/env bash
# Installs what building termphone needs on Debian/Ubuntu (run as root or with sudo available).
# Idempotent and quiet: does nothing when every package is already installed.
set -euo pipefail

# libwebrtc-audio-processing-dev: echo cancellation, noise suppression, AGC (the
# webrtc-audio-processing crate links it; its binding is made by bindgen, hence libclang-dev).
BUILD_PACKAGES=(pkg-config libasound2-dev cmake make libwebrtc-audio-processing-dev libclang-dev g++)

# install_packages PKG... -- apt-get installs the packages dpkg does not report as installed.
install_packages() {
    local missing=()
    local p
    for p in "$@"; do
        dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    local sudo=()
    if [ "$(id -u)" -ne 0 ]; then
        command -v sudo >/dev/null 2>&1 || { echo "need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
        sudo=(sudo)
    fi
    local log
    log=$(mktemp)
    if ! { "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q &&
        "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"; } >"$log" 2>&1; then
        cat "$log" >&2
        rm -f "$log"
        echo "failed to install: ${missing[*]}" >&2
        exit 1
    fi
    rm -f "$log"
}

# A C compiler is needed by a few -sys crates; install gcc only when none is present.
C_COMPILER=()
command -v cc >/dev/null 2>&1 || C_COMPILER=(gcc libc6-dev)

# Sourced by install-test-deps.sh for install_packages; run directly it installs the build deps.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    install_packages "${BUILD_PACKAGES[@]}" "${C_COMPILER[@]}"
fi
