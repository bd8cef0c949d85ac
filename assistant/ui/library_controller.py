"""The library feature: owns the library worker and its thread, the document list
model and the indexing jobs; shows passages in the viewer.

State it owns and nobody else writes: ``documents`` (the list on screen), the
indexing jobs sent (what Stop cancels), the name of the embedder in use.
"""

from __future__ import annotations

import itertools
from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QMessageBox, QWidget

from assistant.core.config import Settings
from assistant.core.ingest.staged_index import CompletionProgress, CompletionReport
from assistant.core.services.library import Library
from assistant.core.time_left import SharedPace, format_duration
from assistant.core.types import (
    DocumentInfo,
    FileFailure,
    IngestProgress,
    IngestReport,
    Source,
)
from assistant.ui.folders_dialog import FoldersDialog
from assistant.ui.models.document_model import DocumentListModel
from assistant.ui.panes.library_pane import LibraryPane
from assistant.ui.panes.viewer_pane import PassageViewer
from assistant.ui.workers.library_jobs import CompleteJob, IngestJob, RebuildJob
from assistant.ui.workers.library_worker import LibraryWorker
from assistant.ui.workers.worker_thread import Wiring, join, start_worker


class LibraryController(QObject):
    """Signals:
    to the worker (queued): sig_load(), sig_ingest(object: IngestJob),
        sig_rebuild(object: RebuildJob), sig_complete(object: CompleteJob),
        sig_remove(str), sig_read_document(object), sig_settings(object).
    out: sig_status(str, int): a status-bar message and how long it shows (ms);
        sig_state(str): "Library unavailable" / "Library damaged";
        sig_count(str): "N documents · M chunks";
        sig_documents_shown(): the list on screen was refreshed (tests);
        sig_reader(object): a reader of the loaded Library for the chat side;
        sig_indexing(bool): indexing jobs started (True) / all finished (False).
    """

    sig_load = Signal()
    sig_ingest = Signal(object)
    sig_rebuild = Signal(object)
    sig_complete = Signal(object)
    sig_remove = Signal(str)
    sig_read_document = Signal(object)
    sig_unwatch = Signal(str)
    sig_settings = Signal(object)
    sig_status = Signal(str, int)
    sig_state = Signal(str)
    sig_count = Signal(str)
    sig_documents_shown = Signal()
    sig_reader = Signal(object)
    sig_indexing = Signal(bool)

    def __init__(
        self,
        parent: QWidget,
        settings: Settings,
        pane: LibraryPane,
        viewer: PassageViewer,
        worker: LibraryWorker | None = None,
    ) -> None:
        super().__init__(parent)
        self._parent = parent
        self._settings = settings
        self.pane = pane
        self.viewer = viewer
        self.documents: DocumentListModel = pane.model
        self.embedder_name = ""
        self._job_ids = itertools.count(1)
        self._jobs: list[IngestJob | RebuildJob] = []
        """Jobs sent since the last Stop: Stop cancels the running one and those
        queued behind it (a finished job's token is cancelled harmlessly)."""
        self.watched: list[tuple[str, str]] = []
        """The watched folders and any problem with each (from the worker)."""
        self.folders_dialog: FoldersDialog | None = None
        self._queued: dict[int, IngestJob] = {}
        """Ingest jobs whose files the worker has not listed yet (by id)."""
        self._running = 0
        """Jobs sent whose report has not come back."""
        self._committed: set[str] = set()
        """Documents the running ingest has committed whole (IngestProgress)."""
        self.pace = SharedPace()
        """The time left, without the stretches an answer shared the cores."""
        self._removing: set[str] = set()
        """Removes sent while indexing: done by the worker after it."""
        self._pending = 0
        """Chunks a staged index has still to encode whole (from the worker)."""
        self._completion: CompleteJob | None = None
        """The second stage running, cancelled whenever other work comes first:
        indexing, a rebuild, an answer (the model needs the cores), Stop."""
        self.worker = worker or LibraryWorker(settings)
        self.worker_thread = start_worker(
            self, self.worker, "library-worker", self._wiring()
        )
        self.sig_load.emit()

    def _wiring(self) -> Wiring:
        worker, pane = self.worker, self.pane
        return [
            (self.sig_load, worker.load),
            (self.sig_ingest, worker.ingest),
            (self.sig_rebuild, worker.rebuild),
            (self.sig_complete, worker.complete),
            (worker.sig_pending, self._on_pending),
            (worker.sig_completion, self._on_completion),
            (worker.sig_completed, self._on_completed),
            (self.sig_settings, worker.set_settings),
            (self.sig_remove, worker.remove),
            (self.sig_read_document, worker.read_document),
            (worker.sig_ready, self._on_ready),
            (worker.sig_documents, self._on_documents),
            (worker.sig_queued, self._on_queued),
            (worker.sig_progress, self._on_progress),
            (worker.sig_ingest_finished, self._on_finished),
            (worker.sig_failed, self._on_failed),
            (worker.sig_damaged, self._on_damaged),
            (worker.sig_document_text, self.viewer.show_text_passage),
            (worker.sig_folder_files, lambda paths: self.add(paths, synced=True)),
            (worker.sig_watched, self._on_watched),
            (self.sig_unwatch, worker.unwatch),
            (worker.sig_folder_note, lambda text: self.sig_status.emit(text, 15000)),
            (pane.sig_remove, self.remove),
            (pane.sig_reindex, lambda path: self.add([path], force=True)),
            (pane.sig_retry, self.retry),
            (pane.sig_cancel, self.cancel),
            (pane.sig_open, self.open_document),
        ]

    # ---- jobs --------------------------------------------------------------------
    def add(self, paths: list[str], force: bool = False, synced: bool = False) -> None:
        """Index files and folders (walked on the worker thread); ``synced``:
        what folder sync found (files the user removed stay out)."""
        job = IngestJob(next(self._job_ids), tuple(paths), force, synced)
        self._pause_completion()
        self._jobs.append(job)
        self._queued[job.id] = job
        self._job_started()
        self.sig_ingest.emit(job)

    def _job_started(self) -> None:
        self._running += 1
        if self._running == 1:
            self.sig_indexing.emit(True)

    def rebuild(self) -> None:
        """Re-index every document with the configured embedding model (after a
        change of model, or to repair a damaged index); the old index stays in use
        until the new one is complete, and Stop keeps it."""
        job = RebuildJob(next(self._job_ids))
        self._pause_completion()
        self._jobs.append(job)
        self.pane.stop_button.setEnabled(True)
        self.sig_status.emit("Re-indexing the library…", 0)
        self._job_started()
        self.sig_rebuild.emit(job)

    def cancel(self) -> None:
        """Stop: the running job ends after its current batch (whole documents
        stay committed)."""
        if self._completion is not None and not self._jobs:
            self.sig_status.emit(
                "Stopped improving the index: it is searchable; the rest is done "
                "the next time documents are added or the app starts.",
                15000,
            )
        self._cancel_jobs()
        self.pane.stop_button.setEnabled(False)
        self.pane.progress_label.setText("Stopping after the current batch…")

    def _cancel_jobs(self) -> None:
        for job in self._jobs:
            job.cancel.cancel()
        self._jobs.clear()
        self._pause_completion()
        self._pending = 0  # (Stop: not resumed until the worker says so again)

    # ---- a staged index's second stage -------------------------------------------
    def _on_pending(self, chunks: int) -> None:
        self._pending = chunks
        self._resume_completion()

    def _resume_completion(self) -> None:
        """Start the second stage when nothing else needs the cores."""
        if (
            self._pending
            and self._completion is None
            and not self._running
            and not self.pace.sharing
        ):
            self._completion = CompleteJob(next(self._job_ids))
            self.sig_complete.emit(self._completion)

    def _pause_completion(self) -> None:
        """Cancel the running second stage (what it encoded is committed); it is
        started again once the work that came first is done."""
        if self._completion is not None:
            self._completion.cancel.cancel()

    def _on_completion(self, progress: CompletionProgress) -> None:
        if self._completion is not None and not self._completion.cancel.cancelled:
            self.pane.show_completion(progress)

    def _on_completed(self, job_id: int, report: CompletionReport) -> None:
        if self._completion is None or self._completion.id != job_id:
            return  # (a stale report: a newer job is running)
        paused = self._completion.cancel.cancelled
        self._completion = None
        if not self._running:
            self.pane.hide_progress()
        if not report.cancelled and report.chunks:
            self.sig_status.emit(
                f"Index complete: {report.chunks:,} passages encoded whole in "
                f"{format_duration(report.seconds)}",
                10000,
            )
        if not (report.cancelled and paused):  # done, or failed (the worker said
            self._pending = 0  # why): not again until it finds chunks pending
        self._resume_completion()

    def set_settings(self, settings: Settings) -> None:
        self._settings = settings
        self.sig_settings.emit(settings)

    def remove(self, path: str) -> None:
        row = self.documents.row_for(path)
        if row is not None and row.state == "failed":
            self.documents.drop_failed(path)
            return
        answer = QMessageBox.question(
            self._parent,
            "Remove document",
            f"Remove \u201c{Path(path).name}\u201d from the library?\n\n{path}\n\n"
            "The file "
            "itself is not touched; adding it again indexes it again. In a watched "
            "folder, syncing leaves it out until then.",
        )
        if answer != QMessageBox.StandardButton.Yes:
            return
        if self.viewer.shows(path):
            self.viewer.show_message(f"{Path(path).name} was removed from the library.")
        if self._running:  # the worker removes it after the job in progress
            self._removing.add(path)
            self.documents.mark(path, "removing")
            self.sig_status.emit(
                f"“{Path(path).name}” will be removed once the indexing in "
                "progress ends (Stop removes it at once).",
                10000,
            )
        self.sig_remove.emit(path)

    def retry(self, path: str) -> None:
        """Add a failed file again, or continue a partly indexed one."""
        self.documents.drop_failed(path)
        self.add([path])

    # ---- watched folders ----------------------------------------------------------
    def manage_folders(self) -> None:
        """File › Watched folders…: the list, and Stop watching."""
        if self.folders_dialog is None:
            self.folders_dialog = FoldersDialog(self._parent)
            self.folders_dialog.sig_unwatch.connect(self.sig_unwatch.emit)
            self.folders_dialog.sig_add.connect(self.pane.choose_folder)
        self.folders_dialog.show_folders(self.watched)
        self.folders_dialog.show()
        self.folders_dialog.raise_()

    def _on_watched(self, folders: list[tuple[str, str]]) -> None:
        self.watched = list(folders)
        if self.folders_dialog is not None:
            self.folders_dialog.show_folders(self.watched)

    # ---- the passage viewer ------------------------------------------------------
    @property
    def indexing(self) -> bool:
        """Indexing jobs are running (or queued) on the library thread."""
        return self._running > 0

    def show_source(self, source: Source) -> None:
        """A PDF's or an image's passage on its rendered page; other files re-read
        on the worker."""
        if self.viewer.shows_pages(source):
            if not self.viewer.show_page_passage(source):
                self.viewer.show_message(
                    f"Cannot open {Path(source.path).name}: the "
                    "file was moved or deleted."
                )
        else:
            self.sig_read_document.emit(source)

    def open_document(self, path: str) -> None:
        self.show_source(Source(0, path, Path(path).stem, 1, "1", 0, 0, 0.0, ""))

    # ---- from the worker ---------------------------------------------------------
    def _on_ready(self, reader: Library) -> None:
        self.embedder_name = reader.embedder.name
        self.sig_reader.emit(reader)
        if reader.awaiting_embedder:  # the settings chose another embedder
            self.sig_status.emit(
                f"Still searching with {reader.embedder.name}: File \u203a Re-index "
                f"library to use {reader.awaiting_embedder}",
                60000,
            )
        elif reader.embedder.name == self._settings.embedding_model or (
            "embedding_model" in self._settings.model_fields_set
        ):
            self.sig_status.emit("Library loaded", 3000)
        else:  # built before the default embedder changed: works, searches worse
            self.sig_status.emit(
                f"Indexed with an earlier embedder ({reader.embedder.name}): "
                "File \u203a Re-index library for better search",
                30000,
            )

    def _on_documents(self, documents: list[DocumentInfo]) -> None:
        busy: set[str] = set()  # queued or being indexed, not committed yet
        if self._running:
            busy = {
                row.path
                for row in self.documents.rows()
                if row.state in ("queued", "indexing")
            } - self._committed
        if not self._running:  # the removes wait no more: done once not listed
            self._removing &= {d.path for d in documents}
        self.documents.set_documents(documents, busy, self._removing)
        chunks = sum(d.chunks for d in documents)
        count = len(documents)
        noun = "document" if count == 1 else "documents"
        self.sig_count.emit(f"{count} {noun} · {chunks} chunks")
        self.sig_documents_shown.emit()

    def _on_queued(
        self, job_id: int, files: list[str], failures: list[FileFailure]
    ) -> None:
        for failure in failures:
            self.documents.mark(failure.path, "failed", failure.reason)
        job = self._queued.pop(job_id, None)
        force = job is not None and job.force
        for file in files:
            row = self.documents.row_for(file)
            if row is None or row.state != "ready" or force:
                self.documents.mark(file, "queued")

    def set_sharing(self, busy: bool) -> None:
        """The chat model is answering: the cores are shared meanwhile (the
        second stage of a staged index waits)."""
        self.pace.sharing = busy
        if busy:
            self._pause_completion()
        else:
            self._resume_completion()

    def _on_progress(self, progress: IngestProgress) -> None:
        self._committed = set(progress.committed)
        self.pane.show_progress(progress, self.pace.eta_s(progress))
        if progress.current:  # (how far: the bar below, one figure for the job;
            # a row's own percent was the batch's chunks under one file's name)
            for row in self.documents.rows():
                if row.name == progress.current and row.state == "queued":
                    self.documents.mark(row.path, "indexing")

    def _on_finished(self, report: IngestReport) -> None:
        self._running = max(0, self._running - 1)
        self._committed = set()
        if not self._running:
            self.sig_indexing.emit(False)
        self.pane.hide_progress()
        for failure in report.failed:
            self.documents.mark(failure.path, "failed", failure.reason)
        for copy in report.copies:  # its content is listed under the other path
            self.documents.drop(copy)
        for row in self.documents.rows():
            if row.state in ("queued", "indexing") and report.cancelled:
                if row.path in report.partial:  # its first pages are searchable
                    continue  # (the documents that follow show it as partial)
                self.documents.mark(row.path, "failed", "stopped before it was indexed")
        summary = report.counts()
        verb = "Indexing stopped: " if report.cancelled else "Indexing finished: "
        if not report.cancelled and (report.added or report.updated):
            verb = "Searchable by meaning: "
        told = "".join(f" \u2014 {note}" for note in report.notes[:2])
        self.sig_status.emit(verb + summary + told, 20000 if told else 10000)
        notes = {note.path: note.reason for note in report.notes}
        for path in report.added + report.updated:
            self.documents.set_note(path, notes.get(path, ""))

    def _on_failed(self, message: str) -> None:
        self.sig_state.emit("Library unavailable")
        QMessageBox.warning(self._parent, "Library", message)

    def _on_damaged(self, folder: str, what: str) -> None:
        self.sig_state.emit("Library damaged")
        answer = QMessageBox.question(
            self._parent,
            "Library damaged",
            f"The library index in {folder} cannot be read ({what}).\n\n"
            "Re-index it now from your files? Your files are not touched, and the "
            "documents of the newest readable version are indexed again. (Later: "
            "File › Re-index library.)",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.Yes,
        )
        if answer == QMessageBox.StandardButton.Yes:
            self.rebuild()

    def shutdown(self, wait_ms: int) -> list[str]:
        """Cancel the running job and stop the thread; the names of threads that
        did not stop in time (the index stays consistent either way)."""
        self._cancel_jobs()
        self.worker.stop_watching()
        return join(self.worker_thread, wait_ms)
