"""Menu bar entries with their shortcuts, from a table (also registered on the
window, so the shortcuts work wherever the focus is)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMainWindow, QMenu

SEPARATOR = None
MenuEntry = tuple[str, str, str, Callable[[], object]] | tuple[str, None]
"""(menu, text, shortcut, slot), or (menu, SEPARATOR)."""


def build_menus(window: QMainWindow, entries: Sequence[MenuEntry]) -> dict[str, QMenu]:
    """The menus by name."""
    menus: dict[str, QMenu] = {}
    for entry in entries:
        name = entry[0]
        menu = menus.get(name) or window.menuBar().addMenu(name)
        menus[name] = menu
        if len(entry) == 2:
            menu.addSeparator()
            continue
        _, text, shortcut, slot = entry
        action = QAction(text, window)
        action.setShortcut(QKeySequence(shortcut))
        action.triggered.connect(lambda _=False, s=slot: s())
        menu.addAction(action)
        window.addAction(action)
    return menus
