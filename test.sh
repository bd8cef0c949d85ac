#!/usr/bin/env bash
# Set up everything (first time only), then lint, type-check and run the tests.
# Extra arguments go to pytest, e.g. ./test.sh -m "not slow"
set -euo pipefail
cd "$(dirname "$0")"
scripts/bootstrap.sh
# a 98 MB model that makes the seeded-training test quick (installed once)
.venv/bin/python -m assistant.core.services.model_setup smollm2-135m >/dev/null
export QT_QPA_PLATFORM=offscreen
.venv/bin/ruff check assistant tests bench
.venv/bin/mypy assistant
.venv/bin/lint-imports --no-cache  # the stages of docs/architecture.md
exec .venv/bin/python -m pytest "$@"
