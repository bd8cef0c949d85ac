"""Facts about this machine that tune thread counts."""

from __future__ import annotations

import functools
import os


@functools.cache
def physical_cores() -> int:
    """Physical cores (llama.cpp and torch run best with one thread per core)."""
    try:
        import psutil

        count = psutil.cpu_count(logical=False)
    except Exception:
        count = None
    return max(1, count or os.cpu_count() or 1)
