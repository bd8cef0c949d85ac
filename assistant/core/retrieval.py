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

from assistant.core.embedding import Embedder, QueryView, query_views
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
    from assistant.core.model_files import CHAT_MODELS, resolve_chat_model

    if setting in CHAT_MODELS or setting.lower().endswith(".gguf"):
        from assistant.core.llm_rerank import LlamaReranker

        return LlamaReranker(resolve_chat_model(setting), threads)
    return CrossEncoderReranker(setting)


@dataclass
class RetrievalConfig:
    top_k: int = 4
    candidates: int = 30
    mode: Mode = "hybrid"
    rrf_k: int = 60
    vector_weight: float = 1.0
    text_weight: float = 1.0
    min_similarity: float | None = None
    """Vector-only hits below this cosine similarity are dropped (lexical hits stay);
    None: each query view's own floor (the embedder's calibration)."""
    rerank_candidates: int = 12


@dataclass
class _Candidate:
    row: dict[str, Any]
    fused: float = 0.0
    similarity: float = 0.0
    relevant: bool = False
    """Lexical, or similar enough through some view (above that view's floor)."""


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
        self._models_absent: dict[str, int] = {}
        """Query-view model -> store generation at which none of its chunks existed
        (a routed USE view in an all-English library): skipped until a write."""

    def lacks_model(self, model: str) -> bool:
        """Whether the last search through a view of ``model`` found none of its
        chunks, with nothing written since."""
        return self._models_absent.get(model) == self.store.generation

    def search(
        self,
        query: str,
        config: RetrievalConfig | None = None,
        translation: str | None = None,
    ) -> list[Source]:
        """Fuse every ranked list by reciprocal rank: the full-text search and each
        query view's vector search, for the query and for its ``translation`` (an
        English rendering of a Chinese question, say) when given."""
        config = config or RetrievalConfig()
        started = time.perf_counter()
        texts = [query]
        if translation and translation != query:
            texts.append(translation)
        text_hits: list[Future[list[dict[str, Any]]]] = []
        if config.mode in ("hybrid", "text"):
            text_hits = [
                self._text_pool.submit(
                    self.store.text_search, to_search_text(text), config.candidates
                )
                for text in texts
            ]
        # a model known to have no chunks here is not even run
        absent = {m for m in self._models_absent if self.lacks_model(m)}
        views = query_views(self.embedder, query, absent)
        if len(texts) > 1:  # the translation is there to reach other models' chunks
            own = absent | {view.model for view in views}
            views += query_views(self.embedder, texts[1], own)
        embedded = time.perf_counter()
        candidates: dict[str, _Candidate] = {}
        if config.mode in ("hybrid", "vector"):
            for view in views:
                floor = _floor(config, view)
                hits = self.store.vector_search(view.vector, config.candidates)
                # a routed view scores the other model's chunks 0: not a ranking
                hits = [h for h in hits if 1.0 - float(h["_distance"]) > _ORTHOGONAL]
                if not hits:
                    self._models_absent[view.model] = self.store.generation
                for rank, row in enumerate(hits):
                    cand = candidates.setdefault(row["chunk_id"], _Candidate(row))
                    cand.fused += config.vector_weight / (config.rrf_k + rank + 1)
                    similarity = 1.0 - float(row["_distance"])
                    cand.similarity = max(cand.similarity, similarity)
                    cand.relevant = cand.relevant or similarity >= floor
        for future in text_hits:
            for rank, row in enumerate(future.result()):
                if row["chunk_id"] not in candidates:
                    vector = np.asarray(row["vector"], dtype=np.float32)
                    candidates[row["chunk_id"]] = _Candidate(
                        row,
                        similarity=max(
                            (float(vector @ v.vector) for v in views), default=0.0
                        ),
                    )
                cand = candidates[row["chunk_id"]]
                cand.fused += config.text_weight / (config.rrf_k + rank + 1)
                cand.relevant = True
        ranked = sorted(candidates.values(), key=lambda c: c.fused, reverse=True)
        ranked = _collapse_duplicates([c for c in ranked if c.relevant])
        best = _best_possible(config)
        scores = {id(c): min(1.0, c.fused / best) for c in ranked}
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


_ORTHOGONAL = 1e-6


def _floor(config: RetrievalConfig, view: QueryView) -> float:
    return view.floor if config.min_similarity is None else config.min_similarity


def _best_possible(config: RetrievalConfig) -> float:
    """The fused score of a chunk first in one vector list and the text list (shown
    as 1.0; a chunk found by more lists is capped there)."""
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
