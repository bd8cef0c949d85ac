"""Settings: models, context, sampling, retrieval, threads."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QWidget,
)

from assistant.core.config import Settings
from assistant.core.model_files import DEFAULT_EMBEDDER


def _checkbox(text: str, checked: bool, tip: str) -> QCheckBox:
    box = QCheckBox(text)
    box.setChecked(checked)
    box.setToolTip(tip)
    return box


def _with_browse(edit: QLineEdit, browse: QPushButton) -> QWidget:
    row = QWidget()
    layout = QHBoxLayout(row)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.addWidget(edit, 1)
    layout.addWidget(browse)
    return row


class SettingsDialog(QDialog):
    def __init__(self, settings: Settings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Settings")
        self._settings = settings
        self.chat_model = QLineEdit(settings.chat_model)
        self.chat_model.setPlaceholderText("default (Qwen2.5-Coder 1.5B)")
        browse_chat = QPushButton("Browse…")
        browse_chat.clicked.connect(self._browse_chat)
        self.embedding_model = QLineEdit(settings.embedding_model)
        browse_embedder = QPushButton("Browse…")
        browse_embedder.clicked.connect(self._browse_embedder)
        self.context_length = QSpinBox(
            minimum=512, maximum=131072, singleStep=512, value=settings.context_length
        )
        self.temperature = QDoubleSpinBox(
            minimum=0.0, maximum=2.0, singleStep=0.1, value=settings.temperature
        )
        self.top_k = QSpinBox(minimum=1, maximum=20, value=settings.top_k)
        self.threads = QSpinBox(minimum=0, maximum=256, value=settings.threads)
        self.threads.setSpecialValueText("automatic (one per core)")
        self.sentence_vectors = _checkbox(
            "Find single sentences in long passages",
            settings.sentence_vectors,
            "Gives every English sentence a search vector of its own: questions in "
            "your own words find the right page more often (dev set: top-5 0.84 -> "
            "0.88), indexing takes about 1.8x as long. Applies to files indexed from "
            "now on; File › Re-index library applies it to all.",
        )
        self.faster_indexing = _checkbox(
            "Faster indexing (each word read once)",
            settings.chunk_vectors == "from_sentences",
            "A document is searchable by meaning after one pass over its words; "
            "then, in the background, each passage is read again whole, which "
            "finds the right page more often (dev set: top-5 0.88 -> 0.92). "
            "Checked, that second pass is skipped: indexing takes about 0.6x as "
            "long in all. Applies to files indexed from now on.",
        )
        self.question_terms = _checkbox(
            "Search with the commands and terms the model expects",
            settings.question_terms,
            "Before searching, the chat model names the commands, options and terms "
            "the documents likely use for your question, and they are searched with "
            "it: a question in your own words finds the manual's page more often "
            "(dev set: top-5 0.91 -> 0.94), but the answers did not get better there "
            "(see the README), and the first word comes about 1 s later.",
        )
        self.chat_server = QLineEdit(
            settings.chat_base_url if settings.chat_backend == "openai" else ""
        )
        self.chat_server.setPlaceholderText("empty: the local model (offline)")
        self.chat_server.setToolTip(
            "An OpenAI-compatible server to answer with, e.g. "
            "http://gpu-box:8080/v1 (its key: the OPENAI_API_KEY variable). "
            "Questions and their passages are sent to it."
        )
        self.library_uri = QLineEdit(settings.library_uri)
        self.library_uri.setPlaceholderText("empty: this computer's data folder")
        self.library_uri.setToolTip(
            "A folder, or a shared library at s3://bucket/prefix (endpoint and "
            "credentials from the AWS_* variables or ~/.aws, never stored here)."
        )
        form = QFormLayout(self)
        form.addRow("Chat model (.gguf)", _with_browse(self.chat_model, browse_chat))
        form.addRow(
            "Embedding model", _with_browse(self.embedding_model, browse_embedder)
        )
        form.addRow("Context length (tokens)", self.context_length)
        self.temperature.setToolTip(
            "Randomness of answers without documents (Model only, Taught). Answers "
            "from your documents are decoded greedily: measured, they state the "
            "fact more often."
        )
        form.addRow("Temperature", self.temperature)
        form.addRow("Sources per answer (top-k)", self.top_k)
        form.addRow("Threads", self.threads)
        form.addRow("Search", self.sentence_vectors)
        form.addRow("", self.faster_indexing)
        form.addRow("", self.question_terms)
        form.addRow("Answer server", self.chat_server)
        form.addRow("Library location", self.library_uri)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def _browse_chat(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Choose a GGUF model", "", "GGUF models (*.gguf)"
        )
        if path:
            self.chat_model.setText(path)

    def _browse_embedder(self) -> None:
        path = QFileDialog.getExistingDirectory(
            self, "Choose a sentence-transformers folder"
        )
        if path:
            self.embedding_model.setText(path)

    def result_settings(self) -> Settings:
        server = self.chat_server.text().strip()
        return self._settings.model_copy(
            update={
                "chat_model": self.chat_model.text().strip(),
                "embedding_model": self.embedding_model.text().strip()
                or DEFAULT_EMBEDDER,
                "context_length": self.context_length.value(),
                "temperature": self.temperature.value(),
                "top_k": self.top_k.value(),
                "threads": self.threads.value(),
                "sentence_vectors": self.sentence_vectors.isChecked(),
                "chunk_vectors": "from_sentences"
                if self.faster_indexing.isChecked()
                else "staged",
                "question_terms": self.question_terms.isChecked(),
                "chat_backend": "openai" if server else "local",
                "chat_base_url": server or self._settings.chat_base_url,
                "library_uri": self.library_uri.text().strip(),
            }
        )
