"""Start the window: ``assistant`` with no arguments, or ``python -m assistant``."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication

from assistant.config import load_settings, resources_dir

if TYPE_CHECKING:
    from assistant.ui.main_window import MainWindow


def run(argv: list[str] | None = None, files: list[str] | None = None) -> int:
    """Open the window; ``files`` are added to the library once it is up."""
    from assistant.ui.main_window import MainWindow

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
    window = MainWindow(load_settings())
    window.show()
    if files:
        window.add_paths([str(Path(f).resolve()) for f in files])
    if os.environ.get("ASSISTANT_EXIT_WHEN_READY"):
        _exit_when_ready(app, window)
    return int(app.exec())


def _exit_when_ready(app: QApplication, window: MainWindow) -> None:
    """For smoke tests of a build: quit once both models are loaded, printing the
    wall-clock time (exit status 1 if a model failed to load)."""
    ready: set[str] = set()

    def mark(what: str) -> None:
        ready.add(what)
        if ready == {"library", "model"}:
            print(f"ready at {time.time():.3f}", flush=True)
            app.quit()

    def fail(message: str) -> None:
        print(f"failed: {message}", file=sys.stderr, flush=True)
        app.exit(1)

    window.library_worker.sig_ready.connect(lambda _: mark("library"))
    window.chat_worker.sig_model_ready.connect(lambda _: mark("model"))
    window.library_worker.sig_failed.connect(fail)
    window.chat_worker.sig_failed.connect(fail)
