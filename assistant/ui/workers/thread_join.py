"""Stopping a worker thread at close without hanging on one stuck in native code."""

from __future__ import annotations

import logging

from PySide6.QtCore import QThread

log = logging.getLogger(__name__)


def join(thread: QThread, wait_ms: int) -> list[str]:
    """Quit ``thread`` and wait up to ``wait_ms``; ``[its name]`` when it did not
    stop (logged; the process exit ends it), else ``[]``."""
    thread.quit()
    if thread.wait(wait_ms):
        return []
    name = thread.objectName() or "worker"
    log.error(
        "the %s thread did not stop within %d s; quitting without it",
        name,
        wait_ms // 1000,
    )
    return [name]
