"""The conversation on screen, as a list model: a view of one
``ConversationRecord``'s messages (the record is the only copy; an answer being
streamed is its last message)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from PySide6.QtCore import QAbstractListModel, QModelIndex, QPersistentModelIndex, Qt

from assistant.core.answer.conversations import ConversationRecord, Message

Index = QModelIndex | QPersistentModelIndex


class ChatMessagesModel(QAbstractListModel):
    RoleRole = Qt.ItemDataRole.UserRole + 1
    MessageRole = Qt.ItemDataRole.UserRole + 2
    StreamRole = Qt.ItemDataRole.UserRole + 3
    """In ``dataChanged`` roles: only text was appended to the last message (a
    view can append the new text instead of rendering everything again)."""

    def __init__(self) -> None:
        super().__init__()
        self._record = ConversationRecord()

    @property
    def _messages(self) -> list[Message]:
        return self._record.messages

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(self._messages)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._messages):
            return None
        message = self._messages[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return message.text
        if role == self.RoleRole:
            return message.role
        if role == self.MessageRole:
            return message
        return None

    def messages(self) -> list[Message]:
        return list(self._messages)

    def show(self, record: ConversationRecord) -> None:
        """Show ``record``; every change below is a change of it."""
        self.beginResetModel()
        self._record = record
        self.endResetModel()

    def shows(self, record: ConversationRecord) -> bool:
        return self._record is record

    def truncate(self, count: int) -> None:
        """Keep the first ``count`` messages."""
        if count >= len(self._messages):
            return
        self.beginRemoveRows(QModelIndex(), count, len(self._messages) - 1)
        del self._messages[count:]
        self.endRemoveRows()

    def append(self, message: Message) -> None:
        self.beginInsertRows(QModelIndex(), len(self._messages), len(self._messages))
        self._messages.append(message)
        self.endInsertRows()

    def extend_last(self, text: str) -> None:
        """Add streamed text to the last (assistant) message."""
        if not self._messages:
            return
        self._messages[-1].text += text
        last = self.index(len(self._messages) - 1)
        self.dataChanged.emit(last, last, [self.StreamRole])

    def show_quotes(self, quotes: tuple[tuple[int, str], ...]) -> None:
        """The lines to read while the last (assistant) message waits for its
        first words."""
        if not self._messages:
            return
        self._messages[-1] = replace(self._messages[-1], quotes=quotes)
        last = self.index(len(self._messages) - 1)
        self.dataChanged.emit(last, last)

    def replace_last(self, message: Message) -> None:
        if not self._messages:
            return
        self._messages[-1] = message
        last = self.index(len(self._messages) - 1)
        self.dataChanged.emit(last, last)
