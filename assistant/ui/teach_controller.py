"""Wires the Teach view to its training worker thread and tells the chat pane
which adapters exist."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QMessageBox, QWidget

from assistant.core.config import Settings
from assistant.core.errors import AssistantError
from assistant.core.model_files import resolve_chat_model
from assistant.core.services.library_teaching import LibraryLesson, reading_settings
from assistant.core.teach.adapters import AdapterRecord, AdapterStore
from assistant.core.teach.trainer import LoraSettings
from assistant.ui.teach_window import TeachWindow
from assistant.ui.workers.teach_worker import LibraryTeachJob, TeachWorker, TrainJob
from assistant.ui.workers.worker_thread import join, start_worker


class TeachController(QObject):
    """Signals:
    sig_train(object): a TrainJob, to the worker.
    sig_teach_library(object): a LibraryTeachJob, to the worker.
    sig_adapters_changed(list): adapter names, newest first.
    sig_trained(object): an AdapterRecord (for tests and the status bar).
    """

    sig_train = Signal(object)
    sig_teach_library = Signal(object)
    sig_adapters_changed = Signal(list)
    sig_trained = Signal(object)

    def __init__(
        self,
        parent: QWidget,
        settings: Callable[[], Settings],
        store: AdapterStore | None = None,
    ) -> None:
        super().__init__(parent)
        self._parent = parent
        self._settings = settings
        self.store = store or AdapterStore()
        self.window: TeachWindow | None = None
        self._job: TrainJob | LibraryTeachJob | None = None
        self.worker = TeachWorker()
        self.worker_thread = start_worker(
            self,
            self.worker,
            "teach-worker",
            [
                (self.sig_train, self.worker.train),
                (self.sig_teach_library, self.worker.teach_library),
                (self.worker.sig_finished, self._on_finished),
            ],
        )

    def names(self) -> list[str]:
        """Adapters trained on the current chat model (others cannot be applied)."""
        try:
            model = resolve_chat_model(self._settings().chat_model).name
        except AssistantError:
            return []
        return [r.name for r in self.store.records() if r.base_model == model]

    def on_settings_changed(self) -> None:
        self.announce()

    def adapter_path(self, name: str) -> Path:
        return self.store.adapter_file(name)

    def open(self) -> TeachWindow:
        if self.window is None:
            window = TeachWindow(self.store, self._parent)
            window.sig_train.connect(self._on_train_requested)
            window.sig_teach_library.connect(self.teach_library)
            window.sig_cancel.connect(self.cancel)
            window.sig_delete_adapter.connect(self.delete_adapter)
            self.worker.sig_progress.connect(window.on_progress)
            self.worker.sig_cancelled.connect(window.on_cancelled)
            self.worker.sig_failed.connect(window.on_failed)
            self.window = window
        self.window.show()
        self.window.raise_()
        self.window.activateWindow()
        return self.window

    def _model_or_warn(self) -> Path | None:
        """The chat model's file to train on, or None after saying why not."""
        try:
            return resolve_chat_model(self._settings().chat_model)
        except AssistantError as exc:
            QMessageBox.warning(self._parent, "Teach the model", str(exc))
            if self.window is not None:
                self.window.set_training(False)
            return None

    def _on_train_requested(
        self, pairs: list, name: str, settings: LoraSettings
    ) -> None:
        model = self._model_or_warn()
        if model is None:
            return
        job = TrainJob(
            model,
            pairs,
            name,
            settings.model_copy(update={"threads": self._settings().threads}),
        )
        self._job = job
        self.sig_train.emit(job)

    def teach_library(self, name: str, limit: int) -> None:
        """Teach the chat model to read the library's documents (or go on with
        a stopped run of the same name)."""
        settings = self._settings()
        model = self._model_or_warn()
        if model is None:
            return
        job = LibraryTeachJob(
            settings,
            model,
            LibraryLesson(name, limit, settings=reading_settings(settings.threads)),
        )
        self._job = job
        self.sig_teach_library.emit(job)

    def cancel(self) -> None:
        if self._job is not None:
            self._job.cancel.cancel()

    def _on_finished(self, record: AdapterRecord) -> None:
        # The window hears of it here rather than through its own queued
        # connection, so its list is current by the time sig_trained is out.
        if self.window is not None:
            self.window.on_finished(record)
        self.announce()
        self.sig_trained.emit(record)

    def delete_adapter(self, name: str) -> None:
        """The one place adapters are deleted (the chat's list follows)."""
        self.store.delete(name)
        if self.window is not None:
            self.window.refresh_adapters()
        self.announce()

    def announce(self) -> None:
        self.sig_adapters_changed.emit(self.names())

    def shutdown(self, wait_ms: int) -> list[str]:
        """Stops at the next training step (loading the base model, ~1 min, cannot
        be interrupted; nothing half-written is kept either way). Returns the
        thread's name if it did not stop within ``wait_ms``."""
        self.cancel()
        if self.window is not None:
            self.window.save_draft()
        return join(self.worker_thread, wait_ms)
