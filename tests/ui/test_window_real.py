"""The real window with the real default models, as a user would use it."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from assistant.core.answer.claim_encoder import shipped_encoder
from assistant.core.config import Settings
from assistant.ui.main_window import MainWindow

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
from make_sample_pdf import build  # noqa: E402

pytestmark = pytest.mark.slow
SAMPLES = Path(__file__).resolve().parents[2] / "resources" / "samples"


def test_real_models_answer_with_a_cited_pdf_page(qtbot: QtBot, tmp_path: Path) -> None:
    pdf = build(tmp_path / "heron-manual.pdf")
    rules = tmp_path / "club-rules.txt"
    rules.write_text((SAMPLES / "club-rules.txt").read_text())
    shipped_encoder.cache_clear()
    win = MainWindow(Settings())
    qtbot.addWidget(win)
    win.show()
    qtbot.waitUntil(lambda: not win.loading_bar.isVisible(), timeout=120000)
    # the answer check's encoder loads with the models, not in the first answer
    # (loading its tokenizer holds the interpreter ~50 ms: a stall mid-answer)
    qtbot.waitUntil(lambda: shipped_encoder.cache_info().currsize == 1)
    with qtbot.waitSignal(win.library.worker.sig_ingest_finished, timeout=120000):
        win.add_paths([str(pdf), str(rules)])
    rows = win.library.documents.rows
    qtbot.waitUntil(lambda: {r.state for r in rows()} == {"ready"})
    batches: list[str] = []
    win.chat.worker.sig_tokens.connect(lambda _id, text: batches.append(text))
    with qtbot.waitSignal(win.chat.sig_answer_shown, timeout=180000) as blocker:
        win.chat.ask("How often must the altimeter be recalibrated?")
    answer = blocker.args[0]
    assert len(batches) >= 2
    assert "37" in answer.text
    top = win.chat.sources.source(1)
    assert (
        top is not None and Path(top.path).name == "heron-manual.pdf" and top.page == 3
    )
    win.sources_pane.open_number(1)
    assert "page 3 of 6" in win.viewer.title.text()
    assert win.viewer.highlight_rects
    win.close()
    assert not win.chat.worker_thread.isRunning()
    assert not win.library.worker_thread.isRunning()
