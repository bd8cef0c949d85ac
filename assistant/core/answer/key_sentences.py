"""The sentences of the retrieved passages closest in meaning to the question,
repeated next to the question so a small model reads them last (an answer
design measured in bench/answer_designs.py)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from assistant.core.embed.embedding import Embedder, multilingual_embed
from assistant.core.ingest.chunking import sentence_spans
from assistant.core.search_text import is_cjk_text
from assistant.core.types import Source

MAX_LINE_CHARS = 300
"""PDF text can lack sentence ends; a "sentence" is cut to this many characters."""


def key_sentences(
    embedder: Embedder, question: str, sources: Sequence[Source], count: int = 3
) -> list[str]:
    """Up to ``count`` sentences of ``sources``, most similar to ``question`` first.
    Scored by the embedder's English model when question and sentence are both
    non-CJK (routed embedders), else in its multilingual space."""
    sentences = [
        source.text[a:b][:MAX_LINE_CHARS]
        for source in sources
        for a, b in sentence_spans(source.text)
        if b - a >= 20
    ]
    if not sentences:
        return []
    english = getattr(embedder, "english", None)
    scores = np.zeros(len(sentences), dtype=np.float32)
    english_question = english is not None and not is_cjk_text(question)
    same_space: list[int] = []
    other: list[int] = []
    for i, sentence in enumerate(sentences):
        english_pair = english_question and not is_cjk_text(sentence)
        (same_space if english_pair else other).append(i)
    if same_space and english is not None:
        vectors = english.embed([sentences[i] for i in same_space])
        scores[same_space] = vectors @ english.embed_query(question)
    if other:
        embed = multilingual_embed(embedder)
        vectors = embed([sentences[i] for i in other])
        scores[other] = vectors @ embed([question])[0]
    order = np.argsort(-scores, kind="stable")[:count]
    return [sentences[i] for i in order]
