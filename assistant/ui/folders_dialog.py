"""File › Watched folders…: the folders kept in sync with the library, any
problem with each (missing, unreadable), and Stop watching."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)


class FoldersDialog(QDialog):
    """Signals:
    sig_unwatch(str): the folder to stop watching (its documents stay).
    sig_add(): Add folder… pressed.
    """

    sig_unwatch = Signal(str)
    sig_add = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Watched folders")
        self.resize(640, 320)
        intro = QLabel(
            "Files saved, moved or deleted in these folders are indexed or removed "
            "within seconds, and changes made while Assistant was closed are found "
            "when it starts. Stop watching keeps the documents in the library."
        )
        intro.setWordWrap(True)
        self.list = QListWidget()
        self.list.setWordWrap(True)
        self.list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.list.itemSelectionChanged.connect(self._on_selection)
        self.empty = QLabel("No folders are watched yet: add one with Add folder….")
        self.unwatch_button = QPushButton("&Stop watching")
        self.unwatch_button.clicked.connect(self._unwatch)
        add = QPushButton("&Add folder…")
        add.clicked.connect(self.sig_add.emit)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.addButton(add, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.addButton(self.unwatch_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.rejected.connect(self.close)
        layout = QVBoxLayout(self)
        for widget in (intro, self.list, self.empty, buttons):
            layout.addWidget(widget)

    def show_folders(self, folders: list[tuple[str, str]]) -> None:
        self.list.clear()
        for folder, problem in folders:
            item = QListWidgetItem(
                folder
                + (
                    f"\n    \u26a0 {problem.split(': ', 1)[-1].split(';')[0]}"
                    if problem
                    else ""
                )
            )
            item.setData(Qt.ItemDataRole.UserRole, folder)
            if problem:
                item.setToolTip(problem)
            self.list.addItem(item)
        self.empty.setVisible(not folders)
        self._on_selection()

    def _on_selection(self) -> None:
        self.unwatch_button.setEnabled(bool(self.list.selectedItems()))

    def _unwatch(self) -> None:
        for item in self.list.selectedItems():
            self.sig_unwatch.emit(str(item.data(Qt.ItemDataRole.UserRole)))
