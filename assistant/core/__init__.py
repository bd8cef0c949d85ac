"""Headless core of Assistant: ingest, store, retrieval, prompting and generation.

Nothing under this package imports Qt; the UI and the CLI are thin layers over
:mod:`assistant.core.services.library`.
"""

import os as _os

# The app is offline by design: no model hub look-ups, ever, whatever the user's
# environment says (set here so every entry point, CLI or window, gets it).
for _var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE"):
    _os.environ[_var] = "1"
_os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
_os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
_os.environ.setdefault("LANCE_INCLUDE_VECTOR_CENTROIDS", "false")
_os.environ.setdefault("LANCE_LOG", "error")
