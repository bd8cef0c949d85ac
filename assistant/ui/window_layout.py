"""The window's remembered layout (geometry, pane sizes, PDF zoom) in
``window.ini`` beside the data, apart from the settings a user edits."""

from __future__ import annotations

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QMainWindow, QSplitter

from assistant.config import data_dir
from assistant.ui.panes.viewer_pane import PassageViewer

DEFAULT_SIZE = (1280, 800)


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


def save_layout(
    window: QMainWindow, splitters: dict[str, QSplitter], viewer: PassageViewer
) -> None:
    state = _state()
    state.setValue("geometry", window.saveGeometry())
    for key, splitter in splitters.items():
        state.setValue(key, splitter.saveState())
    state.setValue("viewer_zoom", viewer.zoom)
    state.sync()
