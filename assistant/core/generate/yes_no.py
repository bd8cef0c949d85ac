"""A yes/no judgement read from a chat model's next-token logits: one forward
pass, no generation (passage re-ranking, the answer self-check)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from assistant.core.generate.chat_template import chat_tokens

YES_WORDS = ("yes", "Yes", " yes", " Yes")
NO_WORDS = ("no", "No", " no", " No")


def first_tokens(llm: Any, words: Sequence[str]) -> list[int]:
    """The distinct first token ids of ``words`` in ``llm``'s vocabulary."""
    return sorted({chat_tokens(llm, word)[0] for word in words})


def log_odds(logits: np.ndarray, yes: Sequence[int], no: Sequence[int]) -> float:
    """log P(any yes token) - log P(any no token)."""
    return _logsumexp(logits[list(yes)]) - _logsumexp(logits[list(no)])


def _logsumexp(values: np.ndarray) -> float:
    top = float(values.max())
    return top + float(np.log(np.exp(values - top).sum()))
