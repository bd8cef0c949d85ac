"""Help › About: versions, the data folder and the models in use."""

from __future__ import annotations

from PySide6.QtWidgets import QMessageBox, QWidget

from assistant.core.config import data_dir
from assistant.core.versions import package_versions


def show_about(parent: QWidget, chat_model: str, embedder: str) -> None:
    versions = "".join(
        f"<tr><td>{name}</td><td>{version or 'not installed'}</td></tr>"
        for name, version in package_versions().items()
    )
    library = f"Embedding model: {embedder}" if embedder else "Library: loading"
    QMessageBox.about(
        parent,
        "About Assistant",
        "<p><b>Assistant</b>: chat with your documents, offline, with citations.</p>"
        f"<p>Data folder: {data_dir()}<br>Chat model: {chat_model}<br>{library}</p>"
        f"<table>{versions}</table>",
    )
