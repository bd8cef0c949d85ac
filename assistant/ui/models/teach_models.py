"""Models for the Teach view: the editable table of pairs and the adapters list."""

from __future__ import annotations

import time
from typing import Any

from PySide6.QtCore import (
    QAbstractListModel,
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    Qt,
)

from assistant.core.teach.adapters import AdapterRecord
from assistant.core.teach.pairs import QAPair

Index = QModelIndex | QPersistentModelIndex
COLUMNS = ("Question", "Answer", "Source")


class PairsTableModel(QAbstractTableModel):
    """Question/answer pairs, edited in place; blank rows are dropped by pairs()."""

    def __init__(self) -> None:
        super().__init__()
        self._rows: list[list[str]] = []

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(  # noqa: N802 (Qt API)
        self, section: int, orientation: Qt.Orientation, role: int = 0
    ) -> Any:
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        if orientation == Qt.Orientation.Horizontal and 0 <= section < len(COLUMNS):
            return COLUMNS[section]
        return str(section + 1) if orientation == Qt.Orientation.Vertical else None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        value = self._rows[index.row()][index.column()]
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.EditRole):
            return value
        if role == Qt.ItemDataRole.ToolTipRole:
            return value or None
        return None

    def flags(self, index: Index) -> Qt.ItemFlag:
        base = super().flags(index)
        return base | Qt.ItemFlag.ItemIsEditable if index.isValid() else base

    def setData(  # noqa: N802 (Qt API)
        self, index: Index, value: Any, role: int = Qt.ItemDataRole.EditRole
    ) -> bool:
        if role != Qt.ItemDataRole.EditRole or not index.isValid():
            return False
        self._rows[index.row()][index.column()] = str(value)
        self.dataChanged.emit(index, index, [role])
        return True

    def add_pair(self, pair: QAPair | None = None) -> int:
        row = len(self._rows)
        self.beginInsertRows(QModelIndex(), row, row)
        pair = pair or QAPair("", "")
        self._rows.append([pair.question, pair.answer, pair.source])
        self.endInsertRows()
        return row

    def remove_rows(self, rows: list[int]) -> None:
        for row in sorted(set(rows), reverse=True):
            if 0 <= row < len(self._rows):
                self.beginRemoveRows(QModelIndex(), row, row)
                del self._rows[row]
                self.endRemoveRows()

    def set_pairs(self, pairs: list[QAPair]) -> None:
        self.beginResetModel()
        self._rows = [[p.question, p.answer, p.source] for p in pairs]
        self.endResetModel()

    def pairs(self) -> list[QAPair]:
        return [
            QAPair(q.strip(), a.strip(), s.strip())
            for q, a, s in self._rows
            if q.strip() and a.strip()
        ]

    def incomplete_rows(self) -> list[int]:
        """Rows with a question but no answer, or the reverse (1-based)."""
        return [
            i + 1
            for i, (q, a, _) in enumerate(self._rows)
            if bool(q.strip()) != bool(a.strip())
        ]


class AdaptersModel(QAbstractListModel):
    RecordRole = Qt.ItemDataRole.UserRole + 1

    def __init__(self) -> None:
        super().__init__()
        self._records: list[AdapterRecord] = []

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(self._records)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._records):
            return None
        r = self._records[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            loss = f"loss {r.losses[-1][1]:.3f}" if r.losses else ""
            when = time.strftime("%d %b %H:%M", time.localtime(r.created))
            return f"{r.name} \u2014 {r.pairs} pairs, {loss}, {when}"
        if role == Qt.ItemDataRole.ToolTipRole:
            s = r.settings
            return (
                f"Base model: {r.base_model}\n"
                f"{r.steps} steps, {s.epochs} epochs, rank {s.rank}, "
                f"learning rate {s.learning_rate:g}\n"
                f"Training took {r.total_s:.0f} s, peak memory "
                f"{r.peak_rss_mb / 1024:.1f} GB\n"
                f"Check: {r.check_question}\n\u2192 {r.check_answer}"
            )
        if role == self.RecordRole:
            return r
        return None

    def set_records(self, records: list[AdapterRecord]) -> None:
        self.beginResetModel()
        self._records = list(records)
        self.endResetModel()

    def names(self) -> list[str]:
        return [r.name for r in self._records]
