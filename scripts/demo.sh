#!/usr/bin/env bash
# Set up, ingest the bundled samples into the default database, and run the main job.
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh || exit 1
DB=${TRACKER_DB:-data/tracker.duckdb}
# Exit status 1 only means some samples were rejected: two of them are meant to be.
.venv/bin/tracker ingest --db "$DB" data/samples
rc=$?
[ "$rc" -le 1 ] || exit "$rc"
if .venv/bin/tracker dashboard --help >/dev/null 2>&1; then
  exec .venv/bin/tracker dashboard --db "$DB" "$@"
else
  exec .venv/bin/tracker show --db "$DB"
fi
