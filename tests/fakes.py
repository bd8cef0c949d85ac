"""Deterministic stand-ins with the same interface as the real embedder and model."""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

from assistant.core.cancel import CancelToken
from assistant.core.retrieve.query_translation import TERMS_SYSTEM, TRANSLATE_SYSTEM

_TOKEN = re.compile(r"[\u3400-\u9fff]|\w+|[^\w\s]")


class FakeEmbedder:
    """Bag of hashed words -> unit vector: similar texts get similar vectors.

    Tokens are words, punctuation marks and single CJK characters, so chunking
    limits can be checked exactly.
    """

    def __init__(self, dim: int = 64, max_tokens: int = 60, name: str = "fake") -> None:
        self.dim = dim
        self.max_tokens = max_tokens
        self.name = name
        self.embedded_texts: list[str] = []

    def _tokens(self, text: str) -> list[str]:
        return _TOKEN.findall(text.lower())

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        return [len(self._tokens(t)) for t in texts]

    def token_spans(self, text: str) -> list[tuple[int, int]]:
        return [m.span() for m in _TOKEN.finditer(text)]

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        self.embedded_texts.extend(texts)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for token in self._tokens(text)[: self.max_tokens]:
                digest = hashlib.md5(token.encode()).digest()
                out[row, digest[0] % self.dim] += 1.0
            norm = np.linalg.norm(out[row])
            out[row] = out[row] / norm if norm else out[row]
            if not norm:
                out[row, 0] = 1.0
        return out

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed([text])[0]


class FakeGenerator:
    """Replays queued answers token by token and records the prompts it was given."""

    def __init__(self, context_length: int = 2048) -> None:
        self.name = "fake-llm"
        self.context_length = context_length
        self.answers: list[str] = []
        self.prompts: list[list[dict[str, str]]] = []
        self.adapter: Path | None = None
        self.adapters_used: list[Path | None] = []
        self.translated: list[str] = []
        """Questions the search asked to translate (kept apart from ``prompts``)."""
        self.translations: dict[str, str] = {}
        """Replies to those requests; a question not listed gets none."""
        self.translation_tokens = 0
        """Tokens of those replies read by the caller."""
        self.judgements: list[float] = []
        """Replies to ``yes_odds`` in turn; when empty, a confident yes."""
        self.judged: list[list[dict[str, str]]] = []
        self.verdicts: list[float] = []
        """Replies to ``judge_odds`` in turn; when empty, a confident yes."""
        self.verified: list[list[dict[str, str]]] = []
        self.terms: dict[str, str] = {}
        """Replies to requests for a question's documentation terms; else none."""
        self.terms_asked: list[str] = []

    def use_adapter(self, path: Path | None) -> None:
        self.adapter = path

    def judge_odds(self, messages: Sequence[dict[str, str]]) -> float:
        """The claim verifier's questions: scripted apart from the self-check's."""
        self.verified.append(list(messages))
        return self.verdicts.pop(0) if self.verdicts else 5.0

    def yes_odds(self, messages: Sequence[dict[str, str]]) -> float:
        self.judged.append(list(messages))
        return self.judgements.pop(0) if self.judgements else 5.0

    def queue(self, *answers: str) -> None:
        self.answers.extend(answers)

    def count_tokens(self, text: str) -> int:
        return len(text) // 4 + 1

    def tokens_to_read(self, messages: Sequence[dict[str, str]]) -> int:
        return sum(self.count_tokens(m["content"]) for m in messages)

    def stream_chat(
        self,
        messages: Sequence[dict[str, str]],
        *,
        max_tokens: int,
        temperature: float,
        cancel: CancelToken,
        aside: bool = False,
    ) -> Iterator[str]:
        if messages[0]["content"] == TRANSLATE_SYSTEM:
            question = messages[-1]["content"]
            self.translated.append(question)
            for token in re.findall(r"\s*\S+", self.translations.get(question, "")):
                self.translation_tokens += 1
                yield token
            return
        if messages[0]["content"] == TERMS_SYSTEM:
            question = messages[-1]["content"]
            self.terms_asked.append(question)
            yield from re.findall(r"\s*\S+", self.terms.get(question, ""))
            return
        self.prompts.append(list(messages))
        self.adapters_used.append(self.adapter)
        answer = self.answers.pop(0) if self.answers else "I don't know."
        for token in re.findall(r"\S+\s*", answer)[:max_tokens]:
            if cancel.cancelled:
                return
            yield token


class SlowGenerator(FakeGenerator):
    """Streams one token every ``delay`` seconds (to test Stop and streaming)."""

    def __init__(self, delay: float = 0.0) -> None:
        super().__init__()
        self.delay = delay

    def stream_chat(
        self,
        messages: Sequence[dict[str, str]],
        *,
        max_tokens: int,
        temperature: float,
        cancel: CancelToken,
        aside: bool = False,
    ) -> Iterator[str]:
        for token in super().stream_chat(
            messages,
            max_tokens=max_tokens,
            temperature=temperature,
            cancel=cancel,
            aside=aside,
        ):
            time.sleep(self.delay)
            yield token

    def close(self) -> None:
        pass
