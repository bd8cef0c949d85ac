"""A question on its way to the chat worker, and its answer on the way back.

The request is a value: it carries everything the worker needs (the
conversation's turns too), its own id and cancel token. The answer carries the
request, so the window files it under the conversation that asked, whatever is
on screen by then, and drops what belongs to a deleted one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from assistant.core.answer.prompt import Turn
from assistant.core.cancel import CancelToken
from assistant.core.types import Answer


@dataclass(frozen=True)
class AskRequest:
    id: int
    conversation_id: str
    question: str
    mode: str
    adapter: Path | None
    history: tuple[Turn, ...]
    cancel: CancelToken = field(default_factory=CancelToken, compare=False)
    within: tuple[str, ...] = ()
    """Ask only within these documents or folders (paths); (): the library."""


@dataclass(frozen=True)
class AskResult:
    request: AskRequest
    answer: Answer
    history: tuple[Turn, ...]
    """The conversation's turns after this answer (to save with it)."""


@dataclass(frozen=True)
class CompareRequest:
    """One question answered in each of ``modes``, each without history."""

    id: int
    question: str
    modes: tuple[str, ...]
    adapter: Path | None
    cancel: CancelToken = field(default_factory=CancelToken, compare=False)
    within: tuple[str, ...] = ()
    """As ``AskRequest.within``."""
