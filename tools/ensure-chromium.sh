#!/usr/bin/env bash
# Make sure the system Chromium and its driver exist (Debian packages chromium, chromium-driver).
# The scraper and its tests never download a browser or a driver of their own.
set -euo pipefail
have() { command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; }
major() { "$@" --version 2>/dev/null | grep -oE '[0-9]+\.[0-9.]+' | head -1 | cut -d. -f1; }
check_versions() {
  # chromedriver only drives the Chromium of its own major version.
  local browser driver
  browser=$(major chromium); driver=$(major chromedriver)
  if [ -n "$browser" ] && [ -n "$driver" ] && [ "$browser" != "$driver" ]; then
    echo "chromium $browser and chromedriver $driver differ; install matching packages with:" \
         "sudo apt-get install chromium chromium-driver" >&2
    exit 1
  fi
}
if have; then check_versions; exit 0; fi
cmd="apt-get install -y chromium chromium-driver"
if [ "$(id -u)" -eq 0 ]; then sudo=""; elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then sudo="sudo"; else
  echo "Chromium and chromedriver are missing. Install them with: sudo $cmd" >&2
  exit 1
fi
echo "Installing Chromium and chromedriver: $sudo $cmd"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq && $sudo $cmd -qq >/dev/null || {
  echo "Could not install Chromium. Install it by hand with: sudo $cmd" >&2
  exit 1
}
have || { echo "chromium/chromedriver still not on PATH after install." >&2; exit 1; }
check_versions
