"""Ingest: parse on one thread while the caller's thread embeds and writes.

Each document is written in a single store commit after all its chunks are
embedded, so a cancelled or crashed ingest leaves every document either at its
old version or its new one.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import queue
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from assistant.core.cancel import CancelToken
from assistant.core.chunking import chunk_document, sentence_context
from assistant.core.embedding import Embedder, release_embedder_memory
from assistant.core.errors import IndexWriteError, IngestError
from assistant.core.fsutil import sha256_file, sha256_text
from assistant.core.ingest import discover, parse_file
from assistant.core.search_text import to_search_text
from assistant.core.sentence_rows import embed_texts, sentences_of
from assistant.core.store import ChunkStore
from assistant.core.types import (
    Chunk,
    DocumentInfo,
    FileFailure,
    IngestProgress,
    IngestReport,
    ParsedDocument,
    ParseLimits,
)

log = logging.getLogger(__name__)

ProgressCallback = Callable[[IngestProgress], None]
EMBED_BATCH = 64


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
    """"same": each sentence by the model that embeds its chunk; "multilingual":
    by the multilingual model (the routed embedder's USE half), which is faster."""
    sentence_headings: bool = False
    """Embed each sentence after its innermost heading (chunking.sentence_context)."""


@dataclass
class _Parsed:
    path: Path
    doc_id: str
    content_hash: str
    size: int
    document: ParsedDocument
    chunks: list[Chunk]
    previous: DocumentInfo | None


@dataclass
class _Skipped:
    path: Path
    size: int
    failure: FileFailure | None  # None: unchanged


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
                items.put(
                    _prepare(path, sizes[path], existing, embedder, options, cancel)
                )
        finally:
            items.put(_DONE)

    producer = threading.Thread(target=produce, name="ingest-parse", daemon=True)
    producer.start()
    writer = _BatchWriter(store, report, state)
    emit()
    failed = interrupted = False
    try:
        while True:
            item = items.get()
            if item is _DONE:
                break
            if cancel.cancelled:
                continue  # keep draining so the producer can finish
            if isinstance(item, _Skipped):
                if item.failure is None:
                    report.unchanged.append(str(item.path))
                else:
                    report.failed.append(item.failure)
            else:
                emit(item.path.name)
                state.chunks_total += len(item.chunks)
                rows = _embed(
                    item, store, embedder, report, state, emit, cancel, options
                )
                if rows is not None:
                    writer.add(item, rows)
            state.files_done += 1
            state.bytes_done += item.size
            emit()
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
        if writer.written:
            try:
                store.maintain()
            except Exception as exc:
                if not failed:
                    raise IndexWriteError(store.directory, exc) from exc
                log.warning("index maintenance after a failed ingest: %s", exc)
        release_embedder_memory(embedder)
    report.cancelled = cancel_seen
    report.seconds = time.perf_counter() - started
    return report


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _prepare(
    path: Path,
    size: int,
    existing: dict[str, DocumentInfo],
    embedder: Embedder,
    options: IngestOptions,
    cancel: CancelToken | None = None,
) -> _Parsed | _Skipped:
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
            return _Skipped(path, size, None)
        document = parse_file(path, options.max_file_bytes, ParseLimits(cancel=cancel))
        chunks = chunk_document(
            document, embedder, options.chunk_tokens, options.chunk_overlap
        )
        if not chunks:
            raise IngestError(path, "no text found in the file")
        if _changed_since(path, content_hash):
            raise IngestError(
                path, "the file changed while it was being read; add it again"
            )
        return _Parsed(path, doc_id, content_hash, size, document, chunks, previous)
    except IngestError as exc:
        return _Skipped(path, size, FileFailure(str(path), exc.reason))
    except Exception as exc:  # a parser bug must not stop the batch
        reason = f"unexpected error ({type(exc).__name__}: {exc})"
        return _Skipped(path, size, FileFailure(str(path), reason))


def _changed_since(path: Path, content_hash: str) -> bool:
    try:
        return sha256_file(path) != content_hash
    except OSError:
        return True


class _BatchWriter:
    """Commits finished documents together: one LanceDB commit per batch of small
    files instead of one per file (thousands of tiny commits are slow and leave
    thousands of fragments). Each commit is still all-or-nothing."""

    MAX_ROWS = 1024
    MAX_DOCS = 64
    MAX_SECONDS = 2.0

    def __init__(
        self, store: ChunkStore, report: IngestReport, state: IngestProgress
    ) -> None:
        self.store = store
        self.report = report
        self.state = state
        self.pending: list[tuple[_Parsed, list[dict[str, Any]]]] = []
        self.written = 0
        self._since = time.monotonic()

    def add(self, item: _Parsed, rows: list[dict[str, Any]]) -> None:
        self.pending.append((item, rows))
        rows_pending = sum(len(r) for _, r in self.pending)
        if (
            rows_pending >= self.MAX_ROWS
            or len(self.pending) >= self.MAX_DOCS
            or time.monotonic() - self._since >= self.MAX_SECONDS
        ):
            self.flush()

    def flush(self) -> None:
        self._since = time.monotonic()
        if not self.pending:
            return
        doc_ids = [item.doc_id for item, _ in self.pending]
        try:
            self.store.replace_documents(
                doc_ids, [r for _, rows in self.pending for r in rows]
            )
        except Exception as exc:
            raise IndexWriteError(self.store.directory, exc) from exc
        for item, _ in self.pending:
            target = self.report.updated if item.previous else self.report.added
            target.append(str(item.path))
            self.report.pages += item.document.page_count
            self.state.pages_done += item.document.page_count
        self.written += len(self.pending)
        self.pending.clear()


def _embed(
    item: _Parsed,
    store: ChunkStore,
    embedder: Embedder,
    report: IngestReport,
    state: IngestProgress,
    emit: Callable[[], None],
    cancel: CancelToken,
    options: IngestOptions,
) -> list[dict[str, Any]] | None:
    """A document's rows with vectors (reusing those of unchanged text unless
    ``options.force``); None if cancelled. A batch of chunks is embedded together
    with its chunks' sentences, so progress and ETA still count chunks."""
    chunks = item.chunks
    sentences = sentences_of(chunks, embedder) if options.sentence_vectors else []
    texts = [c.embed_text for c in chunks] + [
        sentence_context(chunks[s.chunk].heading) + s.text
        if options.sentence_headings
        else s.text
        for s in sentences
    ]
    owner = list(range(len(chunks))) + [s.chunk for s in sentences]
    hashes = [sha256_text(t) for t in texts]
    reuse = item.previous and not options.force
    known = store.vectors_by_text_hash(item.doc_id) if reuse else {}
    vectors: list[np.ndarray | None] = [known.get(h) for h in hashes]
    todo_chunks = [i for i in range(len(chunks)) if vectors[i] is None]
    report.chunks_reused += len(chunks) - len(todo_chunks)
    state.chunks_done += len(chunks) - len(todo_chunks)
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
    for batch in batches:
        if cancel.cancelled:
            return None
        embedded = embed_texts(
            embedder, texts, batch, len(chunks), options.sentence_model
        )
        for i, vector in zip(batch, embedded, strict=True):
            vectors[i] = vector
        done = [i for i in batch if i < len(chunks)]
        report.chunks_embedded += len(done)
        report.sentences_embedded += len(batch) - len(done)
        report.tokens_embedded += sum(chunks[i].tokens for i in done)
        state.chunks_done += len(done)
        emit()
    if cancel.cancelled:
        return None
    now = time.time()
    document = {
        "doc_id": item.doc_id,
        "path": str(item.path),
        "title": item.document.title,
        "kind": item.document.kind,
        "content_hash": item.content_hash,
        "file_size": item.size,
        "page_count": item.document.page_count,
        "ingested_at": now,
    }
    rows = [
        {
            **document,
            "chunk_id": f"{item.doc_id}:{chunk.ordinal}",
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
        }
        for chunk, text_hash, vector in zip(
            chunks, hashes[: len(chunks)], vectors[: len(chunks)], strict=True
        )
    ]
    for n, sentence in enumerate(sentences):
        chunk = chunks[sentence.chunk]
        rows.append(
            {
                **document,
                "chunk_id": f"{item.doc_id}:{chunk.ordinal}:s{n}",
                "parent": f"{item.doc_id}:{chunk.ordinal}",
                "ordinal": chunk.ordinal,
                "page": chunk.page,
                "page_label": chunk.page_label,
                "start": sentence.start,
                "end": sentence.end,
                "heading": chunk.heading,
                "text": sentence.text,
                "text_hash": hashes[len(chunks) + n],
                "search_text": None,
                "vector": vectors[len(chunks) + n],
            }
        )
    return rows
