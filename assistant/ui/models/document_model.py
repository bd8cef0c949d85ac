"""Library pane rows: indexed documents plus queued, indexing and failed files."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import (
    QAbstractListModel,
    QFileInfo,
    QModelIndex,
    QPersistentModelIndex,
    Qt,
)
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication, QFileIconProvider, QStyle

from assistant.core.types import DocumentInfo, page_noun

Index = QModelIndex | QPersistentModelIndex


@dataclass
class DocumentRow:
    path: str
    kind: str
    state: str  # queued | indexing | ready | partial | failed | removing
    pages: int = 0
    chunks: int = 0
    reason: str = ""
    pages_indexed: int = 0
    pages_by_words: int = 0
    note: str = ""
    """Indexed with something to know (OCR read nothing on some pages)."""

    @property
    def name(self) -> str:
        return Path(self.path).name

    def summary(self) -> str:
        if self.state == "failed":
            return f"failed: {self.reason}"
        if self.state == "indexing":
            return "indexing\u2026"
        if self.state == "queued":
            return "queued"
        if self.state == "removing":
            return "removed once the indexing in progress ends (Stop: at once)"
        if self.state == "partial":
            noun = page_noun(self.path)
            if self.pages_by_words > self.pages_indexed:  # words committed first
                words = (
                    f"all {self.pages:,} {noun}s"
                    if self.pages_by_words >= self.pages
                    else f"{self.pages_by_words:,} of {self.pages:,} {noun}s"
                )
                return (
                    f"partly indexed: {words} searchable by words, "
                    f"{self.pages_indexed:,} by meaning (Resume continues)"
                )
            return (
                f"partly indexed: {self.pages_indexed:,} of {self.pages:,} {noun}s "
                f"searchable · {_plural(self.chunks, 'chunk')} (Resume continues)"
            )
        noun = page_noun(self.path)
        pages = f"{_plural(self.pages, noun)} · " if self.pages else ""
        note = f" · \u26a0 {self.note.split(':')[0]}" if self.note else ""
        return f"{pages}{_plural(self.chunks, 'chunk')}{note}"


def shown_folder(path: str) -> str:
    """The file's folder, short: ~ for the home folder, the last two parts."""
    folder = Path(path).parent
    with contextlib.suppress(ValueError):  # (not under the home folder)
        folder = Path("~") / folder.relative_to(Path.home())
    parts = folder.parts
    return str(Path("…", *parts[-2:])) if len(parts) > 3 else str(folder)


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


class DocumentListModel(QAbstractListModel):
    PathRole = Qt.ItemDataRole.UserRole + 1
    StateRole = Qt.ItemDataRole.UserRole + 2
    ReasonRole = Qt.ItemDataRole.UserRole + 3
    KindRole = Qt.ItemDataRole.UserRole + 4

    def __init__(self) -> None:
        super().__init__()
        self._rows: list[DocumentRow] = []
        self._provider = QFileIconProvider()
        self._icons: dict[str, QIcon] = {}
        self._notes: dict[str, str] = {}
        """Path -> the note its last indexing left (this session)."""

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(self._rows)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        row = self._rows[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return f"{row.name}\n{self._where(row)}{row.summary()}"
        if role == Qt.ItemDataRole.DecorationRole:
            return self._icon(row)
        if role == Qt.ItemDataRole.ToolTipRole:
            note = f"\n{row.note}" if row.note else ""
            return f"{row.path}\n{row.summary()}{note}"
        if role == self.PathRole:
            return row.path
        if role == self.StateRole:
            return row.state
        if role == self.ReasonRole:
            return row.reason
        if role == self.KindRole:
            return row.kind
        return None

    def _where(self, row: DocumentRow) -> str:
        """ "in …/reports/2024 · " when another row has the same name (two files
        called R-FAQ.pdf looked the same)."""
        if sum(1 for r in self._rows if r.name == row.name) < 2:
            return ""
        return f"in {shown_folder(row.path)} \u00b7 "

    def _icon(self, row: DocumentRow) -> QIcon:
        if row.state == "failed":
            return QApplication.style().standardIcon(
                QStyle.StandardPixmap.SP_MessageBoxWarning
            )
        if row.kind not in self._icons:
            self._icons[row.kind] = self._provider.icon(QFileInfo(row.path))
        return self._icons[row.kind]

    def rows(self) -> list[DocumentRow]:
        return list(self._rows)

    def row_for(self, path: str) -> DocumentRow | None:
        return next((r for r in self._rows if r.path == path), None)

    def set_documents(
        self,
        documents: list[DocumentInfo],
        busy: set[str] | None = None,
        removing: set[str] | None = None,
    ) -> None:
        """Indexed documents replace ready rows; queued/failed rows stay, and so do
        the rows of ``busy`` paths (being indexed: a re-indexed document's old
        version, a long one's first pages are in ``documents`` meanwhile) and of
        ``removing`` ones (a remove waiting for the indexing to end)."""
        busy = (busy or set()) | (removing or set())
        indexed = {d.path for d in documents}
        kept = [
            r
            for r in self._rows
            if r.path in busy
            or (
                r.state not in ("ready", "partial", "removing")
                and r.path not in indexed
            )
        ]
        documents = [d for d in documents if d.path not in busy]
        rows = [
            DocumentRow(
                d.path,
                d.kind,
                "ready" if d.complete else "partial",
                d.pages,
                d.chunks,
                pages_indexed=d.pages_indexed,
                pages_by_words=d.pages_by_words,
                note=self._notes.get(d.path, ""),
            )
            for d in documents
        ]
        self._reset(sorted(rows + kept, key=lambda r: r.name.lower()))

    def mark(self, path: str, state: str, reason: str = "") -> None:
        row = self.row_for(path)
        if row is None:
            kind = Path(path).suffix.lstrip(".").lower()
            self.beginInsertRows(QModelIndex(), len(self._rows), len(self._rows))
            self._rows.append(DocumentRow(path, kind, state, reason=reason))
            self.endInsertRows()
            return
        row.state, row.reason = state, reason
        i = self._rows.index(row)
        self.dataChanged.emit(self.index(i), self.index(i))

    def set_note(self, path: str, note: str) -> None:
        self._notes[path] = note
        row = self.row_for(path)
        if row is not None:
            row.note = note
            i = self._rows.index(row)
            self.dataChanged.emit(self.index(i), self.index(i))

    def drop_failed(self, path: str) -> None:
        row = self.row_for(path)
        if row is not None and row.state == "failed":
            self.drop(path)

    def drop(self, path: str) -> None:
        row = self.row_for(path)
        if row is not None:
            i = self._rows.index(row)
            self.beginRemoveRows(QModelIndex(), i, i)
            self._rows.pop(i)
            self.endRemoveRows()

    def _reset(self, rows: list[DocumentRow]) -> None:
        self.beginResetModel()
        self._rows = rows
        self.endResetModel()
