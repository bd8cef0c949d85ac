"""SIGKILL during ingest, 20 times: every listed document stays complete."""

from __future__ import annotations

import random
import signal
import time
from pathlib import Path

from fakes import FakeEmbedder
from ingest_child import SETTINGS
from ingest_child import start as start_child

from assistant.core.fsutil import sha256_file
from assistant.core.ingest import parse_file
from assistant.core.ingest.chunking import chunk_document
from assistant.core.services.library import Library

CHILD = Path(__file__).parent / "ingest_child.py"


def _write_corpus(folder: Path, version: int) -> None:
    folder.mkdir(exist_ok=True)
    for i in range(30):
        words = " ".join(f"w{i}x{j}v{version if i % 2 == 0 else 0}" for j in range(120))
        (folder / f"doc{i:02d}.txt").write_text(f"Document marker{i:02d}. {words}.")


def _check_consistent(index: Path, folder: Path) -> int:
    """Assert every listed document is whole and current-or-previous; return count."""
    embedder = FakeEmbedder()
    library = Library(SETTINGS, embedder, directory=index)
    documents = library.documents()
    rows = library.store.scan(["doc_id", "content_hash", "ordinal"]).to_pylist()
    assert {r["doc_id"] for r in rows} == {d.doc_id for d in documents}
    for doc in documents:
        mine = [r for r in rows if r["doc_id"] == doc.doc_id]
        assert len({r["content_hash"] for r in mine}) == 1, "half old, half new"
        assert sorted(r["ordinal"] for r in mine) == list(range(len(mine)))
        path = Path(doc.path)
        if sha256_file(path) == doc.content_hash:
            expected = chunk_document(
                parse_file(path, 2**30),
                embedder,
                SETTINGS.chunk_tokens,
                SETTINGS.chunk_overlap,
            )
            assert len(mine) == len(expected)
        hits = library.store.text_search(f"marker{path.stem[3:]}", 5)
        assert doc.doc_id in {h["doc_id"] for h in hits}, f"{path.name} not searchable"
    return len(documents)


def test_sigkill_during_ingest_never_leaves_half_documents(tmp_path: Path) -> None:
    rng = random.Random(7)
    index, folder = tmp_path / "index", tmp_path / "docs"
    kills = 0
    for run in range(20):
        _write_corpus(folder, version=run)  # half the files change every run
        child = start_child(index, folder)
        time.sleep(rng.uniform(0.05, 1.0))
        if child.poll() is None:
            child.send_signal(signal.SIGKILL)
            kills += 1
        child.wait()
        _check_consistent(index, folder)
    assert kills >= 15
    # a final uninterrupted run embeds only what is missing or changed
    embedder = FakeEmbedder()
    library = Library(SETTINGS, embedder, directory=index)
    complete = {
        d.path
        for d in library.documents()
        if sha256_file(Path(d.path)) == d.content_hash
    }
    report = library.ingest([folder])
    assert report.ok
    assert len(report.unchanged) == len(complete)
    assert len(report.added) + len(report.updated) == 30 - len(complete)
    assert _check_consistent(index, folder) == 30
