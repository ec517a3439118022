#!/bin/sh
# Installs the Debian packages the test suite needs, only when they are missing.
# Prometheus: the prometheus metric source is tested against a real server.
# Chromium: the web client is tested in headless Chromium (Playwright, no browser download).
set -eu
missing=""
command -v prometheus >/dev/null 2>&1 || missing="$missing prometheus"
[ -x /usr/bin/chromium ] || missing="$missing chromium"  # the web client's browser test
[ -z "$missing" ] && exit 0
echo "installing system packages:$missing"
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing
