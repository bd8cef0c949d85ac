"""Sources of the selected answer."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QAbstractListModel, QModelIndex, QPersistentModelIndex, Qt

from assistant.core.types import Source

Index = QModelIndex | QPersistentModelIndex


class SourcesModel(QAbstractListModel):
    SourceRole = Qt.ItemDataRole.UserRole + 1
    CitedRole = Qt.ItemDataRole.UserRole + 2

    def __init__(self) -> None:
        super().__init__()
        self._sources: list[Source] = []
        self._cited: set[int] = set()
        self.query = ""

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(self._sources)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._sources):
            return None
        source = self._sources[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return f"[{source.n}] {source.location()}"
        if role == self.SourceRole:
            return source
        if role == self.CitedRole:
            return source.n in self._cited
        return None

    def sources(self) -> list[Source]:
        return list(self._sources)

    def is_cited(self, n: int) -> bool:
        return n in self._cited

    def set_sources(self, sources: list[Source], cited: list[int], query: str) -> None:
        self.beginResetModel()
        self._sources = list(sources)
        self._cited = set(cited)
        self.query = query
        self.endResetModel()

    def source(self, n: int) -> Source | None:
        return next((s for s in self._sources if s.n == n), None)
