#!/usr/bin/env bash
# System packages some tests need: Debian's Chromium for the browser tests.
# Installed with apt-get when missing and when we are root; otherwise those tests skip.
set -uo pipefail
if [ ! -x /usr/bin/chromium ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing chromium with apt-get (browser tests)" >&2
  export DEBIAN_FRONTEND=noninteractive
  (apt-get update -qq && apt-get install -y -qq chromium >/dev/null) || echo "could not install chromium; browser tests will skip" >&2
fi
exit 0
