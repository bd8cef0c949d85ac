"""Runs LoRA training on its own thread (the chat model's thread stays free)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, Signal, Slot

from assistant.core.cancel import CancelToken
from assistant.core.errors import Cancelled
from assistant.core.finetune.teach import teach
from assistant.core.finetune.trainer import LoraSettings, TrainProgress
from assistant.ui.workers.readable_error import readable_error


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

    def __init__(self) -> None:
        super().__init__()
        self.cancel_token = CancelToken()

    @Slot(object, list, str, object)
    def train(
        self, model_path: Path, pairs: list, name: str, settings: LoraSettings
    ) -> None:
        def on_progress(progress: TrainProgress) -> None:
            self.sig_progress.emit(progress)

        try:
            record = teach(
                model_path,
                pairs,
                name,
                settings,
                progress=on_progress,
                cancel=self.cancel_token,
            )
        except Cancelled:
            self.sig_cancelled.emit()
            return
        except Exception as exc:
            self.sig_failed.emit(readable_error(exc))
            return
        self.sig_finished.emit(record)
