"""What a worker that holds a ``Library`` shows of it."""

from __future__ import annotations

from assistant.core.services.library import Library


class LibraryOwner:
    _library: Library | None = None

    @property
    def library(self) -> Library | None:
        """The library this thread owns (None until loaded); read it from this
        thread, or in tests once the thread is idle."""
        return self._library
