"""Sentence rows: which sentences of a document's chunks get a vector of their own
(store.py keeps them beside the chunks), and embedding them with the chunks."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from assistant.core.embed.embedding import Embedder, embed_with_spans, unit
from assistant.core.ingest.chunking import chunk_sentences
from assistant.core.types import Chunk


@dataclass(frozen=True)
class Sentence:
    chunk: int
    """Index of the chunk it belongs to (the first that holds it)."""
    start: int
    end: int
    text: str


def _wants(embedder: Embedder) -> Callable[[str], bool]:
    """Whether the embedder gives a text sentence vectors (routed: English only)."""
    return getattr(embedder, "wants_sentence_vectors", lambda _text: True)


def _text_of(chunk: Chunk, start: int, end: int) -> str:
    """The chunk's text between two page offsets."""
    return chunk.text[start - chunk.start : end - chunk.start]


def sentences_of(chunks: list[Chunk], embedder: Embedder) -> list[Sentence]:
    """Each sentence once, though chunk overlap puts some in two chunks; only of
    chunks whose language the embedder wants sentence vectors for."""
    wants = _wants(embedder)
    seen: set[tuple[int | None, int, int]] = set()
    out = []
    for index, chunk in enumerate(chunks):
        if not wants(chunk.text):
            continue
        for start, end in chunk_sentences(chunk):
            key = (chunk.page, start, end)
            text = _text_of(chunk, start, end)
            if key not in seen and wants(text):  # (each text is routed by its own)
                seen.add(key)
                out.append(Sentence(index, start, end, text))
    return out


def chunk_pieces(chunk: Chunk, embedder: Embedder) -> list[str] | None:
    """What a chunk's vector is pooled from when chunk vectors come from their
    sentences: the chunk's title-and-heading line and each of its sentences, all
    read by the model that reads the chunk; None when the chunk is embedded
    whole (a single sentence, text the sentence model does not get, or no
    sentences at all)."""
    wants = _wants(embedder)
    if not wants(chunk.text):
        return None
    texts = [_text_of(chunk, a, b) for a, b in chunk_sentences(chunk)]
    if len(texts) < 2 or not all(wants(t) for t in texts):
        return None
    prefix = chunk.embed_text[: len(chunk.embed_text) - len(chunk.text)].strip()
    return ([prefix] if prefix and wants(prefix) else []) + texts


def pooled_from(vectors: list[np.ndarray], lengths: list[int]) -> np.ndarray:
    """A chunk's vector from its pieces' unit vectors: their mean, each weighted
    by its text's length (the encoder's own vector of a text is the mean of its
    tokens' states, so a long sentence weighs more in it; on the dev set an even
    mean found the right page a little less often), made unit."""
    return unit(np.average(np.stack(vectors), axis=0, weights=lengths))


def embed_texts(
    embedder: Embedder,
    texts: list[str],
    batch: list[int],
    chunk_count: int,
    sentence_model: str = "same",
    within: Mapping[int, tuple[int, int, int]] | None = None,
) -> np.ndarray:
    """The vectors of ``texts[i]`` for ``i`` in ``batch``; those from
    ``chunk_count`` on are sentences. By ``sentence_model``: "pooled" pools a
    sentence from its chunk's pass (``within[i]`` = the chunk's index in
    ``texts`` and the sentence's span in that text), "multilingual" embeds it by
    the multilingual model, "same" embeds it alone by the chunk's model."""
    if sentence_model == "pooled" and within is not None:
        return _pooled(embedder, texts, batch, chunk_count, within)
    multilingual = getattr(embedder, "embed_in_multilingual_half", None)
    if sentence_model != "multilingual" or multilingual is None:
        return embedder.embed([texts[i] for i in batch])
    out = np.zeros((len(batch), embedder.dim), dtype=np.float32)
    chunks = [n for n, i in enumerate(batch) if i < chunk_count]
    sentences = [n for n, i in enumerate(batch) if i >= chunk_count]
    if chunks:
        out[chunks] = embedder.embed([texts[batch[n]] for n in chunks])
    if sentences:
        out[sentences] = multilingual([texts[batch[n]] for n in sentences])
    return out


def _pooled(
    embedder: Embedder,
    texts: list[str],
    batch: list[int],
    chunk_count: int,
    within: Mapping[int, tuple[int, int, int]],
) -> np.ndarray:
    """Each chunk of the batch, and each sentence's chunk, embedded once; the
    sentences' vectors pooled from their chunk's tokens."""
    owners: dict[int, list[int]] = {}
    for n, i in enumerate(batch):
        owner = i if i < chunk_count else within[i][0]
        owners.setdefault(owner, [])
        if i >= chunk_count:
            owners[owner].append(n)
    order = list(owners)
    vectors, parts = embed_with_spans(
        embedder,
        [texts[c] for c in order],
        [[within[batch[n]][1:] for n in owners[c]] for c in order],
    )
    out = np.zeros((len(batch), embedder.dim), dtype=np.float32)
    row_of = {c: k for k, c in enumerate(order)}
    for n, i in enumerate(batch):
        if i < chunk_count:
            out[n] = vectors[row_of[i]]
    for c, k in row_of.items():
        for n, vector in zip(owners[c], parts[k], strict=True):
            out[n] = vector
    return out
