"""The main window: lays out library | chat | sources + passage viewer, and
connects the feature controllers, which own the workers and the state:

- ``LibraryController`` (library_controller.py): the library thread, the document
  list, indexing jobs, the passage viewer's document reads.
- ``ChatController`` (chat_controller.py): the model's thread, the conversation on
  screen, questions in flight, the compare run.
- ``TeachController`` (teach_controller.py): the Teach view and its training thread.

The window owns the settings (one owner: each change goes out to the controllers
as an immutable ``Settings``) and the window layout; arrows go one way, from the
window to the controllers, and back only through their signals.
"""

from __future__ import annotations

from functools import partial

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import (
    QCloseEvent,
    QDragEnterEvent,
    QDropEvent,
)
from PySide6.QtWidgets import (
    QLabel,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QSplitter,
)

from assistant.core.config import (
    Settings,
    connection_label,
    generator_settings,
    save_settings,
)
from assistant.core.errors import AssistantError
from assistant.core.hardware import (
    freeze_heap,
    hold_full_collections,
    release_full_collections,
)
from assistant.core.model_files import resolve_chat_model
from assistant.core.services.components import warm_tokenizers
from assistant.ui.about_dialog import show_about
from assistant.ui.chat_controller import ChatController
from assistant.ui.library_controller import LibraryController
from assistant.ui.menus import SEPARATOR, build_menus
from assistant.ui.models.chat_model import ChatMessagesModel
from assistant.ui.models.document_model import DocumentListModel
from assistant.ui.models.sources_model import SourcesModel
from assistant.ui.panes.chat_pane import MODE_LABELS, ChatPane
from assistant.ui.panes.library_pane import LibraryPane
from assistant.ui.panes.sources_pane import SourcesPane
from assistant.ui.panes.viewer_pane import PassageViewer
from assistant.ui.settings_dialog import SettingsDialog
from assistant.ui.teach_controller import TeachController
from assistant.ui.theme import is_dark
from assistant.ui.window_layout import (
    choose_theme,
    restore_layout,
    save_layout,
    step_text_size,
)
from assistant.ui.workers.chat_worker import ChatWorker
from assistant.ui.workers.library_worker import LibraryWorker

SHUTDOWN_WAIT_MS = 10_000
"""How long closing waits for a worker to finish its current step."""
TEACH_SHUTDOWN_WAIT_MS = 120_000
"""Training stops at its next step; loading the base model cannot be interrupted."""
ASK_STATUS = ("Searching", "Reading")
"""Status messages of a question on its way (cleared when its answer streams)."""


class MainWindow(QMainWindow):
    """Signals for tests: ``chat.sig_answer_shown``, ``library.sig_documents_shown``."""

    def __init__(
        self,
        settings: Settings,
        library_worker: LibraryWorker | None = None,
        chat_worker: ChatWorker | None = None,
    ) -> None:
        super().__init__()
        if library_worker is None:
            warm_tokenizers(settings)  # each holds the GIL ~65 ms: not in a worker
        freeze_heap()  # what the imports made, before the workers start loading
        hold_full_collections()  # until both models are loaded (or 60 s)
        self._loading = {"library", "chat"}
        QTimer.singleShot(60_000, release_full_collections)
        self.settings = settings
        self.setWindowTitle("Assistant")
        self.setAcceptDrops(True)
        self.library_pane = LibraryPane(DocumentListModel())
        self.chat_pane = ChatPane(ChatMessagesModel())
        self.sources_pane = SourcesPane(SourcesModel())
        self.viewer = PassageViewer()
        right = QSplitter(Qt.Orientation.Vertical)
        right.addWidget(self.sources_pane)
        right.addWidget(self.viewer)
        right.setSizes([260, 540])
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        for widget in (self.library_pane, self.chat_pane, right):
            self.splitter.addWidget(widget)
        self.splitter.setSizes([230, 510, 540])  # a page readable beside the chat
        self.right_splitter = right
        self.setCentralWidget(self.splitter)
        self._build_status_bar()
        self.stuck_threads: list[str] = []
        """Worker threads that did not stop when the window closed (reported)."""

        self.teach = TeachController(self, lambda: self.settings)
        self.library = LibraryController(
            self, settings, self.library_pane, self.viewer, library_worker
        )
        self.chat = ChatController(
            self,
            self.chat_pane,
            self.sources_pane.model,
            self.teach.adapter_path,
            chat_worker,
            settings,
        )
        self._connect()
        self._build_menus()
        restore_layout(self, self._splitters(), self.viewer)
        self.dark_action.setChecked(is_dark())
        self.dark_action.toggled.connect(choose_theme)
        self.chat_pane.input.setFocus()  # typing asks a question, not filters

    def _connect(self) -> None:
        library, chat = self.library, self.chat
        library.sig_reader.connect(chat.sig_library)
        library.sig_reader.connect(lambda _: self._loaded("library"))
        library.sig_state.connect(lambda _: self._loaded("library"))  # or failed
        chat.sig_model.connect(self._chat_model_shown)
        library.sig_status.connect(self._show_status)
        library.sig_state.connect(self.model_label.setText)
        library.sig_count.connect(self.count_label.setText)
        chat.sig_status.connect(self._show_status)
        self.chat_pane.sig_status.connect(self._show_status)
        chat.sig_model.connect(self._show_model)
        chat.sig_open_source.connect(library.show_source)
        chat.sig_passages_gone.connect(self.viewer.clear)
        self.library_pane.sig_scope.connect(chat.set_scope)
        chat.sig_busy.connect(library.set_sharing)
        self.chat_pane.sig_clear_scope.connect(lambda: chat.set_scope([]))
        self.sources_pane.sig_open_source.connect(library.show_source)
        self.library_pane.sig_add_paths.connect(self.add_paths)
        self.teach.sig_adapters_changed.connect(self.chat_pane.set_adapters)
        self.teach.sig_trained.connect(
            lambda _: self._show_status(
                "New adapter ready: choose a Taught mode in the chat to use it.", 8000
            )
        )
        self.chat_pane.set_adapters(self.teach.names())

    # ---- construction ------------------------------------------------------------
    def _build_status_bar(self) -> None:
        self.model_label = QLabel("Loading models…")
        self.loading_bar = QProgressBar()
        self.loading_bar.setRange(0, 0)  # busy indicator while models load
        self.loading_bar.setMaximumWidth(120)
        self.count_label = QLabel("")
        self.connection = QLabel()
        self._show_connection()
        bar = self.statusBar()
        for widget in (
            self.loading_bar,
            self.model_label,
            self.count_label,
            self.connection,
        ):
            widget.setContentsMargins(12, 0, 0, 0)  # apart from a long message's cut
            bar.addPermanentWidget(widget)

    def _show_connection(self) -> None:
        text, tip, offline = connection_label(self.settings)
        self.connection.setText(text)
        self.connection.setToolTip(tip)
        self.connection.setStyleSheet(f"color: {'#2e7d32' if offline else '#1565c0'};")

    def _build_menus(self) -> None:
        chat, pane, library = self.chat, self.chat_pane, self.library_pane
        modes = [
            ("&Chat", f"Answer with: {label}", f"Ctrl+{n}", partial(pane.set_mode, m))
            for n, (m, label) in enumerate(MODE_LABELS.items(), start=1)
        ]
        menus = build_menus(
            self,
            [
                ("&File", "Add &files…", "Ctrl+O", library.choose_files),
                (
                    "&File",
                    "Add f&older…",
                    "Ctrl+Shift+O",
                    self.library_pane.choose_folder,
                ),
                (
                    "&File",
                    "&Watched folders…",
                    "Ctrl+Shift+W",
                    self.library.manage_folders,
                ),
                ("&File", "&Export conversation…", "Ctrl+E", chat.export_conversation),
                ("&File", "&Re-index library", "Ctrl+Shift+R", self.library.rebuild),
                ("&File", "&Settings…", "Ctrl+,", self.open_settings),
                ("&File", "&Quit", "Ctrl+Q", self.close),
                ("&Chat", "&New conversation", "Ctrl+N", chat.new_conversation),
                ("&Chat", "&Stop answer", "Esc", chat.stop),
                ("&Chat", "Ask a &question", "Ctrl+L", pane.input.setFocus),
                ("&Chat", SEPARATOR),
                *modes,
                ("&Chat", "&Compare modes", "Ctrl+Shift+Return", pane.submit_compare),
                ("&View", "&Larger text", "Ctrl+Shift+=", partial(self._text, 1)),
                ("&View", "&Smaller text", "Ctrl+Shift+-", partial(self._text, -1)),
                ("&Model", "&Teach the model…", "Ctrl+T", self.teach.open),
                ("&Help", "&About Assistant", "F1", self.show_about),
            ],
        )
        self.dark_action = menus["&View"].addAction("&Dark theme")
        self.dark_action.setCheckable(True)

    def warn_refused_settings(self, refused: list[str]) -> None:
        """Say which settings were not valid (each is at its default now; the
        others, the library's location included, are as they were)."""
        box = QMessageBox(
            QMessageBox.Icon.Warning,
            "Some settings were not valid",
            "These settings in settings.json were not valid and use their "
            "defaults for now; everything else is as you set it. Open "
            "Settings to choose other values (saving writes them back).",
            QMessageBox.StandardButton.Ok,
            self,
        )
        box.setDetailedText("\n".join(refused))
        box.setInformativeText("\n".join(refused[:3]))
        box.open()

    def _text(self, steps: int) -> None:
        self._show_status(f"Text size {step_text_size(steps)} pt", 2000)

    def _show_status(self, text: str, timeout_ms: int) -> None:
        """A message for the status bar; "" clears a question's progress note."""
        bar = self.statusBar()
        if text:
            bar.showMessage(text, timeout_ms)
        elif bar.currentMessage().startswith(ASK_STATUS):
            bar.clearMessage()

    @property
    def models_loading(self) -> bool:
        """The library or the chat model is still loading."""
        return bool(self._loading)

    def _chat_model_shown(self, _text: str, loading: bool) -> None:
        if not loading:  # ready, or unavailable
            self._loaded("chat")

    def _loaded(self, part: str) -> None:
        """One of the library and the chat model finished loading (or failed):
        once both have, full collections resume (``hold_full_collections``)."""
        self._loading.discard(part)
        if not self._loading:
            release_full_collections()

    def _show_model(self, text: str, loading: bool) -> None:
        self.model_label.setText(text)
        self.loading_bar.setVisible(loading)

    def add_paths(self, paths: list[str]) -> None:
        """Dropped or chosen files: a .gguf becomes the chat model, the rest is
        indexed."""
        gguf = [p for p in paths if p.lower().endswith(".gguf")]
        if gguf:
            self.apply_settings(
                self.settings.model_copy(update={"chat_model": gguf[0]})
            )
        documents = [p for p in paths if not p.lower().endswith(".gguf")]
        if documents:
            self.library.add(documents)

    def show_about(self) -> None:
        try:
            chat_model = resolve_chat_model(self.settings.chat_model).name
        except AssistantError as exc:
            chat_model = f"not found ({exc})"
        show_about(self, chat_model, self.library.embedder_name)

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
        self._show_connection()
        self.library.set_settings(settings)
        self.chat.set_settings(settings, reload_model=model_changed)
        if model_changed:
            self.teach.on_settings_changed()
        if embedder_changed and self.library.documents.rowCount():
            answer = QMessageBox.question(
                self,
                "Embedding model changed",
                "The new embedding model is used once the library is re-indexed "
                "with it. Re-index now? The current index stays in use until the "
                "new one is complete, and Stop keeps it. (Later: File \u203a "
                "Re-index library.)",
            )
            if answer == QMessageBox.StandardButton.Yes:
                self.library.rebuild()

    def _splitters(self) -> dict[str, QSplitter]:
        return {"splitter": self.splitter, "right": self.right_splitter}

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
        save_layout(self, self._splitters(), self.viewer)
        self.shutdown()
        super().closeEvent(event)

    def shutdown(self) -> None:
        """Cancel running work and stop the threads (the index stays consistent:
        documents are committed whole or not at all); a thread stuck in native
        code is reported in ``stuck_threads`` instead of hanging the close."""
        self.stuck_threads += self.library.shutdown(SHUTDOWN_WAIT_MS)
        self.stuck_threads += self.chat.shutdown(SHUTDOWN_WAIT_MS)
        self.stuck_threads += self.teach.shutdown(TEACH_SHUTDOWN_WAIT_MS)
