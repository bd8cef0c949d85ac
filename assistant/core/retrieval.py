"""Hybrid retrieval: vector + BM25 candidates, reciprocal-rank fusion, de-duplication,
an optional cross-encoder re-rank, and a relevance floor."""

from __future__ import annotations

import time
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

import numpy as np

from assistant.core.embedding import Embedder
from assistant.core.search_text import to_search_text
from assistant.core.store import ChunkStore
from assistant.core.types import Source

Mode = Literal["hybrid", "vector", "text"]


class Reranker(Protocol):
    def score(self, query: str, passages: Sequence[str]) -> list[float]: ...


class CrossEncoderReranker:
    """A sentence-transformers cross-encoder folder on disk."""

    def __init__(self, path: Path | str) -> None:
        from sentence_transformers import CrossEncoder

        self._model: Any = CrossEncoder(str(path), device="cpu")

    def score(self, query: str, passages: Sequence[str]) -> list[float]:
        scores = self._model.predict(
            [(query, p) for p in passages], show_progress_bar=False
        )
        return [float(s) for s in scores]


def load_reranker(setting: str, threads: int = 0) -> Reranker:
    """A cross-encoder folder, or a chat GGUF (file or built-in alias) used as a
    yes/no relevance judge."""
    from assistant.core.models import CHAT_MODELS, resolve_chat_model

    if setting in CHAT_MODELS or setting.lower().endswith(".gguf"):
        from assistant.core.llm_rerank import LlamaReranker

        return LlamaReranker(resolve_chat_model(setting), threads)
    return CrossEncoderReranker(setting)


DEFAULT_SIMILARITY_FLOOR = 0.3
"""Cosine below which a vector-only hit counts as unrelated, for MiniLM; embedders
calibrated otherwise say so with a ``similarity_floor`` attribute."""


@dataclass
class RetrievalConfig:
    top_k: int = 4
    candidates: int = 30
    mode: Mode = "hybrid"
    rrf_k: int = 60
    vector_weight: float = 1.0
    text_weight: float = 1.0
    min_similarity: float = DEFAULT_SIMILARITY_FLOOR
    """Vector-only hits below this cosine similarity are dropped (lexical hits stay)."""
    rerank_candidates: int = 12


@dataclass
class _Candidate:
    row: dict[str, Any]
    fused: float = 0.0
    similarity: float = 0.0
    lexical: bool = False


class Retriever:
    def __init__(
        self, store: ChunkStore, embedder: Embedder, reranker: Reranker | None = None
    ) -> None:
        self.store = store
        self.embedder = embedder
        self.reranker = reranker
        self.last_timings: dict[str, float] = {}
        # full-text search runs beside query embedding + vector search (LanceDB
        # releases the GIL), so hybrid costs about as much as the slower of the two
        self._text_pool = ThreadPoolExecutor(1, thread_name_prefix="fts")

    def search(self, query: str, config: RetrievalConfig | None = None) -> list[Source]:
        config = config or RetrievalConfig()
        started = time.perf_counter()
        text_hits: Future[list[dict[str, Any]]] | None = None
        if config.mode in ("hybrid", "text"):
            text_hits = self._text_pool.submit(
                self.store.text_search, to_search_text(query), config.candidates
            )
        query_vector = self.embedder.embed_query(query)
        embedded = time.perf_counter()
        candidates: dict[str, _Candidate] = {}
        if config.mode in ("hybrid", "vector"):
            hits = self.store.vector_search(query_vector, config.candidates)
            for rank, row in enumerate(hits):
                cand = candidates.setdefault(row["chunk_id"], _Candidate(row))
                cand.fused += config.vector_weight / (config.rrf_k + rank + 1)
                cand.similarity = 1.0 - float(row["_distance"])
        if text_hits is not None:
            for rank, row in enumerate(text_hits.result()):
                if row["chunk_id"] not in candidates:
                    candidates[row["chunk_id"]] = _Candidate(row)
                    vector = np.asarray(row["vector"], dtype=np.float32)
                    candidates[row["chunk_id"]].similarity = float(
                        vector @ query_vector
                    )
                cand = candidates[row["chunk_id"]]
                cand.fused += config.text_weight / (config.rrf_k + rank + 1)
                cand.lexical = True
        ranked = sorted(candidates.values(), key=lambda c: c.fused, reverse=True)
        ranked = [
            c for c in ranked if c.lexical or c.similarity >= config.min_similarity
        ]
        ranked = _collapse_duplicates(ranked)
        best = _best_possible(config)
        scores = {id(c): c.fused / best for c in ranked}
        if self.reranker is not None and ranked:
            head = ranked[: config.rerank_candidates]
            rerank_scores = self.reranker.score(query, [c.row["text"] for c in head])
            order = sorted(
                zip(rerank_scores, range(len(head)), strict=True), reverse=True
            )
            ranked = [head[i] for _, i in order]
            scores = {id(head[i]): s for s, i in order}
        self.last_timings = {
            "embed_ms": (embedded - started) * 1000,
            "retrieval_ms": (time.perf_counter() - started) * 1000,
        }
        return [
            _to_source(n, cand, scores[id(cand)])
            for n, cand in enumerate(ranked[: config.top_k], start=1)
        ]


def _best_possible(config: RetrievalConfig) -> float:
    weight = {
        "hybrid": config.vector_weight + config.text_weight,
        "vector": config.vector_weight,
        "text": config.text_weight,
    }[config.mode]
    return weight / (config.rrf_k + 1)


def _collapse_duplicates(ranked: list[_Candidate]) -> list[_Candidate]:
    """Keep one passage per PDF page, and no overlapping spans in unpaged files."""
    kept: list[_Candidate] = []
    pages: set[tuple[str, int]] = set()
    spans: dict[str, list[tuple[int, int]]] = {}
    for cand in ranked:
        row = cand.row
        if row["page"] is not None:
            key = (row["doc_id"], row["page"])
            if key in pages:
                continue
            pages.add(key)
        else:
            taken = spans.setdefault(row["doc_id"], [])
            if any(row["start"] < end and start < row["end"] for start, end in taken):
                continue
            taken.append((row["start"], row["end"]))
        kept.append(cand)
    return kept


def _to_source(n: int, cand: _Candidate, score: float) -> Source:
    row = cand.row
    return Source(
        n=n,
        path=row["path"],
        title=row["title"],
        page=row["page"],
        page_label=row["page_label"],
        start=row["start"],
        end=row["end"],
        score=float(score),
        text=row["text"],
        heading=row["heading"] or "",
        doc_id=row["doc_id"],
        similarity=cand.similarity,
    )
