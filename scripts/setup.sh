#!/usr/bin/env bash
# Set up everything the tracker needs in .venv (idempotent). With --test, also the
# test tools and Debian's Chromium + ChromeDriver for the browser tests.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
want_test=0
[ "${1:-}" = "--test" ] && want_test=1

if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip >&2
if [ "$want_test" = 1 ]; then
  .venv/bin/python -m pip install -q -c constraints.txt -e ".[dev]" >&2
  if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then
    SUDO=""
    [ "$(id -u)" != 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium chromium-driver >&2
  fi
else
  .venv/bin/python -m pip install -q -c constraints.txt -e . >&2
fi
# plotly.js's cartesian bundle for the dashboard (dashboards/plotlyjs.py); a warning without network
.venv/bin/python scripts/fetch_plotly_bundle.py
