"""Embedders: a protocol plus the sentence-transformers implementation."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from assistant.core.errors import ModelNotFound
from assistant.core.fast_tokenizer import shared_tokenizer, special_tokens
from assistant.core.hardware import physical_cores


class Embedder(Protocol):
    """Turns text into unit-length vectors and counts tokens the way it reads them."""

    name: str
    dim: int
    max_tokens: int
    """Longest input, in the model's own tokens (specials excluded), it reads whole."""

    def count_tokens(self, texts: Sequence[str]) -> list[int]: ...

    def token_spans(self, text: str) -> list[tuple[int, int]]:
        """Character span of each token of ``text`` (specials excluded)."""
        ...

    def embed(self, texts: Sequence[str]) -> np.ndarray: ...

    def embed_query(self, text: str) -> np.ndarray: ...


def release_embedder_memory(embedder: Embedder) -> None:
    """Give back the working memory a long run of embedding left, where the
    embedder can (``release_memory``; onnxruntime's arena)."""
    release = getattr(embedder, "release_memory", None)
    if callable(release):
        release()


DEFAULT_SIMILARITY_FLOOR = 0.3
"""Cosine below which a vector-only hit counts as unrelated, for MiniLM; embedders
calibrated otherwise say so with a ``similarity_floor`` attribute."""


def similarity_floor(embedder: Embedder) -> float:
    return float(getattr(embedder, "similarity_floor", DEFAULT_SIMILARITY_FLOOR))


@dataclass(frozen=True)
class QueryView:
    """One way to search the vector column: a query vector, the cosine below which
    a vector-only hit through it counts as unrelated, and the model that made it."""

    vector: np.ndarray
    floor: float
    model: str


def query_views(
    embedder: Embedder, text: str, skip: AbstractSet[str] = frozenset()
) -> list[QueryView]:
    """The views an embedder offers for ``text``: one, unless it routes languages
    to different models (routed_embedding.py). Models in ``skip`` are not run."""
    views: Callable[[str, AbstractSet[str]], list[QueryView]] | None = getattr(
        embedder, "query_views", None
    )
    if views is not None:
        return views(text, skip)
    if embedder.name in skip:
        return []
    return [
        QueryView(embedder.embed_query(text), similarity_floor(embedder), embedder.name)
    ]


def multilingual_embed(embedder: Embedder) -> Callable[[Sequence[str]], np.ndarray]:
    """The embedder's function that puts every language in one space (claim
    grounding compares an answer with passages in another language)."""
    function: Callable[[Sequence[str]], np.ndarray] = getattr(
        embedder, "embed_multilingual", embedder.embed
    )
    return function


def embed_with_spans(
    embedder: Embedder,
    texts: Sequence[str],
    spans: Sequence[Sequence[tuple[int, int]]],
) -> tuple[np.ndarray, list[np.ndarray]]:
    """The texts' vectors and a vector per character span of each: pooled from
    the text's own pass where the embedder can (``embed_spans``), else each span
    embedded as a text of its own."""
    pooled = getattr(embedder, "embed_spans", None)
    if pooled is not None:
        result: tuple[np.ndarray, list[np.ndarray]] = pooled(texts, spans)
        return result
    pieces = [text[a:b] for text, own in zip(texts, spans, strict=True) for a, b in own]
    alone = embedder.embed([*texts, *pieces])
    out, rest = alone[: len(texts)], alone[len(texts) :]
    parts = []
    for own in spans:
        parts.append(rest[: len(own)])
        rest = rest[len(own) :]
    return out, parts


def unit(vectors: np.ndarray) -> np.ndarray:
    """Each vector (the last axis) scaled to length 1; a zero vector stays zero."""
    norm = np.linalg.norm(vectors, axis=-1, keepdims=True)
    return vectors / np.clip(norm, 1e-12, None)


class TokenCounting:
    """Counts tokens with a tokenizer instance that never embeds.

    A Hugging Face fast tokenizer shared between the chunking thread and the
    embedding call can fail with "Already borrowed" (embedding sets padding and
    truncation on its own), so counting never uses the tokenizer that embeds.
    """

    def __init__(self, folder: Path) -> None:
        self._count_tokenizer: Any = shared_tokenizer(folder)

    @property
    def special_tokens(self) -> int:
        return special_tokens(self._count_tokenizer)

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        if not texts:
            return []
        encoded = self._count_tokenizer.encode_batch(
            list(texts), add_special_tokens=False
        )
        return [len(e.ids) for e in encoded]

    def token_spans(self, text: str) -> list[tuple[int, int]]:
        encoded = self._count_tokenizer.encode(text, add_special_tokens=False)
        return [(int(a), int(b)) for a, b in encoded.offsets]


class SentenceTransformerEmbedder(TokenCounting):
    """Any sentence-transformers model folder on disk, run on the CPU.

    Counting uses a separate tokenizer instance: a Hugging Face fast tokenizer shared
    between the chunking thread and ``encode`` can fail with "Already borrowed".
    """

    def __init__(
        self,
        path: Path | str,
        name: str | None = None,
        batch_size: int = 32,
        threads: int = 0,
    ) -> None:
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        hf_logging.set_verbosity_error()
        hf_logging.disable_progress_bar()

        folder = Path(path)
        if not folder.is_dir():
            raise ModelNotFound(
                f"Embedding model folder not found: {folder}. Choose a "
                "sentence-transformers folder in the settings."
            )
        import torch

        torch.set_num_threads(threads or physical_cores())  # the settings' threads
        self.path = folder
        self.name = name or folder.name
        self.batch_size = batch_size
        self._model: Any = SentenceTransformer(str(folder), device="cpu")
        super().__init__(folder)
        self._lock = threading.Lock()
        dim: Any = self._model.get_embedding_dimension()
        max_length: Any = self._model.max_seq_length
        if not dim or not max_length:
            raise ModelNotFound(f"{folder} is not a sentence-embedding model.")
        self.dim = int(dim)
        self.max_tokens = int(max_length) - self.special_tokens

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:
            vectors = self._model.encode(
                list(texts),
                batch_size=self.batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        return np.asarray(vectors, dtype=np.float32)

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed([text])[0]
