"""Long documents are committed in page batches: searchable while they are read,
and a stop or a kill keeps what was committed and the next ingest continues."""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import lancedb
import pytest
from docgen import make_pdf
from fakes import FakeEmbedder
from ingest_child import SETTINGS
from ingest_child import start as start_child

from assistant.core.cancel import CancelToken
from assistant.core.ingest import parse_file
from assistant.core.ingest import pipeline as ingest_pipeline
from assistant.core.ingest.chunking import chunk_document
from assistant.core.services.library import Library
from assistant.core.types import DocumentInfo, DocumentStream, IngestProgress, Page

CHILD = Path(__file__).parent / "ingest_child.py"
PAGES = 60


def _manual(folder: Path) -> Path:
    folder.mkdir(exist_ok=True)
    pages = [
        f"Page marker{n:03d}. "
        + " ".join(
            f"Topic {n} sentence {k} explains setting s{n}x{k}." for k in range(12)
        )
        for n in range(1, PAGES + 1)
    ]
    return make_pdf(folder / "manual.pdf", pages)


@pytest.fixture
def small_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ingest_pipeline, "FIRST_PART_CHUNKS", 4)
    monkeypatch.setattr(ingest_pipeline, "PART_CHUNKS", 16)


def _rows(library: Library) -> list[dict[str, object]]:
    return library.store.scan(["chunk_id", "ordinal", "content_hash"]).to_pylist()


def _slow_pages(monkeypatch: pytest.MonkeyPatch, seconds: float) -> None:
    """Every page comes ``seconds`` after the one before (as OCR'd pages do)."""
    opened = ingest_pipeline.open_document

    def slow_document(*args: Any, **kwargs: Any) -> DocumentStream:
        stream = opened(*args, **kwargs)
        pages = stream.pages

        def slowly() -> Iterator[Page]:
            for page in pages:
                time.sleep(seconds)
                yield page

        stream.pages = slowly()
        return stream

    monkeypatch.setattr(ingest_pipeline, "open_document", slow_document)


def test_first_pages_are_searchable_while_the_rest_is_read(
    tmp_path: Path, small_batches: None
) -> None:
    pdf = _manual(tmp_path / "docs")
    library = Library(SETTINGS, FakeEmbedder(), directory=tmp_path / "index")
    seen: list[tuple[int, bool, int]] = []  # (pages done, first page found, total)

    def progress(state: IngestProgress) -> None:
        if state.pages_done and not seen or (seen and state.pages_done > seen[-1][0]):
            hits = library.store.text_search("marker001", 3)
            seen.append((state.pages_done, bool(hits), state.pages_total))

    report = library.ingest([pdf], progress=progress)
    assert report.ok and report.added == [str(pdf.resolve())]
    during = [s for s in seen if s[0] < PAGES]
    assert during, "no progress before the last page"
    assert all(found for _, found, _ in during), "page 1 not searchable mid-document"
    assert all(total == PAGES for *_, total in seen)
    [doc] = library.documents()
    assert doc.complete and doc.pages == PAGES and doc.pages_indexed == PAGES
    rows = _rows(library)
    assert {r["content_hash"] for r in rows} == {doc.content_hash}
    expected = chunk_document(parse_file(pdf, 2**30), FakeEmbedder(), 40, 8)
    assert sorted(r["ordinal"] for r in rows) == list(range(len(expected)))


def test_all_pages_are_found_by_their_words_before_their_vectors_are_done(
    tmp_path: Path, small_batches: None
) -> None:
    """The text of every page batch is committed as it is read; the vectors
    follow. In between, the last page is found by its words (full text and the
    hybrid search) but not by a vector search, and the library says so."""
    pdf = _manual(tmp_path / "docs")
    library = Library(SETTINGS, FakeEmbedder(), directory=tmp_path / "index")
    seen: dict[str, object] = {}

    def progress(state: IngestProgress) -> None:
        if seen or state.pages_read < PAGES or state.pages_done >= PAGES:
            return
        last = "marker060"
        seen["pages_done"] = state.pages_done
        seen["text"] = {h["page"] for h in library.store.text_search(last, 5)}
        seen["hybrid"] = {s.page for s in library.search(last)}
        vector = library.embedder.embed([f"Page {last}."])[0]
        hits = library.store.vector_search(vector, 500)
        seen["vector_ids"] = {h["chunk_id"] for h in hits}
        [seen["doc"]] = library.documents()

    report = library.ingest([pdf], progress=progress)
    assert report.ok
    assert seen, "the vectors were never behind the words"
    assert seen["pages_done"] < PAGES
    assert PAGES in seen["text"] and PAGES in seen["hybrid"]
    doc = seen["doc"]
    assert isinstance(doc, DocumentInfo)
    assert not doc.complete and doc.pages_by_words == PAGES
    assert doc.pages_indexed < PAGES
    rows = library.store.scan(["chunk_id", "page"]).to_pylist()
    last_page = {r["chunk_id"] for r in rows if r["page"] == PAGES}
    assert last_page and not last_page & seen["vector_ids"]  # type: ignore[operator]
    [doc] = library.documents()
    assert doc.complete and doc.pages_indexed == doc.pages_by_words == PAGES
    assert library.store.count_rows_without_vectors() == 0


def test_slow_pages_are_embedded_while_the_next_ones_are_read(
    tmp_path: Path, small_batches: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Pages that come slowly (OCR) do not wait for the whole document to be read
    before their vectors are made."""
    pdf = _manual(tmp_path / "docs")
    library = Library(SETTINGS, FakeEmbedder(), directory=tmp_path / "index")
    _slow_pages(monkeypatch, 0.03)
    monkeypatch.setattr(ingest_pipeline, "PARSE_WAIT_S", 0.05)
    embedded_while_reading: list[int] = []

    def progress(state: IngestProgress) -> None:
        if state.pages_done and state.pages_read < PAGES:
            embedded_while_reading.append(state.pages_done)

    assert library.ingest([pdf], progress=progress).ok
    assert embedded_while_reading, "no vectors were made while the pages came"
    [doc] = library.documents()
    assert doc.complete and doc.pages_indexed == PAGES


def test_stop_keeps_the_committed_pages_and_the_next_ingest_continues(
    tmp_path: Path, small_batches: None
) -> None:
    pdf = _manual(tmp_path / "docs")
    embedder = FakeEmbedder()
    library = Library(SETTINGS, embedder, directory=tmp_path / "index")
    cancel = CancelToken()

    def progress(state: IngestProgress) -> None:
        if state.pages_done >= PAGES // 2:
            cancel.cancel()

    stopped = library.ingest([pdf], progress=progress, cancel=cancel)
    assert stopped.cancelled and stopped.partial == [str(pdf.resolve())]
    [doc] = library.documents()
    assert not doc.complete and 0 < doc.pages_indexed < PAGES
    assert doc.pages_by_words == PAGES  # all its text was committed first
    committed = doc.chunks
    for page in (1, doc.pages_indexed, PAGES):
        assert library.store.text_search(f"marker{page:03d}", 3), page
    embedder.embedded_texts.clear()
    resumed = library.ingest([pdf])
    assert resumed.ok and resumed.updated == [str(pdf.resolve())]
    expected = chunk_document(parse_file(pdf, 2**30), FakeEmbedder(), 40, 8)
    assert resumed.chunks_reused == committed
    assert resumed.chunks_embedded == len(expected) - committed
    embedded = set(embedder.embedded_texts)
    assert not embedded & {c.embed_text for c in expected[:committed]}
    [doc] = library.documents()
    assert doc.complete and doc.chunks == len(expected)
    assert sorted(r["ordinal"] for r in _rows(library)) == list(range(len(expected)))
    assert library.ingest([pdf]).unchanged == [str(pdf.resolve())]


def test_the_ann_index_waits_for_the_vectors_of_a_stopped_document(
    tmp_path: Path, small_batches: None
) -> None:
    """Its partitions would be trained on the zero vectors of text rows."""
    pdf = _manual(tmp_path / "docs")
    settings = SETTINGS.model_copy(update={"ann_min_rows": 50})
    library = Library(settings, FakeEmbedder(), directory=tmp_path / "index")
    cancel = CancelToken()

    def progress(state: IngestProgress) -> None:
        if state.pages_done >= PAGES // 2:
            cancel.cancel()

    library.ingest([pdf], progress=progress, cancel=cancel)
    store = library.store
    assert store.count_rows_without_vectors() and store.table.count_rows() >= 50
    assert not store.has_index("vector")
    assert library.ingest([pdf]).ok
    assert store.count_rows_without_vectors() == 0 and store.has_index("vector")


def test_a_changed_long_document_replaces_its_old_version(
    tmp_path: Path, small_batches: None
) -> None:
    folder = tmp_path / "docs"
    pdf = _manual(folder)
    library = Library(SETTINGS, FakeEmbedder(), directory=tmp_path / "index")
    assert library.ingest([pdf]).ok
    make_pdf(pdf, ["Only one page now, about the replacement marker."])
    report = library.ingest([pdf])
    assert report.ok and report.updated == [str(pdf.resolve())]
    [doc] = library.documents()
    assert doc.complete and doc.pages == 1
    assert not library.store.text_search("marker001", 3)


def _committed_rows(index: Path) -> int:
    """Rows committed with their vectors."""
    try:
        table = lancedb.connect(str(index)).open_table("chunks")
        return int(table.count_rows("text_hash IS NOT NULL"))
    except Exception:  # not created yet
        return 0


def test_sigkill_mid_document_resumes_without_re_embedding(tmp_path: Path) -> None:
    """The child commits page batches of the default size while embedding slowly;
    killed after its first commits, the rerun embeds only what was not committed."""
    folder, index = tmp_path / "docs", tmp_path / "index"
    pages = [
        f"Section {n}. "
        + " ".join(f"Line {k} of section {n} sets value v{n}x{k}." for k in range(40))
        for n in range(1, 121)
    ]
    pdf = make_pdf(folder.mkdir() or folder / "long.pdf", pages)
    child = start_child(index, folder)
    deadline = time.monotonic() + 120
    while _committed_rows(index) == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)
    assert child.poll() is None, "the child finished before it could be killed"
    child.send_signal(signal.SIGKILL)
    child.wait()
    embedder = FakeEmbedder()
    library = Library(SETTINGS, embedder, directory=index)
    [doc] = library.documents()
    assert not doc.complete and doc.chunks > 0
    committed = doc.chunks
    report = library.ingest([folder])
    expected = chunk_document(parse_file(pdf, 2**30), FakeEmbedder(), 40, 8)
    assert report.ok
    assert report.chunks_reused == committed
    assert report.chunks_embedded == len(expected) - committed
    [doc] = library.documents()
    assert doc.complete and doc.chunks == len(expected)


def test_the_eta_counts_from_the_first_vectors_not_from_reading_the_words(
    tmp_path: Path, small_batches: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A long document's pages are all read (for their words) before any is
    embedded; the time left is the embedding's pace over what is left, so the
    first estimate after the first vectors is of the order of the real rest (the
    reading's seconds spread over every byte overstated it many times)."""
    pdf = _manual(tmp_path / "docs")

    class SlowEmbedder(FakeEmbedder):
        def embed(self, texts: Any) -> Any:
            time.sleep(0.05)
            return super().embed(texts)

    library = Library(SETTINGS, SlowEmbedder(), directory=tmp_path / "index")
    _slow_pages(monkeypatch, 0.03)  # 1.8 s of reading before the first vectors
    first: list[tuple[float, float]] = []  # (elapsed, estimate) at the first vectors

    def progress(state: IngestProgress) -> None:
        if state.pages_done and not first and state.eta_s is not None:
            first.append((state.elapsed_s, state.eta_s))

    started = time.perf_counter()
    assert library.ingest([pdf], progress=progress).ok
    total = time.perf_counter() - started
    [(at, estimate)] = first
    rest = total - at
    assert at > 1.5, "the words were not read first"
    assert estimate < 4 * rest + 1.0, (estimate, rest)


def test_the_time_left_reads_the_same_in_the_window_and_the_command_line() -> None:
    from assistant.core.time_left import format_time_left

    assert format_time_left(None) == "estimating…"
    assert format_time_left(42.7) == "42 s left"
    assert format_time_left(200) == "3 min 20 s left"
    assert format_time_left(7500) == "2 h 5 min left"


def test_pages_that_give_few_chunks_are_still_committed_as_time_passes(
    library: Library, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Probe 2: a 500-page scan stopped after 237 s had committed no page: OCR'd
    pages give few chunks, and a batch waited for 32 of them. A batch now also
    goes at least every PART_EVERY_S (0 here: every page)."""
    pdf = make_pdf(
        tmp_path / "short-pages.pdf",
        [f"Page {n} says the gate code is {1000 + n}." for n in range(6)],
    )
    read: list[int] = []
    library.ingest([pdf], progress=lambda p: read.append(p.pages_read))
    assert len(set(read) - {0}) == 1  # by default: one batch, all six pages
    monkeypatch.setattr(ingest_pipeline, "PART_EVERY_S", 0.0)
    read.clear()
    library.ingest([pdf], progress=lambda p: read.append(p.pages_read), force=True)
    assert len(set(read) - {0}) >= 3, read


def test_time_left_leaves_out_the_stretches_an_answer_shared_the_cores() -> None:
    from assistant.core.time_left import SharedPace

    def at(seconds: float, done: float) -> IngestProgress:
        return IngestProgress(
            bytes_done=int(done), bytes_total=1000, elapsed_s=seconds, pace_from=(0, 0)
        )

    pace, plain = SharedPace(), SharedPace()
    for t in range(0, 41, 10):  # 10 bytes a second on its own
        pace.eta_s(at(t, 10 * t))
    before = pace.eta_s(at(40, 400))
    assert before == pytest.approx(60.0)
    pace.sharing = True  # a question: a third of the pace for 30 s
    for t in (50, 60, 70):
        pace.eta_s(at(t, 400 + (t - 40) * 10 / 3))
    pace.sharing = False
    after = pace.eta_s(at(80, 600))
    assert after == pytest.approx(40.0)  # 400 left at the unshared 10 bytes/s
    # measured from the start instead, the same run says about a third longer
    assert at(80, 600).eta_s == pytest.approx(53.3, abs=0.1)
    assert plain.eta_s(at(80, 600)) == pytest.approx(53.3, abs=0.1)
