#!/usr/bin/env bash
# Ingest the samples and answer a question inside a network namespace that has no
# network at all (needs root or user namespaces): proof the app works offline.
set -euo pipefail
cd "$(dirname "$0")/.."
ASSISTANT_HOME="$(mktemp -d)"
export ASSISTANT_HOME
unshare -n .venv/bin/assistant ingest resources/samples
unshare -n .venv/bin/assistant ask "How much does a winch launch cost?"
