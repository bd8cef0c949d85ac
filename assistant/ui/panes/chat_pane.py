"""Centre pane: the conversation (Markdown, clickable [n] citations) and the input."""

from __future__ import annotations

import html
import re

from PySide6.QtCore import QEvent, Qt, QUrl, Signal
from PySide6.QtGui import QCursor, QGuiApplication, QKeyEvent, QTextCursor
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMenu,
    QPlainTextEdit,
    QPushButton,
    QTextBrowser,
    QToolButton,
    QToolTip,
    QVBoxLayout,
    QWidget,
)

from assistant.core.answer.conversations import Message
from assistant.core.answer.grounding import fence_end, fenced_blocks
from assistant.core.answer.reading_time import QUOTES_HEADING
from assistant.core.types import Claim, mode_uses_adapter, shorten
from assistant.ui.models.chat_model import ChatMessagesModel
from assistant.ui.widgets import tool_button

CITATION_MARKER = re.compile(r"\[(\d{1,3})\]")
INLINE_CODE = re.compile(r"(`+)([^`\n]|[^`\n].*?[^`\n])\1(?!`)")
WELCOME = (
    "### Ask about your documents\n\n"
    "Add files on the left (or drop them on the window), then type a question below. "
    "Answers cite their sources as **[1]**, **[2]**: click one to see the passage.\n\n"
    "*Enter* sends, *Shift+Enter* starts a new line, *Esc* stops an answer."
)


MODE_LABELS = {
    "rag": "Documents",
    "base": "Model only",
    "sft": "Taught",
    "rag+sft": "Taught + documents",
}
MODE_TIPS = {
    "rag": "Answer from your documents, with citations",
    "base": "The model alone: no documents, no adapter",
    "sft": "The model with a fine-tuned adapter (Teach), no documents",
    "rag+sft": "The fine-tuned adapter and your documents",
}


UNSUPPORTED_STYLE = "background-color:#ffe0b2; color:#000000"
UNSUPPORTED_TIP = (
    "No passage among the sources was found to state this sentence: it may be "
    "the model's own. Check it before relying on it."
)
CONTRADICTED_STYLE = "background-color:#ffcdd2; color:#000000"
DECLINED_FOLD = "Not supported by your documents \u2014 show what the model wrote"
DECLINED_UNFOLD = "Hide what the model wrote"


def _claim_for_marker(message: Message, n: int, position: int) -> int:
    """Index of the claim whose ``[n]`` marker stands at ``position`` (-1: none)."""
    best = -1
    for k, claim in enumerate(message.claims):
        if (
            claim.supported
            and claim.end <= position
            and any(e.n == n for e in claim.evidence)
        ):
            best = k
    return best


def annotated_answer(index: int, message: Message) -> str:
    """The answer as Markdown: each ``[n]`` links to its claim's evidence, and
    unsupported claims are shaded and flagged (not inside code blocks, where the
    flag goes after the block)."""
    text = message.text
    fences = fenced_blocks(text)
    code_spans = [(m.start(), m.end(), m.group(2)) for m in INLINE_CODE.finditer(text)]
    edits: list[tuple[int, int, str]] = []
    for k, claim in enumerate(message.claims):
        if claim.supported:
            continue
        contradicted = claim.verdict == "contradicted"
        symbol = "\u2717" if contradicted else "\u26a0"
        flag = f" [{symbol}](claim:{index}:{k})"
        style = CONTRADICTED_STYLE if contradicted else UNSUPPORTED_STYLE
        after_fence = fence_end(fences, claim.start)
        if after_fence is None:
            edits.append((claim.start, claim.start, f'<span style="{style}">'))
            # Qt's Markdown reader moves a `code` span out of raw HTML around it
            # (to the span's start): inside the shading it is HTML too.
            edits.extend(
                (start, end, f"<code>{html.escape(code.strip())}</code>")
                for start, end, code in code_spans
                if claim.start <= start and end <= claim.end
            )
            edits.append((claim.end, claim.end, "</span>" + flag))
        else:
            edits.append((after_fence, after_fence, flag))
    for match in CITATION_MARKER.finditer(text):
        if any(start <= match.start() < end for start, end, _ in code_spans):
            continue  # `a[1]` is code, not a citation
        n = int(match.group(1))
        k = _claim_for_marker(message, n, match.start())
        edits.append((match.start(), match.end(), f"[\\[{n}\\]](cite:{index}:{n}:{k})"))
    out: list[str] = []
    position = 0
    for start, end, replacement in sorted(edits, key=lambda e: (e[0], e[1])):
        out.append(text[position:start])
        out.append(replacement)
        position = max(position, end)
    out.append(text[position:])
    return "".join(out)


def message_markdown(
    index: int, message: Message, streaming: bool = False, unfolded: bool = False
) -> str:
    """``streaming``: the answer so far, without links or notes (more text is
    appended to it as it arrives). ``unfolded``: a declined answer shows the
    reply the model wrote under the decline."""
    if message.role == "user":
        return f"**You**\n\n{message.text}"
    mode = "" if message.mode == "rag" else f" \u00b7 *{MODE_LABELS[message.mode]}*"
    if streaming:
        return f"**Assistant**{mode}\n\n{_quotes_markdown(message.quotes)}" + (
            message.text or "…"
        )
    text = annotated_answer(index, message)
    suffix = "\n\n*(stopped)*" if message.stopped else ""
    if message.interrupted:
        suffix = f"\n\n\u26a0 *{message.interrupted}*"
    contradicted = sum(1 for c in message.claims if c.verdict == "contradicted")
    unsupported = sum(1 for c in message.claims if c.verdict == "not_stated")
    if contradicted:
        suffix += (
            f"\n\n\u2717 *{contradicted} of {len(message.claims)} sentences are "
            "contradicted by a source (red): hover the \u2717 to read what it says.*"
        )
    if unsupported:
        suffix += (
            f"\n\n\u26a0 *{unsupported} of {len(message.claims)} sentences were not "
            "found stated in a source (shaded). Check them before relying on them.*"
        )
    elif message.unsupported:
        figures = ", ".join(message.unsupported)
        suffix += (
            f"\n\n\u26a0 *Not found in any source: {figures}. "
            "Check before relying on it.*"
        )
    if message.withheld:
        suffix += "\n\n" + _withheld_markdown(index, message.withheld, unfolded)
    if text:
        suffix += "\n\n" + _answer_footer(index, message)
    return f"**Assistant**{mode}\n\n{text or '…'}{suffix}"


_MARKDOWN_MARK = re.compile(r"([\\`*_\[\]<>#|~])")


def _escape_markdown(text: str) -> str:
    """Document text shown as it is: one line, Markdown's marks escaped."""
    return _MARKDOWN_MARK.sub(r"\\\1", " ".join(text.split()))


def _quotes_markdown(quotes: tuple[tuple[int, str], ...]) -> str:
    """The passages' lines closest to the question, quoted with their passage's
    number, above the answer while the model reads (and writes)."""
    if not quotes:
        return ""
    lines = "\n>\n".join(
        f"> \u201c{_escape_markdown(line)}\u201d [{n}]" for n, line in quotes
    )
    return f"*{QUOTES_HEADING}*\n\n{lines}\n\n"


def _withheld_markdown(index: int, withheld: str, unfolded: bool) -> str:
    """The link that folds the declined reply, and the reply when unfolded (as a
    quote: it is the model's, not checked against the documents)."""
    if not unfolded:
        return f"[{DECLINED_FOLD}](unfold:{index})"
    quoted = "\n".join(f"> {line}" if line else ">" for line in withheld.splitlines())
    return f"[{DECLINED_UNFOLD}](unfold:{index})\n\n{quoted}"


def _answer_footer(index: int, message: Message) -> str:
    """Copy / Regenerate links, and how fast the answer came."""
    parts = [f"[Copy](copy:{index})", f"[Regenerate](regen:{index})"]
    first = message.timings.get("first_token_ms")
    speed = message.timings.get("tokens_per_s")
    if first:
        parts.append(f"first words after {first / 1000:.1f} s")
    if speed:
        parts.append(f"{speed:.0f} tokens/s")
    return " \u00b7 ".join(parts)


def _claim_tip(message: Message, claim: Claim | None) -> str:
    """A flagged claim's tooltip: the span that contradicts it, quoted, or why it
    is shaded."""
    if claim is None or claim.verdict != "contradicted" or not claim.evidence:
        return UNSUPPORTED_TIP
    e = claim.evidence[0]
    source = next((s for s in message.sources if s.n == e.n), None)
    if source is None:
        return UNSUPPORTED_TIP
    said = source.text[e.start : e.end]
    return (
        f"<p><b>Contradicted by [{e.n}] {html.escape(source.location())}:</b></p>"
        f"<p>\u201c{html.escape(shorten(said, 400))}\u201d</p>"
        "<p>The answer says otherwise: trust the source.</p>"
    )


class QuestionEdit(QPlainTextEdit):
    """Enter sends; Shift+Enter inserts a new line."""

    sig_submit = Signal()

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 (Qt API)
        enter = event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter)
        if enter and not event.modifiers() & Qt.KeyboardModifier.ShiftModifier:
            self.sig_submit.emit()
            return
        super().keyPressEvent(event)


class ChatPane(QWidget):
    """Signals:
    sig_ask(str): a question to answer.
    sig_stop(): Stop pressed.
    sig_citation(int, int, int): message index, source number and claim index
        (-1: none) of a clicked citation.
    sig_new(), sig_rename(), sig_delete(), sig_export(): conversation actions.
    sig_conversation_selected(str): id chosen in the list.
    sig_search(str): show only conversations containing this text ("" for all).
    sig_compare(str): answer this question in every mode side by side.
    sig_regenerate(int): answer again the question of this (last) answer.
    """

    sig_ask = Signal(str)
    sig_stop = Signal()
    sig_citation = Signal(int, int, int)
    sig_new = Signal()
    sig_rename = Signal()
    sig_delete = Signal()
    sig_export = Signal()
    sig_conversation_selected = Signal(str)
    sig_search = Signal(str)
    sig_compare = Signal(str)
    sig_status = Signal(str, int)
    sig_clear_scope = Signal()
    sig_regenerate = Signal(int)

    def __init__(self, model: ChatMessagesModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = model
        self.conversations = QComboBox()
        self.conversations.activated.connect(
            lambda i: self.sig_conversation_selected.emit(
                self.conversations.itemData(i)
            )
        )
        self.search_edit = QLineEdit(placeholderText="Search conversations")
        self.search_edit.setClearButtonEnabled(True)
        self.search_edit.setToolTip(
            "Show only conversations whose title, questions or answers contain this"
        )
        self.search_edit.textChanged.connect(self.sig_search.emit)
        header = QHBoxLayout()
        header.addWidget(QLabel("<b>Chat</b>"))
        header.addWidget(self.conversations, 3)
        header.addWidget(self.search_edit, 2)
        new = tool_button("New", "New conversation (Ctrl+N)")
        new.clicked.connect(self.sig_new.emit)
        header.addWidget(new)
        # the rest in a menu: with larger text four buttons left the search box
        # two letters wide
        self.more_button = tool_button("⋯", "Rename, delete or export")
        self.more_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        menu = QMenu(self.more_button)
        for text, signal in (
            ("Rename…", self.sig_rename),
            ("Delete", self.sig_delete),
            ("Export as Markdown…\tCtrl+E", self.sig_export),
        ):
            menu.addAction(text).triggered.connect(signal.emit)
        self.more_button.setMenu(menu)
        header.addWidget(self.more_button)
        self._fit_header()

        self.transcript = QTextBrowser()
        self.transcript.setOpenLinks(False)
        self.transcript.anchorClicked.connect(self._on_anchor)
        self.transcript.highlighted.connect(self._on_link_hovered)
        self.input = QuestionEdit()
        self.input.setPlaceholderText("Ask a question about your documents…")
        self.input.setFixedHeight(72)
        self.input.sig_submit.connect(self.submit)
        self.send_button = QPushButton("Send")
        self.send_button.setToolTip("Send (Enter)")
        self.send_button.clicked.connect(self.submit)
        self.stop_button = QPushButton("Stop")
        self.stop_button.setToolTip("Stop the answer (Esc)")
        self.stop_button.clicked.connect(self.sig_stop.emit)
        self.stop_button.setEnabled(False)
        buttons = QVBoxLayout()
        buttons.addWidget(self.send_button)
        buttons.addWidget(self.stop_button)
        row = QHBoxLayout()
        row.addWidget(self.input, 1)
        row.addLayout(buttons)
        self.mode_box = QComboBox()
        for mode, label in MODE_LABELS.items():
            self.mode_box.addItem(label, mode)
            self.mode_box.setItemData(
                self.mode_box.count() - 1, MODE_TIPS[mode], Qt.ItemDataRole.ToolTipRole
            )
        self.mode_box.setToolTip("How to answer (Ctrl+1 … Ctrl+4)")
        self.mode_box.currentIndexChanged.connect(self._on_mode_changed)
        self.adapter_box = QComboBox()
        self.adapter_box.setMinimumContentsLength(12)
        self.adapter_box.setToolTip("Fine-tuned adapter used by the Taught modes")
        self.compare_button = QPushButton("Compare modes")
        self.compare_button.setToolTip(
            "Answer the question in all four modes side by side (Ctrl+Shift+Enter)"
        )
        self.compare_button.clicked.connect(self.submit_compare)
        options = QHBoxLayout()
        options.addWidget(QLabel("Answer with:"))
        options.addWidget(self.mode_box)
        options.addWidget(self.adapter_box)
        options.addStretch(1)
        options.addWidget(self.compare_button)

        # the scope chip: shown while questions go to some documents only
        self.scope_label = QLabel()
        self.scope_label.setTextFormat(Qt.TextFormat.PlainText)
        clear_scope = tool_button("\u2715", "Ask the whole library again")
        clear_scope.clicked.connect(self.sig_clear_scope.emit)
        self.scope_chip = QWidget()
        self.scope_chip.setObjectName("scopeChip")
        self.scope_chip.setStyleSheet(
            "#scopeChip { border: 1px solid palette(highlight); border-radius: 10px; }"
        )
        chip = QHBoxLayout(self.scope_chip)
        chip.setContentsMargins(8, 1, 2, 1)
        chip.addWidget(self.scope_label, 1)
        chip.addWidget(clear_scope)
        self.scope_chip.hide()

        layout = QVBoxLayout(self)
        layout.addLayout(header)
        layout.addWidget(self.transcript, 1)
        layout.addWidget(self.scope_chip)
        layout.addLayout(row)
        layout.addLayout(options)
        self._streamed = 0
        """Characters of the last message on screen, while it streams."""
        self._busy = False
        self.unfolded: set[int] = set()
        """Messages whose withheld reply is shown (by index; cleared on a reset)."""
        model.modelReset.connect(self.unfolded.clear)
        for signal in (model.modelReset, model.rowsInserted):
            signal.connect(self.refresh_view)
        model.dataChanged.connect(self._on_data_changed)
        self.refresh_view()

        self.set_adapters([])

    def show_scope(self, described: str, paths: list[str]) -> None:
        """The chip above the question box ("" hides it: the whole library)."""
        self.scope_chip.setVisible(bool(described))
        self.scope_label.setText(f"Only in: {described}")
        self.scope_chip.setToolTip("\n".join(paths))
        self.input.setPlaceholderText(
            f"Ask about {described}\u2026"
            if described
            else "Ask a question about your documents\u2026"
        )

    def set_busy(self, busy: bool) -> None:
        """Busy: an answer is on its way into the last message (streaming)."""
        self._busy = busy
        self.send_button.setEnabled(not busy)
        self.compare_button.setEnabled(not busy)
        self.stop_button.setEnabled(busy)

    def current_mode(self) -> str:
        return str(self.mode_box.currentData())

    def set_mode(self, mode: str) -> None:
        self.mode_box.setCurrentIndex(max(0, self.mode_box.findData(mode)))

    def current_adapter(self) -> str | None:
        name = self.adapter_box.currentData()
        return str(name) if name else None

    def set_adapters(self, names: list[str]) -> None:
        """Newest first; keeps the current choice when it still exists."""
        current = self.current_adapter()
        self.adapter_box.clear()
        for name in names:
            self.adapter_box.addItem(name, name)
        if not names:
            self.adapter_box.addItem("no adapter yet (Teach)", None)
        index = self.adapter_box.findData(current) if current else 0
        self.adapter_box.setCurrentIndex(max(index, 0))
        self._on_mode_changed()

    def _on_mode_changed(self) -> None:
        self.adapter_box.setEnabled(mode_uses_adapter(self.current_mode()))

    def submit_compare(self) -> None:
        question = self.input.toPlainText().strip()
        if not question:
            self.input.setFocus()
            self.sig_status.emit(
                "Type a question first: Compare answers it in every mode side by side.",
                5000,
            )
        elif self.compare_button.isEnabled():
            self.input.clear()
            self.sig_compare.emit(question)

    def submit(self) -> None:
        question = self.input.toPlainText().strip()
        if question and self.send_button.isEnabled():
            self.input.clear()
            self.sig_ask.emit(question)

    def _on_data_changed(self, _top: object, _bottom: object, roles: list[int]) -> None:
        if list(roles) == [ChatMessagesModel.StreamRole] and self._streamed:
            self._append_streamed()
        else:
            self.refresh_view()

    def _append_streamed(self) -> None:
        """A token batch: appended as plain text at the end of the transcript (the
        whole conversation is rendered once more when the answer is complete)."""
        text = self.model.messages()[-1].text
        bar = self.transcript.verticalScrollBar()
        at_bottom = bar.value() >= bar.maximum() - 4
        cursor = QTextCursor(self.transcript.document())
        cursor.movePosition(QTextCursor.MoveOperation.End)
        cursor.insertText(text[self._streamed :])
        self._streamed = len(text)
        if at_bottom:
            bar.setValue(bar.maximum())

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 (Qt API)
        """Links take their colour when rendered: render again for a new theme."""
        if event.type() == QEvent.Type.PaletteChange and hasattr(self, "_busy"):
            self.refresh_view()
        if event.type() == QEvent.Type.FontChange and hasattr(self, "search_edit"):
            self._fit_header()
        super().changeEvent(event)

    def _fit_header(self) -> None:
        """Room for a few words in the conversation list and the search box at
        any text size (the pane's minimum width grows with the text)."""
        metrics = self.fontMetrics()
        self.search_edit.setMinimumWidth(metrics.horizontalAdvance("Search conv") + 30)
        self.search_edit.setMaximumWidth(metrics.horizontalAdvance("M" * 16))
        self.conversations.setMinimumContentsLength(8)

    def refresh_view(self) -> None:
        messages = self.model.messages()
        last = messages[-1] if messages else None
        streaming = self._busy and last is not None and last.role == "assistant"
        self._streamed = len(last.text) if streaming and last is not None else 0
        if not messages:
            self.transcript.setMarkdown(WELCOME)
            return
        bar = self.transcript.verticalScrollBar()
        at_bottom = bar.value() >= bar.maximum() - 4
        parts = [
            message_markdown(
                i, m, streaming and i == len(messages) - 1, i in self.unfolded
            )
            for i, m in enumerate(messages)
        ]
        self.transcript.setMarkdown("\n\n---\n\n".join(parts))
        if at_bottom:
            self.transcript.moveCursor(QTextCursor.MoveOperation.End)
            bar.setValue(bar.maximum())

    def _on_anchor(self, url: QUrl) -> None:
        if url.scheme() == "cite":
            message, number, claim = (url.path().split(":") + ["-1"])[:3]
            self.sig_citation.emit(int(message), int(number), int(claim))
        elif url.scheme() == "copy" and url.path().isdigit():
            messages = self.model.messages()
            index = int(url.path())
            if 0 <= index < len(messages):
                QGuiApplication.clipboard().setText(messages[index].text)
        elif url.scheme() == "regen" and url.path().isdigit():
            self.sig_regenerate.emit(int(url.path()))
        elif url.scheme() == "unfold" and url.path().isdigit():
            self.unfolded ^= {int(url.path())}
            self.refresh_view()

    def _on_link_hovered(self, url: QUrl) -> None:
        tip = self.link_tooltip(url)
        if tip:
            QToolTip.showText(QCursor.pos(), tip, self.transcript)
        else:
            QToolTip.hideText()

    def link_tooltip(self, url: QUrl) -> str:
        """What a hovered citation stands on: the claim's evidence, quoted."""
        parts = url.path().split(":")
        messages = self.model.messages()
        if url.scheme() not in ("cite", "claim") or not parts[0].isdigit():
            return ""
        index = int(parts[0])
        if not 0 <= index < len(messages):
            return ""
        message = messages[index]
        if url.scheme() == "claim":
            flagged = message.claim(int(parts[1])) if len(parts) > 1 else None
            return _claim_tip(message, flagged)
        n = int(parts[1])
        claim = message.claim(int(parts[2])) if len(parts) > 2 else None
        source = next((s for s in message.sources if s.n == n), None)
        if source is None:
            return ""
        evidence = (
            next((e for e in claim.evidence if e.n == n), None) if claim else None
        )
        quote = source.text[evidence.start : evidence.end] if evidence else source.text
        return (
            f"<p><b>[{n}] {html.escape(source.location())}</b></p>"
            f"<p>\u201c{html.escape(shorten(quote, 400))}\u201d</p>"
        )

    def set_conversations(self, items: list[tuple[str, str]], current: str) -> None:
        self.conversations.blockSignals(True)
        self.conversations.clear()
        for conversation_id, title in items:
            self.conversations.addItem(title, conversation_id)
        index = self.conversations.findData(current)
        self.conversations.setCurrentIndex(max(index, 0))
        self.conversations.blockSignals(False)
