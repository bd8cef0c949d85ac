"""Left pane: documents, filter, add buttons, indexing progress with Stop."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QPoint, QSortFilterProxyModel, Qt, Signal
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListView,
    QMenu,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from assistant.core.ingest import PARSERS, STREAMS
from assistant.core.ingest.image import SUFFIXES as IMAGE_SUFFIXES
from assistant.core.ingest.staged_index import CompletionProgress
from assistant.core.time_left import format_time_left
from assistant.core.types import IngestProgress
from assistant.ui.models.document_model import DocumentListModel

_DOCUMENTS = sorted(s for s in [*PARSERS, *STREAMS] if s not in IMAGE_SUFFIXES)
FILE_FILTER = ";;".join(
    [
        "Documents and images ("
        + " ".join(f"*{s}" for s in [*_DOCUMENTS, *IMAGE_SUFFIXES])
        + ")",
        "Documents (" + " ".join(f"*{s}" for s in _DOCUMENTS) + ")",
        "Images, read by OCR (" + " ".join(f"*{s}" for s in IMAGE_SUFFIXES) + ")",
    ]
)


class LibraryPane(QWidget):
    """Signals:
    sig_add_paths(list): files or folders the user chose.
    sig_remove(str), sig_reindex(str), sig_retry(str): a document path.
    sig_cancel(): Stop pressed during indexing.
    sig_open(str): a ready document double-clicked.
    """

    sig_add_paths = Signal(list)
    sig_remove = Signal(str)
    sig_reindex = Signal(str)
    sig_retry = Signal(str)
    sig_cancel = Signal()
    sig_open = Signal(str)
    sig_scope = Signal(list, bool)
    """Paths (documents or folders) to ask only about; True: added to the scope."""

    def __init__(self, model: DocumentListModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = model
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(model)
        self.proxy.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)

        title = QLabel("<b>Library</b>")
        self.filter_edit = QLineEdit(placeholderText="Filter documents")
        self.filter_edit.setClearButtonEnabled(True)
        self.filter_edit.textChanged.connect(self.proxy.setFilterFixedString)
        self.view = QListView()
        self.view.setModel(self.proxy)
        self.view.setAlternatingRowColors(True)
        # long states (a failure's reason, a partly indexed PDF) wrap in the pane
        self.view.setWordWrap(True)
        self.view.setResizeMode(QListView.ResizeMode.Adjust)
        self.view.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.view.customContextMenuRequested.connect(self._on_context_menu)
        self.view.doubleClicked.connect(
            lambda i: self.sig_open.emit(i.data(DocumentListModel.PathRole))
        )
        self.empty_label = QLabel(
            "No documents yet.\n\nDrop PDF, Word, Markdown, HTML or text files here, "
            "or use the buttons below."
        )
        self.empty_label.setWordWrap(True)
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_label.setStyleSheet(
            "color: palette(placeholder-text); padding: 12px;"
        )

        self.add_files_button = QPushButton("Add files…")
        self.add_files_button.setToolTip("Add documents (Ctrl+O)")
        self.add_files_button.clicked.connect(self.choose_files)
        self.add_folder_button = QPushButton("Add folder…")
        self.add_folder_button.setToolTip(
            "Add every document in a folder (Ctrl+Shift+O)"
        )
        self.add_folder_button.clicked.connect(self.choose_folder)
        buttons = QHBoxLayout()
        buttons.addWidget(self.add_files_button)
        buttons.addWidget(self.add_folder_button)

        self.progress = QProgressBar()
        self.progress.setTextVisible(True)
        self.progress_label = QLabel()
        self.progress_label.setWordWrap(True)
        self.stop_button = QPushButton("Stop")
        self.stop_button.setToolTip(
            "Stop indexing (the current file is left as it was)"
        )
        self.stop_button.clicked.connect(self.sig_cancel.emit)
        progress_row = QHBoxLayout()
        progress_row.addWidget(self.progress, 1)
        progress_row.addWidget(self.stop_button)
        self.progress_box = QWidget()
        box = QVBoxLayout(self.progress_box)
        box.setContentsMargins(0, 0, 0, 0)
        box.addLayout(progress_row)
        box.addWidget(self.progress_label)
        self.progress_box.hide()

        layout = QVBoxLayout(self)
        layout.addWidget(title)
        layout.addWidget(self.filter_edit)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.empty_label, 1)
        layout.addWidget(self.progress_box)
        layout.addLayout(buttons)
        model.modelReset.connect(self._update_empty_state)
        model.rowsInserted.connect(self._update_empty_state)
        model.rowsRemoved.connect(self._update_empty_state)
        self._update_empty_state()

    def _update_empty_state(self) -> None:
        empty = self.model.rowCount() == 0
        self.empty_label.setVisible(empty)
        self.view.setVisible(not empty)

    def choose_files(self) -> None:
        files, _ = QFileDialog.getOpenFileNames(self, "Add documents", "", FILE_FILTER)
        if files:
            self.sig_add_paths.emit(files)

    def choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Add a folder of documents")
        if folder:
            self.sig_add_paths.emit([folder])

    def show_progress(self, progress: IngestProgress, eta_s: float | None) -> None:
        self.progress_box.show()
        self.stop_button.setEnabled(True)
        self.progress.setMaximum(max(progress.bytes_total, 1))
        self.progress.setValue(int(progress.bytes_progress))
        # the bar is by bytes: its text says the same ("0/2 files" stood over a
        # half-full bar); the file count goes with the file's name
        self.progress.setFormat("%p%")
        current = ""
        if progress.current:
            which = min(progress.files_done + 1, progress.files_total)
            of = f" (file {which} of {progress.files_total})"
            current = f"{progress.current}{of if progress.files_total > 1 else ''} · "
        pages = f"{summary} · " if (summary := progress.pages_summary()) else ""
        if summary and progress.files_total > 1:
            pages = f"{summary} in all · "
        self.progress_label.setText(
            f"{current}{pages}{progress.chunks_done:,} chunks · "
            f"{format_time_left(eta_s)}"
        )

    def show_completion(self, progress: CompletionProgress) -> None:
        """A staged index's second stage: searchable already, being improved."""
        self.progress_box.show()
        self.stop_button.setEnabled(True)
        self.progress.setMaximum(max(progress.total, 1))
        self.progress.setValue(progress.done)
        self.progress.setFormat("%p%")
        self.progress_label.setText(
            "Searchable by meaning · improving search: "
            f"{progress.summary()} · {format_time_left(progress.eta_s)}"
        )

    def hide_progress(self) -> None:
        self.progress_box.hide()

    def _on_context_menu(self, point: QPoint) -> None:
        index = self.view.indexAt(point)
        if not index.isValid():
            return
        path = index.data(DocumentListModel.PathRole)
        state = index.data(DocumentListModel.StateRole)
        menu = QMenu(self)
        if state == "failed":
            menu.addAction("Retry", lambda: self.sig_retry.emit(path))
        else:
            if state == "partial":
                menu.addAction("Resume indexing", lambda: self.sig_retry.emit(path))
            menu.addAction("Open", lambda: self.sig_open.emit(path))
            menu.addAction("Re-index", lambda: self.sig_reindex.emit(path))
            menu.addSeparator()
            menu.addAction(
                "Ask only about this document",
                lambda: self.sig_scope.emit([path], False),
            )
            folder = str(Path(path).parent)
            menu.addAction(
                f"Ask only about its folder ({Path(folder).name or folder})",
                lambda: self.sig_scope.emit([folder], False),
            )
            menu.addAction(
                "Also ask about this document",
                lambda: self.sig_scope.emit([path], True),
            )
            menu.addSeparator()
        menu.addAction("Remove from library", lambda: self.sig_remove.emit(path))
        menu.exec(self.view.viewport().mapToGlobal(point))
