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


def release_memory() -> None:
    """Collect garbage and hand freed heap pages back to the system (glibc keeps
    them otherwise: after a cancelled training run the process stayed at the peak
    size until quit)."""
    import contextlib
    import ctypes
    import gc

    gc.collect()
    with contextlib.suppress(OSError, AttributeError):  # not glibc: macOS, Windows
        ctypes.CDLL("libc.so.6").malloc_trim(0)
