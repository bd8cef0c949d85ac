"""Ingest: parse on one thread while the caller's thread embeds and writes.

A document is written in a single store commit after all its chunks are
embedded, so a cancelled or crashed ingest leaves it either at its old version or
its new one. A long one (more than ``PART_CHUNKS`` chunks, read page by page) is
committed in page batches instead, so its first pages are searchable in seconds
and a stop or crash keeps what was done: its rows carry a partial hash
(``types.PARTIAL_HASH``) until the last batch, and the next ingest of the same
file continues after the committed chunks.

Such a document is committed by its words first: each page batch is written as
soon as it is read, with its full text and no vector (``text_rows``: no text hash,
a zero vector that no vector search returns), so all of a 2,400-page manual is
found by its words within seconds of parsing; its batches are then embedded in
order and written over those rows with their vectors and sentence rows (while the
pages are still read if they come slowly, as OCR'd pages do: ``PARSE_WAIT_S``).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import queue
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from assistant.core.cancel import CancelToken
from assistant.core.embed.embedding import Embedder, release_embedder_memory
from assistant.core.errors import IndexWriteError, IngestError
from assistant.core.fsutil import sha256_file, sha256_text
from assistant.core.index.store import (
    PENDING_VECTOR,
    ChunkStore,
    chunk_row_id,
    final_hash,
    sentence_row_id,
)
from assistant.core.ingest import (
    discover,
    no_text_reason,
    open_document,
    read_errors,
    too_much_text,
)
from assistant.core.ingest.chunking import Chunker, sentence_context
from assistant.core.ingest.sentence_rows import (
    Sentence,
    chunk_pieces,
    embed_texts,
    pooled_from,
    sentences_of,
)
from assistant.core.search_text import to_search_text
from assistant.core.types import (
    PARTIAL_HASH,
    Chunk,
    DocumentInfo,
    FileFailure,
    IngestProgress,
    IngestReport,
    ParseLimits,
)

log = logging.getLogger(__name__)

ProgressCallback = Callable[[IngestProgress], None]
EMBED_BATCH = 64
FIRST_PART_CHUNKS = 32
"""A long document's first page batch: small, so its first pages are searchable
within seconds."""
PART_CHUNKS = 512
"""Later page batches (a commit each)."""
PART_EVERY_S = 30.0
"""Or a batch at least this often: a scanned page (OCR, a few seconds) gives few
chunks, and a Stop after minutes should keep the pages read (a 500-page scan
had committed none after 237 s)."""
PARSE_WAIT_S = 2.0
"""While a long document's words are being committed, how long to wait for its
next page batch before embedding an earlier one: the text layer of a PDF comes
many batches a second (the words of all its pages go first), OCR'd pages a few a
minute (the vectors are made while the next pages are read)."""


POOLED_CHUNK = "pooled from its sentences\x00"
"""Hashed before the text of a chunk whose vector is its sentences' mean, so a
library re-indexed the other way does not reuse it as the text's own vector."""


def doc_id_for(path: Path) -> str:
    """Stable id of a document: its absolute path (content is tracked by hash)."""
    return hashlib.sha1(str(path.resolve()).encode("utf-8")).hexdigest()[:20]


@dataclass
class IngestOptions:
    chunk_tokens: int = 200
    chunk_overlap: int = 30
    max_file_bytes: int = 200 * 2**20
    force: bool = False
    sentence_vectors: bool = True
    """Embed each sentence of a chunk as well (store.py: sentence rows)."""
    sentence_model: str = "same"
    """"same": each sentence embedded alone by the model that embeds its chunk;
    "pooled": pooled from its chunk's own pass (nearly free); "multilingual": by
    the multilingual model (the routed embedder's USE half)."""
    sentence_headings: bool = False
    """Embed each sentence after its innermost heading (chunking.sentence_context)."""
    chunk_vectors: str = "encoded"
    """"encoded": each chunk embedded whole (its tokens then pass the encoder
    twice, in the chunk and in its sentence); "from_sentences": a chunk of
    several sentences gets the mean of its heading line's and its sentences'
    vectors, so each token is encoded once (sentence_rows.chunk_pieces);
    "staged": from its sentences first (searchable by meaning after one pass),
    marked ``PENDING_VECTOR``, and encoded whole later (staged_index.py)."""


@dataclass
class _Doc:
    """A document being ingested, shared by its page batches."""

    path: Path
    doc_id: str
    content_hash: str
    size: int
    title: str
    kind: str
    page_count: int
    previous: DocumentInfo | None
    resume: bool
    """The stored rows are a partly indexed copy of this same file: keep them and
    continue after them."""
    ingested_at: float
    committed: dict[str, str]
    """Chunk id -> text hash of the rows already stored (when resuming)."""
    blank_scans: list[int] = field(default_factory=list)
    """Numbers of the scanned pages in which OCR read no text."""
    known: dict[str, np.ndarray] | None = None
    """Stored vectors by text hash, to reuse for unchanged text (read once)."""
    sentences: int = 0
    """Sentences numbered so far (sentence row ids run on across batches)."""
    chunks: int = 0
    started: bool = False
    """Rows of this version are in the store (a resumed copy's are from the
    start): later writes add to them instead of replacing the document."""


@dataclass
class _Part:
    """The chunks of a run of pages of one document (all of it, if short)."""

    doc: _Doc
    chunks: list[Chunk]
    pages: int
    size: int
    """The share of the file's bytes these pages stand for (progress and ETA)."""
    first: bool
    last: bool

    @property
    def whole(self) -> bool:
        return self.first and self.last


@dataclass
class _Skipped:
    path: Path
    size: int
    failure: FileFailure | None  # None: unchanged
    copy_of: str = ""
    """The indexed document with the same content at another path."""


_DONE = object()


def run_ingest(
    paths: Iterable[Path | str],
    store: ChunkStore,
    embedder: Embedder,
    options: IngestOptions,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
) -> IngestReport:
    cancel = cancel or CancelToken()
    started = time.perf_counter()
    report = IngestReport()
    files, failures = discover(paths)
    report.failed.extend(failures)
    sizes = {f: _size(f) for f in files}
    state = IngestProgress(files_total=len(files), bytes_total=sum(sizes.values()))
    existing = {d.doc_id: d for d in store.documents()}
    contents: dict[str, str] = {}
    items: queue.Queue[Any] = queue.Queue(maxsize=2)
    stop = threading.Event()  # the consumer ended (done, cancelled or failed)

    def emit(current: str = "") -> None:
        state.elapsed_s = time.perf_counter() - started
        state.current = current or state.current
        if progress is not None:
            progress(state)

    def produce() -> None:
        try:
            for path in files:
                if cancel.cancelled or stop.is_set():
                    break
                for item in _read_parts(
                    path, sizes[path], existing, embedder, options, cancel, contents
                ):
                    items.put(item)
                    if cancel.cancelled or stop.is_set():
                        break
        finally:
            items.put(_DONE)

    producer = threading.Thread(target=produce, name="ingest-parse", daemon=True)
    producer.start()
    writer = BatchWriter(store, report, state)
    deferred: list[_Part] = []
    """The page batches of a long document whose words are committed, vectors
    not yet: embedded once the document is read (or stops being read)."""

    def embed_parts(parts: list[_Part]) -> None:
        for part in parts:
            if cancel.cancelled:
                return
            if state.pace_from is None:
                state.pace_from_here(time.perf_counter() - started)
            rows = _embed(part, embedder, report, state, emit, cancel, options)
            if rows is None:
                return
            writer.add(part, rows)
            state.pages_done += part.pages
            if part.whole:
                state.pages_read += part.pages
            state.files_done += part.last
            state.bytes_done += part.size
            state.bytes_embedding = state.pages_embedding = 0.0
            emit()

    emit()
    failed = interrupted = False
    try:
        while True:
            try:
                item = items.get(timeout=PARSE_WAIT_S if deferred else None)
            except queue.Empty:  # slow pages (OCR): use the wait
                embed_parts([deferred.pop(0)])
                continue
            if item is _DONE:
                break
            if cancel.cancelled:
                continue  # keep draining so the producer can finish
            if isinstance(item, _Skipped):
                embed_parts(deferred)  # what was read of a document that failed
                deferred = []
                if item.copy_of:
                    report.copies[str(item.path)] = item.copy_of
                elif item.failure is None:
                    report.unchanged.append(str(item.path))
                else:
                    report.failed.append(item.failure)
                state.files_done += 1
                state.bytes_done += item.size
                emit()
                continue
            if item.first:
                state.pages_total += item.doc.page_count
                _prepare(item.doc, store, options)
            emit(item.doc.path.name)
            state.chunks_total += len(item.chunks)
            if item.whole:
                embed_parts([item])
                continue
            writer.add_words(item, _text_rows(item, store.meta.dim))
            state.pages_read += item.pages
            deferred.append(item)
            emit()
            if item.last:  # its words are in: what is left of it is embedding
                state.pace_from_here(time.perf_counter() - started)
                embed_parts(deferred)
                deferred = []
        embed_parts(deferred)
        writer.flush()
    except BaseException as exc:
        failed = True
        interrupted = isinstance(exc, KeyboardInterrupt | SystemExit)
        raise
    finally:
        cancel_seen = cancel.cancelled
        # the parse thread may be blocked on the full queue: stop it and drain,
        # or an error here (disk full, a commit conflict) would hang forever
        stop.set()
        while producer.is_alive() and not interrupted:  # (a daemon thread: on
            with contextlib.suppress(queue.Empty):  # Ctrl+C it dies with the process)
                items.get(timeout=0.05)
        # the encoders' working memory goes back before the index build, which
        # needs ~0.5 GB of its own for a 2,400-page manual (bench/big_pdf.py)
        release_embedder_memory(embedder)
        if writer.written:
            try:
                store.maintain()
            except Exception as exc:
                if not failed:
                    raise IndexWriteError(store.location, exc) from exc
                log.warning("index maintenance after a failed ingest: %s", exc)
    report.partial = writer.unfinished()
    report.cancelled = cancel_seen
    report.seconds = time.perf_counter() - started
    return report


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _read_parts(
    path: Path,
    size: int,
    existing: dict[str, DocumentInfo],
    embedder: Embedder,
    options: IngestOptions,
    cancel: CancelToken | None = None,
    contents: dict[str, str] | None = None,
) -> Iterator[_Part | _Skipped]:
    """A file's page batches, or why it is skipped. Reading stops after the batch
    in hand when the consumer stops asking (the generator is closed).
    ``contents``: content hash -> path of the files this run indexes (a copy
    later in the same run is skipped too)."""
    contents = {} if contents is None else contents
    counted = 0  # bytes handed out with the parts so far
    try:
        doc_id = doc_id_for(path)
        previous = existing.get(doc_id)
        try:
            content_hash = sha256_file(path)
        except FileNotFoundError as exc:
            raise IngestError(path, "file not found (moved or deleted?)") from exc
        except PermissionError as exc:
            raise IngestError(
                path, "permission denied (the file is not readable)"
            ) from exc
        if previous and previous.content_hash == content_hash and not options.force:
            yield _Skipped(path, size, None)
            return
        copy_of = contents.get(content_hash, "") or next(
            (
                d.path
                for d in existing.values()
                if d.content_hash == content_hash and d.doc_id != doc_id
            ),
            "",
        )
        if copy_of and previous is None and size:  # new here, indexed elsewhere
            yield _Skipped(path, size, None, copy_of)
            return
        limits = ParseLimits(cancel=cancel)
        stream = open_document(path, options.max_file_bytes, limits)
        resume = (
            previous is not None
            and previous.content_hash == PARTIAL_HASH + content_hash
            and not options.force
        )
        doc = _Doc(
            path,
            doc_id,
            content_hash,
            size,
            stream.title,
            stream.kind,
            stream.page_count,
            previous,
            resume,
            previous.ingested_at if resume and previous else time.time(),
            {},
            started=resume,
        )
        chunker = Chunker(
            stream.title, embedder, options.chunk_tokens, options.chunk_overlap
        )
        pending: list[Chunk] = []
        pages = chars = 0
        first = True
        part_started = time.monotonic()
        try:
            with read_errors(path):
                for page in stream.pages:
                    if page.scanned and not page.text.strip() and page.number:
                        doc.blank_scans.append(page.number)
                    chars += len(page.text)
                    if chars > limits.max_chars:
                        raise too_much_text(path, chars, limits.max_chars)
                    pending.extend(chunker.page_chunks(page))
                    pages += 1
                    if len(pending) >= (
                        FIRST_PART_CHUNKS if first else PART_CHUNKS
                    ) or (pending and time.monotonic() - part_started > PART_EVERY_S):
                        share = size * pages // max(stream.page_count, 1)
                        counted += share
                        yield _Part(doc, pending, pages, share, first, False)
                        pending, pages, first = [], 0, False
                        part_started = time.monotonic()
        finally:
            stream.close()
        if chunker.count == 0:
            raise IngestError(path, no_text_reason(stream.kind))
        if _changed_since(path, content_hash):
            raise IngestError(
                path, "the file changed while it was being read; add it again"
            )
        contents[content_hash] = str(path)  # read whole: a copy is not needed
        yield _Part(doc, pending, pages, size - counted, first, True)
    except IngestError as exc:
        yield _Skipped(path, size - counted, FileFailure(str(path), exc.reason))
    except Exception as exc:  # a parser bug must not stop the batch
        reason = f"unexpected error ({type(exc).__name__}: {exc})"
        yield _Skipped(path, size - counted, FileFailure(str(path), reason))


def _blank_scans_note(doc: _Doc) -> str:
    blank = doc.blank_scans
    listed = ", ".join(map(str, blank[:10])) + (", …" if len(blank) > 10 else "")
    noun = "frame" if doc.kind == "image" else "page"
    return (
        f"OCR read no text on {len(blank)} scanned {noun}"
        f"{'s' if len(blank) > 1 else ''} ({listed}): blank, or too faint or "
        "small to read; the rest is searchable"
    )


def _changed_since(path: Path, content_hash: str) -> bool:
    try:
        return sha256_file(path) != content_hash
    except OSError:
        return True


class BatchWriter:
    """Commits finished documents together: one LanceDB commit per batch of small
    files instead of one per file (thousands of tiny commits are slow and leave
    thousands of fragments). Each commit is still all-or-nothing. A long
    document's page batches are committed as soon as they are embedded."""

    MAX_ROWS = 1024
    MAX_DOCS = 64
    MAX_SECONDS = 2.0

    def __init__(
        self, store: ChunkStore, report: IngestReport, state: IngestProgress
    ) -> None:
        self.store = store
        self.report = report
        self.state = state
        self.pending: list[tuple[_Part, list[dict[str, Any]]]] = []
        self.written = 0
        """Parts committed (a whole document is one)."""
        self._open: dict[str, str] = {}  # doc id -> path, of unfinished documents
        self._since = time.monotonic()

    def add_words(self, part: _Part, rows: list[dict[str, Any]]) -> None:
        """Commit a long document's page batch by its words (``text_rows``) at
        once, after the documents waiting before it."""
        self.flush()
        doc = part.doc
        if rows:
            try:
                self.store.write_rows(rows, replace=[] if doc.started else [doc.doc_id])
            except Exception as exc:
                raise IndexWriteError(self.store.location, exc) from exc
            doc.started = True
            self.written += 1
            self._open[doc.doc_id] = str(doc.path)
        if not self.store.has_text_index():
            self.store.maintain()  # the first page batch of a new library

    def add(self, part: _Part, rows: list[dict[str, Any]]) -> None:
        self.pending.append((part, rows))
        rows_pending = sum(len(r) for _, r in self.pending)
        if (
            not part.whole
            or rows_pending >= self.MAX_ROWS
            or len(self.pending) >= self.MAX_DOCS
            or time.monotonic() - self._since >= self.MAX_SECONDS
        ):
            self.flush()

    def flush(self) -> None:
        self._since = time.monotonic()
        if not self.pending:
            return
        replace = [part.doc.doc_id for part, _ in self.pending if not part.doc.started]
        try:
            self.store.write_rows(
                [r for _, rows in self.pending for r in rows], replace=replace
            )
            for part, _ in self.pending:
                if part.last and not part.whole:
                    self.store.finish_document(
                        part.doc.doc_id, part.doc.content_hash, part.doc.chunks
                    )
        except Exception as exc:
            raise IndexWriteError(self.store.location, exc) from exc
        for part, _ in self.pending:
            doc = part.doc
            doc.started = True
            self.written += 1
            if not part.last:
                self._open[doc.doc_id] = str(doc.path)
                continue
            self._open.pop(doc.doc_id, None)
            target = self.report.updated if doc.previous else self.report.added
            target.append(str(doc.path))
            self.state.committed += (str(doc.path),)
            self.report.pages += doc.page_count
            if doc.blank_scans:
                self.report.notes.append(
                    FileFailure(str(doc.path), _blank_scans_note(doc))
                )
        self.pending.clear()

    def unfinished(self) -> list[str]:
        """Documents of which some page batches were committed, not all."""
        return sorted(self._open.values())


def _sentence_spans(
    chunks: list[Chunk], sentences: list[tuple[int, Sentence]]
) -> dict[int, tuple[int, int, int]]:
    """For each sentence's index in ``_embed``'s texts: its chunk's index and its
    span in the chunk's embed text (the chunk's text after the heading prefix)."""
    spans = {}
    for k, (_, sentence) in enumerate(sentences):
        chunk = chunks[sentence.chunk]
        offset = len(chunk.embed_text) - len(chunk.text) - chunk.start
        spans[len(chunks) + k] = (
            sentence.chunk,
            sentence.start + offset,
            sentence.end + offset,
        )
    return spans


def _prepare(doc: _Doc, store: ChunkStore, options: IngestOptions) -> None:
    """What a document's first batch needs read before anything of it is
    written: the vectors its unchanged text may reuse, or (resuming) the chunks
    committed with their vectors."""
    # a resumed copy's stored rows are this same text: they are skipped by chunk
    # id, so their vectors need not be read
    reuse = doc.previous is not None and not options.force and not doc.resume
    doc.known = store.vectors_by_text_hash(doc.doc_id) if reuse else {}
    doc.committed = store.committed_chunks(doc.doc_id) if doc.resume else {}


def _is_committed(doc: _Doc, chunk: Chunk) -> bool:
    """Whether a resumed document's chunk is stored with its vector already."""
    stored = doc.committed.get(chunk_row_id(doc.doc_id, chunk.ordinal))
    return stored is not None and final_hash(stored) == sha256_text(chunk.embed_text)


def _document_fields(doc: _Doc, whole: bool) -> dict[str, Any]:
    return {
        "doc_id": doc.doc_id,
        "path": str(doc.path),
        "title": doc.title,
        "kind": doc.kind,
        "content_hash": doc.content_hash if whole else PARTIAL_HASH + doc.content_hash,
        "file_size": doc.size,
        "page_count": doc.page_count,
        "ingested_at": doc.ingested_at,
    }


def _chunk_row(
    document: dict[str, Any],
    chunk: Chunk,
    text_hash: str | None,
    vector: np.ndarray | None,
) -> dict[str, Any]:
    return {
        **document,
        "chunk_id": chunk_row_id(document["doc_id"], chunk.ordinal),
        "ordinal": chunk.ordinal,
        "page": chunk.page,
        "page_label": chunk.page_label,
        "start": chunk.start,
        "end": chunk.end,
        "heading": chunk.heading,
        "text": chunk.text,
        "text_hash": text_hash,
        "search_text": to_search_text(chunk.embed_text),
        "vector": vector,
        "boxes": json.dumps([b.to_list() for b in chunk.boxes])
        if chunk.boxes
        else None,
    }


def _chunk_hash(text: str, from_pieces: bool, chunk_vectors: str) -> str:
    """A chunk row's ``text_hash``: a vector pooled from its sentences is not the
    one of the chunk's text (a library re-indexed the other way must not reuse
    it as such); in a staged index it is marked as waiting for that one."""
    if not from_pieces:
        return sha256_text(text)
    if chunk_vectors == "staged":
        return PENDING_VECTOR + sha256_text(text)
    return sha256_text(POOLED_CHUNK + text)


def _text_rows(part: _Part, dim: int) -> list[dict[str, Any]]:
    """A page batch's chunk rows by their words only: no text hash (no vector to
    reuse or resume from) and a zero vector, which no vector search returns.
    Chunks a resumed document has committed with vectors are left as they are."""
    document = _document_fields(part.doc, whole=False)
    zero = np.zeros(dim, dtype=np.float32)
    return [
        _chunk_row(document, chunk, None, zero)
        for chunk in part.chunks
        if not _is_committed(part.doc, chunk)
    ]


def _embed_from_pieces(
    embedder: Embedder,
    texts: list[str],
    batch: list[int],
    pieces: dict[int, list[str] | None],
    known_texts: dict[str, np.ndarray],
    vectors: list[np.ndarray | None],
    known: dict[str, np.ndarray],
) -> None:
    """Fill ``vectors`` for ``batch`` encoding each distinct text once: sentence
    rows and chunks of one sentence as they are, chunks of several from their
    pieces (a sentence in a chunk's overlap is encoded once for both; one
    stored already, by ``known`` text hash, not at all)."""
    for i in batch:  # a piece stored as a sentence row keeps its vector
        for text in pieces.get(i) or ():
            if text not in known_texts and (h := sha256_text(text)) in known:
                known_texts[text] = known[h]
    wanted = [
        text
        for i in batch
        for text in (pieces.get(i) or [texts[i]])
        if text not in known_texts
    ]
    distinct = list(dict.fromkeys(wanted))
    if distinct:
        known_texts.update(zip(distinct, embedder.embed(distinct), strict=True))
    for i in batch:
        own = pieces.get(i)
        vectors[i] = (
            pooled_from([known_texts[t] for t in own], [len(t) for t in own])
            if own
            else known_texts[texts[i]]
        )


def _embed(
    part: _Part,
    embedder: Embedder,
    report: IngestReport,
    state: IngestProgress,
    emit: Callable[[], None],
    cancel: CancelToken,
    options: IngestOptions,
) -> list[dict[str, Any]] | None:
    """A page batch's rows with vectors (reusing those of unchanged text unless
    ``options.force``; leaving out chunks a resumed document has committed);
    None if cancelled. A batch of chunks is embedded together with its chunks'
    sentences, so progress and ETA still count chunks."""
    doc = part.doc
    known = doc.known or {}
    first_sentence = doc.sentences
    all_chunks = part.chunks
    all_sentences = (
        sentences_of(all_chunks, embedder) if options.sentence_vectors else []
    )
    doc.sentences += len(all_sentences)
    doc.chunks += len(all_chunks)
    keep = [i for i, c in enumerate(all_chunks) if not _is_committed(doc, c)]
    skipped = len(all_chunks) - len(keep)
    report.chunks_reused += skipped
    state.chunks_done += skipped
    new_index = {old: new for new, old in enumerate(keep)}
    chunks = [all_chunks[i] for i in keep]
    sentences = [
        (first_sentence + n, replace(s, chunk=new_index[s.chunk]))
        for n, s in enumerate(all_sentences)
        if s.chunk in new_index
    ]
    texts = [c.embed_text for c in chunks] + [
        sentence_context(chunks[s.chunk].heading) + s.text
        if options.sentence_headings
        else s.text
        for _, s in sentences
    ]
    owner = list(range(len(chunks))) + [s.chunk for _, s in sentences]
    pooled = options.sentence_model == "pooled"
    within = _sentence_spans(chunks, sentences) if pooled else None
    pieces = (
        {i: chunk_pieces(c, embedder) for i, c in enumerate(chunks)}
        if not pooled
        and (
            options.chunk_vectors == "from_sentences"
            # (without sentence vectors a staged index would encode twice)
            or (options.chunk_vectors == "staged" and options.sentence_vectors)
        )
        else {}
    )
    if options.chunk_vectors == "staged":  # a chunk's own vector, when known, is
        for i, text in enumerate(texts[: len(chunks)]):  # final: no second stage
            if sha256_text(text) in known:
                pieces[i] = None
    hashes = [
        _chunk_hash(t, bool(pieces.get(i)), options.chunk_vectors)
        for i, t in enumerate(texts[: len(chunks)])
    ] + [
        # a pooled vector depends on its chunk's text as well as its own
        sha256_text(chunks[s.chunk].embed_text + "\x00" + s.text)
        if pooled
        else sha256_text(t)
        for t, (_, s) in zip(texts[len(chunks) :], sentences, strict=True)
    ]
    vectors: list[np.ndarray | None] = [known.get(h) for h in hashes]
    todo_chunks = [i for i in range(len(chunks)) if vectors[i] is None]
    report.chunks_reused += len(chunks) - len(todo_chunks)
    state.chunks_done += len(chunks) - len(todo_chunks)
    settled = len(all_chunks) - len(todo_chunks)
    # each batch of chunks is embedded with its sentences; new sentences of chunks
    # whose vectors were reused come last
    batches = [
        todo_chunks[b : b + EMBED_BATCH]
        for b in range(0, len(todo_chunks), EMBED_BATCH)
    ]
    batch_of = {c: n // EMBED_BATCH for n, c in enumerate(todo_chunks)}
    extra = []
    for i in range(len(chunks), len(texts)):
        if vectors[i] is None:
            if owner[i] in batch_of:
                batches[batch_of[owner[i]]].append(i)
            else:
                extra.append(i)
    batches += [extra[b : b + EMBED_BATCH] for b in range(0, len(extra), EMBED_BATCH)]
    known_texts: dict[str, np.ndarray] = {}
    for batch in batches:
        if cancel.cancelled:
            return None
        if pieces:
            _embed_from_pieces(
                embedder,
                texts,
                batch,
                pieces,
                known_texts,
                vectors,
                known,
            )
        else:
            embedded = embed_texts(
                embedder, texts, batch, len(chunks), options.sentence_model, within
            )
            for i, vector in zip(batch, embedded, strict=True):
                vectors[i] = vector
        done = [i for i in batch if i < len(chunks)]
        report.chunks_embedded += len(done)
        report.sentences_embedded += len(batch) - len(done)
        report.tokens_embedded += sum(chunks[i].tokens for i in done)
        state.chunks_done += len(done)
        settled += len(done)
        state.bytes_embedding = part.size * settled / max(len(all_chunks), 1)
        state.pages_embedding = part.pages * settled / max(len(all_chunks), 1)
        emit()
    if cancel.cancelled:
        return None
    document = _document_fields(doc, part.whole)
    rows = [
        _chunk_row(document, chunk, text_hash, vector)
        for chunk, text_hash, vector in zip(
            chunks, hashes[: len(chunks)], vectors[: len(chunks)], strict=True
        )
    ]
    for k, (n, sentence) in enumerate(sentences):
        chunk = chunks[sentence.chunk]
        parent = chunk_row_id(doc.doc_id, chunk.ordinal)
        rows.append(
            {
                **document,
                "chunk_id": sentence_row_id(parent, n),
                "parent": parent,
                "ordinal": chunk.ordinal,
                "page": chunk.page,
                "page_label": chunk.page_label,
                "start": sentence.start,
                "end": sentence.end,
                "heading": chunk.heading,
                "text": sentence.text,
                "text_hash": hashes[len(chunks) + k],
                "search_text": None,
                "vector": vectors[len(chunks) + k],
            }
        )
    return rows
