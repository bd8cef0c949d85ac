"""What a worker reports when a job fails: the message of an error the app
raised on purpose, or the one-line gist of an unexpected one (never a trace)."""

from __future__ import annotations

import traceback

from assistant.core.errors import AssistantError


def readable_error(exc: BaseException) -> str:
    if isinstance(exc, AssistantError):
        return str(exc)
    tail = traceback.format_exception_only(type(exc), exc)[-1].strip()
    return f"Unexpected error: {tail}"
