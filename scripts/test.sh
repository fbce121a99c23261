#!/usr/bin/env bash
# Set up everything (including Chromium for the browser tests) and run the whole suite.
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --test || exit 1
.venv/bin/ruff check . || exit 1
.venv/bin/mypy tracker dashboards || exit 1  # strict on tracker/ and dashboards/ (config: pyproject.toml)
.venv/bin/python -m pytest -n 2 "$@"
rc=$?
if [ "$rc" = 5 ]; then
  echo "pytest collected no tests: that is a failure" >&2
  exit 1
fi
exit "$rc"
