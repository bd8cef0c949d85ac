"""A worker's own thread: started for it, wired by a table of connections, and
stopped at close without hanging on one stuck in native code."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any

from PySide6.QtCore import QObject, Qt, QThread

from assistant.core.hardware import yield_to_window

log = logging.getLogger(__name__)


Wiring = Iterable[tuple[Any, Callable[..., Any] | Any]]
"""(signal, slot or signal) pairs."""


def start_worker(owner: QObject, worker: QObject, name: str, wiring: Wiring) -> QThread:
    """Move ``worker`` to a new thread named ``name`` (owned by ``owner``), make
    the connections (queued across the threads), and start it: at a lower
    priority than the window's thread (``hardware.yield_to_window``)."""
    thread = QThread(owner)
    thread.setObjectName(name)
    thread.started.connect(yield_to_window, Qt.ConnectionType.DirectConnection)
    worker.moveToThread(thread)
    for signal, slot in wiring:
        signal.connect(slot)
    thread.start()
    return thread


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
