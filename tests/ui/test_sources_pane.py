"""The sources list lays each passage out once, not on every paint."""

from __future__ import annotations

from PySide6.QtGui import QFont
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from assistant.core.types import Source
from assistant.ui.models.sources_model import SourcesModel
from assistant.ui.panes.sources_pane import SourceDelegate, SourcesPane


def _source(n: int) -> Source:
    text = f"Passage {n}: the pump runs at {n}00 rpm once the valve is open."
    return Source(n, f"/docs/m{n}.pdf", f"m{n}", 1, None, 0, len(text), 0.5, text)


def test_a_passage_is_laid_out_once_until_its_text_width_or_font_changes(
    qtbot: QtBot,
) -> None:
    model = SourcesModel()
    pane = SourcesPane(model)
    qtbot.addWidget(pane)
    pane.resize(400, 500)
    pane.show()
    model.set_sources([_source(1), _source(2)], [1], "pump valve")
    delegate = pane.view.itemDelegate()
    assert isinstance(delegate, SourceDelegate)
    first = model.index(0)
    laid_out = delegate.document(first, 300)
    pane.view.viewport().repaint()  # paints and sizes reuse it
    assert delegate.document(first, 300) is laid_out
    assert "cited" in laid_out.toPlainText()
    assert delegate.document(first, 200) is not laid_out  # narrower: wrapped anew
    model.set_sources([_source(1), _source(2)], [], "pump valve")
    assert "cited" not in delegate.document(first, 300).toPlainText()
    font = QApplication.font()
    try:
        QApplication.setFont(QFont(font.family(), font.pointSize() + 4))
        assert delegate.document(first, 300) is not laid_out  # larger text
    finally:
        QApplication.setFont(font)
