"""What every command needs: Ctrl+C as a clean Stop, the library and a
conversation opened as the settings say (shared by cli.py and cli_teach.py)."""

from __future__ import annotations

import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from assistant.core.cancel import CancelToken
from assistant.core.config import Settings

if TYPE_CHECKING:
    from assistant.core.services.conversation import Conversation
    from assistant.core.services.library import Library


@contextmanager
def cancel_on_interrupt() -> Iterator[CancelToken]:
    """First Ctrl+C (or SIGTERM, as `kill` and a logout send) stops the work
    cleanly; a second one ends the process."""
    token = CancelToken()

    def handler(signum: int, frame: object) -> None:
        if token.cancelled:
            raise KeyboardInterrupt
        token.cancel()
        print("\nStopping ...", file=sys.stderr)

    previous = {
        sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)
    }
    try:
        yield token
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def open_library(settings: Settings) -> Library:
    from assistant.core.services.library import Library

    library = Library.open(settings)
    if library.awaiting_embedder:
        print(
            f"note: the library is indexed with {library.embedder.name}; run "
            f"`assistant reindex` to use {library.awaiting_embedder} (the settings' "
            "choice)",
            file=sys.stderr,
        )
    return library


def open_conversation(settings: Settings) -> Conversation:
    from assistant.core.services.components import load_generator
    from assistant.core.services.conversation import Conversation

    library = open_library(settings)
    return Conversation(library, load_generator(settings))
