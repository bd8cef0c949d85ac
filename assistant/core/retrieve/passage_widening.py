"""A passage with its neighbours: the chunk before and after a retrieved one, on
the same page, joined back into one exact span of the page.

A chunk is ~200 tokens; the fact a question asks for is often in the sentence
just before or after the chunk that matched it (bench/answer_designs.py).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from assistant.core.index.store import ChunkStore
from assistant.core.retrieve.retrieval import boxes_from_json
from assistant.core.types import Source


def widen(store: ChunkStore, source: Source, before: int = 1, after: int = 1) -> Source:
    """``source`` grown by up to ``before``/``after`` neighbouring chunks of its
    page; unchanged when its chunk is not found (the index changed meanwhile)."""
    if not source.doc_id:
        return source
    chunks = store.page_chunks(source.doc_id, source.page)
    here = next(
        (
            i
            for i, c in enumerate(chunks)
            if c["start"] == source.start and c["end"] == source.end
        ),
        None,
    )
    if here is None:
        return source
    joined = chunks[max(0, here - before) : here + after + 1]
    start, end, text = join_spans(joined)
    boxes = {b: None for c in joined for b in boxes_from_json(c.get("boxes"))}
    return dataclasses.replace(
        source, start=start, end=end, text=text, boxes=tuple(boxes) or source.boxes
    )


def join_spans(chunks: Sequence[dict[str, Any]]) -> tuple[int, int, str]:
    """Chunks (exact spans of one text, in order, maybe overlapping) as one span.
    A gap between two chunks is whitespace the chunker trimmed, nearly always a
    paragraph or heading break: it becomes as many newlines, so offsets into the
    joined text stay offsets into the page (the viewer matches whitespace loosely)."""
    start = chunks[0]["start"]
    text = chunks[0]["text"]
    end = chunks[0]["end"]
    for chunk in chunks[1:]:
        if chunk["end"] <= end:
            continue
        if chunk["start"] >= end:
            text += "\n" * (chunk["start"] - end) + chunk["text"]
        else:
            text += chunk["text"][end - chunk["start"] :]
        end = chunk["end"]
    return start, end, text


def widen_top(store: ChunkStore, sources: Sequence[Source], count: int) -> list[Source]:
    """The first ``count`` sources widened; the rest as they are. A widened passage
    that swallows a later source's chunk makes that source redundant: dropped,
    and the rest renumbered."""
    widened = [widen(store, s) if i < count else s for i, s in enumerate(sources)]
    kept: list[Source] = []
    for source in widened:
        inside = any(
            k.doc_id == source.doc_id
            and k.page == source.page
            and k.start <= source.start
            and source.end <= k.end
            for k in kept
        )
        if not inside:
            kept.append(dataclasses.replace(source, n=len(kept) + 1))
    return kept
