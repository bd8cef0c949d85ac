"""A staged index's second stage: chunks whose vector was pooled from their
sentences (``chunk_vectors="staged"``) are encoded whole.

The first stage encodes each token once (sentence vectors, a chunk's their mean):
the library is searchable by meaning after about 0.8 of one encoder pass over its
text. Pooled chunk vectors find the right page a little less often than whole
ones (bench/sentence_vectors.py), so this stage re-encodes them afterwards, a
batch of rows a commit: a Stop or a crash keeps what was done, and the rest is
found again by its marked ``text_hash`` (``store.PENDING_VECTOR``), so nothing
but the index itself says what is left.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from assistant.core.cancel import CancelToken
from assistant.core.embed.embedding import Embedder, release_embedder_memory
from assistant.core.errors import IndexWriteError
from assistant.core.index.store import ChunkStore, final_hash
from assistant.core.ingest.chunking import row_embed_text

COMMIT_ROWS = 256
"""Chunks re-encoded per commit (about 10 s of the encoder on 2 cores)."""
EMBED_BATCH = 32


@dataclass
class CompletionProgress:
    done: int = 0
    total: int = 0
    elapsed_s: float = 0.0

    @property
    def eta_s(self) -> float | None:
        if self.done <= 0 or self.elapsed_s <= 0:
            return None
        return self.elapsed_s / self.done * max(self.total - self.done, 0)

    def summary(self) -> str:
        """ "passage 1,024 of 4,602 encoded whole" (the CLI's and the window's)."""
        return f"passage {self.done:,} of {self.total:,} encoded whole"


@dataclass
class CompletionReport:
    chunks: int = 0
    seconds: float = 0.0
    cancelled: bool = False


def complete_index(
    store: ChunkStore,
    embedder: Embedder,
    progress: Callable[[CompletionProgress], None] | None = None,
    cancel: CancelToken | None = None,
) -> CompletionReport:
    """Encode every pending chunk whole, ``COMMIT_ROWS`` a commit. A cancel
    ends it after the batch being encoded; what was committed stays."""
    cancel = cancel or CancelToken()
    started = time.perf_counter()
    state = CompletionProgress(total=store.count_pending_vectors())
    report = CompletionReport()
    try:
        while state.done < state.total and not cancel.cancelled:
            rows = store.pending_vector_rows(COMMIT_ROWS)
            if not rows:
                break
            texts = [row_embed_text(row) for row in rows]
            for at in range(0, len(rows), EMBED_BATCH):
                if cancel.cancelled:
                    rows = rows[:at]
                    break
                part = rows[at : at + EMBED_BATCH]
                vectors = embedder.embed(texts[at : at + EMBED_BATCH])
                for row, vector in zip(part, vectors, strict=True):
                    row["vector"] = vector
                    row["text_hash"] = final_hash(row["text_hash"])
                state.done += len(part)
                state.elapsed_s = time.perf_counter() - started
                if progress is not None:
                    progress(state)
            if rows:
                try:
                    store.update_rows(rows)
                except Exception as exc:
                    raise IndexWriteError(store.location, exc) from exc
                report.chunks += len(rows)
    finally:
        release_embedder_memory(embedder)
    if report.chunks:
        try:
            store.maintain()
        except Exception as exc:
            raise IndexWriteError(store.location, exc) from exc
    report.cancelled = cancel.cancelled and state.done < state.total
    report.seconds = time.perf_counter() - started
    return report
