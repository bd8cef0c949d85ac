#!/usr/bin/env bash
# Build the desktop bundle dist/Assistant/ (PyInstaller, one folder, default models
# inside). Needs the set-up done by ./run.sh (the .venv with the models).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
.venv/bin/pip install --quiet "pyinstaller==6.22.3"
.venv/bin/pyinstaller --noconfirm --clean --log-level WARN \
    --distpath dist --workpath build/pyinstaller packaging/assistant.spec
# test suites that packages ship inside themselves are dead weight in a bundle
find dist/Assistant/_internal -type d -name tests -prune -exec rm -rf {} +
du -sh dist/Assistant
echo "Built dist/Assistant (run dist/Assistant/Assistant, or dist/Assistant/assistant-cli)"
