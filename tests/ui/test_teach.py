"""The Teach view, answer modes and the compare dialog, with fakes (no training)."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest
from fakes import SlowGenerator
from pytestqt.qtbot import QtBot

from assistant.core.cancel import CancelToken
from assistant.core.errors import Cancelled
from assistant.core.teach.adapters import AdapterRecord, AdapterStore
from assistant.core.teach.pairs import QAPair
from assistant.core.teach.trainer import LoraSettings, TrainProgress
from assistant.ui.main_window import MainWindow
from assistant.ui.models.teach_models import AdaptersModel, PairsTableModel
from assistant.ui.workers import teach_worker


def _make_adapter(
    store: AdapterStore,
    name: str,
    created: float = 1.0,
    base_model: str = "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",  # the default model
) -> Path:
    staging = store.staging(name)
    (staging / "adapter.gguf").write_bytes(b"gguf")
    record = AdapterRecord(
        name=name,
        created=created,
        base_model=base_model,
        settings=LoraSettings(),
        losses=[(1, 2.0), (2, 0.5)],
        pairs=2,
    )
    store.commit(staging, record)
    return store.adapter_file(name)


def test_modes_reach_the_worker_and_show_in_the_transcript(
    qtbot: QtBot,
    window: MainWindow,
    fake_generator: SlowGenerator,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    told: list[str] = []
    monkeypatch.setattr(
        "assistant.ui.main_window.QMessageBox.information",
        lambda parent, title, text: told.append(text),
    )
    window.chat_pane.set_mode("sft")
    window.chat.ask("Who is the mayor?")
    assert told and "Teach the model" in told[0]  # no adapter yet: nothing sent
    assert not fake_generator.prompts
    assert window.chat_pane.input.toPlainText() == "Who is the mayor?"

    path = _make_adapter(window.teach.store, "facts")
    _make_adapter(window.teach.store, "for another model", base_model="other.gguf")
    window.teach.announce()
    assert window.chat_pane.current_adapter() == "facts"
    assert window.chat_pane.adapter_box.count() == 1  # only this model's adapters
    assert window.chat_pane.adapter_box.isEnabled()
    fake_generator.queue("Zorblat.")
    with qtbot.waitSignal(window.chat.sig_answer_shown, timeout=10000) as blocker:
        window.chat.ask("Who is the mayor?")
    assert blocker.args[0].mode == "sft"
    assert fake_generator.adapters_used[-1] == path
    assert "Taught" in window.chat_pane.transcript.toPlainText()

    fake_generator.queue("No idea.")
    shortcut = next(a for a in window.actions() if a.text().endswith("Model only"))
    assert shortcut.shortcut().toString() == "Ctrl+2"
    shortcut.trigger()
    assert not window.chat_pane.adapter_box.isEnabled()
    with qtbot.waitSignal(window.chat.sig_answer_shown, timeout=10000) as blocker:
        window.chat.ask("Who is the mayor?")
    assert blocker.args[0].mode == "base"
    assert fake_generator.adapters_used[-1] is None


def test_compare_answers_in_four_modes_side_by_side(
    qtbot: QtBot, window: MainWindow, fake_generator: SlowGenerator, tmp_path: Path
) -> None:
    notes = tmp_path / "mayor.md"
    notes.write_text("# Town\n\nThe mayor of Quindle is Zorblat Fenn.\n")
    with qtbot.waitSignal(window.library.worker.sig_ingest_finished, timeout=20000):
        window.add_paths([str(notes)])
    _make_adapter(window.teach.store, "facts")
    window.teach.announce()
    fake_generator.queue(
        "I do not know.", "Zorblat Fenn [1].", "Zorblat.", "Zorblat [1]."
    )
    with qtbot.waitSignal(window.chat.worker.sig_compare_finished, timeout=20000):
        window.chat_pane.input.setPlainText("Who is the mayor of Quindle?")
        window.chat_pane.submit_compare()
    dialog = window.chat.compare_dialog
    assert dialog is not None and dialog.isVisible()
    assert list(dialog.answers) == ["base", "rag", "sft", "rag+sft"]
    assert "Zorblat Fenn" in dialog.views["rag"].toPlainText()
    assert "mayor.md" in dialog.views["rag"].toPlainText()  # its source is listed
    assert "mayor.md" not in dialog.views["sft"].toPlainText()
    qtbot.waitUntil(window.chat_pane.send_button.isEnabled)
    assert len(fake_generator.adapters_used) == 4
    assert fake_generator.adapters_used[0] is None
    assert fake_generator.adapters_used[2] is not None
    # with a scope chosen, Compare asks within it too
    other = tmp_path / "harbour.md"
    other.write_text("# Quindle harbour\n\nThe harbour of Quindle opens at dawn.\n")
    with qtbot.waitSignal(window.library.worker.sig_ingest_finished, timeout=20000):
        window.add_paths([str(other)])
    window.chat.set_scope([str(other)])
    fake_generator.queue("-", "It opens at dawn [1].", "-", "-")
    with qtbot.waitSignal(window.chat.worker.sig_compare_finished, timeout=20000):
        window.chat_pane.input.setPlainText("Who is the mayor of Quindle?")
        window.chat_pane.submit_compare()
    shown = window.chat.compare_dialog.views["rag"].toPlainText()
    assert "harbour.md" in shown and "mayor.md" not in shown


def _fake_teach(release: threading.Event | None = None):  # type: ignore[no-untyped-def]
    def teach(model_path, pairs, name, settings, progress, cancel: CancelToken):  # type: ignore[no-untyped-def]
        progress(TrainProgress("loading"))
        for step in range(1, 5):
            if release is not None:
                release.wait(5)
            if cancel.cancelled:
                raise Cancelled()
            progress(TrainProgress("training", step, 4, 1, 2.0 / step, 1.0, 1.0))
        progress(TrainProgress("exporting", 4, 4))
        store = AdapterStore()
        _make_adapter(store, name, created=9e9)
        return store.get(name)

    return teach


def test_teach_view_imports_trains_and_offers_the_adapter(
    qtbot: QtBot, window: MainWindow, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(teach_worker, "teach", _fake_teach())
    teach = window.teach.open()
    pairs = tmp_path / "pairs.jsonl"
    pairs.write_text(
        "\n".join(
            json.dumps({"question": f"Q{i}?", "answer": f"A{i}."}) for i in range(3)
        )
    )
    assert teach.import_file(pairs)
    assert teach.pairs.rowCount() == 3
    assert "3 complete pairs" in teach.count_label.text()
    teach.name_edit.setText("my facts")
    with qtbot.waitSignal(window.teach.sig_trained, timeout=10000):
        teach.start()
    assert teach.chart.series.count() == 4
    assert teach.start_button.isEnabled()
    assert "my facts" in teach.status.text()
    assert teach.adapters.names() == ["my facts"]
    assert window.chat_pane.current_adapter() == "my facts"
    assert (window.teach.store.root.parent / "teach-draft.jsonl").is_file()


def test_teach_cancel_and_bad_input(
    qtbot: QtBot, window: MainWindow, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    told: list[str] = []
    monkeypatch.setattr(
        "assistant.ui.teach_window.QMessageBox.information",
        lambda parent, title, text: told.append(text),
    )
    monkeypatch.setattr(
        "assistant.ui.teach_window.QMessageBox.warning",
        lambda parent, title, text: told.append(text),
    )
    release = threading.Event()
    monkeypatch.setattr(teach_worker, "teach", _fake_teach(release))
    teach = window.teach.open()
    teach.start()
    assert "Add some question/answer pairs" in told[-1]
    teach.pairs.add_pair(QAPair("Question without answer", ""))
    teach.start()
    assert "Rows 1 have a question without an answer" in told[-1]
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"question": "x"}\n')
    assert not teach.import_file(bad)
    assert "line 1: no answer" in told[-1]

    teach.pairs.set_pairs([QAPair("Q?", "A.")])
    teach.start()
    assert not teach.start_button.isEnabled()
    with qtbot.waitSignal(window.teach.worker.sig_cancelled, timeout=10000):
        teach.cancel()
        release.set()
    qtbot.waitUntil(teach.start_button.isEnabled)
    assert "no adapter was saved" in teach.status.text()
    assert window.teach.names() == []


def test_teach_models(qtmodeltester, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    pairs = PairsTableModel()
    pairs.set_pairs([QAPair("Q1", "A1", "doc.pdf p. 2"), QAPair("Q2", "A2")])
    pairs.add_pair()
    qtmodeltester.check(pairs)
    assert pairs.pairs() == [QAPair("Q1", "A1", "doc.pdf p. 2"), QAPair("Q2", "A2")]
    assert pairs.setData(pairs.index(2, 0), "Q3")
    assert pairs.incomplete_rows() == [3]
    adapters = AdaptersModel()
    store = AdapterStore(tmp_path / "adapters")
    _make_adapter(store, "one")
    adapters.set_records(store.records())
    qtmodeltester.check(adapters)
    assert "one" in adapters.data(adapters.index(0))


def test_deleting_an_adapter_goes_through_the_controller(
    qtbot: QtBot, window: MainWindow, monkeypatch: pytest.MonkeyPatch
) -> None:
    from PySide6.QtWidgets import QMessageBox

    _make_adapter(window.teach.store, "facts")
    window.teach.announce()
    teach = window.teach.open()
    teach.refresh_adapters()
    assert "facts" in teach.adapters.names()
    offered = [window.chat_pane.adapter_box.itemData(i) for i in range(2)]
    assert "facts" in offered
    monkeypatch.setattr(
        QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Yes
    )
    teach.adapter_list.setCurrentIndex(teach.adapters.index(0))
    teach.delete_adapter()
    assert teach.adapters.names() == [] and window.teach.store.records() == []
    assert window.chat_pane.adapter_box.itemData(0) is None  # "no adapter yet"
