"""Runs LoRA training on its own thread (the chat model's thread stays free)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal, Slot

from assistant.core.cancel import CancelToken
from assistant.core.errors import Cancelled
from assistant.core.finetune.teach import teach
from assistant.core.finetune.trainer import LoraSettings, TrainProgress
from assistant.ui.workers.readable_error import readable_error


@dataclass(frozen=True)
class TrainJob:
    """One training run, with its own cancel token (Cancel stops exactly it)."""

    model_path: Path
    pairs: list[Any]
    name: str
    settings: LoraSettings
    cancel: CancelToken = field(default_factory=CancelToken, compare=False)


class TeachWorker(QObject):
    """Signals:
    sig_progress(object): TrainProgress (phase, step, loss, ETA).
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
        def on_progress(progress: TrainProgress) -> None:
            self.sig_progress.emit(progress)

        try:
            record = teach(
                job.model_path,
                job.pairs,
                job.name,
                job.settings,
                progress=on_progress,
                cancel=job.cancel,
            )
        except Cancelled:
            self.sig_cancelled.emit()
            return
        except Exception as exc:
            self.sig_failed.emit(readable_error(exc))
            return
        self.sig_finished.emit(record)
