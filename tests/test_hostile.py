"""Hostile inputs and faults end with a clear error, and nothing indexed is lost.

A run that does not end within ``HANG`` seconds counts as hung: a limit that
detects a hang, not a speed target (speed is in bench/)."""

from __future__ import annotations

import errno
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import hostile
import pytest
from fakes import FakeEmbedder

from assistant.core.config import Settings
from assistant.core.errors import IndexWriteError
from assistant.core.ingest import discover, parse_file
from assistant.core.ingest.chunking import chunk_document
from assistant.core.services.library import Library
from assistant.core.types import ParseLimits

HANG = 60.0


def _within(seconds: float, work: Callable[[], Any]) -> Any:
    """Run ``work`` on a thread; fail the test if it is still running after
    ``seconds`` (a hang), re-raise what it raised."""
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["value"] = work()
        except BaseException as exc:  # handed to the test thread
            outcome["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"still running after {seconds} s: hung"
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("value")


def _library(tmp_path: Path) -> Library:
    return Library(
        Settings(chunk_tokens=40, chunk_overlap=8),
        FakeEmbedder(),
        directory=tmp_path / "index",
    )


def test_pipes_devices_and_link_loops_are_reported_not_read(tmp_path: Path) -> None:
    folder = tmp_path / "d"
    folder.mkdir()
    (folder / "ok.txt").write_text("The gate closes at nine.")
    pipe = hostile.fifo(folder)
    zero = hostile.device_link(folder)
    a, _ = hostile.link_loop(folder)
    files, failures = discover([folder, pipe, zero, a, ""])
    assert [f.name for f in files] == ["ok.txt"]
    reasons = {Path(f.path).name: f.reason for f in failures}
    assert "pipe, device or socket" in reasons["pipe.txt"]
    assert "pipe, device or socket" in reasons["zero.txt"]
    assert reasons["a.txt"] == "broken link"
    assert "empty path" in reasons[""]
    library = _library(tmp_path)
    report = _within(HANG, lambda: library.ingest([folder, pipe, zero]))
    assert report.added == [str(folder.resolve() / "ok.txt")]
    assert len(report.failed) == 2


def test_a_file_link_inside_a_folder_is_not_followed(tmp_path: Path) -> None:
    secret = tmp_path / "private" / "secret.md"
    secret.parent.mkdir()
    secret.write_text("# Secret\n\nThe vault code is 4711.")
    folder = tmp_path / "shared"
    folder.mkdir()
    (folder / "readme.md").write_text("# Readme\n\nNothing secret here.")
    hostile.outside_link(folder, secret)
    files, failures = discover([folder])
    assert [f.name for f in files] == ["readme.md"] and not failures
    named, _ = discover([folder / "secret.md"])  # named explicitly: its target
    assert named == [secret.resolve()]


@pytest.mark.parametrize("make", [hostile.long_heading_line, hostile.run_of_dots])
def test_inputs_that_were_quadratic_parse_and_chunk_in_linear_time(
    tmp_path: Path, make: Callable[[Path], Path]
) -> None:
    path = make(tmp_path)

    def parse_and_chunk() -> int:
        document = parse_file(path, 50 * 2**20)
        return len(chunk_document(document, FakeEmbedder(), 40, 8))

    assert _within(HANG, parse_and_chunk) > 0


def test_a_write_error_ends_the_ingest_with_a_message_and_keeps_what_was_there(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Disk full during the writes: the parse thread was blocked on its full
    queue and the ingest hung forever; now it ends with a one-line reason."""
    library = _library(tmp_path)
    first = tmp_path / "first.txt"
    first.write_text("The harbour gate closes at 21:30.")
    assert library.ingest([first]).ok
    folder = tmp_path / "many"
    folder.mkdir()
    hostile.many_small_files(folder, 150)  # > one batch

    def disk_full(*args: object, **kwargs: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(library.store, "write_rows", disk_full)
    with pytest.raises(IndexWriteError, match="disk is full"):
        _within(HANG, lambda: library.ingest([folder]))
    monkeypatch.undo()
    assert [d.path for d in library.documents()] == [str(first.resolve())]
    assert "21:30" in library.search("When does the harbour gate close?")[0].text


def _three_documents(tmp_path: Path) -> tuple[Library, list[Path]]:
    library = _library(tmp_path)
    docs = []
    for i, fact in enumerate(
        ["gate closes at nine", "pier opens at six", "fee is 5 euros"]
    ):
        path = tmp_path / f"doc{i}.txt"
        path.write_text(f"Harbour note {i}: the {fact}.")
        docs.append(path)
    assert library.ingest(docs).ok
    return library, docs


def test_reindex_builds_beside_the_old_index_and_a_stop_loses_nothing(
    tmp_path: Path,
) -> None:
    """`reindex` used to wipe the index first: a Ctrl+C lost documents for good."""
    from assistant.core.cancel import CancelToken
    from assistant.core.index.swap import staging_dir
    from assistant.core.services.rebuild import rebuild_index

    library, docs = _three_documents(tmp_path)
    directory = tmp_path / "index"
    cancel = CancelToken()

    def stop_at_once(progress: object) -> None:
        cancel.cancel()

    stopped = rebuild_index(
        Settings(), directory, stop_at_once, cancel, embedder=FakeEmbedder(dim=32)
    )
    assert stopped.cancelled and not staging_dir(directory).exists()
    assert len(_library(tmp_path).documents()) == 3  # the old index, untouched
    docs[2].unlink()
    report = rebuild_index(Settings(), directory, embedder=FakeEmbedder(dim=32))
    assert len(report.added) == 2 and "no longer exists" in report.failed[0].reason
    rebuilt = Library(Settings(), FakeEmbedder(dim=32), directory=directory)
    assert sorted(d.path for d in rebuilt.documents()) == sorted(
        str(p.resolve()) for p in docs[:2]
    )
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("index")) == [
        "index"
    ]


def test_a_crash_between_the_two_renames_of_the_swap_is_finished_at_open(
    tmp_path: Path,
) -> None:
    from assistant.core.index.swap import COMPLETE, recover, staging_dir

    _three_documents(tmp_path)
    directory = tmp_path / "index"
    staging = staging_dir(directory)
    staging.mkdir()
    (staging / COMPLETE).write_text("")
    directory.rename(tmp_path / "index.old-1")  # crash here: no index at all
    recover(directory)  # a complete rebuild is swapped in, the old one removed
    assert (directory / COMPLETE).exists() and not staging.exists()
    assert not (tmp_path / "index.old-1").exists()
    directory.rename(tmp_path / "index.old-2")  # crash before a complete rebuild
    recover(directory)  # the old index comes back
    assert directory.exists() and not (tmp_path / "index.old-2").exists()


def test_damaged_conversation_files_are_skipped(tmp_path: Path) -> None:
    """`[1, 2]` in a conversation file aborted the window at start."""
    from assistant.core.answer.conversations import ConversationStore

    store = ConversationStore(tmp_path / "chats")
    for name, content in [("list", "[1, 2]"), ("null", "null"), ("bin", "\udcff")]:
        (store.directory / f"{name}.json").write_text(content, errors="surrogateescape")
    (store.directory / "half.json").write_text('{"id": "x", "messages": [1]}')
    assert store.list() == []


def test_a_conversation_file_of_hundreds_of_megabytes_is_not_read(
    tmp_path: Path,
) -> None:
    """Worth doing beside probe 2: a 500 MB conversation file opened by the
    window (the start-up list read every file whole). Sparse, so it takes no
    disk; the size alone decides."""
    import resource

    from assistant.core.answer.conversations import (
        ConversationRecord,
        ConversationStore,
    )

    store = ConversationStore(tmp_path / "chats")
    store.save(ConversationRecord(id="small", title="Kept"))
    with (store.directory / "huge.json").open("wb") as handle:
        handle.truncate(500 * 2**20)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.monotonic()
    assert [r.title for r in store.list()] == ["Kept"]
    assert store.load("huge") is None
    assert time.monotonic() - started < 2
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 100_000


def test_text_that_inflates_past_the_limit_is_refused_with_its_size(
    tmp_path: Path,
) -> None:
    from assistant.core.errors import IngestError

    bomb = hostile.inflating_docx(tmp_path, megabytes=8)
    assert bomb.stat().st_size < 200_000
    with pytest.raises(IngestError, match="unpacks to 8 MB"):
        parse_file(
            bomb, 50 * 2**20, ParseLimits(max_chars=500_000)
        )  # refused before parsing
    text = tmp_path / "one-line.txt"
    text.write_text("word " * 400_000)
    with pytest.raises(IngestError, match="2 million characters .* limit is 1"):
        parse_file(text, 50 * 2**20, ParseLimits(max_chars=1_000_000))


def test_a_stop_reaches_a_pdf_being_parsed(tmp_path: Path) -> None:
    from docgen import make_pdf

    from assistant.core.cancel import CancelToken
    from assistant.core.errors import IngestError
    from assistant.core.ingest.pdf import parse_pdf

    pdf = make_pdf(tmp_path / "long.pdf", [f"Page {i}." for i in range(30)])
    cancel = CancelToken()
    cancel.cancel()
    with pytest.raises(IngestError, match="stopped"):
        parse_pdf(pdf, ParseLimits(cancel=cancel))


def test_concurrent_ingests_into_one_library_all_commit(tmp_path: Path) -> None:
    """Four processes writing one library: commit conflicts are retried, and a
    second process's maintenance no longer kills an ingest."""
    import subprocess
    import sys

    from ingest_child import SETTINGS

    index = tmp_path / "index"
    Library(SETTINGS, FakeEmbedder(), directory=index)  # create it once
    child = Path(__file__).parent / "ingest_child.py"
    runs = []
    for n in range(4):
        folder = tmp_path / f"f{n}"
        folder.mkdir()
        hostile.many_small_files(folder, 8, first=8 * n)  # none a copy
        runs.append(
            subprocess.Popen(
                [sys.executable, str(child), str(index), str(folder)],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
    for run in runs:
        out, err = run.communicate(timeout=HANG * 3)
        assert run.returncode == 0 and "finished" in out, err[-2000:]
    assert len(Library(SETTINGS, FakeEmbedder(), directory=index).documents()) == 32


def test_a_pdf_whose_pages_share_one_huge_stream_stops_at_the_limit(
    tmp_path: Path,
) -> None:
    """Reading stops as soon as the text passes the limit, with the right reason
    (it used to take hours and be called a scanned PDF)."""
    from assistant.core.errors import IngestError

    pdf = hostile.shared_stream_pdf(tmp_path, pages=200, kilobytes=64)
    with pytest.raises(IngestError, match=r"too large: more than 2 million .* by page"):
        _within(
            HANG, lambda: parse_file(pdf, 50 * 2**20, ParseLimits(max_chars=2_000_000))
        )


@pytest.mark.parametrize(
    "damage", [hostile.truncate_newest_data_file, hostile.garbage_newest_manifest]
)
def test_a_damaged_table_is_reported_and_reindex_recovers_from_an_older_version(
    tmp_path: Path, damage: Callable[[Path], Path]
) -> None:
    """A truncated data file (a crash mid-write, a bad disk) or a garbage newest
    manifest: opening says to re-index, and reindex rebuilds from the newest
    version that can be read."""
    from assistant.core.errors import IndexDamaged
    from assistant.core.services.rebuild import rebuild_index

    library, docs = _three_documents(tmp_path)
    for path in docs:  # one version per document
        path.write_text(path.read_text() + " Updated.")
        library.ingest([path])
    del library
    directory = tmp_path / "index"
    damage(directory)
    with pytest.raises(IndexDamaged, match="assistant reindex"):
        _library(tmp_path)
    report = rebuild_index(Settings(), directory, embedder=FakeEmbedder())
    assert report.ok and len(report.added) == 3
    assert len(_library(tmp_path).documents()) == 3


def test_entity_tricks_and_page_tree_loops_stay_refused(tmp_path: Path) -> None:
    """Held in the first probe; kept so: no external entity is read, nested
    entities are not expanded, a page tree that contains itself ends."""
    from assistant.core.errors import IngestError

    secret = tmp_path / "secret.txt"
    secret.write_text("TOPSECRET4711")
    for make in (
        lambda: hostile.xxe_docx(tmp_path, secret),
        lambda: hostile.billion_laughs_docx(tmp_path),
        lambda: hostile.page_tree_loop_pdf(tmp_path),
    ):
        path = make()
        try:
            parsed = _within(HANG, lambda p=path: parse_file(p, 50 * 2**20))
        except IngestError as exc:
            assert path.name in str(exc)
        else:
            text = "".join(page.text for page in parsed.pages)
            assert "TOPSECRET" not in text and len(text) < 10_000


def test_a_pdf_drawing_more_text_than_its_pages_hold_is_refused_early(
    tmp_path: Path,
) -> None:
    """Probe 2, case 10: 200 pages sharing one stream of 100,000 tiny text
    operations (under the character limit) ran past 300 s: each page's 100,000
    characters were chunked and embedded. Refused at its first page now."""
    from assistant.core.errors import IngestError

    pdf = hostile.many_ops_pdf(tmp_path, pages=200)
    started = time.monotonic()
    with pytest.raises(IngestError, match=r"page 1 draws 101,000 characters"):
        _within(HANG, lambda: parse_file(pdf, 50 * 2**20, ParseLimits()))
    assert time.monotonic() - started < 20
