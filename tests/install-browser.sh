#!/bin/sh
# Installs what the browser tests need from Debian's packages: Chromium (Playwright drives it; test
# tools' own browser downloads do not work here), a colour emoji font (the reactions' symbols), and
# Node.js with npm for the web client's build and tests (clients/web/; only where `node` or `npm` is
# missing: a machine that already has a newer Node.js keeps it). Does nothing when all are present.
# Needs root, or sudo.
set -eu
PACKAGES=""
if [ ! -x /usr/bin/chromium ]; then PACKAGES="$PACKAGES chromium"; fi
if ! fc-list 2>/dev/null | grep -qi "Noto Color Emoji"; then PACKAGES="$PACKAGES fonts-noto-color-emoji"; fi
if ! command -v node >/dev/null 2>&1; then PACKAGES="$PACKAGES nodejs"; fi
if ! command -v npm >/dev/null 2>&1; then PACKAGES="$PACKAGES npm"; fi
if [ -z "$PACKAGES" ]; then
    exit 0
fi
if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086  # the list is meant to split into package names
$SUDO apt-get install -y -qq --no-install-recommends $PACKAGES >/dev/null
