"""The main window: library | chat | sources + passage viewer, wired to two workers.

Workers live on long-lived QThreads and are driven by queued signals; the GUI
thread only updates models and widgets.
"""

from __future__ import annotations

import itertools
import logging
import re
import sys
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSettings, Qt, QThread, Signal
from PySide6.QtGui import (
    QAction,
    QCloseEvent,
    QDragEnterEvent,
    QDropEvent,
    QKeySequence,
)
from PySide6.QtWidgets import (
    QFileDialog,
    QInputDialog,
    QLabel,
    QMainWindow,
    QMenu,
    QMessageBox,
    QProgressBar,
    QSplitter,
)

from assistant.config import Settings, data_dir, generator_settings, save_settings
from assistant.core.cancel import CancelToken
from assistant.core.conversations import ConversationRecord, ConversationStore, Message
from assistant.core.ingest import discover
from assistant.core.services import Library
from assistant.core.types import (
    ANSWER_MODES,
    MODES_WITHOUT_ADAPTER,
    DocumentInfo,
    IngestProgress,
    IngestReport,
    Source,
    mode_uses_adapter,
    mode_uses_retrieval,
)
from assistant.ui.compare_dialog import CompareDialog
from assistant.ui.models.chat_model import ChatMessagesModel
from assistant.ui.models.document_model import DocumentListModel
from assistant.ui.models.sources_model import SourcesModel
from assistant.ui.panes.chat_pane import MODE_LABELS, ChatPane
from assistant.ui.panes.library_pane import LibraryPane
from assistant.ui.panes.sources_pane import SourcesPane
from assistant.ui.panes.viewer_pane import PassageViewer
from assistant.ui.settings_dialog import SettingsDialog
from assistant.ui.teach_controller import TeachController
from assistant.ui.workers.ask_request import AskRequest, AskResult
from assistant.ui.workers.chat_worker import ChatWorker
from assistant.ui.workers.library_worker import LibraryWorker

log = logging.getLogger(__name__)

SHUTDOWN_WAIT_MS = 10_000
"""How long closing waits for a worker to finish its current step."""


def export_file_name(title: str, limit: int = 40) -> str:
    """A file name from a conversation title: cut at a word, no path characters."""
    clean = re.sub(r'[\\/:*?"<>|\s]+', " ", title).strip() or "conversation"
    if len(clean) > limit:
        clean = (
            clean[:limit].rsplit(" ", 1)[0] if " " in clean[:limit] else clean[:limit]
        )
    return f"{clean}.md"


class MainWindow(QMainWindow):
    """Signals (queued to the workers):
    sig_load_library(), sig_ingest(list), sig_reindex(list), sig_rebuild(),
    sig_remove(str),
    sig_read_document(object), sig_load_model(), sig_ask(object: AskRequest),
    sig_compare(str, list, object), sig_settings(object).
    Public signals for tests: sig_answer_shown(object), sig_documents_shown().
    """

    sig_load_library = Signal()
    sig_ingest = Signal(list)
    sig_reindex = Signal(list)
    sig_rebuild = Signal()
    sig_remove = Signal(str)
    sig_read_document = Signal(object)
    sig_load_model = Signal()
    sig_ask = Signal(object)
    sig_compare = Signal(str, list, object)
    sig_settings = Signal(object)
    sig_answer_shown = Signal(object)
    sig_documents_shown = Signal()

    def __init__(
        self,
        settings: Settings,
        library_worker: LibraryWorker | None = None,
        chat_worker: ChatWorker | None = None,
    ) -> None:
        super().__init__()
        # Workers run Python too (parsing, chunking); a shorter GIL switch interval
        # lets the event loop get the interpreter back sooner (default 5 ms).
        sys.setswitchinterval(0.001)
        self.settings = settings
        self.setWindowTitle("Assistant")
        self.setAcceptDrops(True)
        self.documents = DocumentListModel()
        self.messages = ChatMessagesModel()
        self.sources = SourcesModel()
        self.conversation_store = ConversationStore(data_dir() / "conversations")
        self.conversation = ConversationRecord()
        self._request_ids = itertools.count(1)
        self._asking: AskRequest | None = None
        """The request whose answer streams into the messages on screen."""
        self._in_flight: dict[int, tuple[ConversationRecord, list[Message]]] = {}
        """Per unanswered request: its conversation and its messages so far (with
        the question), so the answer is filed there even after a switch."""
        self._indexing = False
        self._embedder_name = ""
        self.stuck_threads: list[str] = []
        """Worker threads that did not stop when the window closed (reported)."""

        self.library_pane = LibraryPane(self.documents)
        self.chat_pane = ChatPane(self.messages)
        self.sources_pane = SourcesPane(self.sources)
        self.viewer = PassageViewer()
        right = QSplitter(Qt.Orientation.Vertical)
        right.addWidget(self.sources_pane)
        right.addWidget(self.viewer)
        right.setSizes([300, 500])
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        for widget in (self.library_pane, self.chat_pane, right):
            self.splitter.addWidget(widget)
        self.splitter.setSizes([260, 560, 460])
        self.right_splitter = right
        self.setCentralWidget(self.splitter)
        self._build_status_bar()
        self._build_menus()
        self._start_workers(
            library_worker or LibraryWorker(settings),
            chat_worker or ChatWorker(settings),
        )
        self.teach = TeachController(self, lambda: self.settings)
        self.teach.sig_adapters_changed.connect(self.chat_pane.set_adapters)
        self.teach.sig_trained.connect(self._on_adapter_trained)
        self.chat_pane.set_adapters(self.teach.names())
        self.compare_dialog: CompareDialog | None = None
        self._connect_panes()
        self._refresh_conversation_list()
        self._restore_layout()

    # ---- construction ------------------------------------------------------------
    def _build_status_bar(self) -> None:
        self.model_label = QLabel("Loading models…")
        self.loading_bar = QProgressBar()
        self.loading_bar.setRange(0, 0)  # busy indicator while models load
        self.loading_bar.setMaximumWidth(120)
        self.count_label = QLabel("")
        offline = QLabel("\u25cf Offline")
        offline.setToolTip("Assistant never connects to the network.")
        offline.setStyleSheet("color: #2e7d32;")
        bar = self.statusBar()
        for widget in (self.loading_bar, self.model_label, self.count_label, offline):
            bar.addPermanentWidget(widget)

    def _action(
        self,
        menu_name: str,
        text: str,
        shortcut: str | QKeySequence.StandardKey,
        slot: object,
    ) -> QAction:
        menu = self._menus.get(menu_name) or self.menuBar().addMenu(menu_name)
        self._menus[menu_name] = menu
        action = QAction(text, self)
        action.setShortcut(QKeySequence(shortcut))
        action.triggered.connect(slot)
        menu.addAction(action)
        self.addAction(action)
        return action

    def _build_menus(self) -> None:
        self._menus: dict[str, QMenu] = {}
        self._action("&File", "Add &files…", "Ctrl+O", self.library_pane.choose_files)
        self._action(
            "&File", "Add f&older…", "Ctrl+Shift+O", self.library_pane.choose_folder
        )
        self._action(
            "&File", "&Export conversation…", "Ctrl+E", self.export_conversation
        )
        self._action("&File", "&Re-index library", "Ctrl+Shift+R", self.rebuild_library)
        self._action("&File", "&Settings…", "Ctrl+,", self.open_settings)
        self._action("&File", "&Quit", "Ctrl+Q", self.close)
        self._action("&Chat", "&New conversation", "Ctrl+N", self.new_conversation)
        self._action("&Chat", "&Stop answer", "Esc", self.stop_answer)
        self._action(
            "&Chat", "Ask a &question", "Ctrl+L", self.chat_pane.input.setFocus
        )
        self._menus["&Chat"].addSeparator()
        for number, mode in enumerate(MODE_LABELS, start=1):
            self._action(
                "&Chat",
                f"Answer with: {MODE_LABELS[mode]}",
                f"Ctrl+{number}",
                lambda _=False, m=mode: self.chat_pane.set_mode(m),
            )
        self._action(
            "&Chat",
            "&Compare modes",
            "Ctrl+Shift+Return",
            self.chat_pane.submit_compare,
        )
        self._action("&Model", "&Teach the model…", "Ctrl+T", self.teach_open)
        self._action("&Help", "&About Assistant", "F1", self.show_about)

    def _start_workers(
        self, library_worker: LibraryWorker, chat_worker: ChatWorker
    ) -> None:
        self.library_worker = library_worker
        self.chat_worker = chat_worker
        self.library_thread = QThread(self)
        self.library_thread.setObjectName("library-worker")
        self.chat_thread = QThread(self)
        self.chat_thread.setObjectName("chat-worker")
        library_worker.moveToThread(self.library_thread)
        chat_worker.moveToThread(self.chat_thread)

        self.sig_load_library.connect(library_worker.load)
        self.sig_ingest.connect(library_worker.ingest)
        self.sig_reindex.connect(library_worker.reindex)
        self.sig_rebuild.connect(library_worker.rebuild)
        self.sig_settings.connect(library_worker.set_settings)
        self.sig_remove.connect(library_worker.remove)
        self.sig_read_document.connect(library_worker.read_document)
        library_worker.sig_ready.connect(self._on_library_ready)
        library_worker.sig_ready.connect(chat_worker.set_library)
        library_worker.sig_documents.connect(self._on_documents)
        library_worker.sig_progress.connect(self._on_progress)
        library_worker.sig_ingest_finished.connect(self._on_ingest_finished)
        library_worker.sig_failed.connect(self._on_library_failed)
        library_worker.sig_damaged.connect(self._on_library_damaged)
        library_worker.sig_document_text.connect(self._on_document_text)

        self.sig_load_model.connect(chat_worker.load)
        self.sig_ask.connect(chat_worker.ask)
        self.sig_compare.connect(chat_worker.compare)
        self.sig_settings.connect(chat_worker.set_settings)
        chat_worker.sig_model_ready.connect(self._on_model_ready)
        chat_worker.sig_sources.connect(self._on_sources)
        chat_worker.sig_tokens.connect(self._on_tokens)
        chat_worker.sig_answer_finished.connect(self._on_answer_finished)
        chat_worker.sig_ask_failed.connect(self._on_ask_failed)
        chat_worker.sig_failed.connect(self._on_chat_failed)

        self.library_thread.start()
        self.chat_thread.start()
        self.sig_load_library.emit()
        self.sig_load_model.emit()
        # typing right away asks a question (not filters the library list)
        self.chat_pane.input.setFocus()

    def _connect_panes(self) -> None:
        pane = self.library_pane
        pane.sig_add_paths.connect(self.add_paths)
        pane.sig_remove.connect(self._on_remove)
        pane.sig_reindex.connect(lambda path: self._start_ingest([path], force=True))
        pane.sig_retry.connect(self._on_retry)
        pane.sig_cancel.connect(self.cancel_indexing)
        pane.sig_open.connect(self._open_document)
        chat = self.chat_pane
        chat.sig_ask.connect(self.ask)
        chat.sig_regenerate.connect(self.regenerate)
        chat.sig_stop.connect(self.stop_answer)
        chat.sig_citation.connect(self._on_citation)
        chat.sig_new.connect(self.new_conversation)
        chat.sig_rename.connect(self.rename_conversation)
        chat.sig_delete.connect(self.delete_conversation)
        chat.sig_export.connect(self.export_conversation)
        chat.sig_conversation_selected.connect(self.open_conversation)
        chat.sig_compare.connect(self.compare)
        self.sources_pane.sig_open_source.connect(self.open_source)

    # ---- library -----------------------------------------------------------------
    def add_paths(self, paths: list[str]) -> None:
        gguf = [p for p in paths if p.lower().endswith(".gguf")]
        if gguf:
            self.apply_settings(
                self.settings.model_copy(update={"chat_model": gguf[0]})
            )
        documents = [p for p in paths if not p.lower().endswith(".gguf")]
        if documents:
            self._start_ingest(documents, force=False)

    def _start_ingest(self, paths: list[str], force: bool) -> None:
        files, failures = discover(paths)
        for failure in failures:
            self.documents.mark(failure.path, "failed", failure.reason)
        for file in files:
            row = self.documents.row_for(str(file))
            if row is None or row.state != "ready" or force:
                self.documents.mark(str(file), "queued")
        if not files:
            return
        self._indexing = True
        (self.sig_reindex if force else self.sig_ingest).emit([str(f) for f in files])

    def rebuild_library(self) -> None:
        """Re-index every document with the configured embedding model (after a
        change of model, or to repair a damaged index); the old index stays in use
        until the new one is complete, and Stop keeps it."""
        self.library_pane.stop_button.setEnabled(True)
        self.statusBar().showMessage("Re-indexing the library…")
        self.sig_rebuild.emit()

    def cancel_indexing(self) -> None:
        self.library_worker.cancel_token.cancel()
        self.library_pane.stop_button.setEnabled(False)
        self.library_pane.progress_label.setText("Stopping after the current batch…")

    def _on_library_ready(self, library: Library) -> None:
        self._embedder_name = library.embedder.name
        if library.awaiting_embedder:  # the settings chose another embedder
            self.statusBar().showMessage(
                f"Still searching with {library.embedder.name}: File \u203a Re-index "
                f"library to use {library.awaiting_embedder}",
                60000,
            )
        elif library.embedder.name == self.settings.embedding_model or (
            "embedding_model" in self.settings.model_fields_set
        ):
            self.statusBar().showMessage("Library loaded", 3000)
        else:  # built before the default embedder changed: works, searches worse
            self.statusBar().showMessage(
                f"Indexed with an earlier embedder ({library.embedder.name}): "
                "File \u203a Re-index library for better search",
                30000,
            )

    def _on_documents(self, documents: list[DocumentInfo]) -> None:
        self.documents.set_documents(documents)
        chunks = sum(d.chunks for d in documents)
        count = len(documents)
        noun = "document" if count == 1 else "documents"
        self.count_label.setText(f"{count} {noun} · {chunks} chunks")
        self.sig_documents_shown.emit()

    def _on_progress(self, progress: IngestProgress) -> None:
        self.library_pane.show_progress(progress)
        if progress.current:
            for row in self.documents.rows():
                if row.name == progress.current and row.state in ("queued", "indexing"):
                    self.documents.mark(
                        row.path,
                        "indexing",
                        percent=int(
                            100 * progress.chunks_done / max(progress.chunks_total, 1)
                        ),
                    )

    def _on_ingest_finished(self, report: IngestReport) -> None:
        self._indexing = False
        self.library_pane.hide_progress()
        for failure in report.failed:
            self.documents.mark(failure.path, "failed", failure.reason)
        for row in self.documents.rows():
            if row.state in ("queued", "indexing") and report.cancelled:
                self.documents.mark(row.path, "failed", "stopped before it was indexed")
        summary = (
            f"{len(report.added)} added, {len(report.updated)} updated, "
            f"{len(report.unchanged)} unchanged, {len(report.failed)} failed"
        )
        self.statusBar().showMessage(
            ("Indexing stopped: " if report.cancelled else "Indexing finished: ")
            + summary,
            10000,
        )

    def _on_library_failed(self, message: str) -> None:
        self.model_label.setText("Library unavailable")
        QMessageBox.warning(self, "Library", message)

    def _on_library_damaged(self, folder: str, what: str) -> None:
        self.model_label.setText("Library damaged")
        answer = QMessageBox.question(
            self,
            "Library damaged",
            f"The library index in {folder} cannot be read ({what}).\n\n"
            "Re-index it now from your files? Your files are not touched, and the "
            "documents of the newest readable version are indexed again. (Later: "
            "File › Re-index library.)",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.Yes,
        )
        if answer == QMessageBox.StandardButton.Yes:
            self.rebuild_library()

    def _on_remove(self, path: str) -> None:
        row = self.documents.row_for(path)
        if row is not None and row.state == "failed":
            self.documents.drop_failed(path)
            return
        answer = QMessageBox.question(
            self,
            "Remove document",
            f"Remove \u201c{Path(path).name}\u201d from the library?\n\nThe file "
            "itself is not touched; adding it again indexes it again.",
        )
        if answer != QMessageBox.StandardButton.Yes:
            return
        if self.viewer.shows(path):
            self.viewer.show_message(f"{Path(path).name} was removed from the library.")
        self.sig_remove.emit(path)

    def _on_retry(self, path: str) -> None:
        self.documents.drop_failed(path)
        self._start_ingest([path], force=False)

    def _open_document(self, path: str) -> None:
        source = Source(
            n=0,
            path=path,
            title=Path(path).stem,
            page=1,
            page_label="1",
            start=0,
            end=0,
            score=0.0,
            text="",
        )
        if path.lower().endswith(".pdf"):
            self.viewer.show_pdf_passage(source)
        else:
            self.sig_read_document.emit(source)

    # ---- chat --------------------------------------------------------------------
    def _chosen_adapter(self, mode: str) -> tuple[bool, Path | None]:
        """(ok, adapter file) for a mode; tells the user when there is none."""
        if not mode_uses_adapter(mode):
            return True, None
        name = self.chat_pane.current_adapter()
        if name is None:
            QMessageBox.information(
                self,
                "No adapter yet",
                "The Taught modes answer with a fine-tuned adapter. Open Model › "
                "Teach the model… (Ctrl+T), add question/answer pairs and train "
                "one first.",
            )
            return False, None
        return True, self.teach.adapter_path(name)

    def teach_open(self) -> None:
        self.teach.open()

    def _on_adapter_trained(self, record: object) -> None:
        self.statusBar().showMessage(
            "New adapter ready: choose a Taught mode in the chat to use it.", 8000
        )

    def compare(self, question: str) -> None:
        name = self.chat_pane.current_adapter()
        adapter = self.teach.adapter_path(name) if name is not None else None
        modes = list(ANSWER_MODES if adapter else MODES_WITHOUT_ADAPTER)
        self.chat_worker.cancel_token = CancelToken()
        dialog = CompareDialog(question, modes, self)
        dialog.sig_open_source.connect(self.open_source)
        dialog.sig_stop.connect(self.stop_answer)
        for signal, slot in self._compare_links(dialog):
            signal.connect(slot)
        if self.compare_dialog is not None:
            self.compare_dialog.close()
        self.compare_dialog = dialog
        self.chat_pane.set_busy(True)
        dialog.show()
        self.sig_compare.emit(question, modes, adapter)

    def _compare_links(self, dialog: CompareDialog) -> list[tuple[Any, Any]]:
        """Worker signals wired to one compare run (disconnected when it ends)."""
        worker = self.chat_worker
        return [
            (worker.sig_compare_started, dialog.on_started),
            (worker.sig_compare_answer, dialog.on_answer),
            (worker.sig_compare_finished, dialog.on_finished),
            (worker.sig_compare_finished, self._on_compare_finished),
        ]

    def _on_compare_finished(self) -> None:
        self.chat_pane.set_busy(False)
        if self.compare_dialog is not None:
            for signal, slot in self._compare_links(self.compare_dialog):
                signal.disconnect(slot)

    def ask(self, question: str) -> None:
        mode = self.chat_pane.current_mode()
        ok, adapter = self._chosen_adapter(mode)
        if not ok:
            self.chat_pane.input.setPlainText(question)
            return
        if not self.conversation.messages:
            self.conversation.title = question[:60]
        request = AskRequest(
            next(self._request_ids),
            self.conversation.id,
            question,
            mode,
            adapter,
            tuple(self.conversation.turns),
        )
        self._asking = request
        self._in_flight[request.id] = (
            self.conversation,
            [*self.messages.messages(), Message("user", question)],
        )
        self.messages.append(Message("user", question))
        self.messages.append(Message("assistant", ""))
        self.chat_pane.set_busy(True)
        if mode_uses_retrieval(mode):
            self.statusBar().showMessage("Searching the library\u2026")
        self.sig_ask.emit(request)

    def show_about(self) -> None:
        from assistant.core.versions import package_versions

        versions = "".join(
            f"<tr><td>{name}</td><td>{version or 'not installed'}</td></tr>"
            for name, version in package_versions().items()
        )
        library = (
            f"Embedding model: {self._embedder_name}"
            if self._embedder_name
            else "Library: loading"
        )
        QMessageBox.about(
            self,
            "About Assistant",
            "<p><b>Assistant</b>: chat with your documents, offline, with "
            "citations.</p>"
            f"<p>Data folder: {data_dir()}<br>Chat model: {self.settings.chat_model}"
            f"<br>{library}</p><table>{versions}</table>",
        )

    def regenerate(self, message_index: int) -> None:
        """Answer the last question again, replacing its answer (older answers
        stay: later turns were built on them)."""
        messages = self.messages.messages()
        last = len(messages) - 1
        if self._asking is not None or message_index != last or last < 1:
            self.statusBar().showMessage("Only the last answer can be redone.", 4000)
            return
        question = messages[last - 1].text
        self.messages.set_messages(messages[:-2])
        self.conversation.messages = messages[:-2]
        self.conversation.turns = self.conversation.turns[:-1]
        self.ask(question)

    def stop_answer(self) -> None:
        """Esc / Stop: the streaming answer, or the compare run."""
        if self._asking is not None:
            self._asking.cancel.cancel()
        self.chat_worker.cancel_token.cancel()

    def _on_model_ready(self, name: str) -> None:
        self.loading_bar.hide()
        self.model_label.setText(f"Model: {name}")

    def _clear_ask_status(self) -> None:
        if self.statusBar().currentMessage().startswith(("Reading", "Searching")):
            self.statusBar().clearMessage()

    def _is_current(self, request_id: int) -> bool:
        return self._asking is not None and self._asking.id == request_id

    def _on_sources(self, request_id: int, sources: list[Source]) -> None:
        """Retrieval is done: show the passages while the model reads them."""
        if not self._is_current(request_id) or self._asking is None:
            return
        self.sources.set_sources(sources, [], self._asking.question)
        count = len(sources)
        self.statusBar().showMessage(
            f"Reading {count} passage{'s' if count != 1 else ''}\u2026"
        )

    def _on_tokens(self, request_id: int, text: str) -> None:
        if self._is_current(request_id):
            self._clear_ask_status()
            self.messages.extend_last(text)

    def _on_answer_finished(self, result: AskResult) -> None:
        """File the answer under the conversation that asked (saved even if another
        one is on screen now); dropped if that conversation was deleted."""
        filed = self._in_flight.pop(result.request.id, None)
        if filed is None:
            return
        record, messages = filed
        message = Message.from_answer(result.answer)
        record.messages = [*messages, message]
        record.turns = list(result.history)
        self.conversation_store.save(record)
        if self._asking is None or self._asking.id != result.request.id:
            self._refresh_conversation_list()
            return
        self._asking = None
        self._clear_ask_status()
        self.messages.replace_last(message)
        self.chat_pane.set_busy(False)
        self.sources.set_sources(
            result.answer.sources, result.answer.cited, result.request.question
        )
        self._refresh_conversation_list()
        self.sig_answer_shown.emit(result.answer)

    def _on_ask_failed(self, request_id: int, message: str) -> None:
        self._in_flight.pop(request_id, None)
        if self._asking is None or self._asking.id != request_id:
            return
        self._asking = None
        self._clear_ask_status()
        self._on_chat_failed(message)

    def _on_chat_failed(self, message: str) -> None:
        self.chat_pane.set_busy(False)
        messages = self.messages.messages()
        if messages and messages[-1].role == "assistant" and not messages[-1].text:
            self.messages.replace_last(Message("assistant", f"*{message}*"))
        if "model" in message.lower():
            self.loading_bar.hide()
            self.model_label.setText("Model unavailable")
        QMessageBox.warning(
            self, "Chat", f"{message}\n\nCheck the chat model in File \u203a Settings."
        )

    def _on_citation(self, message_index: int, number: int, claim_index: int) -> None:
        """Show the sources of that answer and open the cited passage with the
        claim's evidence span highlighted (the whole passage if it has none)."""
        messages = self.messages.messages()
        if not 0 <= message_index < len(messages):
            return
        message = messages[message_index]
        question = messages[message_index - 1].text if message_index else ""
        self.sources.set_sources(message.sources, message.cited, question)
        claim = message.claim(claim_index)
        evidence = (
            next((e for e in claim.evidence if e.n == number), None) if claim else None
        )
        source = self.sources.source(number)
        if source is not None and evidence is not None:
            self.open_source(source.span(evidence.start, evidence.end))
        else:
            self.sources_pane.open_number(number)

    def open_source(self, source: Source) -> None:
        if source.path.lower().endswith(".pdf") and source.page:
            if not self.viewer.show_pdf_passage(source):
                self.viewer.show_message(
                    f"Cannot open {Path(source.path).name}: the "
                    "file was moved or deleted."
                )
        else:
            self.sig_read_document.emit(source)

    def _on_document_text(self, source: Source, text: str) -> None:
        self.viewer.show_text_passage(source, text)

    # ---- conversations -----------------------------------------------------------
    def _refresh_conversation_list(self) -> None:
        records = self.conversation_store.list()
        items = [(r.id, r.title) for r in records]
        if self.conversation.id not in {r.id for r in records}:
            items.insert(0, (self.conversation.id, self.conversation.title))
        self.chat_pane.set_conversations(items, self.conversation.id)

    def _switch_to(self, record: ConversationRecord) -> None:
        """Show another conversation; an answer still streaming stops and is filed
        under the conversation that asked (see ``_on_answer_finished``)."""
        self.stop_answer()
        self._asking = None
        self._clear_ask_status()
        self.chat_pane.set_busy(False)
        self.conversation = record
        self.messages.set_messages(record.messages)
        last = next(
            (m for m in reversed(record.messages) if m.role == "assistant"), None
        )
        self.sources.set_sources(
            last.sources if last else [], last.cited if last else [], ""
        )
        self._refresh_conversation_list()

    def new_conversation(self) -> None:
        self._switch_to(ConversationRecord())

    def open_conversation(self, conversation_id: str) -> None:
        record = next(
            (r for r in self.conversation_store.list() if r.id == conversation_id), None
        )
        if record is not None:
            self._switch_to(record)

    def rename_conversation(self) -> None:
        title, ok = QInputDialog.getText(
            self, "Rename conversation", "Title:", text=self.conversation.title
        )
        if ok and title.strip():
            self.conversation.title = title.strip()
            if self.conversation.messages:
                self.conversation_store.save(self.conversation)
            self._refresh_conversation_list()

    def delete_conversation(self) -> None:
        answer = QMessageBox.question(
            self,
            "Delete conversation",
            f"Delete \u201c{self.conversation.title}\u201d?",
        )
        if answer == QMessageBox.StandardButton.Yes:
            deleted = self.conversation.id
            for request_id, (record, _) in list(self._in_flight.items()):
                if record.id == deleted:  # its answer must not bring it back
                    del self._in_flight[request_id]
            self.conversation_store.delete(deleted)
            self.new_conversation()

    def export_conversation(self) -> None:
        if not self.conversation.messages:
            self.statusBar().showMessage("Nothing to export yet.", 4000)
            return
        path, _ = QFileDialog.getSaveFileName(
            self,
            "Export conversation",
            export_file_name(self.conversation.title),
            "Markdown (*.md)",
        )
        if path:
            Path(path).write_text(self.conversation.to_markdown(), encoding="utf-8")
            self.statusBar().showMessage(f"Exported to {path}", 6000)

    # ---- settings and layout -----------------------------------------------------
    def open_settings(self) -> None:
        dialog = SettingsDialog(self.settings, self)
        if dialog.exec():
            self.apply_settings(dialog.result_settings())

    def apply_settings(self, settings: Settings) -> None:
        embedder_changed = settings.embedding_model != self.settings.embedding_model
        model_changed = generator_settings(settings) != generator_settings(
            self.settings
        )
        self.settings = settings
        save_settings(settings)
        if model_changed:
            self.loading_bar.show()
            self.model_label.setText("Loading model…")
        self.sig_settings.emit(settings)
        if model_changed:
            self.teach.on_settings_changed()
        if embedder_changed and self.documents.rowCount():
            answer = QMessageBox.question(
                self,
                "Embedding model changed",
                "The new embedding model is used once the library is re-indexed "
                "with it. Re-index now? The current index stays in use until the "
                "new one is complete, and Stop keeps it. (Later: File \u203a "
                "Re-index library.)",
            )
            if answer == QMessageBox.StandardButton.Yes:
                self.rebuild_library()

    def _ui_state(self) -> QSettings:
        return QSettings(str(data_dir() / "window.ini"), QSettings.Format.IniFormat)

    def _restore_layout(self) -> None:
        state = self._ui_state()
        geometry = state.value("geometry")
        if geometry:
            self.restoreGeometry(geometry)
        else:
            self.resize(1280, 800)
        for key, splitter in (
            ("splitter", self.splitter),
            ("right", self.right_splitter),
        ):
            value = state.value(key)
            if value:
                splitter.restoreState(value)
        try:
            self.viewer.zoom = float(str(state.value("viewer_zoom", 1.0)))
        except (TypeError, ValueError):  # a hand-edited window.ini
            self.viewer.zoom = 1.0

    def _save_layout(self) -> None:
        state = self._ui_state()
        state.setValue("geometry", self.saveGeometry())
        state.setValue("splitter", self.splitter.saveState())
        state.setValue("right", self.right_splitter.saveState())
        state.setValue("viewer_zoom", self.viewer.zoom)
        state.sync()

    # ---- drag and drop, close ----------------------------------------------------
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802 (Qt API)
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802 (Qt API)
        paths = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if paths:
            event.acceptProposedAction()
            self.add_paths(paths)

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 (Qt API)
        self._save_layout()
        self.shutdown()
        super().closeEvent(event)

    def shutdown(self) -> None:
        """Cancel running work and stop both threads (the index stays consistent:
        documents are committed whole or not at all)."""
        self.library_worker.cancel_token.cancel()
        self.stop_answer()
        self.teach.shutdown()
        for thread in (self.library_thread, self.chat_thread):
            thread.quit()
            if not thread.wait(SHUTDOWN_WAIT_MS):
                # a worker stuck in native code: report it; the process exit ends it
                log.error(
                    "the %s thread did not stop within %d s; quitting without it",
                    thread.objectName() or "worker",
                    SHUTDOWN_WAIT_MS // 1000,
                )
                self.stuck_threads.append(thread.objectName())
