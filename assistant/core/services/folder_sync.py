"""Folders kept in sync with the library: watched with ``watchdog`` while the app
runs, rescanned when it starts (changes made while it was closed).

The watcher only collects paths; whoever owns the library (the CLI's loop, the
window's library worker) applies a batch with :func:`apply_changes`, where the
content-hash skip makes a touched or re-saved unchanged file free. A watched
folder that disappears or becomes unreadable (an unplugged drive, a changed
permission) keeps its documents: only files deleted from a folder that is still
there are removed from the library.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assistant.core.cancel import CancelToken
from assistant.core.fsutil import atomic_write_text
from assistant.core.ingest import discover, is_supported, outside_folders
from assistant.core.ingest.pipeline import ProgressCallback
from assistant.core.types import IngestReport

if TYPE_CHECKING:
    from assistant.core.services.library import Library

log = logging.getLogger(__name__)

WATCHED_FILE = "watched-folders.json"
"""Beside the index: the watched folders belong to the library, not to a window."""
EXCLUDED_FILE = "watched-excluded.json"
QUIET_S = 1.0
"""A batch is handed over once its folders have been quiet this long (an editor
saving a file five times in a row indexes it once)."""
REARM_CHECK_S = 1.0
"""How often the watcher looks for a watched folder deleted and made again."""


@dataclass
class Changes:
    """What a watcher saw: files to index (new or changed) and paths gone."""

    changed: set[Path] = field(default_factory=set)
    gone: set[Path] = field(default_factory=set)
    """Deleted or moved-away files and folders."""

    def __bool__(self) -> bool:
        return bool(self.changed or self.gone)


@dataclass
class SyncReport:
    ingest: IngestReport = field(default_factory=IngestReport)
    removed: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    """Folders that could not be read (their documents were kept)."""


class WatchedFolders:
    """The library's list of watched folders (``watched-folders.json``), and the
    files in them the user removed from the library (``watched-excluded.json``),
    which syncing leaves out until the user adds them (or their folder) again."""

    def __init__(self, directory: Path) -> None:
        self.file = directory / WATCHED_FILE
        self.excluded_file = directory / EXCLUDED_FILE

    def excluded(self) -> set[Path]:
        try:
            return {Path(p) for p in json.loads(self.excluded_file.read_text("utf-8"))}
        except (OSError, ValueError, TypeError):
            return set()

    def exclude(self, path: Path) -> bool:
        """Leave ``path`` out of syncing if a watched folder holds it."""
        path = path.expanduser().resolve()
        if not any(path.is_relative_to(f) for f in self.folders()):
            return False
        self._save_excluded(self.excluded() | {path})
        return True

    def include(self, paths: Iterable[Path | str]) -> None:
        """Paths the user added again (a folder: everything in it)."""
        chosen = [Path(p).expanduser().resolve() for p in paths]
        excluded = self.excluded()
        kept = {e for e in excluded if not any(e.is_relative_to(c) for c in chosen)}
        if kept != excluded:
            self._save_excluded(kept)

    def _save_excluded(self, paths: set[Path]) -> None:
        self.excluded_file.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(
            self.excluded_file, json.dumps(sorted(str(p) for p in paths), indent=1)
        )

    def folders(self) -> list[Path]:
        try:
            return [Path(p) for p in json.loads(self.file.read_text("utf-8"))]
        except (OSError, ValueError, TypeError):
            return []

    def add(self, folder: Path) -> Path:
        folder = folder.expanduser().resolve()
        folders = self.folders()
        if folder not in folders:
            self._save([*folders, folder])
        return folder

    def remove(self, folder: Path) -> bool:
        folder = folder.expanduser().resolve()
        folders = self.folders()
        if folder not in folders:
            return False
        self._save([f for f in folders if f != folder])
        return True

    def _save(self, folders: list[Path]) -> None:
        self.file.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(self.file, json.dumps([str(f) for f in folders], indent=1))


def unreadable(folder: Path) -> str:
    """Why ``folder`` cannot be synced now ("" when it can)."""
    if not folder.exists():
        return (
            f"{folder}: the watched folder is missing (moved, deleted or on a "
            "drive that is not connected); its documents are kept"
        )
    if not folder.is_dir():
        return f"{folder}: no longer a folder; its documents are kept"
    if not os.access(folder, os.R_OK | os.X_OK):
        return (
            f"{folder}: the watched folder cannot be read (permission denied); "
            "its documents are kept"
        )
    return ""


def rescan(
    library: Library,
    folders: Iterable[Path],
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
    excluded: AbstractSet[Path] = frozenset(),
) -> SyncReport:
    """Bring the library in line with ``folders`` as they are on disk now."""
    folders = list(folders)
    return apply_changes(
        library,
        Changes(changed=set(folders), gone=set(folders)),
        folders,
        progress,
        cancel,
        excluded,
    )


def apply_changes(
    library: Library,
    changes: Changes,
    folders: Iterable[Path],
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
    excluded: AbstractSet[Path] = frozenset(),
) -> SyncReport:
    """Remove the documents of files gone from a readable watched folder, then
    index the changed files (folders among them are walked), but ``excluded``."""
    folders = list(folders)
    report = remove_gone(library, changes, folders)
    wanted = to_index(changes, folders)
    if wanted:
        files, failures = discover(wanted, within=folders)
        files = without_excluded(files, excluded)
        report.ingest = library.ingest(files, progress=progress, cancel=cancel)
        report.ingest.failed[:0] = [
            f for f in failures if not f.reason.startswith("unsupported")
        ]
    return report


def without_excluded(files: list[Path], excluded: AbstractSet[Path]) -> list[Path]:
    if not excluded:
        return files
    return [f for f in files if f.resolve() not in excluded]


def remove_from_library(library: Library, path: Path) -> bool:
    """Remove a document; one inside a watched folder is also left out of syncing
    from now on (else the next rescan would add it back)."""
    if not library.remove(path):
        return False
    WatchedFolders(library.store.directory).exclude(path)
    return True


def _readable(folders: Iterable[Path], report: SyncReport) -> list[Path]:
    readable = []
    for folder in folders:
        why = unreadable(folder)
        if why:
            report.notes.append(why)
        else:
            readable.append(folder)
    return readable


def remove_gone(
    library: Library, changes: Changes, folders: Iterable[Path]
) -> SyncReport:
    """Remove the documents of files that no longer exist under a watched folder
    that is still there and readable, or that are now reached only through a
    link (a subfolder replaced by a link to elsewhere); a report with what was
    removed, and notes on the folders that are not readable."""
    report = SyncReport()
    readable = _readable(folders, report)
    for document in library.documents():
        path = Path(document.path)
        if (
            any(path.is_relative_to(f) for f in readable)
            and any(path == g or path.is_relative_to(g) for g in changes.gone)
            and (_gone(path) or outside_folders(path, readable))
        ) and library.remove_id(document.doc_id):
            report.removed.append(str(path))
    return report


def _gone(path: Path) -> bool:
    """Deleted (or its folder replaced by a file), not merely unreadable: a file
    or subfolder made unreadable (chmod 000) keeps its documents."""
    try:
        path.stat()
    except (FileNotFoundError, NotADirectoryError):
        return True
    except OSError:
        return False
    return False


def to_index(changes: Changes, folders: Iterable[Path]) -> list[Path]:
    """The changed paths that still exist under a readable watched folder,
    reached without following a link (one made inside a watched folder may point
    anywhere: it is skipped as a folder walk skips it)."""
    readable = _readable(folders, SyncReport())
    return sorted(
        p for p in changes.changed if p.exists() and not outside_folders(p, readable)
    )


def _identity(folder: Path) -> tuple[int, int] | None:
    """The folder's device and inode (None while it is not a readable folder)."""
    if unreadable(folder):
        return None
    try:
        stat = folder.stat()
    except OSError:
        return None
    return stat.st_dev, stat.st_ino


class FolderWatcher:
    """Watches folders (recursively, links not followed) and hands over debounced
    batches of :class:`Changes` to ``on_changes``, called on the watcher's own
    thread once the folders have been quiet for ``quiet_s``."""

    def __init__(
        self,
        on_changes: Callable[[Changes], None],
        quiet_s: float = QUIET_S,
    ) -> None:
        from watchdog.observers import Observer

        self._on_changes = on_changes
        self._quiet_s = quiet_s
        self._observer: Any = Observer()
        self._watches: dict[Path, tuple[Any, tuple[int, int] | None]] = {}
        self._pending = Changes()
        self._touched: dict[Path, float] = {}
        """Each pending path's last event."""
        self._lock = threading.Condition()
        self._stopped = False
        self._dead: set[Path] = set()
        """Watched folders whose own deletion was seen."""
        self._thread = threading.Thread(
            target=self._deliver, name="folder-watcher", daemon=True
        )

    def start(self) -> None:
        self._observer.start()
        self._thread.start()

    def stop(self) -> None:
        with self._lock:
            self._stopped = True
            self._lock.notify_all()
        self._observer.stop()
        self._observer.join(timeout=5)
        self._thread.join(timeout=5)

    def watch(self, folder: Path) -> str:
        """Start watching ``folder``; "" or why it cannot be watched now."""
        folder = folder.resolve()
        why = unreadable(folder)
        if why or folder in self._watches:
            return why
        try:
            self._schedule(folder)
        except OSError as exc:  # e.g. the inotify watch limit
            return f"{folder}: cannot be watched ({exc.strerror or exc})"
        return ""

    def _schedule(self, folder: Path) -> None:
        from watchdog.events import FileSystemEventHandler

        watcher = self

        class Handler(FileSystemEventHandler):
            def on_any_event(self, event: Any) -> None:
                watcher.record_event(event)

        identity = _identity(folder)
        self._watches[folder] = (
            self._observer.schedule(Handler(), str(folder), recursive=True),
            identity,
        )

    def unwatch(self, folder: Path) -> None:
        watch = self._watches.pop(folder.resolve(), None)
        if watch is not None:
            self._observer.unschedule(watch[0])

    def _rearm(self) -> None:
        """Watch again a folder that was deleted (or replaced) and is back: its
        old watch died with the old folder. The folder is then rescanned whole.
        Called outside ``_lock``: the observer calls ``record_event`` under its own
        lock, which ``schedule`` takes too."""
        with self._lock:
            dead = set(self._dead)
        for folder, (watch, identity) in list(self._watches.items()):
            now = _identity(folder)
            if now is None or (now == identity and folder not in dead):
                continue  # (a new folder may reuse the old one's inode)
            with contextlib.suppress(KeyError, OSError):  # ended with the folder
                self._observer.unschedule(watch)
            try:
                self._schedule(folder)
            except OSError as exc:
                log.warning("%s: cannot be watched again (%s)", folder, exc)
                continue
            with self._lock:
                self._dead.discard(folder)
                self._pending.changed.add(folder)
                self._pending.gone.add(folder)
                self._touched[folder] = time.monotonic()

    def record_event(self, event: Any) -> None:
        kind = event.event_type
        if kind in ("opened", "closed_no_write"):
            return
        source = Path(os.fsdecode(event.src_path))
        with self._lock:
            if kind in ("deleted", "moved"):
                self._pending.gone.add(source)
                if source in self._watches:  # the watched folder itself
                    self._dead.add(source)
            now = time.monotonic()
            if kind == "moved":
                destination = Path(os.fsdecode(event.dest_path))
                self._add_changed(destination, event)
                self._touched[destination] = now
            elif kind in ("created", "modified", "closed", "attrib"):
                self._add_changed(source, event)
            self._touched[source] = now
            self._lock.notify_all()

    def _add_changed(self, path: Path, event: Any) -> None:
        if event.is_directory:
            if event.event_type != "modified":  # a folder moved or copied in
                self._pending.changed.add(path)
        elif is_supported(path) and not path.name.startswith("."):
            self._pending.changed.add(path)

    def _quiet_paths(self) -> Changes:
        """Take the pending paths quiet for ``quiet_s`` (each path on its own: a
        file rewritten 100 times a second must not hold back a new one beside
        it); waits until one is, when none is yet. Called under ``_lock``."""
        now = time.monotonic()
        ready = {p for p, t in self._touched.items() if now - t >= self._quiet_s}
        if not ready:
            self._lock.wait(
                min(self._touched.values(), default=now) + self._quiet_s - now
            )
            return Changes()
        for path in ready:
            del self._touched[path]
        batch = Changes(self._pending.changed & ready, self._pending.gone & ready)
        self._pending.changed -= ready
        self._pending.gone -= ready
        return batch

    def _deliver(self) -> None:
        next_rearm = 0.0
        while True:
            if time.monotonic() >= next_rearm:  # not on every event of a burst
                self._rearm()
                next_rearm = time.monotonic() + REARM_CHECK_S
            with self._lock:
                if not self._stopped and not self._pending:
                    self._lock.wait(REARM_CHECK_S)
                    continue
                if self._stopped:
                    return
                batch = self._quiet_paths()
                if not batch:
                    continue
            try:
                self._on_changes(batch)
            except Exception:  # the owner reports; the watcher goes on
                log.exception("applying folder changes failed")
