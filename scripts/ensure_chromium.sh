#!/usr/bin/env bash
# Install Debian's Chromium and chromedriver for the browser tests of tests/report.
# Needs root (apt-get) and the Debian package mirror; does nothing when chromium is there.
# The tests drive /usr/bin/chromium with Playwright for Python (no browser download).
set -euo pipefail

if command -v chromium >/dev/null 2>&1; then
    exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "ensure_chromium.sh: installing chromium needs root (apt-get); run: sudo $0" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq chromium chromium-driver
command -v chromium
