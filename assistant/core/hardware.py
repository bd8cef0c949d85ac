"""Facts about this machine that tune thread counts and number formats, and the
process's own memory."""

from __future__ import annotations

import functools
import os
import sys
import threading


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


MMAP_THRESHOLD = 2 * 2**20
M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter


def map_large_blocks() -> None:
    """Have glibc map every block of 2 MB and more on its own, and unmap it when
    freed. glibc raises its threshold (up to 32 MB) as large blocks are freed, and
    then keeps them in the heap: a LoRA step's transient float32 weight blocks
    and activations (2-55 MB each) left a heap of holes that put a 1,100-token
    training step at 4.5 GB RSS instead of 2.8 GB (bench/memory.py, at the same
    speed)."""
    import contextlib
    import ctypes

    with contextlib.suppress(OSError, AttributeError):  # not glibc
        ctypes.CDLL("libc.so.6").mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)


def freeze_heap() -> None:
    """Leave every object alive now out of the cyclic garbage collector's full
    passes. A full pass walks the whole heap holding the GIL: with the models and
    Qt loaded (~175k objects) it took 100-170 ms, which a worker thread's
    allocations triggered every few seconds, and the window's event loop waited
    for it (bench/gui_stall.py). Called once the long-lived objects exist (models
    loaded, a job done, and every so often during a long ingest); they are still
    freed when their last reference goes, only cycles among them are never
    collected."""
    import gc

    gc.freeze()


_HELD: list[tuple[int, int, int]] = []


def hold_full_collections() -> None:
    """Put off the collector's full passes until ``release_full_collections``:
    while the models load, a full pass walked the growing heap holding the GIL
    (one of 60 ms at start-up, bench/gui_stall.py), and what loading makes lives
    as long as the app anyway."""
    import gc

    if not _HELD:
        _HELD.append(gc.get_threshold())
        young, middle, _ = _HELD[0]
        gc.set_threshold(young, middle, 1_000_000)


def release_full_collections() -> None:
    """The collector's thresholds as they were, with what loading made frozen
    out of its full passes (``freeze_heap``). Idempotent."""
    import gc

    if _HELD:
        gc.set_threshold(*_HELD.pop())
        gc.freeze()


WORKER_NICENESS = 5
"""How far the window's workers step back (Linux nice value: 0 normal, 19 least)."""


def yield_to_window(niceness: int = WORKER_NICENESS) -> None:
    """Lower the calling thread's scheduling priority, and so that of the threads
    it starts (llama.cpp's and onnxruntime's inherit it). On two cores the
    model's threads held both while a prompt was read, and the window's thread
    waited 60-80 ms for one to lay out the passages (bench/gui_stall.py); behind
    the window, the workers still get every cycle it does not use. Linux only
    (a thread's own nice value); elsewhere a no-op."""
    if not sys.platform.startswith("linux"):
        return
    try:
        tid = threading.get_native_id()
        os.setpriority(
            os.PRIO_PROCESS, tid, os.getpriority(os.PRIO_PROCESS, tid) + niceness
        )
    except OSError:
        return


BF16_FLAGS = ("avx512_bf16", "amx_bf16")


@functools.cache
def native_bf16() -> bool:
    """Whether the CPU computes in bfloat16 itself (AVX512-BF16 or AMX). Without
    it torch emulates bfloat16 matrix products: a 360 x 1536 x 8960 product with
    its backward pass took 9.2 s in bfloat16 and 0.43 s in float32 with oneDNN held
    to AVX2 (0.14 s and 0.41 s with AVX512-BF16, on an EPYC Zen 4), so a LoRA run
    on an AVX2-only Zen 3 did not finish in 15 minutes."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as info:
            for line in info:
                if line.startswith("flags"):
                    flags = line.split(":", 1)[1].split()
                    return any(flag in flags for flag in BF16_FLAGS)
    except OSError:  # not Linux
        pass
    return False


def training_dtype_name() -> str:
    """The number format the trainer holds the base model's weights in
    (``ASSISTANT_TRAIN_DTYPE=float32|bfloat16`` overrides the CPU's answer)."""
    chosen = os.environ.get("ASSISTANT_TRAIN_DTYPE", "").strip().lower()
    if chosen in ("float32", "bfloat16"):
        return chosen
    return "bfloat16" if native_bf16() else "float32"
