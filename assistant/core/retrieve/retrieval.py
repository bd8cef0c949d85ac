"""Hybrid retrieval: vector + BM25 candidates, fused by each list's min-max
normalised scores (or, an option, by reciprocal rank), de-duplication, an optional
cross-encoder re-rank, and a relevance floor.

Each query view makes one vector search that returns chunk rows and sentence rows
(store.py); the sentence hits rank their chunks by their best sentence (max-sim)
and enter the fusion as a list of their own."""

from __future__ import annotations

import collections
import json
import time
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

import numpy as np

from assistant.core.embed.embedding import Embedder, QueryView, query_views
from assistant.core.index.store import (
    SEARCH_HIT_COLUMNS,
    ChunkStore,
    RowKind,
    parent_chunk,
)
from assistant.core.search_text import to_search_text
from assistant.core.types import Source, TextBox

Mode = Literal["hybrid", "vector", "text"]
SentenceMerge = Literal["lists", "rrf", "max"]
Fusion = Literal["scores", "rrf"]


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
        from assistant.core.retrieve.llm_rerank import LlamaReranker

        return LlamaReranker(resolve_chat_model(setting), threads)
    return CrossEncoderReranker(setting)


@dataclass
class RetrievalConfig:
    top_k: int = 4
    candidates: int = 30
    mode: Mode = "hybrid"
    fusion: Fusion = "scores"
    """"scores": each ranked list's scores (cosine, BM25) min-max normalised and
    summed by weight (a list that barely tells its chunks apart adds little, see
    ``MIN_SPREAD``), so a chunk far ahead in one list keeps that lead; "rrf":
    reciprocal rank, which sees only places (a chunk 2nd by its vector but absent
    from the full-text list lost to pages found middling by every list). Dev set,
    same library: answerable hit@1 / hit@5 0.79 / 0.91 against 0.69 / 0.88,
    Chinese hit@1 0.80 against 0.50 (README, *Fusion by scores*)."""
    rrf_k: int = 60
    vector_weight: float = 1.0
    text_weight: float = 1.0
    min_similarity: float | None = None
    """Vector-only hits below this cosine similarity are dropped (lexical hits stay);
    None: each query view's own floor (the embedder's calibration)."""
    rerank_candidates: int = 12
    sentences: bool = True
    """Search the sentence vectors too (where the library has them)."""
    sentence_depth: int = 2
    """Rows a view fetches, per chunk wanted, beyond the chunks (sentence rows and
    chunk rows come from one search)."""
    sentence_weight: float = 1.0
    """Of the sentence list of a view of the question itself..."""
    translation_sentence_weight: float = 0.5
    """...and of a view of its translation: a rendering by the chat model, less
    sure than the user's own words; at 1.0 a Chinese question's English sentence
    lists outvote its Chinese page (dev set: zh hit@1 0.75 -> 0.55)."""
    sentence_merge: SentenceMerge = "lists"
    """"lists": sentence hits are a ranked list of their own in the fusion;
    "rrf" / "max": merged with the view's chunk list into one (by rank / by cosine).
    bench/sentence_vectors.py compares them."""
    within: tuple[str, ...] | None = None
    """Only these documents (ids; a scope the user chose); None: all."""


@dataclass
class _Candidate:
    chunk_id: str
    fused: float = 0.0
    similarity: float | None = 0.0
    """Best cosine through the views; None (found by full text only) until read."""
    relevant: bool = False
    """Lexical, or similar enough through some view (above that view's floor)."""
    row: dict[str, Any] | None = None
    """The chunk's row, read only for the few that may be shown."""


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
        self._vector_pool = ThreadPoolExecutor(2, thread_name_prefix="ann")
        self._sentences_at: tuple[int, bool] | None = None
        """(store generation, whether the library has sentence rows then)."""
        self._sentences_absent: dict[str, int] = {}
        """As ``_models_absent``, for the sentence rows of a model."""
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
        """Fuse every ranked list (``RetrievalConfig.fusion``): the full-text
        search and each query view's vector search, for the query and for its
        ``translation`` (an English rendering of a Chinese question, say) when
        given."""
        config = config or RetrievalConfig()
        started = time.perf_counter()
        texts = [query]
        if translation and translation != query:
            texts.append(translation)
        text_hits: list[Future[list[dict[str, Any]]]] = []
        if config.mode in ("hybrid", "text"):
            text_hits = [
                self._text_pool.submit(
                    self.store.text_search,
                    to_search_text(text),
                    config.candidates,
                    SEARCH_HIT_COLUMNS,
                    config.within,
                )
                for text in texts
            ]
        # one look at the store's generation a search (a reader's is a version
        # check on disk); what this search finds is recorded against it
        generation = self.store.generation
        # a model known to have no chunks here is not even run
        absent = {m for m, at in self._models_absent.items() if at == generation}
        views = query_views(self.embedder, query, absent)
        own_views = len(views)
        if len(texts) > 1:  # the translation is there to reach other models' chunks
            own = absent | {view.model for view in views}
            views += query_views(self.embedder, texts[1], own)
        embedded = time.perf_counter()
        candidates: dict[str, _Candidate] = {}
        if config.mode in ("hybrid", "vector"):
            self._fuse_vector_lists(views, own_views, candidates, config, generation)
        for future in text_hits:
            rows = future.result()
            shares = shares_of([float(r["_score"]) for r in rows], config, lone=1.0)
            for row, share in zip(rows, shares, strict=True):
                cand = candidates.setdefault(
                    row["chunk_id"], _Candidate(row["chunk_id"], similarity=None)
                )
                cand.fused += config.text_weight * share
                cand.relevant = True
        ranked = sorted(candidates.values(), key=lambda c: c.fused, reverse=True)
        shown = config.rerank_candidates if self.reranker else config.top_k
        ranked = self._complete([c for c in ranked if c.relevant], shown, views)
        has_sentences = self._has_sentences(generation)
        best = _best_possible(config, config.sentences and has_sentences)
        scores = {id(c): min(1.0, c.fused / best) for c in ranked}
        if self.reranker is not None and ranked:
            head = ranked[: config.rerank_candidates]
            rerank_scores = self.reranker.score(query, [_text(c) for c in head])
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

    def _fuse_vector_lists(
        self,
        views: list[QueryView],
        own_views: int,
        candidates: dict[str, _Candidate],
        config: RetrievalConfig,
        generation: int,
    ) -> None:
        """Add each view's ranked list(s) of chunks to the fusion: its chunk
        vectors, and its sentence vectors (their chunks ranked by the best)."""
        has_sentences = self._has_sentences(generation)
        sentences = config.sentences and has_sentences
        lists: list[tuple[QueryView, float, list[tuple[str, float]]]] = []
        # one search per view, all at once (LanceDB releases the GIL, so they
        # share the cores); where sentence rows exist it returns both kinds
        searches = []
        for number, view in enumerate(views):
            weight = (
                config.sentence_weight
                if number < own_views
                else config.translation_sentence_weight
            )
            with_sentences = not (
                not sentences
                or weight <= 0
                or self._sentences_absent.get(view.model) == generation
            )
            limit = config.candidates * (1 + config.sentence_depth * with_sentences)
            kind: RowKind = "all" if with_sentences or not has_sentences else "chunks"
            search = self._vector_pool.submit(
                self.store.vector_search, view.vector, limit, kind, False, config.within
            )
            searches.append((view, weight, with_sentences, search))
        for view, weight, with_sentences, search in searches:
            # a routed view scores the other model's rows 0: not a ranking
            found = [
                h for h in search.result() if 1.0 - float(h["_distance"]) > _ORTHOGONAL
            ]
            hits = [h for h in found if parent_chunk(h["chunk_id"]) is None]
            hits = hits[: config.candidates]
            if not hits:
                if self._none_of(view, "chunks"):
                    self._models_absent[view.model] = generation
                continue
            chunk_list = [(h["chunk_id"], 1.0 - float(h["_distance"])) for h in hits]
            if not with_sentences:
                lists.append((view, config.vector_weight, chunk_list))
                continue
            sentence_list = _best_sentences(found, config)
            if not sentence_list and self._none_of(view, "sentences"):
                # e.g. USE, whose text gets no sentence rows
                self._sentences_absent[view.model] = generation
            if config.sentence_merge == "lists":
                lists.append((view, config.vector_weight, chunk_list))
                lists.append((view, weight, sentence_list))
            else:
                merged = _merge(
                    chunk_list,
                    sentence_list,
                    config.sentence_merge,
                    weight,
                    config.rrf_k,
                )
                lists.append((view, config.vector_weight, merged))
        for view, weight, ranked in lists:
            floor = _floor(config, view)
            shares = shares_of([similarity for _, similarity in ranked], config)
            for (chunk_id, similarity), share in zip(ranked, shares, strict=True):
                cand = candidates.get(chunk_id)
                if cand is None:
                    cand = candidates[chunk_id] = _Candidate(chunk_id)
                cand.fused += weight * share
                cand.similarity = max(cand.similarity or 0.0, similarity)
                cand.relevant = cand.relevant or similarity >= floor

    def _complete(
        self, ranked: list[_Candidate], shown: int, views: list[QueryView]
    ) -> list[_Candidate]:
        """The first ``shown`` candidates, one per page (or span), with their chunk
        rows: read in rank order a few more than needed at a time (usually one
        query), those found by full text only scored against the query views. A
        chunk removed since the search is left out."""
        kept: list[_Candidate] = []
        places = _Places()
        start = 0
        while len(kept) < shown and start < len(ranked):
            batch = ranked[start : start + shown - len(kept) + 2]
            start += len(batch)
            read = {
                r["chunk_id"]: r
                for r in self.store.chunks_by_id([c.chunk_id for c in batch])
            }
            for cand in batch:
                row = read.get(cand.chunk_id)
                if row is None or not places.take(row):
                    continue
                cand.row = row
                if cand.similarity is None:
                    vector = np.asarray(row["vector"], dtype=np.float32)
                    cand.similarity = max(
                        (float(vector @ v.vector) for v in views), default=0.0
                    )
                kept.append(cand)
        return kept[:shown]

    def _none_of(self, view: QueryView, rows: RowKind) -> bool:
        """Whether the library has no row of the view's model (every cosine 0),
        asked of an exact search: an approximate one can miss a model's few rows
        in a large library (it once hid all the Chinese text from search)."""
        hits = self.store.vector_search(view.vector, 1, rows, exact=True)
        return not any(1.0 - float(h["_distance"]) > _ORTHOGONAL for h in hits)

    def _has_sentences(self, generation: int) -> bool:
        if self._sentences_at is None or self._sentences_at[0] != generation:
            self._sentences_at = (generation, self.store.count_sentences() > 0)
        return self._sentences_at[1]


def _best_sentences(
    hits: list[dict[str, Any]], config: RetrievalConfig
) -> list[tuple[str, float]]:
    """Chunks ranked by their best sentence among the sentence rows of ``hits``,
    with its cosine."""
    best: dict[str, float] = {}
    for row in hits:
        parent = parent_chunk(row["chunk_id"])
        similarity = 1.0 - float(row["_distance"])
        if parent is not None and similarity > _ORTHOGONAL and parent not in best:
            best[parent] = similarity
    return list(best.items())[: config.candidates]


def _merge(
    chunks: list[tuple[str, float]],
    sentences: list[tuple[str, float]],
    how: SentenceMerge,
    weight: float,
    rrf_k: int,
) -> list[tuple[str, float]]:
    """One view's chunk and sentence rankings as one list (so a view counts once
    in the fusion, whichever model it is)."""
    best: dict[str, float] = {}
    score: dict[str, float] = collections.defaultdict(float)
    for factor, ranked in ((1.0, chunks), (weight, sentences)):
        for rank, (chunk_id, similarity) in enumerate(ranked):
            best[chunk_id] = max(best.get(chunk_id, 0.0), similarity)
            if how == "max":
                score[chunk_id] = max(score[chunk_id], similarity)
            else:
                score[chunk_id] += factor / (rrf_k + rank + 1)
    order = sorted(score, key=score.__getitem__, reverse=True)
    return [(chunk_id, best[chunk_id]) for chunk_id in order]


_ORTHOGONAL = 1e-6


MIN_SPREAD = 0.2
"""Score fusion divides a list's scores by at least this share of its best score:
a list whose scores barely differ (near-identical passages, "Valve 812 opens at
13 turns", "Valve 123 opens ...") tells its chunks apart by little, so its best
adds little, and a clear lead in another list (the full text's exact "123")
decides. Typical lists are wider (dev set: median 31 % of the best for chunk
cosines, 51 % for BM25)."""


def shares_of(
    scores: Sequence[float], config: RetrievalConfig, lone: float = 0.0
) -> list[float]:
    """What each place of a ranked list (best first) adds to its chunk's fused
    score, at weight 1: its score min-max normalised over the list (the best 1),
    or 1 / (k + rank) for "rrf". ``lone``: the share of a list's only hit, which
    has nothing to be ahead of: 1 for the full text's (the one passage with the
    words), 0 for a vector list's (cut short by the search, not a lead)."""
    if config.fusion == "rrf":
        return [1.0 / (config.rrf_k + rank + 1) for rank in range(len(scores))]
    if len(scores) == 1:
        return [lone]
    if not scores:
        return []
    high, low = max(scores), min(scores)
    spread = max(high - low, MIN_SPREAD * abs(high))
    if spread <= 0:  # a best score of 0
        return [1.0] * len(scores)
    return [(score - low) / spread for score in scores]


def _floor(config: RetrievalConfig, view: QueryView) -> float:
    return view.floor if config.min_similarity is None else config.min_similarity


def _best_possible(config: RetrievalConfig, sentences: bool) -> float:
    """The fused score of a chunk first in one view's lists (chunk, and sentence
    where searched) and the text list (shown as 1.0; a chunk found by more lists is
    capped there)."""
    vector = config.vector_weight + (config.sentence_weight if sentences else 0.0)
    weight = {
        "hybrid": vector + config.text_weight,
        "vector": vector,
        "text": config.text_weight,
    }[config.mode]
    return weight / (config.rrf_k + 1) if config.fusion == "rrf" else weight


class _Places:
    """One passage per PDF page, and no overlapping spans in unpaged files."""

    def __init__(self) -> None:
        self._pages: set[tuple[str, int]] = set()
        self._spans: dict[str, list[tuple[int, int]]] = {}

    def take(self, row: dict[str, Any]) -> bool:
        """Whether ``row``'s place is still free (it is taken if so)."""
        if row["page"] is not None:
            key = (row["doc_id"], row["page"])
            if key in self._pages:
                return False
            self._pages.add(key)
            return True
        taken = self._spans.setdefault(row["doc_id"], [])
        if any(row["start"] < end and start < row["end"] for start, end in taken):
            return False
        taken.append((row["start"], row["end"]))
        return True


def _text(cand: _Candidate) -> str:
    assert cand.row is not None  # read by _complete
    return str(cand.row["text"])


def _to_source(n: int, cand: _Candidate, score: float) -> Source:
    assert cand.row is not None  # read by _complete
    return source_from_row(n, cand.row, score, cand.similarity or 0.0)


def source_from_row(
    n: int, row: dict[str, Any], score: float = 0.0, similarity: float = 0.0
) -> Source:
    """A chunk row of the store as the numbered passage the model reads."""
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
        similarity=similarity,
        boxes=boxes_from_json(row.get("boxes")),
    )


def boxes_from_json(value: str | None) -> tuple[TextBox, ...]:
    """The OCR line boxes stored on a chunk row (``store``'s ``boxes`` column)."""
    if not value:
        return ()
    return tuple(
        TextBox(int(b[0]), int(b[1]), b[2], b[3], b[4], b[5]) for b in json.loads(value)
    )
