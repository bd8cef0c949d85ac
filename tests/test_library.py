from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from docgen import FILLER, make_pdf
from fakes import FakeEmbedder

from assistant.core.cancel import CancelToken
from assistant.core.config import Settings
from assistant.core.errors import EmbedderMismatch
from assistant.core.retrieve.retrieval import RetrievalConfig
from assistant.core.services.library import Library
from assistant.core.types import IngestProgress

if TYPE_CHECKING:
    from assistant.core.index.store import ChunkStore
    from assistant.core.ingest.pipeline import IngestOptions
    from assistant.core.types import IngestReport


def _write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def _all_texts(library: Library) -> list[str]:
    return library.store.scan(["text"]).column("text").to_pylist()


def test_ingest_lists_documents_and_finds_passages(
    library: Library, docs: Path
) -> None:
    make_pdf(
        docs / "manual.pdf",
        [FILLER, FILLER, "The pressure valve opens at 42 bar. " + FILLER],
    )
    _write(docs, "notes.md", "# Notes\n\nThe cat sleeps on the mat.")
    progress: list[IngestProgress] = []
    report = library.ingest([docs], progress=progress.append)
    assert report.ok and len(report.added) == 2 and report.pages == 3
    assert (
        progress[-1].files_done == 2
        and progress[-1].bytes_done == progress[-1].bytes_total
    )
    names = sorted(Path(d.path).name for d in library.documents())
    assert names == ["manual.pdf", "notes.md"]
    top = library.search("pressure valve bar", top_k=3)[0]
    assert Path(top.path).name == "manual.pdf" and top.page == 3
    assert "42 bar" in top.text and top.n == 1


def test_unchanged_files_are_not_embedded_again(
    library: Library, embedder: FakeEmbedder, docs: Path
) -> None:
    _write(docs, "a.txt", "Alpha beta gamma. " * 20)
    library.ingest([docs])
    embedded = len(embedder.embedded_texts)
    report = library.ingest([docs])
    assert report.unchanged == [str((docs / "a.txt").resolve())]
    assert len(embedder.embedded_texts) == embedded


def test_changed_file_replaces_its_chunks_and_reuses_unchanged_ones(
    library: Library, embedder: FakeEmbedder, docs: Path
) -> None:
    path = _write(
        docs,
        "a.md",
        "# One\n\nOld fact: the sky is green.\n\n# Two\n\nStable text stays.",
    )
    library.ingest([path])
    before = len(embedder.embedded_texts)
    path.write_text(
        "# One\n\nNew fact: the sky is blue.\n\n# Two\n\nStable text stays."
    )
    report = library.ingest([path])
    assert report.updated == [str(path.resolve())]
    assert report.chunks_reused == 1 and report.chunks_embedded == 1
    assert len(embedder.embedded_texts) == before + 1
    texts = _all_texts(library)
    assert not any("green" in t for t in texts)
    assert any("blue" in t for t in texts)
    assert len(library.documents()) == 1
    forced = library.ingest([path], force=True)  # re-embeds everything, as it says
    assert forced.updated and forced.chunks_reused == 0 and forced.chunks_embedded == 2


def test_remove_deletes_all_chunks(library: Library, docs: Path) -> None:
    keep = _write(docs, "keep.txt", "Keep this text. " * 10)
    drop = _write(docs, "drop.txt", "Drop this text. " * 10)
    library.ingest([keep, drop])
    assert library.remove(drop)
    assert not library.remove(drop)
    assert [Path(d.path).name for d in library.documents()] == ["keep.txt"]
    assert all("Drop" not in t for t in _all_texts(library))


def test_bad_file_is_reported_and_the_batch_goes_on(
    library: Library, docs: Path
) -> None:
    _write(docs, "good.txt", "Good text here. " * 5)
    (docs / "empty.md").write_bytes(b"")
    (docs / "broken.pdf").write_bytes(b"%PDF-1.4 garbage")
    report = library.ingest([docs])
    assert [Path(p).name for p in report.added] == ["good.txt"]
    reasons = {Path(f.path).name: f.reason for f in report.failed}
    assert set(reasons) == {"empty.md", "broken.pdf"}
    assert "empty" in reasons["empty.md"]
    assert not report.ok


def test_cancel_keeps_the_index_consistent(library: Library, docs: Path) -> None:
    first = _write(docs, "first.txt", "First document text. " * 50)
    library.ingest([first])
    for i in range(5):
        _write(docs, f"more{i}.txt", f"More document {i} text. " * 50)
    token = CancelToken()

    def on_progress(state: IngestProgress) -> None:
        if state.chunks_done > 0:
            token.cancel()

    report = library.ingest([docs], progress=on_progress, cancel=token)
    assert report.cancelled
    documents = library.documents()
    assert [Path(d.path).name for d in documents][0] == "first.txt"
    # every listed document has all its chunks: count equals a fresh chunking
    total = sum(d.chunks for d in documents)
    assert library.store.count_chunks() == total
    again = library.ingest([docs])
    assert len(again.added) == 6 - len(documents)


def test_opening_with_another_embedder_says_so(
    settings: Settings, tmp_path: Path, docs: Path
) -> None:
    directory = tmp_path / "idx"
    Library(settings, FakeEmbedder(dim=64, name="fake-a"), directory=directory)
    with pytest.raises(EmbedderMismatch, match="fake-a.*fake-b.*re-index"):
        Library(settings, FakeEmbedder(dim=32, name="fake-b"), directory=directory)


def test_chinese_full_text_search_finds_chinese_passages(
    library: Library, docs: Path
) -> None:
    _write(docs, "zh.txt", "北京是中国的首都。\n\n上海是一个重要的港口城市，人口众多。")
    _write(docs, "en.txt", "Paris is the capital of France. " * 3)
    library.ingest([docs])
    hits = library.store.text_search("港口", 5)
    assert hits and "港口" in hits[0]["text"]
    top = library.search("上海的港口", top_k=2)[0]
    assert "上海" in top.text


def test_one_result_per_pdf_page(library: Library, docs: Path) -> None:
    long_page = " ".join(
        f"Turbine blade inspection step {i} is described here." for i in range(40)
    )
    make_pdf(docs / "t.pdf", [long_page, FILLER])
    library.ingest([docs])
    sources = library.search("turbine blade inspection", top_k=5)
    pages = [s.page for s in sources]
    assert len(pages) == len(set(pages))


def test_searches_read_few_rows_and_skip_chunks_removed_meanwhile(
    library: Library, docs: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Searches rank chunk ids; only the rows that may be shown are read, and a
    chunk gone between the search and that read is left out, not an error."""
    for i in range(12):
        _write(docs, f"n{i}.txt", f"Gearbox oil note {i}: change the oil often.")
    library.ingest([docs])
    before = library.search("gearbox oil", top_k=3)
    assert len(before) == 3
    store = library.store
    read_ids: list[list[str]] = []
    real = store.chunks_by_id

    def losing_the_first(chunk_ids: list[str]) -> list[dict[str, object]]:
        read_ids.append(list(chunk_ids))
        return [r for r in real(chunk_ids) if r["chunk_id"] != gone]

    gone = next(
        r["chunk_id"]
        for r in store.scan(["chunk_id", "path"]).to_pylist()
        if r["path"] == before[0].path
    )
    monkeypatch.setattr(store, "chunks_by_id", losing_the_first)
    after = library.search("gearbox oil", top_k=3)
    assert len(after) == 3 and before[0].path not in [s.path for s in after]
    assert [s.path for s in after[:2]] == [s.path for s in before[1:]]
    assert all(s.text and s.title for s in after)
    assert sum(len(ids) for ids in read_ids) <= 3 + 2 + 2  # a few, not all 12


def test_lexical_exact_match_beats_vector_noise(library: Library, docs: Path) -> None:
    for i in range(8):
        _write(
            docs,
            f"n{i}.txt",
            f"General note {i} about meetings and schedules and plans.",
        )
    _write(docs, "code.txt", "Error E-4711 means the fuse has blown.")
    library.ingest([docs])
    assert library.search("E-4711", top_k=3)[0].path.endswith("code.txt")


class _PreferCats:
    """A re-ranker that only cares whether the passage mentions a cat."""

    def score(self, query: str, passages: Sequence[str]) -> list[float]:
        return [float("cat" in p) for p in passages]


def test_reranker_reorders_the_fused_candidates(library: Library, docs: Path) -> None:
    _write(docs, "valve.md", "# Valve\n\nThe pressure valve opens at 42 bar.")
    _write(docs, "cat.md", "# Cat\n\nThe cat sits next to the pressure gauge.")
    library.ingest([docs])
    assert Path(library.search("pressure valve", top_k=2)[0].path).name == "valve.md"
    library.retriever.reranker = _PreferCats()
    top = library.search("pressure valve", top_k=2)
    assert Path(top[0].path).name == "cat.md" and top[0].score == 1.0


def test_missing_rerank_model_is_reported(tmp_path: Path) -> None:
    from assistant.core.errors import ModelNotFound
    from assistant.core.retrieve.retrieval import load_reranker

    with pytest.raises(ModelNotFound, match="judge.gguf"):
        load_reranker(str(tmp_path / "judge.gguf"))


def test_a_library_indexed_with_another_builtin_embedder_opens_with_it_until_reindexed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Choosing another embedder in the settings never locks the library: it is
    searched with the embedder it was made with, and says what re-indexing gives."""
    from assistant.core.model_files import ROUTED_EMBEDDER, USE_EMBEDDER
    from assistant.core.services import components
    from assistant.core.services import library as services
    from assistant.core.services.rebuild import rebuild_index

    made = {
        USE_EMBEDDER: lambda: FakeEmbedder(dim=48, name=USE_EMBEDDER),
        ROUTED_EMBEDDER: lambda: FakeEmbedder(dim=64, name=ROUTED_EMBEDDER),
    }
    monkeypatch.setattr(
        components,
        "embedder_named",
        lambda name, threads=0: made[name or ROUTED_EMBEDDER](),
    )
    directory = tmp_path / "index"
    old = services.Library(Settings(), made[USE_EMBEDDER](), directory=directory)
    note = tmp_path / "note.txt"
    note.write_text("The harbour gate closes at nine.")
    assert old.ingest([note]).ok
    del old
    chosen = Settings(embedding_model=ROUTED_EMBEDDER)
    library = services.Library.open(chosen, directory)
    assert library.embedder.name == USE_EMBEDDER
    assert library.awaiting_embedder == ROUTED_EMBEDDER
    assert library.search("When does the gate close?")
    report = rebuild_index(chosen, directory)
    assert report.ok and len(report.added) == 1
    again = services.Library.open(chosen, directory)
    assert again.embedder.name == ROUTED_EMBEDDER and not again.awaiting_embedder


def test_sentences_get_vectors_of_their_own_and_find_their_chunk(
    settings: Settings, embedder: FakeEmbedder, tmp_path: Path, docs: Path
) -> None:
    filler = [
        f"Paragraph {i} talks about harbours, ships and the weather at sea."
        for i in range(60)
    ]
    # one sentence about the valve, inside a chunk about something else
    filler[31] = "Turn the blue valve left to drain the tank."
    _write(docs, "manual.txt", " ".join(filler))
    settings = settings.model_copy(
        update={"retrieval_mode": "vector", "chunk_vectors": "encoded"}
    )
    library = Library(settings, embedder, directory=tmp_path / "idx")
    report = library.ingest([docs])
    chunks = library.store.count_chunks()
    assert report.sentences_embedded == 60 == library.store.count_sentences()
    assert sum(d.chunks for d in library.documents()) == chunks < 60
    question = "Turn the blue valve left to drain the tank."
    top = library.search(question, top_k=1)[0]
    assert "blue valve" in top.text
    # the chunk vector alone dilutes the sentence among its neighbours
    without = library.retriever.search(
        question,
        RetrievalConfig(top_k=1, mode="vector", sentences=False, min_similarity=0.0),
    )[0]
    with_sentences = library.retriever.search(
        question, RetrievalConfig(top_k=1, mode="vector", min_similarity=0.0)
    )[0]
    assert with_sentences.similarity > without.similarity + 0.2
    # unchanged text is not embedded again, sentences included
    embedded = len(embedder.embedded_texts)
    filler[5] = "Paragraph 5 speaks about lighthouses, boats and the storms at night."
    _write(docs, "manual.txt", " ".join(filler))
    again = library.ingest([docs])
    assert again.sentences_embedded == 1 and again.chunks_embedded <= 2
    assert len(embedder.embedded_texts) - embedded == 1 + again.chunks_embedded


def test_a_library_from_before_sentence_vectors_opens_and_searches(
    settings: Settings, embedder: FakeEmbedder, tmp_path: Path, docs: Path
) -> None:
    import lancedb
    import pyarrow as pa

    from assistant.core.index.store import TABLE, chunk_schema

    _write(docs, "a.txt", "The pressure valve opens at 42 bar. " * 8)
    old = Library(
        settings.model_copy(update={"sentence_vectors": False}),
        embedder,
        directory=tmp_path / "built",
    )
    old.ingest([docs])
    legacy_fields = [
        f for f in chunk_schema(embedder.dim) if f.name not in ("parent", "boxes")
    ]
    rows = old.store.scan([f.name for f in legacy_fields])
    legacy = tmp_path / "legacy"
    schema = pa.schema(legacy_fields)
    lancedb.connect(str(legacy)).create_table(TABLE, rows.select(schema.names))
    library = Library(settings, embedder, directory=legacy)
    assert library.store.count_chunks() == rows.num_rows
    assert library.store.count_sentences() == 0
    assert "42 bar" in library.search("pressure valve", top_k=1)[0].text
    _write(docs, "b.txt", "A second file about the cooling fan. It spins fast.")
    assert library.ingest([docs / "b.txt"]).ok
    assert len(library.documents()) == 2


def _harbour_manual(
    embedder: FakeEmbedder, tmp_path: Path, docs: Path, options: IngestOptions
) -> tuple[list[str], ChunkStore, IngestReport]:
    """40 sentences of filler, one about a valve, indexed with ``options``: the
    sentences, the store and the report."""
    from assistant.core.index.store import ChunkStore
    from assistant.core.ingest.pipeline import run_ingest

    filler = [f"Paragraph {i} talks about harbours and ships." for i in range(40)]
    filler[17] = "Turn the blue valve left to drain the tank."
    _write(docs, "manual.txt", " ".join(filler))
    store = ChunkStore(tmp_path / "idx", embedder.name, embedder.dim)
    return filler, store, run_ingest([docs], store, embedder, options)


def test_pooled_sentences_are_stored_and_found_like_standalone_ones(
    embedder: FakeEmbedder, tmp_path: Path, docs: Path
) -> None:
    """``sentence_model: pooled`` with an embedder that cannot pool falls back to
    embedding each sentence alone; the rows and their reuse work the same."""
    from assistant.core.ingest.pipeline import IngestOptions, run_ingest

    options = IngestOptions(sentence_model="pooled")
    _, store, report = _harbour_manual(embedder, tmp_path, docs, options)
    assert report.ok and report.sentences_embedded == 40 == store.count_sentences()
    embedded = len(embedder.embedded_texts)
    assert "Turn the blue valve left to drain the tank." in embedder.embedded_texts
    again = run_ingest([docs], store, embedder, options)
    assert again.ok and len(embedder.embedded_texts) == embedded


def test_chunk_vectors_from_their_sentences_encode_each_text_once(
    embedder: FakeEmbedder, tmp_path: Path, docs: Path
) -> None:
    """``chunk_vectors: from_sentences``: a chunk of several sentences is never
    encoded whole; its vector is the unit mean of its heading line's and its
    sentences' vectors, and each of those texts is encoded once."""
    import numpy as np

    from assistant.core.ingest.pipeline import IngestOptions, run_ingest

    options = IngestOptions(chunk_vectors="from_sentences")
    filler, store, report = _harbour_manual(embedder, tmp_path, docs, options)
    assert report.ok and report.sentences_embedded == 40 == store.count_sentences()
    texts = list(embedder.embedded_texts)
    assert len(texts) == len(set(texts))  # overlap sentences too: once
    rows = store.scan(["text", "parent", "vector"]).to_pylist()
    chunks = [r for r in rows if not r["parent"]]
    assert len(chunks) > 1 and not {c["text"] for c in chunks} & set(texts)
    valve = next(c for c in chunks if "blue valve" in c["text"])
    pieces = [s for s in filler if s in valve["text"]]
    heading_line = next(t for t in texts if t not in filler)  # the title line
    lengths = [len(t) for t in (heading_line, *pieces)]
    mean = np.average(embedder.embed([heading_line, *pieces]), axis=0, weights=lengths)
    assert np.allclose(valve["vector"], mean / np.linalg.norm(mean), atol=1e-5)
    embedded = len(embedder.embedded_texts)
    again = run_ingest([docs], store, embedder, options)
    assert again.ok and again.chunks_embedded == 0
    assert len(embedder.embedded_texts) == embedded  # nothing encoded again


def test_a_copy_under_another_path_is_recognised_by_its_content(
    library: Library, docs: Path
) -> None:
    original = docs / "R-FAQ.md"
    original.write_text("# R FAQ\n\nR is a language for statistics. " * 5)
    library.ingest([original])
    folder = docs / "backup"
    folder.mkdir()
    copy = folder / "R-FAQ.md"
    copy.write_bytes(original.read_bytes())
    renamed = folder / "faq-copy.md"
    renamed.write_bytes(original.read_bytes())
    report = library.ingest([folder])
    assert report.copies == {str(copy): str(original), str(renamed): str(original)}
    assert not report.added and report.chunks_embedded == 0
    assert [d.path for d in library.store.documents()] == [str(original)]
    assert f"{copy} is a copy of {original}" in report.counts()
    # two copies new in one run: one is indexed
    other = docs / "other"
    other.mkdir()
    for name in ("a.md", "b.md"):
        (other / name).write_text("# Pumps\n\nThe pump runs at 300 rpm. " * 5)
    report = library.ingest([other])
    assert len(report.added) == 1 and len(report.copies) == 1
    # a file already indexed that now has another's content is updated, not left
    (other / report.added[0]).write_text(original.read_text())
    report = library.ingest([other / report.added[0]])
    assert report.updated and not report.copies


def test_a_scope_searches_only_its_documents(library: Library, docs: Path) -> None:
    from assistant.core.errors import AssistantError

    for folder, colour in (("red", "red"), ("blue", "blue")):
        (docs / folder).mkdir()
        for n in range(3):
            (docs / folder / f"pump{n}.md").write_text(
                f"# Pump {n}\n\nThe pump {n} is painted {colour}. " * 4
            )
    (docs / "notes.txt").write_text("The pump room is locked at night. " * 4)
    library.ingest([docs])
    everywhere = library.search("pump painted", 10)
    assert {Path(s.path).parent.name for s in everywhere} >= {"red", "blue"}
    red = library.scope([str(docs / "red")])
    assert red is not None and len(red.paths) == 3
    found = library.search("pump painted blue", 10, within=red)
    assert found and all(Path(s.path).parent.name == "red" for s in found)
    # by full text alone too (the vector lists and the text list both filtered)
    assert all(
        Path(s.path).parent.name == "red"
        for s in library.search("locked night", 10, within=red)
    )
    # a glob over names, a file, and what a description says
    assert len(library.scope(["*.txt"]).paths) == 1  # type: ignore[union-attr]
    both = library.scope([str(docs / "notes.txt"), "pump1.md"])
    assert both is not None and len(both.paths) == 3
    assert both.describe() == "pump1.md, notes.txt and 1 more"  # by path
    assert library.scope([]) is None
    with pytest.raises(AssistantError, match="No document in the library matches"):
        library.scope(["*.docx"])


def test_a_reader_for_another_thread_sees_each_commit_and_never_writes(
    settings: Settings, embedder: FakeEmbedder, tmp_path: Path, docs: Path
) -> None:
    """The chat thread searches with a reader while the library thread writes:
    no store, cache or retriever of the writer is shared, yet every commit of the
    writer is found (its own connection sees each as it lands)."""
    library = Library(settings, embedder, directory=tmp_path / "idx")
    reader = library.reader(settings)
    assert reader.store is not library.store
    assert reader.retriever is not library.retriever
    assert reader.retriever.store is reader.store
    assert reader.search("When does the harbour gate close?") == []
    seen = reader.store.generation
    note = _write(docs, "gate.txt", "The harbour gate closes at nine every night.")
    assert library.ingest([note]).ok
    assert reader.store.generation != seen
    hits = reader.search("When does the harbour gate close?")
    assert hits and hits[0].path == str(note)
    assert [d.path for d in reader.documents()] == [str(note)]
    library.remove(note)
    assert reader.search("When does the harbour gate close?") == []
    with pytest.raises(RuntimeError, match="never writes"):
        reader.store.remove_document(hits[0].doc_id)
    with pytest.raises(RuntimeError, match="never writes"):
        reader.store.maintain()
