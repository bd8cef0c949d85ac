"""Owns the Library (embedder + index) on its own thread: load, ingest, remove.

The chat thread never gets this thread's ``Library``: ``sig_ready`` carries a
reader (``Library.reader``) with its own handle on the index, its own caches and
settings; only the embedder's model is shared (locked per call)."""

from __future__ import annotations

import logging
import time
from pathlib import Path

from PySide6.QtCore import QObject, Signal, Slot

from assistant.core.config import Settings, library_location
from assistant.core.errors import IndexDamaged
from assistant.core.hardware import freeze_heap
from assistant.core.ingest import discover, parse_file
from assistant.core.ingest.staged_index import CompletionProgress, CompletionReport
from assistant.core.services.folder_sync import (
    Changes,
    FolderWatcher,
    WatchedFolders,
    remove_from_library,
    remove_gone,
    to_index,
    unreadable,
    without_excluded,
)
from assistant.core.services.library import Library
from assistant.core.services.rebuild import rebuild_index
from assistant.core.types import IngestProgress, IngestReport, Source
from assistant.ui.workers.library_jobs import CompleteJob, IngestJob, RebuildJob
from assistant.ui.workers.library_owner import LibraryOwner
from assistant.ui.workers.readable_error import readable_error

log = logging.getLogger(__name__)
FREEZE_EVERY_S = 20.0
"""While indexing, how often what the ingest keeps (a long document's chunks
waiting for their vectors) is frozen too: over the 2,415-page manual the GC's
longest full pass was 39 ms without it (bench/gui_stall.py)."""
LIST_EVERY_S = 2.0
"""While indexing, how often the document list is read again when documents were
committed since (they are searchable: the window lists them as ready)..."""
LIST_SHARE = 20
"""...or, if longer, this many times as long as the last listing took."""


class LibraryWorker(LibraryOwner, QObject):
    """Signals:
    sig_ready(object): a reader of the loaded Library, for the chat worker.
    sig_documents(list): current DocumentInfo list.
    sig_queued(int, list, list): job id, the files an IngestJob found (paths), and
        the FileFailures of paths it cannot read (before indexing starts).
    sig_progress(object): IngestProgress while ingesting.
    sig_ingest_finished(object): IngestReport.
    sig_failed(str): a readable error.
    sig_damaged(str, str): the index on disk cannot be read (its folder, why);
        re-indexing repairs it.
    sig_document_text(object, str): a Source and the full text of its (unpaged) file.
    sig_folder_files(list): paths in watched folders that are new or changed (at
        start-up: the watched folders themselves), for the controller to index as
        an ordinary job (progress, Stop).
    sig_folder_note(str): what a sync did or could not do, for the status bar.
    sig_watched(list): the watched folders as (folder, problem or "") pairs.
    sig_pending(int): chunks a staged index has still to encode whole (after a
        load or an ingest, when there are some).
    sig_completion(object): CompletionProgress while they are encoded.
    sig_completed(int, object): a CompleteJob's id and its CompletionReport.
    """

    sig_ready = Signal(object)
    sig_documents = Signal(list)
    sig_queued = Signal(int, list, list)
    sig_progress = Signal(object)
    sig_ingest_finished = Signal(object)
    sig_failed = Signal(str)
    sig_damaged = Signal(str, str)
    sig_document_text = Signal(object, str)
    sig_folder_files = Signal(list)
    sig_folder_note = Signal(str)
    sig_watched = Signal(list)
    sig_pending = Signal(int)
    sig_completion = Signal(object)
    sig_completed = Signal(int, object)
    _sig_changes = Signal(object)
    """From the watcher's thread to this worker's (queued)."""

    def __init__(self, settings: Settings) -> None:
        super().__init__()
        self._settings = settings
        self._library: Library | None = None
        self._watcher: FolderWatcher | None = None
        self._frozen_at = time.monotonic()
        self._listed: tuple[int, float] | None = None
        """While an ingest runs: (documents committed at the last listing, the
        earliest time of the next)."""
        self._sig_changes.connect(self.sync_changes)

    @Slot()
    def load(self) -> None:
        try:
            self._library = Library.open(self._settings)
        except IndexDamaged as exc:
            self.sig_damaged.emit(str(exc.directory), exc.what)
            return
        except Exception as exc:  # shown to the user, never swallowed
            self.sig_failed.emit(readable_error(exc))
            return
        self.sig_ready.emit(self._library.reader(self._settings))
        self.refresh()
        self._start_watching()
        freeze_heap()  # the library and its encoders are loaded
        self._emit_pending()

    def _emit_pending(self) -> None:
        if self._library is None:
            return
        try:
            pending = self._library.store.count_pending_vectors()
        except Exception as exc:
            self.sig_failed.emit(readable_error(exc))
            return
        if pending:
            self.sig_pending.emit(pending)

    @Slot(object)
    def complete(self, job: CompleteJob) -> None:
        """A staged index's second stage, until done or the job is cancelled (what
        was encoded is committed either way)."""
        if self._library is None or job.cancel.cancelled:
            self.sig_completed.emit(job.id, CompletionReport(cancelled=True))
            return
        try:
            report = self._library.complete_index(
                lambda p: self.sig_completion.emit(CompletionProgress(**p.__dict__)),
                job.cancel,
            )
        except Exception as exc:
            self.sig_failed.emit(readable_error(exc))
            report = CompletionReport(cancelled=True)
        self.sig_completed.emit(job.id, report)

    # ---- watched folders ---------------------------------------------------------
    def _watched(self) -> WatchedFolders | None:
        if self._library is None:
            return None
        return WatchedFolders(self._library.store.directory)

    def _start_watching(self) -> None:
        """Watch the library's folders and catch up with what changed while the
        app was closed (the rescan goes through the controller as a job)."""
        watched = self._watched()
        self._emit_watched()
        if watched is None or not watched.folders():
            return
        folders = watched.folders()
        self.sync_changes(Changes(changed=set(folders), gone=set(folders)))
        for folder in folders:
            self._watch(folder)

    def _watch(self, folder: Path) -> None:
        if self._watcher is None:
            self._watcher = FolderWatcher(self._sig_changes.emit)
            self._watcher.start()
        why = self._watcher.watch(folder)
        if why:
            self.sig_folder_note.emit(why)

    def _emit_watched(self) -> None:
        watched = self._watched()
        folders = watched.folders() if watched is not None else []
        self.sig_watched.emit([(str(f), unreadable(f)) for f in folders])

    @Slot(str)
    def unwatch(self, folder: str) -> None:
        """Stop keeping ``folder`` in sync; its documents stay."""
        watched = self._watched()
        if watched is not None and watched.remove(Path(folder)):
            if self._watcher is not None:
                self._watcher.unwatch(Path(folder))
            self.sig_folder_note.emit(
                f"No longer watching {folder}; its documents stay in the library."
            )
        self._emit_watched()

    @Slot(object)
    def sync_changes(self, changes: Changes) -> None:
        """Documents of deleted files go now; new and changed files are handed to
        the controller to index."""
        watched = self._watched()
        if watched is None or self._library is None:
            return
        folders = watched.folders()
        try:
            report = remove_gone(self._library, changes, folders)
        except Exception as exc:
            self.sig_failed.emit(readable_error(exc))
            return
        for note in report.notes:
            self.sig_folder_note.emit(note)
        if report.removed:
            names = ", ".join(Path(p).name for p in report.removed[:3])
            more = len(report.removed) - 3
            self.sig_folder_note.emit(
                f"Removed from the library (deleted from a watched folder): {names}"
                + (f" and {more} more" if more > 0 else "")
            )
            self.refresh()
        files = to_index(changes, folders)
        if files:
            self.sig_folder_files.emit([str(f) for f in files])

    @Slot()
    def stop_watching(self) -> None:
        """Safe from any thread (the window calls it as it closes)."""
        watcher, self._watcher = self._watcher, None
        if watcher is not None:
            watcher.stop()

    @Slot()
    def refresh(self) -> None:
        if self._library is not None:
            try:
                self.sig_documents.emit(self._library.documents())
            except Exception as exc:
                self.sig_failed.emit(readable_error(exc))

    @Slot(object)
    def ingest(self, job: IngestJob) -> None:
        """Find the files (folders are walked here, never on the GUI thread), say
        which were found, then index them with the job's own cancel token."""
        watched = self._watched()
        files, failures = discover(
            job.paths, within=watched.folders() if watched and job.synced else None
        )
        if watched is not None and job.synced:
            files = without_excluded(files, watched.excluded())
        elif watched is not None:
            watched.include(job.paths)  # the user added them again
        self.sig_queued.emit(job.id, [str(f) for f in files], failures)
        for path in job.paths:  # a folder added to the library is kept in sync
            folder = Path(path).expanduser()
            if watched is not None and not job.force and folder.is_dir():
                self._watch(watched.add(folder))  # once: add and watch skip repeats
                self._emit_watched()
        if not files:
            self.sig_ingest_finished.emit(IngestReport(failed=failures))
            return
        if self._library is None:
            self.sig_failed.emit("The library is still loading; try again in a moment.")
            self.sig_ingest_finished.emit(IngestReport(cancelled=True))
            return
        self._listed = (0, time.monotonic() + LIST_EVERY_S)
        try:
            report = self._library.ingest(
                files, progress=self._on_progress, cancel=job.cancel, force=job.force
            )
        except Exception as exc:
            self.sig_failed.emit(readable_error(exc))
            report = IngestReport(cancelled=True)
        finally:
            self._listed = None
        report.failed[:0] = failures
        self.sig_ingest_finished.emit(report)
        self.refresh()
        freeze_heap()  # what the ingest imported and loaded stays
        if not report.cancelled:  # (Stop stops the second stage too)
            self._emit_pending()

    @Slot(object)
    def set_settings(self, settings: Settings) -> None:
        moved = library_location(settings) != library_location(self._settings)
        self._settings = settings
        if moved:  # another library: its own index, embedder and watched folders
            self.stop_watching()
            self.load()
        elif self._library is not None:
            self._library.settings = settings  # this thread's own object

    @Slot(object)
    def rebuild(self, job: RebuildJob) -> None:
        """Re-index the whole library with the configured embedder, beside the old
        index (which stays searchable until the new one is complete), then load
        the new one (sig_ready again)."""
        store = self._library.store if self._library else None
        directory: Path | str = (
            library_location(self._settings)
            if store is None
            else store.location
            if store.remote
            else store.directory
        )
        try:
            report = rebuild_index(
                self._settings, directory, self._on_progress, job.cancel
            )
        except Exception as exc:
            self.sig_failed.emit(readable_error(exc))
            self.sig_ingest_finished.emit(IngestReport(cancelled=True))
            return
        self.sig_ingest_finished.emit(report)
        if not report.cancelled:  # stopped: the old index is still the one open
            self.load()

    def _on_progress(self, progress: IngestProgress) -> None:
        now = time.monotonic()
        if now - self._frozen_at >= FREEZE_EVERY_S:  # a long ingest's own objects
            self._frozen_at = now
            freeze_heap()
        copy = IngestProgress(**progress.__dict__)
        self.sig_progress.emit(copy)
        listed = self._listed
        if listed and len(progress.committed) > listed[0] and now >= listed[1]:
            self.refresh()
            took = time.monotonic() - now  # a large library's listing takes longer:
            wait = max(LIST_EVERY_S, LIST_SHARE * took)  # ingest at most ~5 % slower
            self._listed = (len(progress.committed), now + wait)

    @Slot(str)
    def remove(self, path: str) -> None:
        if self._library is None:
            return
        try:
            remove_from_library(self._library, Path(path))
        except Exception as exc:
            self.sig_failed.emit(readable_error(exc))
        self.refresh()

    @Slot(object)
    def read_document(self, source: Source) -> None:
        """Re-extract a text document so the viewer can show the passage in place."""
        try:
            document = parse_file(Path(source.path), max_bytes=2**40)
        except Exception as exc:
            self.sig_failed.emit(readable_error(exc))
            return
        page = next(
            (p for p in document.pages if p.number == source.page), document.pages[0]
        )  # an EPUB's chapter; the one text of other kinds
        self.sig_document_text.emit(source, page.text)
