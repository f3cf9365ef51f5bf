#!/usr/bin/env bash
# Install Debian's chromium for the browser tests (tests/test_browser.py) when it is missing.
#
# The README's test command runs this first, so that command passes on a fresh machine; it does
# nothing when a Chromium is already there: the program named by $EVALKIT_CHROMIUM, or
# `chromium` on PATH. It never runs `playwright install` (that downloads a browser build).
set -euo pipefail

if [ -n "${EVALKIT_CHROMIUM:-}" ]; then
    command -v "$EVALKIT_CHROMIUM" >/dev/null && exit 0
    echo "install_chromium: EVALKIT_CHROMIUM=$EVALKIT_CHROMIUM names no program;" \
        "unset it to use Debian's chromium, or name a Chromium or Chrome binary" >&2
    exit 1
fi
command -v chromium >/dev/null && exit 0

if ! command -v apt-get >/dev/null; then
    echo "install_chromium: chromium is missing and this is not a Debian-like system (no apt-get);" \
        "install Chromium and set EVALKIT_CHROMIUM to its binary" >&2
    exit 1
fi
if [ "$(id -u)" -eq 0 ]; then
    as_root=()
elif command -v sudo >/dev/null; then
    as_root=(sudo)
else
    echo "install_chromium: chromium is missing; run \`apt-get install -y chromium\` as root" >&2
    exit 1
fi
echo "install_chromium: installing Debian's chromium for the browser tests" >&2
"${as_root[@]}" apt-get update -qq
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
command -v chromium >/dev/null || {
    echo "install_chromium: apt-get installed chromium but it is not on PATH" >&2
    exit 1
}
