#!/usr/bin/env bash
# System packages some tests need: Debian's Chromium for the browser tests, and ffmpeg for
# video/audio uploads (toot's own suite uploads a video). Installed with apt-get when missing
# and when we are root; otherwise those tests skip (or, for video, get the documented 422).
set -uo pipefail
need=()
[ -x /usr/bin/chromium ] || need+=(chromium)
command -v ffmpeg >/dev/null 2>&1 && command -v ffprobe >/dev/null 2>&1 || need+=(ffmpeg)
if [ ${#need[@]} -gt 0 ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing ${need[*]} with apt-get (browser tests, video uploads)" >&2
  export DEBIAN_FRONTEND=noninteractive
  (apt-get update -qq && apt-get install -y -qq "${need[@]}" >/dev/null) || echo "could not install ${need[*]}; those tests will skip" >&2
fi
exit 0
