#!/usr/bin/env bash
# Make sure the system Chromium and its driver exist (Debian packages chromium, chromium-driver),
# and openssl (package openssl), with which the scraper's tests make the certificate of their
# https thumbnail host. The scraper and its tests never download a browser or a driver of their own.
set -euo pipefail
# command:package pairs; only the packages of missing commands are installed.
needed=(chromium:chromium chromedriver:chromium-driver openssl:openssl)
missing_packages() {
  local pair
  for pair in "${needed[@]}"; do
    command -v "${pair%%:*}" >/dev/null 2>&1 || printf '%s ' "${pair#*:}"
  done
}
# The major version a command prints, or nothing (a failing command must not end the script
# unexplained under set -e and pipefail).
major() {
  { "$@" --version 2>/dev/null || true; } | { grep -oE '[0-9]+\.[0-9.]+' || true; } | head -1 |
    cut -d. -f1
}
no_version() {
  echo "$1 --version gives no version number ($(command -v "$1")); reinstall it with:" \
       "sudo apt-get install --reinstall chromium chromium-driver" >&2
  exit 1
}
check_versions() {
  # chromedriver only drives the Chromium of its own major version.
  local browser driver
  browser=$(major chromium); driver=$(major chromedriver)
  [ -n "$browser" ] || no_version chromium
  [ -n "$driver" ] || no_version chromedriver
  if [ "$browser" != "$driver" ]; then
    echo "chromium $browser and chromedriver $driver differ; install matching packages with:" \
         "sudo apt-get install chromium chromium-driver" >&2
    exit 1
  fi
}
packages=$(missing_packages)
if [ -z "$packages" ]; then check_versions; exit 0; fi
cmd="apt-get install -y ${packages% }"
if [ "$(id -u)" -eq 0 ]; then sudo=""; elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then sudo="sudo"; else
  echo "Missing packages: ${packages% }. Install them with: sudo $cmd" >&2
  exit 1
fi
echo "Installing ${packages% }: $sudo $cmd"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq && $sudo $cmd -qq >/dev/null || {
  echo "Could not install ${packages% }. Install by hand with: sudo $cmd" >&2
  exit 1
}
packages=$(missing_packages)
[ -z "$packages" ] || { echo "still missing after install: ${packages% }" >&2; exit 1; }
check_versions
