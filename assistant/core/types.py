"""Plain data passed between the core's stages and out to the UI and CLI."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from assistant.core.cancel import CancelToken
from assistant.core.fsutil import shown_name


def shorten(text: str, width: int) -> str:
    """One line of at most ``width`` characters, with an ellipsis when cut."""
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "\u2026"


ANSWER_MODES = ("base", "rag", "sft", "rag+sft")
"""base: the model alone; rag: with retrieved sources; sft: with the fine-tuned
adapter, no retrieval; rag+sft: both."""


def mode_uses_retrieval(mode: str) -> bool:
    return mode in ("rag", "rag+sft")


def mode_uses_adapter(mode: str) -> bool:
    return mode in ("sft", "rag+sft")


MODES_WITHOUT_ADAPTER = tuple(m for m in ANSWER_MODES if not mode_uses_adapter(m))


@dataclass(frozen=True)
class Heading:
    """A heading that starts at ``offset`` characters into its page's text."""

    offset: int
    level: int
    title: str


@dataclass(frozen=True)
class TextBox:
    """Where ``text[start:end]`` of an OCR'd page stands on the page image, as
    fractions of its width and height (top-left origin)."""

    start: int
    end: int
    x0: float
    y0: float
    x1: float
    y1: float

    def to_list(self) -> list[float]:
        return [self.start, self.end, self.x0, self.y0, self.x1, self.y1]


@dataclass(frozen=True)
class Page:
    """Text of one page (PDF) or of a whole unpaged document.

    ``number`` is the 1-based page index used to locate the page; ``label`` is the
    printed page label a reader sees ("iv", "23"), which may differ.
    """

    number: int | None
    text: str
    label: str | None = None
    headings: tuple[Heading, ...] = ()
    boxes: tuple[TextBox, ...] = ()
    """Line boxes of a page whose text came from OCR (empty otherwise)."""
    scanned: bool = False
    """The page is an image that OCR read (its text may be empty: a blank scan)."""


def page_noun(path: str) -> str:
    """What a document's numbered parts are called: an EPUB's are its chapters."""
    return "chapter" if path.lower().endswith(".epub") else "page"


MAX_TEXT_CHARS = 20_000_000
"""Text a document may hold after extraction or decompression (about 8,000 dense
pages): chunking holds ~100 bytes of memory per character, so a 4 MB .docx that
inflates to 1 GB of text must be refused, not read."""


@dataclass(frozen=True)
class ParseLimits:
    """What every parser is given: the most text a document may hold (a parser
    that can tell early stops there; ``parse_file`` checks the rest) and the
    token that stops a long parse."""

    max_chars: int = MAX_TEXT_CHARS
    cancel: CancelToken | None = None


DEFAULT_LIMITS = ParseLimits()


@dataclass(frozen=True)
class ParsedDocument:
    path: Path
    title: str
    kind: str
    pages: list[Page]

    @property
    def page_count(self) -> int:
        return len(self.pages) if self.pages and self.pages[0].number else 0

    @property
    def char_count(self) -> int:
        return sum(len(p.text) for p in self.pages)


@dataclass
class DocumentStream:
    """A document read page by page: a 2,400-page PDF is chunked, embedded and
    committed in page batches while the rest is still being read. ``pages`` may
    raise :class:`IngestError` part-way (a damaged page, the text limit)."""

    path: Path
    title: str
    kind: str
    page_count: int
    """Pages the document has (0: an unpaged document)."""
    pages: Iterator[Page]

    def close(self) -> None:
        """Release the reader (pdfium is held while a PDF is being read)."""
        close = getattr(self.pages, "close", None)
        if close is not None:
            close()

    def read_all(self) -> ParsedDocument:
        try:
            return ParsedDocument(self.path, self.title, self.kind, list(self.pages))
        finally:
            self.close()


@dataclass(frozen=True)
class Chunk:
    """A span ``text == page.text[start:end]`` with the context used to embed it."""

    ordinal: int
    page: int | None
    page_label: str | None
    start: int
    end: int
    heading: str
    text: str
    embed_text: str
    tokens: int = 0
    """Length of ``embed_text`` in the embedder's tokens (counted while chunking)."""
    boxes: tuple[TextBox, ...] = ()
    """The OCR line boxes this chunk's span covers (OCR'd pages only)."""


PARTIAL_HASH = "partial:"
"""Prefix of the content hash on the rows of a document being indexed in page
batches; the last batch's commit sets the file's own hash on all of them."""


@dataclass(frozen=True)
class DocumentInfo:
    doc_id: str
    path: str
    title: str
    kind: str
    content_hash: str
    size: int
    pages: int
    chunks: int
    ingested_at: float
    pages_indexed: int = 0
    """Pages up to which a partly indexed document is embedded (searchable by
    meaning); ``chunks`` counts the embedded chunks."""
    pages_by_words: int = 0
    """Pages up to which its text is committed (searchable by words)."""

    @property
    def complete(self) -> bool:
        """False while a long document is indexed in page batches (or was
        stopped part-way): the next ingest of it continues from there."""
        return not self.content_hash.startswith(PARTIAL_HASH)


@dataclass
class Source:
    """A retrieved passage, numbered as the model and the user see it."""

    n: int
    path: str
    title: str
    page: int | None
    page_label: str | None
    start: int
    end: int
    score: float
    text: str
    heading: str = ""
    doc_id: str = ""
    similarity: float = 0.0
    boxes: tuple[TextBox, ...] = ()
    """OCR line boxes around the passage, for the viewer (OCR'd pages only)."""

    @property
    def file_name(self) -> str:
        return Path(self.path).name

    def location(self) -> str:
        if self.page is None:
            return self.file_name
        label = (
            f" ({self.page_label})"
            if self.page_label and self.page_label != str(self.page)
            else ""
        )
        return f"{self.file_name}, {page_noun(self.path)} {self.page}{label}"

    def span(self, start: int, end: int) -> Source:
        """The part ``text[start:end]`` of this passage, located in its page
        (with the OCR lines it covers)."""
        begin, finish = self.start + start, self.start + end
        return replace(
            self,
            text=self.text[start:end],
            start=begin,
            end=finish,
            boxes=tuple(b for b in self.boxes if b.start < finish and begin < b.end),
        )

    def to_json(self) -> dict[str, object]:
        return {
            "n": self.n,
            "path": self.path,
            "title": self.title,
            "page": self.page,
            "page_label": self.page_label,
            "start": self.start,
            "end": self.end,
            "score": round(self.score, 4),
            "text": self.text,
        }


@dataclass(frozen=True)
class Evidence:
    """Where a claim is supported: ``start``/``end`` index into source ``n``'s text."""

    n: int
    start: int
    end: int
    score: float

    def to_json(self) -> dict[str, object]:
        return {
            "n": self.n,
            "start": self.start,
            "end": self.end,
            "score": round(self.score, 3),
        }


VERDICTS = ("stated", "not_stated", "contradicted")
"""What the passages make of a claim: they state it, they do not, or they say
otherwise."""


@dataclass(frozen=True)
class Claim:
    """One sentence of an answer (``answer[start:end]``) and what the passages make
    of it: ``verdict`` is one of ``VERDICTS``; ``supported`` is verdict ==
    "stated". ``evidence``: the spans that state it, or for a contradicted claim
    the span that contradicts it."""

    text: str
    start: int
    end: int
    supported: bool
    evidence: tuple[Evidence, ...] = ()
    verdict: str = ""

    def __post_init__(self) -> None:
        if not self.verdict:
            verdict = "stated" if self.supported else "not_stated"
            object.__setattr__(self, "verdict", verdict)
        if self.verdict not in VERDICTS or self.supported != (self.verdict == "stated"):
            raise ValueError(f"claim verdict {self.verdict!r} with {self.supported=}")

    def judged(
        self, verdict: str, evidence: tuple[Evidence, ...] | None = None
    ) -> Claim:
        """This claim with another verdict (and evidence, if given)."""
        return replace(
            self,
            supported=verdict == "stated",
            verdict=verdict,
            evidence=self.evidence if evidence is None else evidence,
        )

    def to_json(self) -> dict[str, object]:
        return {
            "text": self.text,
            "start": self.start,
            "end": self.end,
            "supported": self.supported,
            "verdict": self.verdict,
            "evidence": [e.to_json() for e in self.evidence],
        }

    @staticmethod
    def from_json(data: dict[str, Any]) -> Claim:
        return Claim(
            str(data["text"]),
            int(data["start"]),
            int(data["end"]),
            bool(data["supported"]),
            tuple(
                Evidence(int(e["n"]), int(e["start"]), int(e["end"]), float(e["score"]))
                for e in data.get("evidence", [])
            ),
            str(data.get("verdict", "")),
        )


@dataclass
class Answer:
    text: str
    sources: list[Source]
    cited: list[int]
    timings: dict[str, float] = field(default_factory=dict)
    stopped: bool = False
    interrupted: str = ""
    """Why the answer ended early other than Stop (e.g. the server was lost)."""
    unsupported: list[str] = field(default_factory=list)
    """Numbers in the answer that appear in none of the sources (likely made up)."""
    mode: str = "rag"
    """How it was answered: see ``ANSWER_MODES``."""
    claims: list[Claim] = field(default_factory=list)
    declined: bool = False
    """The documents do not answer it, and the answer says so."""
    withheld: str = ""
    """The model's own reply when it was replaced by a decline (no claim supported)."""
    raw: str = ""
    """The reply exactly as generated (before markers and checks)."""
    self_check: float | None = None
    """The model's log-odds that the excerpts answer the question with this
    reply (None: not asked; below 0 the reply is declined)."""

    @property
    def cited_sources(self) -> list[Source]:
        by_n = {s.n: s for s in self.sources}
        return [by_n[n] for n in self.cited if n in by_n]

    def to_json(self) -> dict[str, object]:
        return {
            "answer": self.text,
            "sources": [s.to_json() for s in self.sources],
            "cited": self.cited,
            "timings": {k: round(v, 2) for k, v in self.timings.items()},
            "stopped": self.stopped,
            "interrupted": self.interrupted,
            "unsupported": self.unsupported,
            "mode": self.mode,
            "claims": [c.to_json() for c in self.claims],
            "declined": self.declined,
            "withheld": self.withheld,
            "self_check": (
                None if self.self_check is None else round(self.self_check, 2)
            ),
        }


@dataclass
class IngestProgress:
    files_done: int = 0
    files_total: int = 0
    pages_done: int = 0
    """Pages embedded (searchable by meaning)."""
    pages_read: int = 0
    """Pages committed (searchable by their words): ahead of ``pages_done`` while
    a long document's text is written before its vectors."""
    pages_total: int = 0
    """Pages of the documents read so far (a long PDF's count is known when its
    reading starts)."""
    chunks_done: int = 0
    chunks_total: int = 0
    bytes_done: int = 0
    bytes_total: int = 0
    current: str = ""
    elapsed_s: float = 0.0
    bytes_embedding: float = 0.0
    """The part of the page batch being embedded that is done, in bytes (its
    chunks done over its chunks): a long document's batch moves the ETA as it goes."""
    pages_embedding: float = 0.0
    """The part of the page batch being embedded that is done, in pages (the
    count moves while a batch of many chunks is embedded)."""
    committed: tuple[str, ...] = ()
    """Paths of the documents committed whole in this run so far, in order: found
    by search already (the window lists them as ready before the run ends)."""
    pace_from: tuple[float, float] | None = None
    """(seconds in, bytes done) from which the ETA's pace is measured: the first
    vectors, and again when a long document's words pass ends. That pass reads
    every page before most are embedded, and its pace is not the embedding's
    (measured from the start, a 51 s ingest read "7 min 52 s left" at 15 s)."""

    def pages_summary(self) -> str:
        """ "page 812 of 2,415 embedded, 2,415 searchable by words" (the CLI's and
        the window's wording); "" while no page count is known."""
        if not self.pages_total:
            return ""
        embedded = min(self.pages_done + int(self.pages_embedding), self.pages_total)
        done = f"page {embedded:,} of {self.pages_total:,}"
        if self.pages_read <= embedded:
            return done
        return f"{done} embedded, {self.pages_read:,} searchable by words"

    def pace_from_here(self, elapsed_s: float) -> None:
        """Measure the ETA's pace from ``elapsed_s`` (now) on; see ``pace_from``."""
        self.pace_from = (elapsed_s, self.bytes_progress)

    @property
    def bytes_progress(self) -> float:
        """Bytes done, with the part of the batch being embedded (the bars)."""
        return self.bytes_done + self.bytes_embedding

    @property
    def eta_s(self) -> float | None:
        return self.eta_without(0.0, 0.0)

    def eta_without(self, shared_s: float, shared_bytes: float) -> float | None:
        """The time left at the pace measured outside ``shared_s`` seconds (in
        which ``shared_bytes`` were done) when the cores were busy elsewhere."""
        if self.bytes_total <= 0:
            return None
        done = self.bytes_progress
        since_s, since_bytes = self.pace_from or (0.0, 0.0)
        work_s = self.elapsed_s - since_s - shared_s
        work_bytes = done - since_bytes - shared_bytes
        if work_bytes <= 0 or work_s <= 0:
            return None
        left = max(self.bytes_total - done, 0.0)
        return work_s * left / work_bytes


@dataclass
class FileFailure:
    path: str
    reason: str

    def __str__(self) -> str:
        return f"{shown_name(Path(self.path).name)}: {self.reason}"


@dataclass
class IngestReport:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    failed: list[FileFailure] = field(default_factory=list)
    partial: list[str] = field(default_factory=list)
    """Long documents stopped part-way: their first pages are searchable and the
    next ingest of them continues."""
    notes: list[FileFailure] = field(default_factory=list)
    """Indexed, but with something the user should know (scanned pages in which
    OCR read nothing)."""
    copies: dict[str, str] = field(default_factory=dict)
    """Files not indexed because the library has their content under another
    path: file -> that path."""
    pages: int = 0
    chunks_embedded: int = 0
    chunks_reused: int = 0
    sentences_embedded: int = 0
    tokens_embedded: int = 0
    seconds: float = 0.0
    """To searchable by meaning (a staged index: its first stage)."""
    cancelled: bool = False
    completed_chunks: int = 0
    """A staged index: chunks encoded whole after the first stage..."""
    complete_s: float = 0.0
    """...and the seconds from the start until the index was complete."""

    @property
    def ok(self) -> bool:
        return not self.failed and not self.cancelled

    def counts(self) -> str:
        """ "1 added, 0 updated, 0 unchanged, 0 failed" (and the documents
        stopped part-way): the CLI's and the window's wording."""
        said = (
            f"{len(self.added)} added, {len(self.updated)} updated, "
            f"{len(self.unchanged)} unchanged, {len(self.failed)} failed"
        )
        if self.partial:  # not added yet, but their first pages are searchable
            said += f", {len(self.partial)} partly indexed (Resume continues)"
        for copy, original in list(self.copies.items())[:2]:
            said += f"; {copy} is a copy of {original}, already in the library"
        if len(self.copies) > 2:
            said += f" (and {len(self.copies) - 2} more copies)"
        return said

    def to_json(self) -> dict[str, object]:
        return {
            "added": self.added,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "failed": [{"path": f.path, "reason": f.reason} for f in self.failed],
            "partial": self.partial,
            "copies": self.copies,
            "notes": [{"path": n.path, "note": n.reason} for n in self.notes],
            "pages": self.pages,
            "chunks_embedded": self.chunks_embedded,
            "chunks_reused": self.chunks_reused,
            "sentences_embedded": self.sentences_embedded,
            "tokens_embedded": self.tokens_embedded,
            "seconds": round(self.seconds, 2),
            "completed_chunks": self.completed_chunks,
            "complete_s": round(self.complete_s, 2),
            "cancelled": self.cancelled,
        }
