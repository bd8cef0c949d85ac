"""The Qt binding keeps Python's reference counts: PySide6 6.12.0 released the
None a void call returns and the bool an emit returns once too often, and on
Python 3.11 (None and bools are not immortal) the window aborted with
"deallocating None" within seconds of start-up (pyproject.toml pins it out)."""

from __future__ import annotations

import sys

from PySide6.QtCore import QCoreApplication, QObject, QTimer, Signal, Slot
from PySide6.QtWidgets import QApplication


class _Emitter(QObject):
    sig = Signal()

    @Slot()
    def on_sig(self) -> None:
        pass


def test_calls_and_emits_keep_the_counts_of_none_and_bools(qapp: QApplication) -> None:
    emitter = _Emitter()
    emitter.sig.connect(emitter.on_sig)
    before = [sys.getrefcount(v) for v in (None, True, False)]
    for _ in range(150):
        qapp.processEvents()
        QTimer.singleShot(0, lambda: None)
        QCoreApplication.sendPostedEvents()
        emitter.sig.emit()
    qapp.processEvents()
    after = [sys.getrefcount(v) for v in (None, True, False)]
    # a few references come and go with the interpreter's own work; 150 do not
    assert all(abs(a - b) < 50 for a, b in zip(after, before, strict=True)), (
        f"None/True/False counts {before} -> {after}"
    )
