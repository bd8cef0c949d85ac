"""A staged index (``chunk_vectors: staged``): searchable by meaning after one
pass (chunk vectors pooled from their sentences, marked pending), then complete
once the pending chunks are encoded whole (staged_index.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from assistant.core.cancel import CancelToken
from assistant.core.fsutil import sha256_text
from assistant.core.index.store import PENDING_VECTOR, ChunkStore
from assistant.core.ingest.chunking import row_embed_text
from assistant.core.ingest.pipeline import IngestOptions, run_ingest
from assistant.core.ingest.staged_index import CompletionProgress, complete_index
from tests.fakes import FakeEmbedder

STAGED = IngestOptions(chunk_vectors="staged")


def _manual(
    docs: Path, valve: str = "Turn the blue valve left to drain the tank."
) -> Path:
    filler = [f"Paragraph {i} talks about harbours and ships." for i in range(40)]
    filler[17] = valve
    path = docs / "manual.txt"
    path.write_text(" ".join(filler), encoding="utf-8")
    return path


def _indexed(embedder: FakeEmbedder, tmp_path: Path, docs: Path) -> ChunkStore:
    """``docs`` through a staged index's first stage."""
    store = ChunkStore(tmp_path / "idx", embedder.name, embedder.dim)
    assert run_ingest([docs], store, embedder, STAGED).ok
    return store


def _chunks(store: ChunkStore) -> list[dict]:
    names = ["chunk_id", "title", "heading", "text", "text_hash", "vector"]
    return store.scan(names).to_pylist()


def test_the_first_stage_pools_and_the_second_encodes_each_chunk_whole(
    embedder: FakeEmbedder, tmp_path: Path, docs: Path
) -> None:
    _manual(docs)
    store = ChunkStore(tmp_path / "idx", embedder.name, embedder.dim)
    report = run_ingest([docs], store, embedder, STAGED)
    chunks = _chunks(store)
    pending = [c for c in chunks if c["text_hash"].startswith(PENDING_VECTOR)]
    assert report.ok and len(chunks) > 1 and len(pending) == len(chunks)
    assert store.count_pending_vectors() == len(chunks)
    whole = {row_embed_text(c) for c in chunks}
    assert not whole & set(embedder.embedded_texts)  # first stage: sentences only
    # searchable by meaning already: the valve's chunk is found by its vector
    query = embedder.embed(["blue valve drain tank"])[0]
    best = store.vector_search(query, 1, rows="chunks")[0]
    assert "blue valve" in next(
        c["text"] for c in chunks if c["chunk_id"] == best["chunk_id"]
    )

    seen: list[CompletionProgress] = []
    done = complete_index(
        store, embedder, lambda p: seen.append(CompletionProgress(**p.__dict__))
    )
    assert done.chunks == len(chunks) and not done.cancelled
    assert seen[-1].done == seen[-1].total == len(chunks)
    assert store.count_pending_vectors() == 0
    for chunk in _chunks(store):
        text = row_embed_text(chunk)
        assert chunk["text_hash"] == sha256_text(text)
        assert np.allclose(chunk["vector"], embedder.embed([text])[0], atol=1e-6)
    assert store.count_sentences() == 40
    # unchanged on the next ingest: nothing is encoded again, nothing pending
    before = len(embedder.embedded_texts)
    again = run_ingest([docs], store, embedder, STAGED)
    assert again.ok and again.chunks_embedded == 0
    assert len(embedder.embedded_texts) == before and store.count_pending_vectors() == 0


def test_a_changed_file_keeps_the_whole_vectors_of_its_unchanged_chunks(
    embedder: FakeEmbedder, tmp_path: Path, docs: Path
) -> None:
    path = _manual(docs)
    store = _indexed(embedder, tmp_path, docs)
    complete_index(store, embedder)
    total = store.count_chunks()
    _manual(docs, "Turn the red valve right to fill the tank.")
    assert path.exists()
    before = len(embedder.embedded_texts)
    report = run_ingest([docs], store, embedder, STAGED)
    assert report.ok and report.updated
    pending = store.count_pending_vectors()
    assert 0 < pending < total  # only the chunks holding the changed sentence
    # their other sentences are stored: only the new one and the title line
    assert embedder.embedded_texts[before:] == [
        "manual",
        "Turn the red valve right to fill the tank.",
    ]
    complete_index(store, embedder)
    assert store.count_pending_vectors() == 0
    assert len(embedder.embedded_texts) == before + 2 + pending


def test_a_stopped_second_stage_keeps_what_it_encoded_and_goes_on_later(
    embedder: FakeEmbedder, tmp_path: Path, docs: Path
) -> None:
    import assistant.core.ingest.staged_index as staged

    for n in range(6):
        _manual(docs, f"Manual {n}: turn the blue valve left.").rename(
            docs / f"manual{n}.txt"
        )
    store = _indexed(embedder, tmp_path, docs)
    total = store.count_pending_vectors()
    cancel = CancelToken()

    def stop_after_first(p: CompletionProgress) -> None:
        if p.done >= staged.EMBED_BATCH:
            cancel.cancel()

    first = complete_index(store, embedder, stop_after_first, cancel)
    assert first.cancelled and 0 < first.chunks < total
    assert store.count_pending_vectors() == total - first.chunks  # committed
    rest = complete_index(store, embedder)
    assert not rest.cancelled and rest.chunks == total - first.chunks
    assert store.count_pending_vectors() == 0


def test_a_document_removed_before_its_second_stage_is_not_brought_back(
    embedder: FakeEmbedder, tmp_path: Path, docs: Path
) -> None:
    from assistant.core.ingest.pipeline import doc_id_for

    path = _manual(docs)
    store = _indexed(embedder, tmp_path, docs)
    rows = store.pending_vector_rows(10_000)
    store.remove_document(doc_id_for(path))
    store.update_rows(rows)  # what a second stage read before the remove
    assert store.count_chunks() == 0 and store.documents() == []


def test_without_sentence_vectors_a_staged_index_encodes_chunks_whole_at_once(
    embedder: FakeEmbedder, tmp_path: Path, docs: Path
) -> None:
    from dataclasses import replace

    _manual(docs)
    store = ChunkStore(tmp_path / "idx", embedder.name, embedder.dim)
    options = replace(STAGED, sentence_vectors=False)
    assert run_ingest([docs], store, embedder, options).ok
    assert store.count_pending_vectors() == 0 and store.count_sentences() == 0
    whole = {row_embed_text(c) for c in _chunks(store)}
    assert whole <= set(embedder.embedded_texts)
