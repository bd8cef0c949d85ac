"""Right pane, top: the selected answer's sources with query words highlighted."""

from __future__ import annotations

import html
import re

from PySide6.QtCore import QUrl, Signal
from PySide6.QtWidgets import QLabel, QTextBrowser, QVBoxLayout, QWidget

from assistant.core.types import Source, shorten
from assistant.ui.models.sources_model import SourcesModel

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


class SourcesPane(QWidget):
    """Signals:
    sig_open_source(object): the Source clicked.
    """

    sig_open_source = Signal(object)

    def __init__(self, model: SourcesModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = model
        self.browser = QTextBrowser()
        self.browser.setOpenLinks(False)
        self.browser.anchorClicked.connect(self._on_anchor)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("<b>Sources</b>"))
        layout.addWidget(self.browser)
        model.modelReset.connect(self.refresh_view)
        self.refresh_view()

    def refresh_view(self) -> None:
        sources = self.model.sources()
        if not sources:
            self.browser.setHtml(
                "<p style='color:gray'>The passages behind an answer appear here. "
                "Click one to open it in its document.</p>"
            )
            return
        blocks = []
        for source in sources:
            cited = self.model.is_cited(source.n)
            badge = " <b style='color:#2e7d32'>\u2713 cited</b>" if cited else ""
            heading = (
                f"<br><i>{html.escape(source.heading)}</i>" if source.heading else ""
            )
            blocks.append(
                f"<p><a href='source:{source.n}'><b>[{source.n}] "
                f"{html.escape(source.location())}</b></a>"
                f" <span style='color:gray'>score {source.score:.2f}</span>{badge}"
                f"{heading}<br>"
                f"{highlight_words(shorten(source.text, 420), self.model.query)}</p>"
            )
        self.browser.setHtml("<hr>".join(blocks))

    def _on_anchor(self, url: QUrl) -> None:
        if url.scheme() == "source":
            source = self.model.source(int(url.path()))
            if source is not None:
                self.sig_open_source.emit(source)

    def open_number(self, n: int) -> Source | None:
        source: Source | None = self.model.source(n)
        if source is not None:
            self.sig_open_source.emit(source)
        return source
