#!/usr/bin/env bash
# Sourced by CI after `apt-get update`: makes sure a headless Chromium is available for the
# perturbench-report browser test and makes that test mandatory (no silent skip).
#
#   apt-get update && source .ci/chromium.sh
#
# Installs Debian's `chromium` (or Ubuntu's `chromium-browser`) plus a basic font if no
# Chromium/Chrome binary is on PATH, then exports PERTURBENCH_REQUIRE_CHROMIUM=1.

_pb_have_chromium() {
    command -v chromium >/dev/null 2>&1 ||
        command -v chromium-browser >/dev/null 2>&1 ||
        command -v google-chrome >/dev/null 2>&1
}

if ! _pb_have_chromium; then
    _pb_sudo=""
    if [ "$(id -u)" != "0" ] && command -v sudo >/dev/null 2>&1; then
        _pb_sudo="sudo"
    fi
    export DEBIAN_FRONTEND=noninteractive
    if ! $_pb_sudo apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core; then
        # Ubuntu names the package chromium-browser (a snap wrapper on newer releases).
        $_pb_sudo apt-get install -y -qq --no-install-recommends chromium-browser fonts-dejavu-core || true
    fi
    unset _pb_sudo
fi

if _pb_have_chromium; then
    echo "chromium: $(command -v chromium || command -v chromium-browser || command -v google-chrome)"
else
    echo "error: could not install chromium" >&2
fi
unset -f _pb_have_chromium

export PERTURBENCH_REQUIRE_CHROMIUM=1
