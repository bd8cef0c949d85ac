"""Side-by-side answers to one question in each mode (base, RAG, SFT, RAG+SFT)."""

from __future__ import annotations

from PySide6.QtCore import QUrl, Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from assistant.core.types import Answer, Source, shorten
from assistant.ui.panes.chat_pane import CITATION_MARKER, MODE_LABELS, MODE_TIPS


def answer_markdown(answer: Answer) -> str:
    text = CITATION_MARKER.sub(
        lambda m: f"[\\[{m.group(1)}\\]](source:{m.group(1)})", answer.text.strip()
    )
    parts = [text or "*(no answer)*"]
    if answer.stopped:
        parts.append("*(stopped)*")
    if answer.sources:
        lines = [
            f"- [\\[{s.n}\\]](source:{s.n}) {s.location()}: {shorten(s.text, 90)}"
            for s in answer.sources
            if s.n in answer.cited or not answer.cited
        ]
        parts.append("**Sources**\n\n" + "\n".join(lines))
    seconds = answer.timings.get("total_ms", 0.0) / 1000
    parts.append(f"<small>{seconds:.1f} s</small>")
    return "\n\n".join(parts)


class CompareDialog(QDialog):
    """Signals:
    sig_open_source(object): a Source clicked in one of the answers.
    sig_stop(): Stop pressed.
    """

    sig_open_source = Signal(object)
    sig_stop = Signal()

    def __init__(self, question: str, modes: list[str], parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Compare answers")
        self.resize(1200, 560)
        self.question = question
        self.answers: dict[str, Answer] = {}
        self.views: dict[str, QTextBrowser] = {}
        columns = QHBoxLayout()
        for mode in modes:
            box = QGroupBox(MODE_LABELS[mode])
            box.setToolTip(MODE_TIPS[mode])
            view = QTextBrowser()
            view.setOpenLinks(False)
            view.anchorClicked.connect(
                lambda url, m=mode: self._on_anchor(m, url)  # GUI thread only
            )
            view.setMarkdown("*waiting…*")
            inner = QVBoxLayout(box)
            inner.addWidget(view)
            columns.addWidget(box)
            self.views[mode] = view
        title = QLabel(f"<b>Question:</b> {question}")
        title.setWordWrap(True)
        self.buttons = QDialogButtonBox()
        self.stop_button = self.buttons.addButton(
            "Stop", QDialogButtonBox.ButtonRole.RejectRole
        )
        self.stop_button.clicked.disconnect()
        self.stop_button.clicked.connect(self.sig_stop.emit)
        close = self.buttons.addButton(QDialogButtonBox.StandardButton.Close)
        close.clicked.connect(self.close)
        layout = QVBoxLayout(self)
        layout.addWidget(title)
        layout.addLayout(columns, 1)
        layout.addWidget(self.buttons)

    def on_started(self, mode: str) -> None:
        if mode in self.views:
            self.views[mode].setMarkdown("*answering…*")

    def on_answer(self, answer: Answer) -> None:
        self.answers[answer.mode] = answer
        if answer.mode in self.views:
            self.views[answer.mode].setMarkdown(answer_markdown(answer))

    def on_finished(self) -> None:
        self.stop_button.setEnabled(False)
        for mode, view in self.views.items():
            if mode not in self.answers:
                view.setMarkdown("*not answered*")

    def _on_anchor(self, mode: str, url: QUrl) -> None:
        answer = self.answers.get(mode)
        if answer is None or url.scheme() != "source":
            return
        number = int(url.path())
        source: Source | None = next((s for s in answer.sources if s.n == number), None)
        if source is not None:
            self.sig_open_source.emit(source)
