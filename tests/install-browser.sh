#!/bin/sh
# Installs what the browser tests need from Debian's packages: Chromium (Playwright drives it; test
# tools' own browser downloads do not work here) and a colour emoji font (the reactions' symbols).
# Does nothing when both are present. Needs root, or sudo.
set -eu
if [ -x /usr/bin/chromium ] && fc-list 2>/dev/null | grep -qi "Noto Color Emoji"; then
    exit 0
fi
if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends chromium fonts-noto-color-emoji >/dev/null
