"""Nothing leaves the machine: not even a library's own telemetry. onnxruntime
1.32 looked up mobile.events.data.microsoft.com a few seconds after its first
session (found by the second hostile probe's strace case)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

SESSION_THEN_WAIT = """
import time
from assistant.core.config import Settings
from assistant.core.services.components import load_embedder

load_embedder(Settings()).embed(["The harbour gate closes at 21:30."])
time.sleep(12)  # the upload came a few seconds after the first session
print("done")
"""


@pytest.mark.skipif(shutil.which("strace") is None, reason="strace is not installed")
def test_onnx_runtime_makes_no_connection(tmp_path: Path) -> None:
    trace = tmp_path / "connect.trace"
    done = subprocess.run(
        [
            "strace",
            "-f",
            "-qq",
            "-e",
            "trace=connect",
            "-o",
            str(trace),
            sys.executable,
            "-c",
            SESSION_THEN_WAIT,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env={k: v for k, v in os.environ.items() if k != "ORT_DISABLE_TELEMETRY"},
    )
    assert done.returncode == 0 and "done" in done.stdout, done.stderr[-2000:]
    calls = [line for line in trace.read_text().splitlines() if "connect(" in line]
    assert calls == []
