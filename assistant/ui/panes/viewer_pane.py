"""Right pane, bottom: the cited passage in its document.

PDFs show the real page (QtPdf) with the passage's text boxes painted over it.
The passage's offsets come from pypdf's text while QtPdf (pdfium) extracts its
own, so the passage is located by matching its characters with whitespace ignored.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QEvent, QObject, QRectF, QSize, Qt, QTimer
from PySide6.QtGui import (
    QColor,
    QImage,
    QKeySequence,
    QPainter,
    QPixmap,
    QPolygonF,
    QResizeEvent,
    QShortcut,
    QTextCharFormat,
    QTextCursor,
    QWheelEvent,
)
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QScrollArea,
    QStackedWidget,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from assistant.core.types import Source
from assistant.ui.widgets import tool_button

HIGHLIGHT = QColor(255, 214, 0, 110)
MIN_SCALE, MAX_SCALE = 0.6, 4.0  # pixels per PDF point
ZOOM_STEP = 1.25
MIN_ZOOM, MAX_ZOOM = 0.5, 4.0
"""Zoom is relative to fit-to-width (1.0)."""


def locate(needle: str, haystack: str) -> tuple[int, int] | None:
    """Find ``needle`` in ``haystack`` ignoring whitespace; return (start, length)
    in ``haystack``'s own indexes. Falls back to the longest matching prefix."""
    positions = [i for i, ch in enumerate(haystack) if not ch.isspace()]
    squeezed = "".join(haystack[i] for i in positions)
    target = "".join(needle.split())
    if not target or not squeezed:
        return None
    for size in (len(target), 200, 80, 40, 20):
        probe = target[:size]
        found = squeezed.find(probe)
        if found >= 0:
            end = min(found + len(target), len(positions)) - 1
            start_index = positions[found]
            return start_index, positions[end] - start_index + 1
    return None


class PassageViewer(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._pdf: object | None = None
        self._pdf_path = ""
        self._page = 0
        self.scale = 1.0
        """Pixels per PDF point of the page on display."""
        self.title = QLabel("<b>Passage</b>")
        self.title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.prev_button = tool_button("\u25c0", "Previous page")
        self.next_button = tool_button("\u25b6", "Next page")
        self.prev_button.clicked.connect(lambda: self._show_page(self._page - 1))
        self.next_button.clicked.connect(lambda: self._show_page(self._page + 1))
        self.zoom = 1.0
        self.zoom_out_button = tool_button("\u2212", "Zoom out (Ctrl+\u2212)")
        self.zoom_in_button = tool_button("+", "Zoom in (Ctrl++, Ctrl+wheel)")
        self.fit_button = tool_button("\u2194", "Fit the page width (Ctrl+0)")
        self.zoom_out_button.clicked.connect(lambda: self.zoom_by(1 / ZOOM_STEP))
        self.zoom_in_button.clicked.connect(lambda: self.zoom_by(ZOOM_STEP))
        self.fit_button.clicked.connect(lambda: self.set_zoom(1.0))
        header = QHBoxLayout()
        header.addWidget(self.title, 1)
        for button in (
            self.zoom_out_button,
            self.zoom_in_button,
            self.fit_button,
            self.prev_button,
            self.next_button,
        ):
            header.addWidget(button)
        context = Qt.ShortcutContext.WidgetWithChildrenShortcut
        for keys, step in (
            (QKeySequence.StandardKey.ZoomIn, ZOOM_STEP),
            (QKeySequence.StandardKey.ZoomOut, 1 / ZOOM_STEP),
            (QKeySequence("Ctrl+0"), 0.0),
        ):
            shortcut = QShortcut(keys, self)
            shortcut.setContext(context)
            shortcut.activated.connect(
                lambda step=step: self.set_zoom(self.zoom * step if step else 1.0)
            )

        self.page_label = QLabel()
        self.page_label.setAlignment(Qt.AlignmentFlag.AlignHCenter)
        self.page_scroll = QScrollArea()
        self.page_scroll.setWidget(self.page_label)
        self.page_scroll.setWidgetResizable(True)
        self.page_scroll.viewport().installEventFilter(self)
        self.text_view = QTextBrowser()
        self.placeholder = QLabel(
            "Click a source or a citation marker to see the passage in its document."
        )
        self.placeholder.setWordWrap(True)
        self.placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.stack = QStackedWidget()
        for widget in (self.placeholder, self.page_scroll, self.text_view):
            self.stack.addWidget(widget)
        layout = QVBoxLayout(self)
        layout.addLayout(header)
        layout.addWidget(self.stack, 1)
        self._passage: Source | None = None
        self.highlight_rects: list[QRectF] = []
        self._set_nav(False)
        self._refit = QTimer(self)
        self._refit.setSingleShot(True)
        self._refit.setInterval(150)
        self._refit.timeout.connect(self._on_refit)

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 (Qt API)
        super().resizeEvent(event)
        if self.stack.currentWidget() is self.page_scroll:
            self._refit.start()  # re-render to the new width once resizing pauses

    def _on_refit(self) -> None:
        self._show_page(self._page)

    def zoom_by(self, factor: float) -> None:
        self.set_zoom(self.zoom * factor)

    def set_zoom(self, zoom: float) -> None:
        """Zoom relative to fit-to-width (1.0); the window remembers it."""
        self.zoom = max(MIN_ZOOM, min(MAX_ZOOM, zoom))
        if self.stack.currentWidget() is self.page_scroll:
            self._show_page(self._page)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802
        """Ctrl+wheel over the page zooms."""
        if (
            event.type() == QEvent.Type.Wheel
            and isinstance(event, QWheelEvent)
            and event.modifiers() & Qt.KeyboardModifier.ControlModifier
        ):
            step = ZOOM_STEP if event.angleDelta().y() > 0 else 1 / ZOOM_STEP
            self.set_zoom(self.zoom * step)
            return True
        return super().eventFilter(watched, event)

    def _set_nav(self, enabled: bool) -> None:
        for button in (
            self.prev_button,
            self.next_button,
            self.zoom_in_button,
            self.zoom_out_button,
            self.fit_button,
        ):
            button.setVisible(enabled)

    # ---- PDF ---------------------------------------------------------------------
    def show_pdf_passage(self, source: Source) -> bool:
        from PySide6.QtPdf import QPdfDocument

        if self._pdf_path != source.path:
            document = QPdfDocument(self)
            if document.load(source.path) != QPdfDocument.Error.None_:
                return False
            self._pdf, self._pdf_path = document, source.path
        self._passage = source
        self._set_nav(True)
        self.stack.setCurrentWidget(self.page_scroll)
        self._show_page((source.page or 1) - 1)
        return True

    def _show_page(self, page: int) -> None:
        from PySide6.QtPdf import QPdfDocument

        document = self._pdf
        if not isinstance(document, QPdfDocument):
            return
        page = max(0, min(page, document.pageCount() - 1))
        self._page = page
        size = document.pagePointSize(page)
        # fit the page to the pane's width, times the zoom
        available = self.page_scroll.viewport().width() - 16
        fit = available / max(size.width(), 1.0)
        scale = max(MIN_SCALE, min(MAX_SCALE, fit * self.zoom))
        self.scale = scale
        ratio = self.devicePixelRatioF()  # render sharp on scaled (HiDPI) screens
        scale *= ratio
        image = document.render(
            page, QSize(int(size.width() * scale), int(size.height() * scale))
        )
        image = image.convertToFormat(QImage.Format.Format_ARGB32)
        self.highlight_rects = []
        source = self._passage
        if source is not None and source.page == page + 1:
            rects = self._passage_rects(document, page, source.text)
            self.highlight_rects = [
                QRectF(
                    r.left() * scale,
                    r.top() * scale,
                    r.width() * scale,
                    r.height() * scale,
                )
                for r in rects
            ]
        white = QImage(image.size(), QImage.Format.Format_ARGB32)
        white.fill(Qt.GlobalColor.white)
        painter = QPainter(white)
        painter.drawImage(0, 0, image)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(HIGHLIGHT)
        for rect in self.highlight_rects:
            painter.drawRect(rect)
        painter.end()
        pixmap = QPixmap.fromImage(white)
        pixmap.setDevicePixelRatio(ratio)
        self.page_label.setPixmap(pixmap)
        name = Path(self._pdf_path).name
        self.title.setText(
            f"<b>{name}</b> \u2014 page {page + 1} of {document.pageCount()}"
        )
        if self.highlight_rects:
            top = min(r.top() for r in self.highlight_rects) / ratio
            self.page_scroll.verticalScrollBar().setValue(int(max(top - 40, 0)))
        else:
            self.page_scroll.verticalScrollBar().setValue(0)

    @staticmethod
    def _passage_rects(document: object, page: int, text: str) -> list[QRectF]:
        """Boxes (in PDF points) of the passage's lines on the page."""
        from PySide6.QtPdf import QPdfDocument

        assert isinstance(document, QPdfDocument)
        page_text = document.getAllText(page).text()
        found = locate(text, page_text)
        if found is None:
            return []
        selection = document.getSelectionAtIndex(page, found[0], found[1])
        return [QPolygonF(polygon).boundingRect() for polygon in selection.bounds()]

    # ---- text formats ------------------------------------------------------------
    def show_text_passage(self, source: Source, full_text: str) -> None:
        self._passage = source
        self._set_nav(False)
        self.stack.setCurrentWidget(self.text_view)
        self.title.setText(f"<b>{Path(source.path).name}</b>")
        self.text_view.setPlainText(full_text)
        cursor = QTextCursor(self.text_view.document())
        if full_text[source.start : source.end] == source.text:
            start, length = source.start, len(source.text)
        else:  # the file changed, or a widened passage's joins differ in whitespace
            found = locate(source.text, full_text)
            if found is None:
                return
            start, length = found
        cursor.setPosition(start)
        cursor.setPosition(start + length, QTextCursor.MoveMode.KeepAnchor)
        fmt = QTextCharFormat()
        fmt.setBackground(QColor(255, 214, 0, 150))
        cursor.mergeCharFormat(fmt)
        end_cursor = QTextCursor(self.text_view.document())
        end_cursor.setPosition(start)
        self.text_view.setTextCursor(end_cursor)
        self.text_view.ensureCursorVisible()

    def shows(self, path: str) -> bool:
        """Whether a passage of the file ``path`` is on display."""
        passage = getattr(self, "_passage", None)
        return self.stack.currentWidget() is not self.placeholder and (
            self._pdf_path == path or (passage is not None and passage.path == path)
        )

    def show_message(self, text: str) -> None:
        self._set_nav(False)
        self.placeholder.setText(text)
        self.stack.setCurrentWidget(self.placeholder)
