"""ONNX Runtime, imported in one place with its telemetry off.

onnxruntime (1.29 on) sends Microsoft's 1DS telemetry on Linux too: under
strace, `assistant ask` looked up ``mobile.events.data.microsoft.com`` from
inside onnxruntime a few seconds after its first session. The runtime call
``disable_telemetry_events()`` only mutes later events; ``ORT_DISABLE_TELEMETRY=1``
set before the runtime initialises is its full opt-out (no uploader, no device
id, no upload): the package sets it as it is imported (``assistant/__init__``),
before anything can import onnxruntime (its one writer), and :func:`onnx_runtime`,
through which every use in the product goes (the encoders, the OCR recogniser,
the quantiser at set-up), checks that it still holds.
"""

from __future__ import annotations

import logging
import os
from typing import Any

log = logging.getLogger(__name__)
OPT_OUT = "ORT_DISABLE_TELEMETRY"


def onnx_runtime() -> Any:
    """The ``onnxruntime`` module, its telemetry off."""
    if os.environ.get(OPT_OUT) != "1":  # undone after the package set it
        log.warning("%s is not 1: onnxruntime's telemetry may be on", OPT_OUT)
    import onnxruntime

    onnxruntime.disable_telemetry_events()
    return onnxruntime
