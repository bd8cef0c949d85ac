"""Each chunk embedded by the model that reads its language best.

English (and other non-CJK) text goes to MiniLM (int8 ONNX): on the dev set's
English paraphrased questions it finds the right page far more often than USE
(vector-only hit@1 / hit@5 0.70 / 0.86 against 0.45 / 0.66). Chinese, Japanese and
Korean text goes to USE multilingual, which MiniLM cannot read and which also
matches an English question to a Chinese passage.

One vector column holds both: ``[USE 512 | MiniLM 384]`` with the other model's half
left zero. A query vector with only one half filled (a *view*) therefore scores
only the chunks of that model, by that model's own cosine, so each view has its own
relevance floor. Embedding every chunk twice would cost about twice the ingest time
for no measured gain (bench/retrieval_directions.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from collections.abc import Set as AbstractSet

import numpy as np

from assistant.core.embed.embedding import (
    Embedder,
    QueryView,
    embed_with_spans,
    release_embedder_memory,
    similarity_floor,
)
from assistant.core.model_files import ROUTED_EMBEDDER
from assistant.core.search_text import is_cjk_text


class RoutedEmbedder:
    def __init__(self, multilingual: Embedder, english: Embedder) -> None:
        self.multilingual = multilingual
        self.english = english
        self.name = ROUTED_EMBEDDER
        self.dim = multilingual.dim + english.dim
        self.max_tokens = min(multilingual.max_tokens, english.max_tokens)
        self._split = multilingual.dim

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        return self.english.count_tokens(texts)

    def token_spans(self, text: str) -> list[tuple[int, int]]:
        return self.english.token_spans(text)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        cjk: list[int] = []
        other: list[int] = []
        for i, text in enumerate(texts):
            (cjk if is_cjk_text(text) else other).append(i)
        if cjk:
            out[cjk, : self._split] = self.multilingual.embed([texts[i] for i in cjk])
        if other:
            out[other, self._split :] = self.english.embed([texts[i] for i in other])
        return out

    def embed_spans(
        self, texts: Sequence[str], spans: Sequence[Sequence[tuple[int, int]]]
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """``embed`` plus a vector per span, pooled by each text's own model
        (sentence_rows.embed_with_sentences)."""
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        pooled = [np.zeros((len(s), self.dim), dtype=np.float32) for s in spans]
        cjk: list[int] = []
        other: list[int] = []
        for i, text in enumerate(texts):
            (cjk if is_cjk_text(text) else other).append(i)
        for model, group, half in (
            (self.multilingual, cjk, slice(None, self._split)),
            (self.english, other, slice(self._split, None)),
        ):
            if not group:
                continue
            vectors, parts = embed_with_spans(
                model, [texts[i] for i in group], [spans[i] for i in group]
            )
            out[group, half] = vectors
            for i, part in zip(group, parts, strict=True):
                pooled[i][:, half] = part
        return out, pooled

    def release_memory(self) -> None:
        release_embedder_memory(self.multilingual)
        release_embedder_memory(self.english)

    def wants_sentence_vectors(self, text: str) -> bool:
        """Only MiniLM's text gets sentence vectors: on the dev set they raised
        English paraphrase hit@1 0.70 -> 0.77, while USE's vectors of Chinese
        sentences lowered Chinese hit@1 0.75 -> 0.60 (short Chinese fragments
        resemble many questions). Not embedding them also saves their time."""
        return not is_cjk_text(text)

    def embed_query(self, text: str) -> np.ndarray:
        return self.query_views(text)[0].vector

    def query_views(
        self, text: str, skip: AbstractSet[str] = frozenset()
    ) -> list[QueryView]:
        """MiniLM for a non-CJK query (it scores the English chunks) plus USE (the
        CJK chunks, across languages); USE alone for a CJK query, as MiniLM cannot
        read it. English chunks carry no USE half, so a CJK question reaches them
        through its English translation (query_translation.py) and the full-text
        index."""
        views = []
        if not is_cjk_text(text) and self.english.name not in skip:
            views.append(self._view(self.english, text, slice(self._split, None)))
        if self.multilingual.name not in skip:
            views.append(self._view(self.multilingual, text, slice(0, self._split)))
        return views

    def _view(self, model: Embedder, text: str, half: slice) -> QueryView:
        vector = np.zeros(self.dim, dtype=np.float32)
        vector[half] = model.embed_query(text)
        return QueryView(vector, similarity_floor(model), model.name)

    def embed_in_multilingual_half(self, texts: Sequence[str]) -> np.ndarray:
        """Vectors of any language by USE, in this layout (the other half zero)."""
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if texts:
            out[:, : self._split] = self.multilingual.embed(texts)
        return out

    def embed_multilingual(self, texts: Sequence[str]) -> np.ndarray:
        """Vectors in one space for every language (claim grounding compares an
        answer with passages that may be in another language)."""
        return self.multilingual.embed(texts)


def english_half(embedder: Embedder) -> Embedder | None:
    """The English model of a routed embedder (its vectors' second half); None
    for any other embedder."""
    return embedder.english if isinstance(embedder, RoutedEmbedder) else None
