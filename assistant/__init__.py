"""Assistant: an offline desktop knowledge assistant that cites its sources."""

import os as _os

# onnxruntime's own telemetry (1DS, on Linux since 1.29) is switched off before
# anything can import it: see assistant/core/onnx_runtime.py
_os.environ["ORT_DISABLE_TELEMETRY"] = "1"

__version__ = "0.1.0"
