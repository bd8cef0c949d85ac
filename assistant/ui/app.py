"""Start the window: ``assistant`` with no arguments, or ``python -m assistant``."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Slot
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication

from assistant.core.config import read_settings, resources_dir

if TYPE_CHECKING:
    from assistant.ui.main_window import MainWindow  # noqa: F401 (annotations)


def share_the_interpreter() -> None:
    """Workers run Python too (parsing, chunking); a shorter GIL switch interval
    lets the event loop get the interpreter back sooner (default 5 ms)."""
    sys.setswitchinterval(0.001)


def run(argv: list[str] | None = None, files: list[str] | None = None) -> int:
    """Open the window; ``files`` are added to the library once it is up."""
    from assistant.core.fsutil import private_files
    from assistant.ui.main_window import MainWindow
    from assistant.ui.preflight import check_desktop_libraries

    problem = check_desktop_libraries()
    if problem:
        print(problem, file=sys.stderr)
        return 1
    private_files()
    share_the_interpreter()

    app = QApplication.instance() or QApplication(
        argv if argv is not None else sys.argv
    )
    assert isinstance(app, QApplication)
    app.setApplicationName("Assistant")
    app.setOrganizationName("assistant")
    icon = resources_dir() / "icons" / "assistant.svg"
    app.setWindowIcon(
        QIcon(str(icon)) if icon.is_file() else QIcon.fromTheme("help-browser")
    )
    app.setDesktopFileName("assistant")
    settings, refused = read_settings()
    window = MainWindow(settings)
    window.show()
    if refused:
        window.warn_refused_settings(refused)
    if files:
        window.add_paths([str(Path(f).resolve()) for f in files])
    if os.environ.get("ASSISTANT_EXIT_WHEN_READY"):
        _ExitWhenReady(app, window)
    code = int(app.exec())
    window.shutdown()  # also when the loop ends without closing the window
    return code


class _ExitWhenReady(QObject):
    """For smoke tests of a build: quit once both models are loaded, printing the
    wall-clock time (exit status 1 if a model failed to load). A QObject on the GUI
    thread, so the worker signals arrive queued."""

    def __init__(self, app: QApplication, window: MainWindow) -> None:
        super().__init__(window)
        self._app = app
        self._ready: set[str] = set()
        window.library.worker.sig_ready.connect(self.on_library)
        window.chat.worker.sig_model_ready.connect(self.on_model)
        window.library.worker.sig_failed.connect(self.on_failed)
        window.chat.worker.sig_failed.connect(self.on_failed)

    @Slot(object)
    def on_library(self, _library: object) -> None:
        self._mark("library")

    @Slot(str)
    def on_model(self, _name: str) -> None:
        self._mark("model")

    @Slot(str)
    def on_failed(self, message: str) -> None:
        print(f"failed: {message}", file=sys.stderr, flush=True)
        self._app.exit(1)

    def _mark(self, what: str) -> None:
        self._ready.add(what)
        if self._ready == {"library", "model"}:
            print(f"ready at {time.time():.3f}", flush=True)
            self._app.quit()
