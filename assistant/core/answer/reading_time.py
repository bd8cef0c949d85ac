"""How long the chat model will read before its first words: the prompt's tokens
and the reading speed measured on this machine by the answers so far (the wait
before the first token is mostly prompt reading on a laptop CPU)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from assistant.core.types import Source

MIN_TOKENS = 50
"""Shorter prompts (a follow-up read mostly from the cache) say little about the
speed."""


@dataclass
class ReadingSpeed:
    """Prompt tokens read per second, learnt from answers (None until one)."""

    tokens_per_s: float | None = None

    def record(self, tokens: int, seconds: float) -> None:
        if tokens < MIN_TOKENS or seconds <= 0.0:
            return
        speed = tokens / seconds
        if self.tokens_per_s is None:
            self.tokens_per_s = speed
        else:  # follows a machine that got busier or quieter, without jumping
            self.tokens_per_s = 0.5 * self.tokens_per_s + 0.5 * speed

    def estimate_s(self, tokens: int) -> float | None:
        if self.tokens_per_s is None:
            return None
        return tokens / self.tokens_per_s


@dataclass(frozen=True)
class ReadingPlan:
    """What the model is about to read: told to the window before it starts."""

    sources: list[Source]
    """The passages in the prompt."""
    found: int
    """The passages retrieval found (more than ``sources`` when the prompt's
    budget left some out)."""
    prompt_tokens: int
    estimate_s: float | None
    """Seconds before the first words (None: nothing measured yet)."""
    quotes: tuple[tuple[int, str], ...] = ()
    """The lines of the passages closest to the question, each with the number of
    the passage it is from: something true to read while the model reads."""


QUOTES_HEADING = "From your documents, while the model reads:"
"""Over the quotes, in the window and on the command line."""


def quoted_from(
    lines: Sequence[str], sources: Sequence[Source]
) -> tuple[tuple[int, str], ...]:
    """Each line with the number of the first passage that holds it (lines of
    passages the prompt left out are dropped)."""
    out: list[tuple[int, str]] = []
    for line in lines:
        number = next((s.n for s in sources if line in s.text), None)
        if number is not None and all(line != said for _, said in out):
            out.append((number, line))
    return tuple(out)


def reading_status(plan: ReadingPlan, elapsed_s: float) -> str:
    """The status line during the wait: what the model reads, how much, and
    about how long is left (counted down by the caller)."""
    count = len(plan.sources)
    what = f"Reading {count} passage{'s' if count != 1 else ''}"
    if plan.found > count:
        what += f" of the {plan.found} found (the rest do not fit its prompt)"
    what += f", {plan.prompt_tokens:,} tokens"
    if plan.estimate_s is None:
        return f"{what}\u2026 Esc stops."
    left = plan.estimate_s - elapsed_s
    if left < 1.0:
        return f"{what}: first words any moment now. Esc stops."
    return f"{what}: first words in about {_about(left)}. Esc stops."


def _about(seconds: float) -> str:
    whole = int(seconds + 0.5)
    if whole >= 60:
        return f"{whole // 60} min {whole % 60} s"
    return f"{whole} s"
