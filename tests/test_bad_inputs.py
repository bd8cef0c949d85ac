"""Every bad file gets a clear per-file reason; the rest of the batch and the
existing index are untouched."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from badfiles import make_cases

from assistant.core.services.library import Library


def test_bad_files_are_skipped_with_reasons_and_the_index_survives(
    library: Library, tmp_path: Path
) -> None:
    keep = tmp_path / "keep.md"
    keep.write_text("# Keep\n\nThis document was indexed before the bad batch.")
    library.ingest([keep])
    before = library.documents()

    cases = make_cases(tmp_path / "bad")
    assert len(cases) >= 20
    report = library.ingest([c.path for c in cases])
    reasons = {Path(f.path).name: f.reason for f in report.failed}
    added = {Path(p).name for p in report.added}
    for case in cases:
        if case.expect is None:
            assert case.name in added, (
                f"{case.name} should be indexed: {reasons.get(case.name)}"
            )
        else:
            assert case.name in reasons, f"{case.name} should fail"
            assert re.search(case.expect, reasons[case.name]), (
                case.name,
                reasons[case.name],
            )
    survivor = next(d for d in library.documents() if d.path == before[0].path)
    assert survivor == before[0]
    assert library.search("indexed before the bad batch")[0].path == str(keep.resolve())
    assert library.search("涡轮机的叶片", top_k=3)[0].path.endswith("gbk.txt")


def test_symlink_loops_and_duplicates_in_folders(
    library: Library, tmp_path: Path
) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "a.txt").write_text("Alpha text. " * 5)
    (folder / "loop").symlink_to(folder)
    report = library.ingest([folder, folder / "a.txt", folder])
    assert [Path(p).name for p in report.added] == ["a.txt"]
    assert len(library.documents()) == 1


def test_a_folder_of_5000_small_files(library: Library, tmp_path: Path) -> None:
    folder = tmp_path / "many"
    folder.mkdir()
    for i in range(5000):
        (folder / f"note{i:04d}.txt").write_text(f"Note {i} mentions item {i}.")
    report = library.ingest([folder])
    assert report.ok and len(report.added) == 5000
    assert library.store.count_chunks() == 5000
    assert library.store.text_search("4321", 1)[0]["path"].endswith("note4321.txt")


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file")
def test_unreadable_file_says_permission_denied(
    library: Library, tmp_path: Path
) -> None:
    path = tmp_path / "secret.txt"
    path.write_text("hidden")
    path.chmod(0)
    report = library.ingest([path])
    assert "permission denied" in report.failed[0].reason


def test_file_changed_or_deleted_while_ingesting(
    library: Library, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from assistant.core.ingest import pipeline as ingest_pipeline

    changing = tmp_path / "changing.txt"
    changing.write_text("Original text. " * 10)
    vanishing = tmp_path / "vanishing.txt"
    vanishing.write_text("Soon gone. " * 10)
    real_open = ingest_pipeline.open_document

    def open_then_touch(path: Path, max_bytes: int, *limits):  # type: ignore[no-untyped-def]
        document = real_open(path, max_bytes, *limits)
        if path.name == "changing.txt":
            path.write_text("Edited while being read. " * 10)
        return document

    monkeypatch.setattr(ingest_pipeline, "open_document", open_then_touch)
    monkeypatch.setattr(
        ingest_pipeline, "discover", lambda paths: ([changing, vanishing], [])
    )
    vanishing.unlink()
    report = library.ingest([tmp_path])
    reasons = {Path(f.path).name: f.reason for f in report.failed}
    assert "changed while it was being read" in reasons["changing.txt"]
    assert "not found" in reasons["vanishing.txt"]
    assert library.documents() == []
