"""Folders kept in sync: the start-up rescan, the live watcher (real inotify
through watchdog), debouncing, moves and deletes, and folders that go away."""

from __future__ import annotations

import queue
import shutil
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from assistant.core.services.folder_sync import (
    Changes,
    FolderWatcher,
    WatchedFolders,
    apply_changes,
    rescan,
)
from assistant.core.services.library import Library


def _names(library: Library) -> set[str]:
    return {Path(d.path).name for d in library.documents()}


def test_rescan_finds_what_changed_while_the_app_was_closed(
    library: Library, tmp_path: Path
) -> None:
    folder = tmp_path / "notes"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.md").write_text("# A\n\nThe pump is red.")
    (folder / "sub" / "b.txt").write_text("The valve is blue. " * 3)
    (folder / "sub" / "loop").symlink_to(folder)  # not followed
    first = rescan(library, [folder])
    assert sorted(Path(p).name for p in first.ingest.added) == ["a.md", "b.txt"]

    (folder / "sub" / "b.txt").unlink()
    (folder / "a.md").write_text("# A\n\nThe pump is green now.")
    (folder / "c.md").write_text("# C\n\nA new note about the fan.")
    second = rescan(library, [folder])
    assert [Path(p).name for p in second.removed] == ["b.txt"]
    assert [Path(p).name for p in second.ingest.updated] == ["a.md"]
    assert [Path(p).name for p in second.ingest.added] == ["c.md"]
    assert _names(library) == {"a.md", "c.md"}
    assert "green" in library.search("pump colour", top_k=1)[0].text
    third = rescan(library, [folder])  # nothing changed: nothing embedded
    assert third.ingest.chunks_embedded == 0 and not third.removed


def test_a_missing_or_replaced_watched_folder_keeps_its_documents(
    library: Library, tmp_path: Path
) -> None:
    folder = tmp_path / "drive"
    folder.mkdir()
    (folder / "a.md").write_text("# A\n\nKept while the drive is away.")
    rescan(library, [folder])
    shutil.rmtree(folder)
    report = rescan(library, [folder])
    assert "missing" in report.notes[0] and "kept" in report.notes[0]
    assert _names(library) == {"a.md"} and not report.removed
    folder.write_text("now a file")
    report = rescan(library, [folder])
    assert "no longer a folder" in report.notes[0]
    assert _names(library) == {"a.md"}


def test_the_watched_list_is_kept_beside_the_index(tmp_path: Path) -> None:
    watched = WatchedFolders(tmp_path / "index")
    (tmp_path / "docs").mkdir()
    assert watched.add(tmp_path / "docs") == (tmp_path / "docs").resolve()
    watched.add(tmp_path / "docs")
    assert WatchedFolders(tmp_path / "index").folders() == [
        (tmp_path / "docs").resolve()
    ]
    assert watched.remove(tmp_path / "docs") and not watched.folders()
    assert not watched.remove(tmp_path / "docs")


class _Batches:
    """The watcher's batches, each handed out once, in order."""

    def __init__(self) -> None:
        self.batches: list[Changes] = []
        self._unread: queue.Queue[Changes] = queue.Queue()

    def __call__(self, changes: Changes) -> None:
        self.batches.append(changes)
        self._unread.put(changes)

    def next(self, timeout: float = 15.0) -> Changes:
        try:
            return self._unread.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError("no changes reported") from None

    def more(self, within: float) -> Changes | None:
        """The next batch if one comes within ``within`` seconds."""
        try:
            return self._unread.get(timeout=within)
        except queue.Empty:
            return None


def test_the_watcher_debounces_saves_and_sees_moves_and_deletes(
    library: Library, tmp_path: Path
) -> None:
    folder = tmp_path / "watched"
    folder.mkdir()
    (folder / "loop").symlink_to(folder)
    batches = _Batches()
    watcher = FolderWatcher(batches, quiet_s=0.5)
    assert watcher.watch(folder) == ""
    watcher.start()
    try:
        note = folder / "note.md"
        saved = time.monotonic()
        for n in range(5):  # an editor saving five times
            note.write_text(f"# Note\n\nThe boiler pressure is {n + 1} bar.")
            time.sleep(0.05)
        (folder / "picture.xyz").write_bytes(b"ignored")  # not a document
        changes = batches.next()
        assert changes.changed == {note} and len(batches.batches) == 1
        report = apply_changes(library, changes, [folder])
        latency = time.monotonic() - saved
        assert [Path(p).name for p in report.ingest.added] == ["note.md"]
        assert "5 bar" in library.search("boiler pressure", top_k=1)[0].text
        assert latency < 10, f"saved -> searchable took {latency:.1f} s"
        note.touch()  # seen, and free: the content hash is unchanged
        report = apply_changes(library, batches.next(), [folder])
        assert report.ingest.unchanged and report.ingest.chunks_embedded == 0

        (folder / "sub").mkdir()
        moved = folder / "sub" / "renamed.md"
        note.rename(moved)
        changes = batches.next()
        while not (note in changes.gone and moved in changes.changed):
            # a move into a folder made a moment ago may come as two batches
            later = batches.next()
            changes = Changes(
                changes.changed | later.changed, changes.gone | later.gone
            )
        report = apply_changes(library, changes, [folder])
        assert _names(library) == {"renamed.md"}

        moved.unlink()
        report = apply_changes(library, batches.next(), [folder])
        assert [Path(p).name for p in report.removed] == ["renamed.md"]
        assert not library.documents()
    finally:
        watcher.stop()


def test_watching_a_folder_that_is_not_there_says_why(tmp_path: Path) -> None:
    watcher = FolderWatcher(lambda changes: None)
    assert "missing" in watcher.watch(tmp_path / "nowhere")


@pytest.fixture
def cli_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder with a.md, for the CLI with the fake embedder."""
    from fakes import FakeEmbedder

    from assistant.core.services import components

    monkeypatch.setattr(
        components, "load_embedder", lambda settings, *_: FakeEmbedder()
    )
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "a.md").write_text("# A\n\nThe fan runs at night.")
    return folder


def test_cli_watch_folders_unwatch(
    cli_folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from assistant import cli

    folder = cli_folder
    assert cli.main(["watch", "--once", str(folder)]) == 0
    out = capsys.readouterr().out
    assert f"watching {folder.resolve()}" in out and "1 added" in out
    assert cli.main(["folders"]) == 0
    assert str(folder.resolve()) in capsys.readouterr().out
    (folder / "a.md").unlink()
    assert cli.main(["watch", "--once"]) == 0
    assert "removed" in capsys.readouterr().out
    assert cli.main(["unwatch", str(folder)]) == 0
    assert "no longer watching" in capsys.readouterr().out
    assert cli.main(["unwatch", str(folder)]) == 1


def test_a_file_removed_from_the_library_stays_out_until_added_again(
    cli_folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from assistant import cli

    folder = cli_folder
    (folder / "b.md").write_text("# B\n\nThe pump runs by day.")
    assert cli.main(["watch", "--once", str(folder)]) == 0
    assert cli.main(["remove", str(folder / "a.md")]) == 0
    (folder / "a.md").write_text("# A\n\nThe fan runs at night, slowly.")  # edited
    capsys.readouterr()
    assert cli.main(["watch", "--once"]) == 0  # the rescan at start
    assert cli.main(["docs"]) == 0
    listed = capsys.readouterr().out
    assert "b.md" in listed and "a.md" not in listed
    assert cli.main(["ingest", str(folder / "a.md")]) == 0  # the user adds it back
    assert cli.main(["remove", str(folder / "b.md")]) == 0
    assert cli.main(["ingest", str(folder)]) == 0  # or its whole folder
    capsys.readouterr()
    assert cli.main(["docs"]) == 0
    listed = capsys.readouterr().out
    assert "a.md" in listed and "b.md" in listed


@contextmanager
def _watching(folder: Path, quiet_s: float = 0.3) -> Iterator[_Batches]:
    """A started watcher on ``folder``, stopped after."""
    batches = _Batches()
    watcher = FolderWatcher(batches, quiet_s=quiet_s)
    assert watcher.watch(folder) == ""
    watcher.start()
    try:
        yield batches
    finally:
        watcher.stop()


def _settle(batches: _Batches, library: Library, folder: Path, until: Path) -> None:
    """Apply the watcher's batches until ``until`` (a plain file written last,
    after the hostile change) is indexed."""
    deadline = time.monotonic() + 30
    while until.name not in _names(library):
        assert time.monotonic() < deadline, "the watcher never delivered"
        apply_changes(library, batches.next(), [folder])
    while (later := batches.more(1.5)) is not None:  # whatever is still coming
        apply_changes(library, later, [folder])


def test_a_link_made_inside_a_watched_folder_is_not_followed(
    library: Library, tmp_path: Path
) -> None:
    """Probe 2, case 1: ``ln -s ../outside/secret.txt watched/passwd.txt`` while
    watching indexed the outside file."""
    outside = tmp_path / "outside"
    (outside / "private").mkdir(parents=True)
    (outside / "secret.txt").write_text("The vault code is 4471 and nobody knows.")
    (outside / "private" / "diary.md").write_text("# Diary\n\nThe vault is red.")
    folder = tmp_path / "watched"
    folder.mkdir()
    with _watching(folder) as batches:
        (folder / "passwd.txt").symlink_to(outside / "secret.txt")
        (folder / "more").symlink_to(outside / "private")  # a folder link
        time.sleep(0.5)
        (folder / "plain.md").write_text("# Plain\n\nThe pump is green.")
        _settle(batches, library, folder, folder / "plain.md")
    assert _names(library) == {"plain.md"}
    assert all("vault" not in hit.text for hit in library.search("vault code"))
    # the same rule for a path named by any component syncing the folder
    report = apply_changes(
        library,
        Changes(changed={folder / "passwd.txt", folder / "more" / "diary.md"}),
        [folder],
    )
    assert not report.ingest.added and _names(library) == {"plain.md"}


def test_a_subfolder_replaced_by_a_link_loses_its_documents(
    library: Library, tmp_path: Path
) -> None:
    """Probe 2, case 4: watch printed "removed …/sub/inner.txt" but the document
    stayed, and the link's target would have been read instead."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "inner.txt").write_text("Outside text about the harbour gate. " * 3)
    folder = tmp_path / "watched"
    (folder / "sub").mkdir(parents=True)
    (folder / "sub" / "inner.txt").write_text("Inside text about the boiler. " * 3)
    rescan(library, [folder])
    assert _names(library) == {"inner.txt"}
    with _watching(folder) as batches:
        shutil.rmtree(folder / "sub")
        (folder / "sub").symlink_to(outside)
        time.sleep(0.5)
        (folder / "plain.md").write_text("# Plain\n\nThe pump is green.")
        _settle(batches, library, folder, folder / "plain.md")
    assert _names(library) == {"plain.md"}
    report = rescan(library, [folder])  # the start-up rescan agrees
    assert not report.ingest.added and _names(library) == {"plain.md"}
    assert all("harbour" not in hit.text for hit in library.search("harbour gate"))


def test_a_watched_folder_deleted_and_made_again_is_watched_again(
    library: Library, tmp_path: Path
) -> None:
    """Probe 2, case 5: after "watched folder is missing", files in the folder
    made again were never indexed."""
    folder = tmp_path / "watched"
    folder.mkdir()
    (folder / "a.md").write_text("# A\n\nThe first note.")
    rescan(library, [folder])
    with _watching(folder) as batches:
        shutil.rmtree(folder)
        report = apply_changes(library, batches.next(), [folder])
        assert "missing" in report.notes[0] and _names(library) == {"a.md"}
        folder.mkdir()
        time.sleep(0.5)
        (folder / "b.md").write_text("# B\n\nThe fan is loud.")
        _settle(batches, library, folder, folder / "b.md")
        (folder / "c.md").write_text("# C\n\nThe valve is blue.")  # and stays so
        _settle(batches, library, folder, folder / "c.md")
    assert _names(library) == {"b.md", "c.md"}  # a.md went with the old folder


def test_a_new_file_is_not_held_back_by_another_rewritten_all_the_time(
    tmp_path: Path,
) -> None:
    """Probe 2: a file created while another was rewritten 100 times a second
    waited until the writes stopped."""
    folder = tmp_path / "watched"
    folder.mkdir()
    busy = folder / "log.txt"
    stop = threading.Event()

    def rewrite() -> None:
        n = 0
        while not stop.is_set():
            busy.write_text(f"line {n}\n")
            n += 1
            time.sleep(0.01)

    writer = threading.Thread(target=rewrite, daemon=True)
    with _watching(folder, quiet_s=0.5) as batches:
        writer.start()
        time.sleep(0.5)
        new = folder / "new.md"
        new.write_text("# New\n\nThe fan is loud.")
        written = time.monotonic()
        seen: set[Path] = set()
        while new not in seen:
            seen |= batches.next(timeout=10).changed
        stop.set()
        writer.join()
        assert time.monotonic() - written < 5 and busy not in seen


_UNREADABLE_SYNC = """
import json, os, sys
from pathlib import Path
sys.path.insert(0, sys.argv[1])
from fakes import FakeEmbedder
from assistant.core.config import Settings
from assistant.core.services.folder_sync import rescan
from assistant.core.services.library import Library

folder = Path(sys.argv[2])
library = Library(Settings(chunk_tokens=40, chunk_overlap=8), FakeEmbedder())
rescan(library, [folder])
before = sorted(Path(d.path).name for d in library.documents())
os.chmod(folder / "a.txt", 0)
os.chmod(folder / "sub", 0)
(folder / "c.txt").write_text("A new note about the fan. " * 3)
report = rescan(library, [folder])
print(json.dumps({
    "before": before,
    "after": sorted(Path(d.path).name for d in library.documents()),
    "removed": report.removed,
    "failed": [str(f) for f in report.ingest.failed],
}))
"""


def test_files_made_unreadable_mid_watch_keep_their_documents(tmp_path: Path) -> None:
    """Worth doing beside probe 2: chmod 000 on a watched file and subfolder, as a
    user who is not root (root reads them anyway)."""
    import json
    import os
    import subprocess
    import sys
    import tempfile

    work = Path(tempfile.mkdtemp(prefix="unreadable-"))
    work.chmod(0o777)
    folder = work / "watched"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.txt").write_text("The pump is red. " * 3)
    (folder / "sub" / "b.txt").write_text("The valve is blue. " * 3)
    prefix: list[str] = []
    if os.geteuid() == 0:
        prefix = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
        for path in (work, folder, folder / "sub", *folder.rglob("*")):
            os.chown(path, 65534, 65534)
    done = subprocess.run(
        [
            *prefix,
            sys.executable,
            "-c",
            _UNREADABLE_SYNC,
            str(Path(__file__).parent),
            str(folder),
        ],
        env={**os.environ, "ASSISTANT_HOME": str(work / "home")},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["before"] == ["a.txt", "b.txt"]
    assert result["after"] == ["a.txt", "b.txt", "c.txt"] and not result["removed"]
    assert result["failed"] == ["a.txt: permission denied (the file is not readable)"]
    (folder / "sub").chmod(0o755)
