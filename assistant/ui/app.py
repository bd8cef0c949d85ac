"""Start the window: ``assistant`` with no arguments, or ``python -m assistant``."""

from __future__ import annotations

import sys

from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication

from assistant.config import load_settings


def run(argv: list[str] | None = None) -> int:
    from assistant.ui.main_window import MainWindow

    app = QApplication.instance() or QApplication(
        argv if argv is not None else sys.argv
    )
    assert isinstance(app, QApplication)
    app.setApplicationName("Assistant")
    app.setOrganizationName("assistant")
    app.setWindowIcon(QIcon.fromTheme("help-browser"))
    window = MainWindow(load_settings())
    window.show()
    return int(app.exec())
