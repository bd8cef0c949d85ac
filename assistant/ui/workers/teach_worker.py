"""Runs LoRA training on its own thread (the chat model's thread stays free)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal, Slot

from assistant.core.cancel import CancelToken
from assistant.core.config import Settings
from assistant.core.errors import Cancelled
from assistant.core.services.library_teaching import LibraryLesson, teach_from_library
from assistant.core.teach.adapters import AdapterRecord
from assistant.core.teach.teaching import teach
from assistant.core.teach.trainer import LoraSettings
from assistant.ui.workers.readable_error import readable_error


@dataclass(frozen=True)
class TrainJob:
    """One training run, with its own cancel token (Cancel stops exactly it)."""

    model_path: Path
    pairs: list[Any]
    name: str
    settings: LoraSettings
    cancel: CancelToken = field(default_factory=CancelToken, compare=False)


@dataclass(frozen=True)
class LibraryTeachJob:
    """Teach the model to read the library (library_teaching.py), as a value: the
    settings it was asked with, and its own cancel token. The job opens the
    library and its own copy of the chat model for the examples (the chat keeps
    answering meanwhile, on the chat worker's copy), and closes it before the
    training child starts."""

    settings: Settings
    model_path: Path
    lesson: LibraryLesson
    cancel: CancelToken = field(default_factory=CancelToken, compare=False)


class TeachWorker(QObject):
    """Signals:
    sig_progress(object): TrainProgress (phase, step, loss, ETA), or
        ExamplesProgress while a library job makes its examples.
    sig_finished(object): the AdapterRecord of the new adapter.
    sig_cancelled(): training stopped by the user; nothing was kept.
    sig_failed(str): a readable error.
    """

    sig_progress = Signal(object)
    sig_finished = Signal(object)
    sig_cancelled = Signal()
    sig_failed = Signal(str)

    @Slot(object)
    def train(self, job: TrainJob) -> None:
        self._report(
            lambda: teach(
                job.model_path,
                job.pairs,
                job.name,
                job.settings,
                progress=self.sig_progress.emit,
                cancel=job.cancel,
            )
        )

    @Slot(object)
    def teach_library(self, job: LibraryTeachJob) -> None:
        from assistant.core.services.components import load_generator
        from assistant.core.services.library import Library

        def run() -> AdapterRecord:
            generator = load_generator(job.settings)
            try:
                return teach_from_library(
                    Library.open(job.settings),
                    generator,
                    job.model_path,
                    job.lesson,
                    on_examples=self.sig_progress.emit,
                    progress=self.sig_progress.emit,
                    cancel=job.cancel,
                    before_training=generator.close,
                )
            finally:
                generator.close()

        self._report(run)

    def _report(self, run: Callable[[], AdapterRecord]) -> None:
        """The new adapter, a cancel or a readable error, as signals."""
        try:
            record = run()
        except Cancelled:
            self.sig_cancelled.emit()
            return
        except Exception as exc:
            self.sig_failed.emit(readable_error(exc))
            return
        self.sig_finished.emit(record)
