"""Right pane, top: the selected answer's sources with query words highlighted."""

from __future__ import annotations

import html
import re
from collections import OrderedDict

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QSize, Qt, Signal
from PySide6.QtGui import QPainter, QTextDocument
from PySide6.QtWidgets import (
    QApplication,
    QLabel,
    QListView,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QVBoxLayout,
    QWidget,
)

from assistant.core.types import Source, shorten
from assistant.ui.models.sources_model import SourcesModel
from assistant.ui.theme import is_dark

_WORD = re.compile(r"[\u3400-\u9fff]{2,}|[^\W_]{3,}")
_STOP = {
    "the",
    "and",
    "for",
    "what",
    "how",
    "does",
    "which",
    "who",
    "why",
    "when",
    "where",
    "with",
    "that",
    "this",
    "are",
    "was",
    "from",
    "can",
    "into",
}
Index = QModelIndex | QPersistentModelIndex
HIGHLIGHT = "background-color: #ffe066; color: #000000;"


def highlight_words(text: str, query: str) -> str:
    """HTML-escaped ``text`` with the query's words marked."""
    words = {w.lower() for w in _WORD.findall(query)} - _STOP
    escaped = html.escape(text)
    if not words:
        return escaped
    pattern = re.compile(
        "|".join(
            re.escape(html.escape(w)) for w in sorted(words, key=len, reverse=True)
        ),
        re.IGNORECASE,
    )
    return pattern.sub(
        lambda m: f'<span style="{HIGHLIGHT}">{m.group(0)}</span>', escaped
    )


def source_html(source: Source, cited: bool, query: str) -> str:
    """One passage as the list shows it: where, score, cited badge, heading, text."""
    dark = is_dark()
    green, blue = ("#81c784", "#78aeed") if dark else ("#2e7d32", "#1a5fb4")
    badge = f" <b style='color:{green}'>\u2713 cited</b>" if cited else ""
    heading = f"<br><i>{html.escape(source.heading)}</i>" if source.heading else ""
    return (
        f"<b style='color:{blue}'>[{source.n}] {html.escape(source.location())}</b>"
        f" <span style='color:gray'>score {source.score:.2f}</span>{badge}{heading}"
        f"<br>{highlight_words(shorten(source.text, 420), query)}"
    )


class SourceDelegate(QStyledItemDelegate):
    """Paints a passage as rich text, wrapped to the view's width."""

    MARGIN = 6
    KEPT = 64
    """Laid-out passages kept: a list's sizes and paints reuse them (laying out
    every row's HTML on each paint stalled the window ~50 ms as an answer came)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._laid_out: OrderedDict[tuple[str, int, str], QTextDocument] = OrderedDict()

    def document(self, index: Index, width: int) -> QTextDocument:
        model = index.model()
        assert isinstance(model, SourcesModel)
        source = index.data(SourcesModel.SourceRole)
        text = source_html(
            source, bool(index.data(SourcesModel.CitedRole)), model.query
        )
        key = (text, max(width, 80), QApplication.font().key())
        document = self._laid_out.get(key)
        if document is not None:
            self._laid_out.move_to_end(key)
            return document
        document = QTextDocument()
        document.setDocumentMargin(self.MARGIN)
        document.setHtml(text)
        document.setTextWidth(key[1])
        self._laid_out[key] = document
        if len(self._laid_out) > self.KEPT:
            self._laid_out.popitem(last=False)
        return document

    def paint(
        self,
        painter: QPainter,
        option: QStyleOptionViewItem,
        index: Index,
    ) -> None:
        style = option.widget.style() if option.widget else QApplication.style()
        base = QStyleOptionViewItem(option)
        self.initStyleOption(base, index)
        base.text = ""
        item = QStyle.ControlElement.CE_ItemViewItem
        style.drawControl(item, base, painter, option.widget)
        document = self.document(index, option.rect.width())
        painter.save()
        painter.translate(option.rect.topLeft())
        document.drawContents(painter)
        painter.restore()

    def sizeHint(  # noqa: N802 (Qt API)
        self, option: QStyleOptionViewItem, index: Index
    ) -> QSize:
        width = option.rect.width() or (option.widget.width() if option.widget else 300)
        size = self.document(index, width).size()
        return QSize(int(size.width()), int(size.height()) + 2)


class SourcesPane(QWidget):
    """Signals:
    sig_open_source(object): the Source clicked.
    """

    sig_open_source = Signal(object)

    def __init__(self, model: SourcesModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = model
        self.view = QListView()
        self.view.setModel(model)
        self.view.setItemDelegate(SourceDelegate(self.view))
        self.view.setWordWrap(True)
        self.view.setResizeMode(QListView.ResizeMode.Adjust)
        self.view.setVerticalScrollMode(QListView.ScrollMode.ScrollPerPixel)
        self.view.setToolTip("Click a passage to open it in its document")
        self.view.clicked.connect(self._on_clicked)
        self.view.activated.connect(self._on_clicked)  # Enter on a selected one
        self.empty = QLabel(
            "The passages behind an answer appear here. Click one to open it in "
            "its document."
        )
        self.empty.setWordWrap(True)
        self.empty.setStyleSheet("color: gray;")
        self.empty.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("<b>Sources</b>"))
        layout.addWidget(self.empty, 1)  # the title stays at the top either way
        layout.addWidget(self.view, 1)
        model.modelReset.connect(self._on_reset)
        self._on_reset()

    def _on_reset(self) -> None:
        empty = self.model.rowCount() == 0
        self.empty.setVisible(empty)
        self.view.setVisible(not empty)
        self.view.scrollToTop()

    def _on_clicked(self, index: QModelIndex) -> None:
        source = index.data(SourcesModel.SourceRole)
        if source is not None:
            self.sig_open_source.emit(source)

    def open_number(self, n: int) -> Source | None:
        source: Source | None = self.model.source(n)
        if source is not None:
            self.sig_open_source.emit(source)
        return source
