"""Sentence- and heading-aware chunking, sized in the embedder's own tokens.

Every chunk is an exact span of its page's text (``page.text[start:end]``), so a
viewer can highlight it. The text that gets embedded is the chunk prefixed with
the document title and heading path, and it never exceeds the embedder's maximum
input: text past that limit would silently never reach the vector.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from assistant.core.types import Chunk, Heading, Page, ParsedDocument

_BOUNDARY = re.compile(
    # Latin sentence end + space. A match may only start where a run of stops
    # starts and takes the run whole (possessive): otherwise a 100 KB run of dots
    # is tried from every one of its positions, quadratic time.
    r"(?<![.!?\u2026])[.!?\u2026]++[\"'\u201d\u2019)\]]*+\s+"
    r"|[\u3002\uff01\uff1f\uff1b]+[\"\u201d\u2019\u300d\u300f\uff09)]*\s*"  # 。！？；
    r"|\n[ \t]*\n\s*"  # blank line: paragraph break
)
_HEADING_SEP = " \u203a "
_MAX_TITLE_CHARS = 100
_MAX_HEADING_CHARS = 140
_MIN_CHUNK_TOKENS = 2


class TokenCounter(Protocol):
    max_tokens: int

    def count_tokens(self, texts: Sequence[str]) -> list[int]: ...

    def token_spans(self, text: str) -> list[tuple[int, int]]: ...


@dataclass(frozen=True)
class _Piece:
    start: int
    end: int
    tokens: int


def sentence_spans(
    text: str, start: int = 0, end: int | None = None
) -> list[tuple[int, int]]:
    """Sentence (and paragraph) spans in ``text[start:end]``, whitespace trimmed."""
    end = len(text) if end is None else end
    spans: list[tuple[int, int]] = []

    def add(a: int, b: int) -> None:
        while a < b and text[a].isspace():
            a += 1
        while b > a and text[b - 1].isspace():
            b -= 1
        if a < b:
            spans.append((a, b))

    pos = start
    for match in _BOUNDARY.finditer(text, start, end):
        add(pos, match.end())
        pos = match.end()
    add(pos, end)
    return spans


MIN_SENTENCE_CHARS = 12
"""Shorter sentences ("Note.", "See 2.1.") carry too little to be searched alone."""


def chunk_sentences(chunk: Chunk) -> list[tuple[int, int]]:
    """The page spans of a chunk's sentences worth a vector of their own: none when
    the chunk holds only one (its own vector is that sentence's)."""
    spans = [
        (chunk.start + a, chunk.start + b)
        for a, b in sentence_spans(chunk.text)
        if b - a >= MIN_SENTENCE_CHARS
    ]
    return spans if len(spans) > 1 else []


def sentence_context(heading: str) -> str:
    """What a sentence is embedded with: the innermost heading over it, which
    often names the thing the sentence only calls "it" or "this command"."""
    leaf = heading.rsplit(_HEADING_SEP, 1)[-1].strip()[:_MAX_TITLE_CHARS]
    return f"{leaf}\n" if leaf else ""


def row_embed_text(row: Mapping[str, Any]) -> str:
    """The text a stored chunk row was embedded as (``Chunk.embed_text``): its
    title and heading prefix, then its text."""
    return _prefix(row["title"], row["heading"] or "") + str(row["text"])


def _prefix(title: str, heading: str) -> str:
    title = title[:_MAX_TITLE_CHARS]
    if heading and heading != title:
        return f"{title}{_HEADING_SEP}{heading[-_MAX_HEADING_CHARS:]}\n"
    return f"{title}\n"


def _split_long(
    text: str, span: tuple[int, int], budget: int, counter: TokenCounter
) -> list[_Piece]:
    """Cut a sentence longer than ``budget`` tokens at token boundaries."""
    start, end = span
    token_spans = counter.token_spans(text[start:end])
    pieces = []
    for i in range(0, len(token_spans), budget):
        window = token_spans[i : i + budget]
        pieces.append(_Piece(start + window[0][0], start + window[-1][1], len(window)))
    return pieces


def _pack(pieces: list[_Piece], budget: int, overlap: int) -> list[list[_Piece]]:
    groups: list[list[_Piece]] = []
    current: list[_Piece] = []
    tokens = 0
    for piece in pieces:
        if current and tokens + piece.tokens > budget:
            groups.append(current)
            keep: list[_Piece] = []
            kept = 0
            for previous in reversed(current):
                # whole sentences up to ``overlap`` tokens, but at least one
                # sentence when it is not longer than half a chunk
                limit = overlap if keep else max(overlap, budget // 2) if overlap else 0
                if kept + previous.tokens > limit:
                    break
                keep.insert(0, previous)
                kept += previous.tokens
            while keep and kept + piece.tokens > budget:
                kept -= keep.pop(0).tokens
            current, tokens = keep, kept
        current.append(piece)
        tokens += piece.tokens
    if current:
        groups.append(current)
    return groups


def _update_stack(stack: list[Heading], heading: Heading) -> None:
    while stack and stack[-1].level >= heading.level:
        stack.pop()
    stack.append(heading)


def chunk_document(
    document: ParsedDocument,
    counter: TokenCounter,
    chunk_tokens: int = 200,
    overlap_tokens: int = 30,
) -> list[Chunk]:
    """Split a parsed document into chunks that each fit the embedder whole."""
    chunker = Chunker(document.title, counter, chunk_tokens, overlap_tokens)
    return [chunk for page in document.pages for chunk in chunker.page_chunks(page)]


class Chunker:
    """Chunks a document page by page, carrying the heading path and the chunk
    numbering from one page to the next (a long PDF is chunked as it is read)."""

    def __init__(
        self,
        title: str,
        counter: TokenCounter,
        chunk_tokens: int = 200,
        overlap_tokens: int = 30,
    ) -> None:
        self.title = title
        self.counter = counter
        self.chunk_tokens = chunk_tokens
        self.overlap_tokens = overlap_tokens
        self.count = 0
        self._stack: list[Heading] = []

    def page_chunks(self, page: Page) -> list[Chunk]:
        counter, stack = self.counter, self._stack
        chunks: list[Chunk] = []
        text = page.text
        by_offset: dict[int, list[Heading]] = {}
        for heading in page.headings:
            by_offset.setdefault(min(max(heading.offset, 0), len(text)), []).append(
                heading
            )
        bounds = sorted({0, *by_offset})
        for index, seg_start in enumerate(bounds):
            seg_end = bounds[index + 1] if index + 1 < len(bounds) else len(text)
            for heading in by_offset.get(seg_start, ()):
                _update_stack(stack, heading)
            heading_path = _HEADING_SEP.join(h.title for h in stack)
            prefix = _prefix(self.title, heading_path)
            spans = sentence_spans(text, seg_start, seg_end)
            if not spans:
                continue
            budget = min(
                self.chunk_tokens,
                counter.max_tokens - counter.count_tokens([prefix])[0] - 4,
            )
            budget = max(budget, 16)
            while True:
                groups = _segment_groups(
                    text, spans, counter, budget, self.overlap_tokens
                )
                embed_texts = [prefix + text[g[0].start : g[-1].end] for g in groups]
                counts = counter.count_tokens(embed_texts)
                if max(counts) <= counter.max_tokens or budget <= 16:
                    break
                budget = max(16, budget - (max(counts) - counter.max_tokens) - 8)
            for group, embed_text, count in zip(
                groups, embed_texts, counts, strict=True
            ):
                start, end = group[0].start, group[-1].end
                if sum(piece.tokens for piece in group) < _MIN_CHUNK_TOKENS:
                    continue
                chunks.append(
                    Chunk(
                        ordinal=self.count,
                        page=page.number,
                        page_label=page.label,
                        start=start,
                        end=end,
                        heading=heading_path,
                        text=text[start:end],
                        embed_text=embed_text,
                        tokens=count,
                        boxes=tuple(
                            b for b in page.boxes if b.start < end and start < b.end
                        ),
                    )
                )
                self.count += 1
        return chunks


def _segment_groups(
    text: str,
    spans: list[tuple[int, int]],
    counter: TokenCounter,
    budget: int,
    overlap: int,
) -> list[list[_Piece]]:
    counts = counter.count_tokens([text[a:b] for a, b in spans])
    pieces: list[_Piece] = []
    for span, count in zip(spans, counts, strict=True):
        if count <= budget:
            pieces.append(_Piece(span[0], span[1], count))
        else:
            pieces.extend(_split_long(text, span, budget, counter))
    return _pack(pieces, budget, overlap)
