#!/usr/bin/env bash
# Set up npp on a fresh Debian machine (Python 3.11, node/npm): the virtual environment at
# .venv, the Python packages, and the offline vision models. Safe to run again: each step is
# skipped when already done. With --test it also installs what the tests need (pytest,
# Playwright for Python, Debian's chromium, Bellard's JavaScript BPG decoder).
set -euo pipefail
cd "$(dirname "$0")/.."

test_mode=0
[ "${1:-}" = "--test" ] && test_mode=1

py=${PYTHON:-python3.11}
command -v "$py" >/dev/null || py=python3
[ -x .venv/bin/python ] || "$py" -m venv .venv

reqs=requirements.txt
[ "$test_mode" = 1 ] && reqs=requirements-dev.txt
stamp=".venv/.npp-$(cat requirements.txt requirements-dev.txt "$reqs" | sha256sum | cut -c1-16)-$test_mode"
if [ ! -f "$stamp" ]; then
  .venv/bin/python -m pip install -q --upgrade pip >/dev/null
  .venv/bin/python -m pip install -q -r "$reqs"
  touch "$stamp"
fi

if [ "$test_mode" = 1 ]; then
  bash scripts/fetch_models.sh --test
  bash scripts/fetch_photos.sh darknet mate-backgrounds
  if ! command -v chromium >/dev/null; then
    echo "npp: installing Debian's chromium for the browser tests" >&2
    SUDO=""
    [ "$(id -u)" = 0 ] || SUDO=sudo
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
  fi
else
  bash scripts/fetch_models.sh
fi
