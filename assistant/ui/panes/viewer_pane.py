"""Right pane, bottom: the cited passage in its document.

PDFs show the real page (QtPdf) with the passage's text boxes painted over it.
The passage's offsets come from the indexed text while QtPdf (pdfium) extracts its
own, so the passage is located by matching its characters with whitespace ignored.
A scanned page (an image-only PDF page, an image file's frame) has no text to
search: its passage carries the OCR line boxes, drawn as they are.
"""

from __future__ import annotations

import re
from pathlib import Path

from PySide6.QtCore import QEvent, QObject, QRectF, QSize, QSizeF, Qt, QTimer
from PySide6.QtGui import (
    QColor,
    QImage,
    QImageReader,
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

from assistant.core.ingest.image import SUFFIXES as IMAGE_SUFFIXES
from assistant.core.types import Source, TextBox
from assistant.ui.widgets import tool_button

HIGHLIGHT = QColor(255, 214, 0, 110)
MIN_SCALE, MAX_SCALE = 0.6, 4.0  # pixels per PDF point
ZOOM_STEP = 1.25
PLACEHOLDER = "Click a source or a citation marker to see the passage in its document."
MIN_ZOOM, MAX_ZOOM = 0.5, 4.0
"""Zoom is relative to fit-to-width (1.0)."""


HYPHEN_MARKS = "\ufffe\x02\xad"
"""pdfium's marks for a word hyphenated at a line end (and the soft hyphen): the
indexed text has the word rejoined."""
_LINE_END_HYPHEN = re.compile(r"[-\u2010](?=[ \t]*\r?\n)")


def locate(needle: str, haystack: str) -> tuple[int, int] | None:
    """Find ``needle`` in ``haystack`` ignoring whitespace and the hyphens of
    words broken across lines; return (start, length) in ``haystack``'s own
    indexes. Falls back to the longest matching prefix."""
    target = "".join(c for c in needle if not c.isspace() and c not in HYPHEN_MARKS)
    hyphens = {m.start() for m in _LINE_END_HYPHEN.finditer(haystack)}
    readings = []  # the page's characters as indexed: hyphens kept, then dropped
    for skip in (set(), hyphens) if hyphens else (set(),):
        positions = [
            i
            for i, ch in enumerate(haystack)
            if not ch.isspace() and ch not in HYPHEN_MARKS and i not in skip
        ]
        readings.append((positions, "".join(haystack[i] for i in positions)))
    if not target or not readings[0][1]:
        return None
    for size in (len(target), 200, 80, 40, 20):
        for positions, squeezed in readings:
            found = squeezed.find(target[:size])
            if found >= 0:
                end = min(found + len(target), len(positions)) - 1
                start_index = positions[found]
                return start_index, positions[end] - start_index + 1
    return None


def ocr_rects(boxes: tuple[TextBox, ...], pixels: QSize) -> list[QRectF]:
    """OCR line boxes (fractions of the page) as rectangles on an image."""
    width, height = pixels.width(), pixels.height()
    return [
        QRectF(
            b.x0 * width, b.y0 * height, (b.x1 - b.x0) * width, (b.y1 - b.y0) * height
        )
        for b in boxes
    ]


class PassageViewer(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._pdf: object | None = None
        """The QPdfDocument on display (None for an image file)."""
        self._pdf_path = ""
        """The file on display as pages: a PDF or an image."""
        self._frames: list[QSizeF] = []
        """An image file's frame sizes in pixels."""
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
        self.placeholder = QLabel(PLACEHOLDER)
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

    # ---- pages: PDF and images ---------------------------------------------------
    @staticmethod
    def shows_pages(source: Source) -> bool:
        """Whether ``source`` is shown on its page (a PDF's or an image's)."""
        suffix = Path(source.path).suffix.lower()
        return bool(source.page) and (suffix == ".pdf" or suffix in IMAGE_SUFFIXES)

    def show_page_passage(self, source: Source) -> bool:
        """The passage on its rendered page; False when the file can't be opened."""
        if self._pdf_path != source.path and not self._open_pages(source.path):
            return False
        self._passage = source
        self._set_nav(True)
        self.stack.setCurrentWidget(self.page_scroll)
        self._show_page((source.page or 1) - 1)
        return True

    def _open_pages(self, path: str) -> bool:
        from PySide6.QtPdf import QPdfDocument

        if Path(path).suffix.lower() == ".pdf":
            document = QPdfDocument(self)
            if document.load(path) != QPdfDocument.Error.None_:
                return False
            self._pdf, self._frames = document, []
        else:
            reader = QImageReader(path)
            frames: list[QSizeF] = []
            while reader.canRead() and len(frames) < 10_000:
                size = reader.size()
                frames.append(QSizeF(size.width(), size.height()))
                if not reader.jumpToNextImage():
                    break
            if not frames or frames[0].isEmpty():
                return False
            self._pdf, self._frames = None, frames
        self._pdf_path = path
        return True

    def _page_count(self) -> int:
        from PySide6.QtPdf import QPdfDocument

        if isinstance(self._pdf, QPdfDocument):
            return int(self._pdf.pageCount())
        return len(self._frames)

    def _page_size(self, page: int) -> QSizeF:
        """In PDF points, or pixels for an image."""
        from PySide6.QtPdf import QPdfDocument

        if isinstance(self._pdf, QPdfDocument):
            return self._pdf.pagePointSize(page)
        return self._frames[page]

    def _render(self, page: int, size: QSize) -> QImage:
        from PySide6.QtPdf import QPdfDocument

        if isinstance(self._pdf, QPdfDocument):
            return self._pdf.render(page, size)
        reader = QImageReader(self._pdf_path)
        reader.jumpToImage(page)
        reader.setScaledSize(size)
        return reader.read()

    def _show_page(self, page: int) -> None:
        if not self._pdf_path or not self._page_count():
            return
        page = max(0, min(page, self._page_count() - 1))
        self._page = page
        size = self._page_size(page)
        # fit the page to the pane's width, times the zoom
        available = self.page_scroll.viewport().width() - 16
        fit = available / max(size.width(), 1.0)
        low = MIN_SCALE if self._pdf is not None else 0.05  # images are in pixels
        scale = max(low, min(MAX_SCALE, fit * self.zoom))
        self.scale = scale
        ratio = self.devicePixelRatioF()  # render sharp on scaled (HiDPI) screens
        scale *= ratio
        image = self._render(
            page, QSize(int(size.width() * scale), int(size.height() * scale))
        )
        image = image.convertToFormat(QImage.Format.Format_ARGB32)
        self.highlight_rects = []
        source = self._passage
        if source is not None and source.page == page + 1:
            self.highlight_rects = self._highlights(source, page, image.size(), scale)
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
        # the scroll area takes the label's new size only when its layout request
        # is handled, later: the scroll bars' ranges must be right now
        self.page_scroll.setWidgetResizable(True)
        name = Path(self._pdf_path).name
        count = self._page_count()
        where = f" \u2014 page {page + 1} of {count}" if count > 1 or self._pdf else ""
        self.title.setText(f"<b>{name}</b>{where}")
        if self.highlight_rects:
            # zoomed in, the page is wider than the pane: bring the passage's
            # left edge into view too, not only its first line
            top = min(r.top() for r in self.highlight_rects) / ratio
            left = min(r.left() for r in self.highlight_rects) / ratio
            self.page_scroll.verticalScrollBar().setValue(int(max(top - 40, 0)))
            self.page_scroll.horizontalScrollBar().setValue(int(max(left - 24, 0)))
        else:
            self.page_scroll.verticalScrollBar().setValue(0)
            self.page_scroll.horizontalScrollBar().setValue(0)

    def _highlights(
        self, source: Source, page: int, pixels: QSize, scale: float
    ) -> list[QRectF]:
        """The passage's boxes in the rendered image's pixels: its OCR lines on a
        scan, else its lines found in the PDF's own text."""
        if source.boxes:
            return ocr_rects(source.boxes, pixels)
        if self._pdf is None:
            return []
        return [
            QRectF(
                r.left() * scale, r.top() * scale, r.width() * scale, r.height() * scale
            )
            for r in self._passage_rects(self._pdf, page, source.text)
        ]

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

    def clear(self) -> None:
        """Back to the placeholder: the passage shown belonged to an answer that
        is no longer on screen."""
        self._passage = None
        self.highlight_rects = []
        self.title.setText("<b>Passage</b>")
        self.show_message(PLACEHOLDER)

    def show_message(self, text: str) -> None:
        self._set_nav(False)
        self.placeholder.setText(text)
        self.stack.setCurrentWidget(self.placeholder)
