"""Search questions written while the model is idle: after indexing, paused by a
question, resumed after its answer, off when the settings say so."""

from __future__ import annotations

import time
from pathlib import Path

from fakes import SlowGenerator
from pytestqt.qtbot import QtBot

from assistant.ui.main_window import MainWindow

SECTIONS = "\n\n".join(
    f"## Option {n}\n\nThe option number {n} changes how the plotter draws "
    f"curve {n} on the page and in the window."
    for n in range(6)
)


def _questions(win: MainWindow) -> int:
    library = win.library.worker._library
    assert library is not None
    return int(library.store.count_questions())


def _add(qtbot: QtBot, win: MainWindow, tmp_path: Path) -> None:
    path = tmp_path / "plotter.md"
    path.write_text(f"# Plotter\n\n{SECTIONS}\n", encoding="utf-8")
    with qtbot.waitSignal(win.library.worker.sig_ingest_finished, timeout=20000):
        win.add_paths([str(path)])


def test_questions_are_written_when_idle_and_wait_for_an_answer(
    qtbot: QtBot, window: MainWindow, fake_generator: SlowGenerator, tmp_path: Path
) -> None:
    window.apply_settings(
        window.settings.model_copy(update={"section_questions": True})
    )
    fake_generator.delay = 0.02
    fake_generator.section_replies = [
        f"1. How do I make curve {n} look different? "
        + " ".join(f"w{i}" for i in range(30))
        for n in range(7)  # one section is cut short and asked again
    ]
    _add(qtbot, window, tmp_path)
    qtbot.waitUntil(lambda: window.questions_label.isVisible(), timeout=10000)
    assert "Writing search questions: 1 / 6 sections" in window.questions_label.text()
    fake_generator.queue("Curve 3 is drawn by option 3 [1].")
    asked = time.monotonic()
    with qtbot.waitSignal(window.chat.sig_answer_shown, timeout=10000) as shown:
        window.chat.ask("How is curve 3 drawn?")
    # the section being written stops at its next token; the answer goes first
    assert time.monotonic() - asked < 3.0
    assert "option 3" in shown.args[0].text
    qtbot.waitUntil(lambda: _questions(window) == 6, timeout=20000)
    qtbot.waitUntil(lambda: not window.questions_label.isVisible(), timeout=10000)
    # every section asked once, the one cut short again from its start
    assert len(fake_generator.sections_asked) == 7
    assert len(set(fake_generator.sections_asked)) == 6


def test_no_questions_when_turned_off(
    qtbot: QtBot, window: MainWindow, fake_generator: SlowGenerator, tmp_path: Path
) -> None:
    window.apply_settings(
        window.settings.model_copy(update={"section_questions": False})
    )
    fake_generator.section_replies = ["1. How do I make the curve look different?"]
    _add(qtbot, window, tmp_path)
    qtbot.wait(500)
    assert fake_generator.sections_asked == [] and _questions(window) == 0
    window.apply_settings(
        window.settings.model_copy(update={"section_questions": True})
    )
    qtbot.waitUntil(lambda: _questions(window) == 1, timeout=10000)
