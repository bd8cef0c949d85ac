#!/usr/bin/env bash
# Set up everything (first time only) and start Assistant. Extra arguments go to
# the `assistant` command, e.g. ./run.sh ingest ~/Documents
set -euo pipefail
cd "$(dirname "$0")"
scripts/bootstrap.sh
exec .venv/bin/assistant "$@"
