"""Cooperative cancellation shared between a caller and long-running core work."""

from __future__ import annotations

import threading

from assistant.core.errors import Cancelled


class CancelToken:
    """Set from any thread; core loops check it per batch or per token."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def raise_if_cancelled(self) -> None:
        if self._event.is_set():
            raise Cancelled()
