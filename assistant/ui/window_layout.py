"""The window's remembered layout (geometry, pane sizes, PDF zoom) in
``window.ini`` beside the data, apart from the settings a user edits."""

from __future__ import annotations

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication, QMainWindow, QSplitter

from assistant.core.config import data_dir
from assistant.ui.panes.viewer_pane import PassageViewer
from assistant.ui.theme import apply_theme, system_is_dark

DEFAULT_SIZE = (1280, 800)
TEXT_SIZES = (8, 9, 10, 11, 12, 14, 16, 18, 20)
"""Point sizes View › Larger/Smaller text steps through."""


def _state() -> QSettings:
    return QSettings(str(data_dir() / "window.ini"), QSettings.Format.IniFormat)


def restore_layout(
    window: QMainWindow, splitters: dict[str, QSplitter], viewer: PassageViewer
) -> None:
    state = _state()
    geometry = state.value("geometry")
    if geometry:
        window.restoreGeometry(geometry)
    else:
        window.resize(*DEFAULT_SIZE)
    for key, splitter in splitters.items():
        value = state.value(key)
        if value:
            splitter.restoreState(value)
    try:
        viewer.zoom = float(str(state.value("viewer_zoom", 1.0)))
    except (TypeError, ValueError):  # a hand-edited window.ini
        viewer.zoom = 1.0
    chosen = str(state.value("dark_theme", ""))
    if chosen == "true" or (chosen == "" and system_is_dark()):
        apply_theme(True)
    points = str(state.value("text_points", ""))
    if points.isdigit() and int(points) in TEXT_SIZES:
        set_text_points(int(points))


def save_layout(
    window: QMainWindow, splitters: dict[str, QSplitter], viewer: PassageViewer
) -> None:
    state = _state()
    state.setValue("geometry", window.saveGeometry())
    for key, splitter in splitters.items():
        state.setValue(key, splitter.saveState())
    state.setValue("viewer_zoom", viewer.zoom)
    state.setValue("text_points", text_points())
    state.sync()


def choose_theme(dark: bool) -> None:
    """View › Dark theme: applied now and remembered (overrides the system's)."""
    apply_theme(dark)
    state = _state()
    state.setValue("dark_theme", "true" if dark else "false")
    state.sync()


def text_points() -> int:
    return QApplication.font().pointSize()


def set_text_points(points: int) -> None:
    """The whole window's text size (every widget follows the application font)."""
    font = QApplication.font()
    font.setPointSize(points)
    QApplication.setFont(font)


def step_text_size(steps: int) -> int:
    """One size larger (+1) or smaller (-1) than now; the new size."""
    now = text_points()
    larger = [p for p in TEXT_SIZES if p > now]
    smaller = [p for p in TEXT_SIZES if p < now]
    if steps > 0 and larger:
        set_text_points(larger[0])
    elif steps < 0 and smaller:
        set_text_points(smaller[-1])
    return text_points()
