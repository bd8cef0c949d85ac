from __future__ import annotations

import time
from pathlib import Path

import pytest
from docgen import FILLER, image_pdf, make_pdf, scanned_page
from fakes import SlowGenerator
from PySide6.QtCore import Qt, QUrl
from pytestqt.qtbot import QtBot

from assistant.ui.main_window import MainWindow
from assistant.ui.models.chat_model import ChatMessagesModel
from assistant.ui.models.document_model import DocumentListModel


def _states(win: MainWindow) -> dict[str, str]:
    return {Path(r.path).name: r.state for r in win.library.documents.rows()}


def _add_and_wait(qtbot: QtBot, win: MainWindow, paths: list[str]) -> None:
    with qtbot.waitSignal(win.library.worker.sig_ingest_finished, timeout=60000):
        win.add_paths(paths)
    qtbot.waitUntil(
        lambda: all(s in ("ready", "failed") for s in _states(win).values())
    )


def _slow_embedding(monkeypatch: pytest.MonkeyPatch, seconds: float) -> None:
    """Each embedding call of the fake takes ``seconds`` (an ingest long enough
    to act on while it runs)."""
    from fakes import FakeEmbedder

    embed = FakeEmbedder.embed

    def slow_embed(self: FakeEmbedder, texts: list[str]) -> object:
        time.sleep(seconds)
        return embed(self, texts)

    monkeypatch.setattr(FakeEmbedder, "embed", slow_embed)


def test_empty_state_then_two_files_reach_ready(
    qtbot: QtBot, window: MainWindow, tmp_path: Path
) -> None:
    win = window
    assert win.library_pane.empty_label.isVisible()
    assert "Offline" in " ".join(
        w.text() for w in win.statusBar().findChildren(type(win.model_label))
    )
    pdf = make_pdf(
        tmp_path / "manual.pdf", [FILLER, "The pump runs at 300 rpm. " + FILLER]
    )
    notes = tmp_path / "notes.md"
    notes.write_text("# Notes\n\nThe filter is changed every spring.")
    _add_and_wait(qtbot, win, [str(pdf), str(notes)])
    assert _states(win) == {"manual.pdf": "ready", "notes.md": "ready"}
    assert not win.library_pane.empty_label.isVisible()
    assert "2 documents" in win.count_label.text()


def test_the_heap_is_frozen_again_after_an_ingest(
    qtbot: QtBot, window: MainWindow, tmp_path: Path
) -> None:
    """Long-lived objects leave the GC's full passes, which held the GIL for
    100-170 ms and stalled the event loop while indexing (bench/gui_stall.py)."""
    import gc

    gc.unfreeze()
    assert gc.get_freeze_count() == 0
    notes = tmp_path / "notes.md"
    notes.write_text("# Notes\n\nThe filter is changed every spring.")
    _add_and_wait(qtbot, window, [str(notes)])
    qtbot.waitUntil(lambda: gc.get_freeze_count() > 0)
    assert len(gc.get_objects()) < gc.get_freeze_count()


def test_bad_file_shows_reason_and_others_go_on(
    qtbot: QtBot, window: MainWindow, tmp_path: Path
) -> None:
    bad = tmp_path / "broken.pdf"
    bad.write_bytes(b"not a pdf")
    good = tmp_path / "good.txt"
    good.write_text("Good text. " * 10)
    _add_and_wait(qtbot, window, [str(bad), str(good)])
    assert _states(window) == {"broken.pdf": "failed", "good.txt": "ready"}
    row = window.library.documents.row_for(str(bad.resolve()))
    assert row is not None and "not a PDF" in row.reason


def test_ask_streams_fills_sources_and_citation_opens_the_pdf_page(
    qtbot: QtBot, window: MainWindow, fake_generator: SlowGenerator, tmp_path: Path
) -> None:
    win = window
    pdf = make_pdf(
        tmp_path / "pump.pdf",
        [FILLER, FILLER, "The pump runs at 300 rpm during tests. " + FILLER],
    )
    _add_and_wait(qtbot, win, [str(pdf)])
    fake_generator.queue("The pump runs at 300 rpm [1].")
    fake_generator.delay = 0.02
    streamed: list[str] = []
    shown_before_first_token: list[int] = []

    def on_tokens(_id: int, text: str) -> None:
        streamed.append(text)

    def on_words_shown(_top: object, _bottom: object, roles: list[int]) -> None:
        """In the window's thread, as the first words reach the transcript."""
        streaming = list(roles) == [ChatMessagesModel.StreamRole]
        if streaming and not shown_before_first_token:
            shown_before_first_token.append(win.chat.sources.rowCount())

    win.chat.worker.sig_tokens.connect(on_tokens)
    win.chat.messages.dataChanged.connect(on_words_shown)
    with qtbot.waitSignal(win.chat.sig_answer_shown, timeout=20000) as blocker:
        win.chat_pane.input.setPlainText("How fast does the pump run during tests?")
        win.chat_pane.submit()
    answer = blocker.args[0]
    assert len(streamed) >= 2, "tokens should arrive in several batches"
    assert shown_before_first_token[0] >= 1, "sources show before the answer starts"
    assert not win.statusBar().currentMessage().startswith("Reading")
    assert answer.cited == [1]
    assert win.chat.sources.rowCount() >= 1
    top = win.chat.sources.source(1)
    assert top is not None and top.page == 3
    assert "300 rpm" in win.chat_pane.transcript.toPlainText()
    tip = win.chat_pane.link_tooltip(QUrl("cite:1:1:0"))
    assert "The pump runs at 300 rpm during tests." in tip and "page 3" in tip
    win.chat_pane.sig_citation.emit(1, 1, 0)
    assert "page 3 of 3" in win.viewer.title.text()
    assert win.viewer.highlight_rects, "the passage should be highlighted on the page"
    # the claim's evidence (one sentence), not the whole passage, is highlighted
    evidence_rects = list(win.viewer.highlight_rects)
    win.chat_pane.sig_citation.emit(1, 1, -1)
    assert len(evidence_rects) < len(win.viewer.highlight_rects)


@pytest.mark.slow
def test_a_scanned_page_passage_is_highlighted_by_its_ocr_lines(
    qtbot: QtBot, window: MainWindow, fake_generator: SlowGenerator, tmp_path: Path
) -> None:
    import numpy as np
    from PIL import Image

    lines = [
        "The backup tape is kept in the fire safe on the second floor.",
        "Only the night operator may take it out of the building.",
        "Tapes older than eleven weeks are overwritten on Sundays.",
    ]
    scan = scanned_page(tmp_path / "source.pdf", lines)
    pdf = image_pdf([np.full_like(scan, 255), scan], tmp_path / "scanned.pdf")
    Image.fromarray(scan).save(tmp_path / "notice.png")
    _add_and_wait(qtbot, window, [str(pdf), str(tmp_path / "notice.png")])
    assert _states(window) == {"scanned.pdf": "ready", "notice.png": "ready"}
    fake_generator.queue("It is kept in the fire safe [1].")
    with qtbot.waitSignal(window.chat.sig_answer_shown, timeout=20000):
        window.chat_pane.input.setPlainText("Where is the backup tape kept?")
        window.chat_pane.submit()
    top = window.chat.sources.source(1)
    assert top is not None and top.boxes and top.page in (1, 2)
    window.chat_pane.sig_citation.emit(1, 1, -1)
    viewer = window.viewer
    assert viewer.stack.currentWidget() is viewer.page_scroll
    rects = viewer.highlight_rects
    assert rects, "the OCR'd passage should be highlighted on the scan"
    pixmap = viewer.page_label.pixmap()
    width = pixmap.width()
    # the boxes stand where the lines were typeset: the upper part of the page,
    # from the left margin (72 pt of 595)
    assert all(r.top() < pixmap.height() * 0.5 for r in rects)
    assert min(r.left() for r in rects) == pytest.approx(width * 72 / 595, rel=0.25)
    if top.path.endswith(".pdf"):
        assert "page 2 of 2" in viewer.title.text()
    else:
        assert viewer.title.text() == "<b>notice.png</b>"


def test_unsupported_claims_are_shaded_and_flagged() -> None:
    from assistant.core.answer.conversations import Message
    from assistant.core.types import Claim, Evidence
    from assistant.ui.panes.chat_pane import UNSUPPORTED_STYLE, message_markdown

    text = "The pump runs at 300 rpm. [1] It was built in 1990."
    message = Message(
        "assistant",
        text,
        claims=[
            Claim("The pump runs at 300 rpm.", 0, 25, True, (Evidence(1, 0, 9, 0.9),)),
            Claim("It was built in 1990.", 30, 51, False),
        ],
    )
    markdown = message_markdown(3, message)
    assert "[\\[1\\]](cite:3:1:0)" in markdown
    shaded = f'<span style="{UNSUPPORTED_STYLE}">It was built in 1990.</span>'
    assert shaded in (markdown)
    assert "(claim:3:1)" in markdown and "1 of 2 sentences" in markdown


def test_code_in_a_shaded_sentence_stays_where_it_was_written(qtbot) -> None:
    from PySide6.QtWidgets import QTextBrowser

    from assistant.core.answer.conversations import Message
    from assistant.core.types import Claim
    from assistant.ui.panes.chat_pane import message_markdown

    sentence = (
        "To load it you can use the `read.table()` function with the "
        "`header=TRUE` argument, or `x[1]`."
    )
    text = f"Yes. {sentence} [1]"
    start = text.index("To")
    message = Message(
        "assistant",
        text,
        claims=[Claim(sentence, start, start + len(sentence), False)],
    )
    view = QTextBrowser()
    qtbot.addWidget(view)
    view.setMarkdown(message_markdown(0, message))
    shown = view.toPlainText()
    assert sentence.replace("`", "") in shown, shown  # (was: the code first)
    assert "cite:0:1" in message_markdown(0, message)  # x[1] is not a citation


def test_a_contradicted_claim_is_flagged_and_its_span_shows_on_hover(
    qtbot: QtBot, window: MainWindow, fake_generator: SlowGenerator, tmp_path: Path
) -> None:
    from assistant.ui.panes.chat_pane import CONTRADICTED_STYLE, message_markdown

    win = window
    doc = tmp_path / "pump.txt"
    doc.write_text(
        "The pump runs at 300 rpm during tests. The night shift services it. " + FILLER
    )
    _add_and_wait(qtbot, win, [str(doc)])
    fake_generator.queue(
        "The night shift services it. The pump runs at 500 rpm during tests."
    )
    fake_generator.verdicts = [4.0]  # the second claim: "contradicts?" yes
    with qtbot.waitSignal(win.chat.sig_answer_shown, timeout=20000) as blocker:
        win.chat_pane.input.setPlainText("How fast does the pump run during tests?")
        win.chat_pane.submit()
    answer = blocker.args[0]
    assert [c.verdict for c in answer.claims] == ["stated", "contradicted"]
    assert not answer.declined
    message = win.chat.messages.messages()[1]
    markdown = message_markdown(1, message)
    assert f'<span style="{CONTRADICTED_STYLE}">The pump runs at 500 rpm' in markdown
    assert "[\u2717](claim:1:1)" in markdown and "contradicted by a source" in markdown
    tip = win.chat_pane.link_tooltip(QUrl("claim:1:1"))
    assert "Contradicted by [1]" in tip and "300 rpm" in tip
    assert "500 rpm" in win.chat_pane.transcript.toPlainText()


def test_a_declined_answer_keeps_what_the_model_wrote_folded_under_it(
    qtbot: QtBot, window: MainWindow, fake_generator: SlowGenerator, tmp_path: Path
) -> None:
    from assistant.core.answer.answer_check import DECLINE_EN
    from assistant.ui.panes.chat_pane import DECLINED_FOLD

    win = window
    doc = tmp_path / "pump.txt"
    doc.write_text("The pump runs at 300 rpm during tests. " + FILLER)
    _add_and_wait(qtbot, win, [str(doc)])
    fake_generator.queue("The crew services the pump every winter in the shed.")
    fake_generator.verdicts = [-4.0, -4.0]  # not stated, not contradicted
    with qtbot.waitSignal(win.chat.sig_answer_shown, timeout=20000) as blocker:
        win.chat_pane.input.setPlainText("Who services the pump in winter?")
        win.chat_pane.submit()
    answer = blocker.args[0]
    assert answer.declined and answer.text == DECLINE_EN
    shown = win.chat_pane.transcript.toPlainText()
    assert DECLINE_EN in shown and DECLINED_FOLD in shown
    assert "every winter in the shed" not in shown
    win.chat_pane.transcript.anchorClicked.emit(QUrl("unfold:1"))
    assert "every winter in the shed" in win.chat_pane.transcript.toPlainText()
    win.chat_pane.transcript.anchorClicked.emit(QUrl("unfold:1"))
    assert "every winter in the shed" not in win.chat_pane.transcript.toPlainText()
    # kept with the conversation: saved and loaded again, still there
    record = win.chat.store.load(win.chat.conversation.id)
    assert record is not None and record.messages[1].withheld.startswith("The crew")


def test_stop_halts_the_answer_quickly(
    qtbot: QtBot, window: MainWindow, fake_generator: SlowGenerator
) -> None:
    window.chat_pane.set_mode("base")  # the library is empty: nothing to ground
    fake_generator.queue(" ".join(f"word{i}" for i in range(200)))
    fake_generator.delay = 0.05
    with qtbot.waitSignal(window.chat.worker.sig_tokens, timeout=10000):
        window.chat.ask("Tell me everything")
    stopped_at = time.monotonic()
    with qtbot.waitSignal(window.chat.sig_answer_shown, timeout=5000) as blocker:
        window.chat.stop()
    assert time.monotonic() - stopped_at < 0.5
    assert blocker.args[0].stopped
    assert window.chat_pane.send_button.isEnabled()


def test_token_batches_are_appended_not_the_transcript_rendered_again(
    qtbot: QtBot, window: MainWindow, fake_generator: SlowGenerator
) -> None:
    pane = window.chat_pane
    renders: list[int] = []
    render = pane.transcript.setMarkdown
    pane.transcript.setMarkdown = lambda text: (  # type: ignore[method-assign]
        renders.append(len(text)),
        render(text),
    )
    batches: list[str] = []
    window.chat.worker.sig_tokens.connect(lambda _id, text: batches.append(text))
    window.chat_pane.set_mode("base")
    fake_generator.queue(" ".join(f"word{i}" for i in range(60)))
    fake_generator.delay = 0.01
    renders.clear()
    with qtbot.waitSignal(window.chat.sig_answer_shown, timeout=10000):
        window.chat.ask("Count, please")
    assert len(batches) >= 5
    # asked (question, empty answer), first batch, final answer: not one per batch
    assert len(renders) <= 4, (len(renders), len(batches))
    shown = pane.transcript.toPlainText()
    assert "word0 word1" in shown and "word59" in shown and "Copy" in shown
    assert shown.count("word59") == 1


def test_conversation_is_saved_and_exported(
    qtbot: QtBot, window: MainWindow, fake_generator: SlowGenerator
) -> None:
    window.chat_pane.set_mode("base")
    fake_generator.queue("Hello there.")
    with qtbot.waitSignal(window.chat.sig_answer_shown, timeout=10000):
        window.chat.ask("Hi?")
    saved = window.chat.store.list()
    assert [r.title for r in saved] == ["Hi?"]
    markdown = saved[0].to_markdown()
    assert "**You:** Hi?" in markdown and "**Assistant:** Hello there." in markdown
    window.chat.new_conversation()
    assert window.chat.messages.rowCount() == 0
    window.chat.open_conversation(saved[0].id)
    assert window.chat.messages.rowCount() == 2
    # the next start opens where the user left off, not on a new conversation
    again = MainWindow(window.settings)
    qtbot.addWidget(again)
    try:
        assert again.chat.conversation.id == saved[0].id
        assert again.chat.messages.rowCount() == 2
        assert "Hello there." in again.chat_pane.transcript.toPlainText()
    finally:
        again.shutdown()


def test_conversations_are_searched_by_title_question_and_answer(
    qtbot: QtBot, window: MainWindow, fake_generator: SlowGenerator
) -> None:
    window.chat_pane.set_mode("base")
    for question, answer in (
        ("Pump speed?", "It runs at 300 rpm."),
        ("Filter?", "Change the cartridge yearly."),
    ):
        window.chat.new_conversation()
        fake_generator.queue(answer)
        with qtbot.waitSignal(window.chat.sig_answer_shown, timeout=10000):
            window.chat.ask(question)
    window.chat.new_conversation()
    combo = window.chat_pane.conversations

    def listed() -> list[str]:
        return [combo.itemText(i) for i in range(combo.count())]

    assert {"Pump speed?", "Filter?"} <= set(listed())
    window.chat_pane.search_edit.setText("CARTRIDGE")  # in an answer, any case
    assert listed() == ["New conversation", "Filter?"]
    window.chat_pane.search_edit.setText("pump")  # in a title
    assert listed() == ["New conversation", "Pump speed?"]
    window.chat_pane.search_edit.clear()
    assert len(listed()) == 3


def test_models_pass_qtmodeltester(  # type: ignore[no-untyped-def]
    qtmodeltester, qtbot: QtBot, window: MainWindow, tmp_path: Path
) -> None:
    model = DocumentListModel()
    model.mark("/x/a.pdf", "queued")
    model.mark("/x/b.pdf", "failed", "broken")
    qtmodeltester.check(model)
    notes = tmp_path / "notes.md"
    notes.write_text("# Pump\n\nThe pump runs at 300 rpm.\n\n# Filter\n\nChange it.")
    _add_and_wait(qtbot, window, [str(notes)])
    window.chat_pane.set_mode("rag")
    with qtbot.waitSignal(window.chat.sig_answer_shown, timeout=10000):
        window.chat.ask("How fast does the pump run?")
    assert window.library.documents.rowCount() == 1
    assert window.chat.messages.rowCount() == 2 and window.chat.sources.rowCount() >= 1
    for filled in (window.library.documents, window.chat.messages, window.chat.sources):
        qtmodeltester.check(filled)


def test_a_settings_change_mid_ingest_reaches_both_workers(
    qtbot: QtBot, window: MainWindow, tmp_path: Path
) -> None:
    folder = tmp_path / "many"
    folder.mkdir()
    for i in range(12):
        (folder / f"n{i}.md").write_text(f"# Note {i}\n\n" + "Filler words here. " * 60)
    with qtbot.waitSignal(window.library.worker.sig_ingest_finished, timeout=30000):
        window.add_paths([str(folder)])
        window.apply_settings(
            window.settings.model_copy(update={"top_k": 1, "chunk_tokens": 32})
        )
    qtbot.waitUntil(lambda: window.library.documents.rowCount() == 12)
    # the chat thread searches with the new settings (one passage per answer) ...
    window.chat_pane.set_mode("rag")
    with qtbot.waitSignal(window.chat.sig_answer_shown, timeout=10000) as shown:
        window.chat.ask("What do the notes say?")
    assert len(shown.args[0].sources) == 1
    # ... the library thread chunks the next file with them (32 tokens, not 40)
    late = tmp_path / "late.md"
    late.write_text((folder / "n0.md").read_text().replace("Note 0", "Note 99"))
    _add_and_wait(qtbot, window, [str(late)])
    chunks = {Path(r.path).name: r.chunks for r in window.library.documents.rows()}
    assert chunks["late.md"] > chunks["n0.md"] > 1
    # and neither thread writes the other's Library object
    assert window.chat.worker.library is not window.library.worker.library


def test_threads_stop_on_close(qtbot: QtBot, window: MainWindow) -> None:
    window.close()
    assert not window.library.worker_thread.isRunning()
    assert not window.chat.worker_thread.isRunning()


def test_text_sources_open_with_the_passage_highlighted(
    qtbot: QtBot, window: MainWindow, fake_generator: SlowGenerator, tmp_path: Path
) -> None:
    notes = tmp_path / "notes.md"
    notes.write_text(
        "# Notes\n\nIntro line.\n\n## Filters\n\nThe filter is changed in May."
    )
    _add_and_wait(qtbot, window, [str(notes)])
    fake_generator.queue("In May [1].")
    with qtbot.waitSignal(window.chat.sig_answer_shown, timeout=10000):
        window.chat.ask("When is the filter changed?")
    window.chat_pane.sig_citation.emit(1, 1, 0)
    view = window.viewer.text_view
    # the text arrives from the worker thread through a queued connection
    qtbot.waitUntil(lambda: window.viewer.stack.currentWidget() is view, timeout=10000)
    source = window.chat.sources.source(1)
    assert source is not None
    assert view.toPlainText()[source.start : source.end] == source.text
    assert view.textCursor().position() == source.start
    # the Sources list: one painted row per passage; clicking one opens it
    pane = window.sources_pane
    assert pane.view.isVisibleTo(window) and not pane.empty.isVisibleTo(window)
    first = pane.view.model().index(0, 0)
    assert pane.view.visualRect(first).height() > 30  # wrapped rich text, not a line
    window.viewer.show_message("")
    pane.view.clicked.emit(first)
    qtbot.waitUntil(lambda: window.viewer.stack.currentWidget() is view, timeout=10000)
    assert "notes.md" in window.viewer.title.text()


def test_enter_sends_and_shift_enter_adds_a_line(
    qtbot: QtBot, window: MainWindow, fake_generator: SlowGenerator
) -> None:
    from PySide6.QtCore import Qt

    edit = window.chat_pane.input
    qtbot.keyClicks(edit, "first line")
    qtbot.keyClick(edit, Qt.Key.Key_Return, Qt.KeyboardModifier.ShiftModifier)
    qtbot.keyClicks(edit, "second")
    assert edit.toPlainText() == "first line\nsecond"
    fake_generator.queue("Fine.")
    with qtbot.waitSignal(window.chat.sig_answer_shown, timeout=10000):
        qtbot.keyClick(edit, Qt.Key.Key_Return)
    assert edit.toPlainText() == ""
    assert window.chat.messages.messages()[0].text == "first line\nsecond"


def test_dropping_files_adds_them(
    qtbot: QtBot, window: MainWindow, tmp_path: Path
) -> None:
    from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
    from PySide6.QtGui import QDropEvent

    path = tmp_path / "dropped.txt"
    path.write_text("Dropped text. " * 5)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    event = QDropEvent(
        QPointF(10, 10),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    with qtbot.waitSignal(window.library.worker.sig_ingest_finished, timeout=10000):
        window.dropEvent(event)
    qtbot.waitUntil(lambda: _states(window).get("dropped.txt") == "ready")


def test_asking_while_indexing_works(
    qtbot: QtBot, window: MainWindow, fake_generator: SlowGenerator, tmp_path: Path
) -> None:
    folder = tmp_path / "many"
    folder.mkdir()
    for i in range(40):
        (folder / f"doc{i}.txt").write_text(
            f"Document {i} talks about topic {i}. " * 40
        )
    fake_generator.queue("Answer while indexing.")
    window.chat_pane.set_mode("base")  # the model is not blocked by indexing
    window.add_paths([str(folder)])
    with qtbot.waitSignal(window.chat.sig_answer_shown, timeout=20000) as blocker:
        window.chat.ask("topic 3?")
    assert blocker.args[0].text == "Answer while indexing."
    qtbot.waitUntil(
        lambda: sum(1 for s in _states(window).values() if s == "ready") == 40,
        timeout=60000,
    )


def _configure_embedder(
    monkeypatch: pytest.MonkeyPatch, embedder: object, directory: Path
) -> None:
    """From now on, the embedder the settings name (for a rebuild and a reload)."""
    from assistant.core.services import components
    from assistant.core.services import library as services

    monkeypatch.setattr(components, "load_embedder", lambda s, *_: embedder)
    monkeypatch.setattr(
        services.Library,
        "open",
        classmethod(
            lambda cls, s, directory=directory: cls(s, embedder, directory=directory)
        ),
    )


def test_reindex_library_rebuilds_beside_the_old_index_and_reloads(
    qtbot: QtBot, window: MainWindow, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fakes import FakeEmbedder

    win = window
    # the embedder "configured" from now on: what the rebuild and the reload use
    _configure_embedder(monkeypatch, FakeEmbedder(dim=48), tmp_path / "index")
    notes = tmp_path / "notes.md"
    notes.write_text("# Notes\n\nThe filter is changed every spring.")
    gone = tmp_path / "gone.md"
    gone.write_text("# Gone\n\nThis file will be deleted.")
    _add_and_wait(qtbot, win, [str(notes), str(gone)])
    gone.unlink()
    with qtbot.waitSignal(win.library.worker.sig_ready, timeout=20000):
        win.library.rebuild()
    qtbot.waitUntil(lambda: "1 document" in win.count_label.text())
    assert win.chat.worker.library.embedder.dim == 48  # the new index is in use
    assert not (tmp_path / "index.rebuild").exists()


def test_a_damaged_index_is_offered_a_reindex_that_repairs_it(
    qtbot: QtBot,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    fake_generator: SlowGenerator,
) -> None:
    import hostile
    from fakes import FakeEmbedder
    from PySide6.QtWidgets import QMessageBox

    from assistant.core.config import Settings, index_dir
    from assistant.core.services import components
    from assistant.core.services import library as services

    settings = Settings(chunk_tokens=40, chunk_overlap=8, min_similarity=0.0)
    directory = index_dir()  # where the window's re-index rebuilds
    library = services.Library(settings, FakeEmbedder(), directory=directory)
    for name in ("a", "b"):
        note = tmp_path / f"{name}.md"
        note.write_text(f"# {name}\n\nThe {name} filter is changed every spring.")
        library.ingest([note])
    del library
    hostile.garbage_newest_manifest(directory)
    monkeypatch.setattr(components, "load_embedder", lambda s, *_: FakeEmbedder())
    monkeypatch.setattr(
        services.Library,
        "open",
        classmethod(
            lambda cls, s, directory=None: cls(s, FakeEmbedder(), directory=index_dir())
        ),
    )
    offered: list[str] = []

    def accept(parent, title, text, *args):  # type: ignore[no-untyped-def]
        offered.append(text)
        return QMessageBox.StandardButton.Yes

    monkeypatch.setattr(QMessageBox, "question", accept)
    win = MainWindow(settings)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitUntil(lambda: "2 documents" in win.count_label.text(), timeout=20000)
    assert len(offered) == 1
    assert "cannot be read (" in offered[0] and "Re-index it now" in offered[0]
    win.shutdown()


def _start_a_slow_answer(qtbot: QtBot, window: MainWindow, fake: SlowGenerator) -> str:
    window.chat_pane.set_mode("base")
    fake.queue("Hello there. " + " ".join(f"word{i}" for i in range(200)))
    fake.delay = 0.05
    with qtbot.waitSignal(window.chat.worker.sig_tokens, timeout=10000):
        window.chat.ask("First question?")
    return window.chat.conversation.id


@pytest.mark.parametrize("how", ["new", "open-other"])
def test_switching_conversation_mid_answer_files_the_answer_where_it_was_asked(
    qtbot: QtBot, window: MainWindow, fake_generator: SlowGenerator, how: str
) -> None:
    other = None
    if how == "open-other":
        fake_generator.queue("Other answer.")
        window.chat_pane.set_mode("base")
        with qtbot.waitSignal(window.chat.sig_answer_shown, timeout=10000):
            window.chat.ask("Other question?")
        other = window.chat.conversation.id
        window.chat.new_conversation()
    first = _start_a_slow_answer(qtbot, window, fake_generator)
    with qtbot.waitSignal(window.chat.worker.sig_answer_finished, timeout=10000):
        if other is None:
            window.chat.new_conversation()
        else:
            window.chat.open_conversation(other)
    qtbot.wait(100)  # let any late token batch arrive
    shown = window.chat.messages.messages()
    assert all("Hello there" not in m.text for m in shown)
    assert all(m.text != "First question?" for m in shown)
    assert window.chat_pane.send_button.isEnabled()
    saved = {r.id: r for r in window.chat.store.list()}
    assert [m.text for m in saved[first].messages][0] == "First question?"
    assert saved[first].messages[1].text.startswith("Hello there")  # kept, stopped
    assert saved[first].turns and saved[first].turns[0].question == "First question?"
    if other is not None:
        assert [m.text for m in saved[other].messages] == [
            "Other question?",
            "Other answer.",
        ]
        assert all(t.question != "First question?" for t in saved[other].turns)
    # the conversation on screen continues its own history, not the stopped one
    fake_generator.queue("Fresh.")
    with qtbot.waitSignal(window.chat.sig_answer_shown, timeout=10000):
        window.chat.ask("Next?")
    history = fake_generator.prompts[-1]
    assert all("First question?" not in m["content"] for m in history)


def test_deleting_a_conversation_mid_answer_does_not_bring_it_back(
    qtbot: QtBot,
    window: MainWindow,
    fake_generator: SlowGenerator,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from PySide6.QtWidgets import QMessageBox

    monkeypatch.setattr(
        QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Yes
    )
    first = _start_a_slow_answer(qtbot, window, fake_generator)
    with qtbot.waitSignal(window.chat.worker.sig_answer_finished, timeout=10000):
        window.chat.delete_conversation()
    qtbot.wait(100)
    assert first not in {r.id for r in window.chat.store.list()}
    assert window.chat.messages.rowCount() == 0


def test_small_desktop_manners(
    qtbot: QtBot,
    window: MainWindow,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Focus starts in the question box; removing asks first and clears the
    viewer; export names are cut at a word; the Teach window closes with Esc."""
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QApplication, QMessageBox

    from assistant.ui.chat_controller import export_file_name

    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.focusWidget() is window.chat_pane.input)
    notes = tmp_path / "notes.md"
    notes.write_text("# Notes\n\nThe filter is changed in May.")
    _add_and_wait(qtbot, window, [str(notes)])
    window.library.show_source(window.library.worker.library.search("filter", 1)[0])
    qtbot.waitUntil(lambda: window.viewer.shows(str(notes)))
    answers = iter([QMessageBox.StandardButton.No, QMessageBox.StandardButton.Yes])
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: next(answers))
    window.library.remove(str(notes))
    assert _states(window) == {"notes.md": "ready"}  # No: kept
    with qtbot.waitSignal(window.library.sig_documents_shown, timeout=10000):
        window.library.remove(str(notes))
    assert not window.viewer.shows(str(notes))
    qtbot.waitUntil(lambda: _states(window) == {})
    assert export_file_name("How often must the altimeter be recalibrated?") == (
        "How often must the altimeter be.md"
    )
    assert export_file_name("a/b: c?") == "a b c.md"
    teach = window.teach.open()
    qtbot.waitUntil(teach.isActiveWindow)
    qtbot.keyClick(teach, Qt.Key.Key_Escape)
    assert not teach.isVisible()


def test_closing_with_a_stuck_worker_reports_instead_of_hanging(
    qtbot: QtBot, window: MainWindow, monkeypatch: pytest.MonkeyPatch
) -> None:
    import threading

    from PySide6.QtCore import QObject, Slot

    from assistant.ui import main_window

    class Stuck(QObject):
        @Slot()
        def hang(self) -> None:  # as a native call stuck inside a model would
            release.wait(30)

    monkeypatch.setattr(main_window, "SHUTDOWN_WAIT_MS", 300)
    release = threading.Event()
    blocked = window.chat.worker_thread
    stuck = Stuck()
    stuck.moveToThread(blocked)
    window.chat.sig_load.connect(stuck.hang)
    window.chat.sig_load.emit()
    started = time.monotonic()
    window.shutdown()
    assert time.monotonic() - started < 5
    assert window.stuck_threads == ["chat-worker"]
    release.set()
    blocked.wait(5000)


def test_changing_the_embedder_offers_a_reindex_that_switches_to_it(
    qtbot: QtBot, window: MainWindow, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fakes import FakeEmbedder
    from PySide6.QtWidgets import QMessageBox

    notes = tmp_path / "notes.md"
    notes.write_text("# Notes\n\nThe filter is changed every spring.")
    _add_and_wait(qtbot, window, [str(notes)])
    _configure_embedder(monkeypatch, FakeEmbedder(dim=48), tmp_path / "index")
    asked: list[str] = []

    def yes(parent, title, text, *args):  # type: ignore[no-untyped-def]
        asked.append(title)
        return QMessageBox.StandardButton.Yes

    monkeypatch.setattr(QMessageBox, "question", yes)
    with qtbot.waitSignal(window.library.worker.sig_ready, timeout=20000):
        window.apply_settings(
            window.settings.model_copy(update={"embedding_model": "another"})
        )
    assert asked == ["Embedding model changed"]
    qtbot.waitUntil(lambda: "1 document" in window.count_label.text())
    # the chat thread gets the new library through its own queue
    qtbot.waitUntil(lambda: window.chat.worker.library.embedder.dim == 48)


def test_copy_and_regenerate_the_last_answer(
    qtbot: QtBot, window: MainWindow, fake_generator: SlowGenerator
) -> None:
    from PySide6.QtGui import QGuiApplication

    window.chat_pane.set_mode("base")
    fake_generator.queue("First reply.", "Second reply.")
    with qtbot.waitSignal(window.chat.sig_answer_shown, timeout=10000):
        window.chat.ask("Hi?")
    shown = window.chat_pane.transcript.toPlainText()
    assert "Copy" in shown and "Regenerate" in shown and "tokens/s" in shown
    window.chat_pane.transcript.anchorClicked.emit(QUrl("copy:1"))
    assert QGuiApplication.clipboard().text() == "First reply."
    with qtbot.waitSignal(window.chat.sig_answer_shown, timeout=10000):
        window.chat_pane.transcript.anchorClicked.emit(QUrl("regen:1"))
    texts = [m.text for m in window.chat.messages.messages()]
    assert texts == ["Hi?", "Second reply."]
    saved = window.chat.store.list()[0]
    assert [m.text for m in saved.messages] == texts and len(saved.turns) == 1
    assert saved.messages[1].timings.get("tokens_per_s", 0) > 0
    # the model saw the question once, without the replaced answer
    assert [m["role"] for m in fake_generator.prompts[-1]] == ["system", "user"]


def test_about_names_the_versions_and_the_data_folder(
    window: MainWindow, monkeypatch: pytest.MonkeyPatch
) -> None:
    from PySide6.QtWidgets import QMessageBox

    from assistant.core.config import data_dir

    shown: list[str] = []
    monkeypatch.setattr(
        QMessageBox, "about", lambda parent, title, text: shown.append(text)
    )
    window.show_about()
    assert str(data_dir()) in shown[0] and "llama-cpp-python" in shown[0]
    assert "Embedding model: fake" in shown[0]


def test_the_pdf_page_zooms_and_the_zoom_is_remembered(
    qtbot: QtBot, window: MainWindow, tmp_path: Path
) -> None:
    from PySide6.QtCore import QPoint, QPointF
    from PySide6.QtGui import QWheelEvent
    from PySide6.QtWidgets import QApplication

    pdf = make_pdf(tmp_path / "pump.pdf", ["The pump runs at 300 rpm. " + FILLER])
    _add_and_wait(qtbot, window, [str(pdf)])
    window.library.show_source(window.library.worker.library.search("pump", 1)[0])
    fit = window.viewer.scale
    window.viewer.zoom_in_button.click()
    assert window.viewer.scale > fit * 1.2
    wheel = QWheelEvent(
        QPointF(10, 10),
        QPointF(10, 10),
        QPoint(0, 0),
        QPoint(0, 120),
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.ControlModifier,
        Qt.ScrollPhase.NoScrollPhase,
        False,
    )
    QApplication.sendEvent(window.viewer.page_scroll.viewport(), wheel)
    zoomed = window.viewer.zoom
    assert zoomed > 1.5
    window.close()  # saves the layout
    again = MainWindow(window.settings)
    qtbot.addWidget(again)
    assert again.viewer.zoom == pytest.approx(zoomed)
    again.viewer.fit_button.click()
    assert again.viewer.zoom == 1.0
    again.shutdown()


def test_text_size_steps_and_is_remembered(qtbot: QtBot, window: MainWindow) -> None:
    from PySide6.QtWidgets import QApplication

    original = QApplication.font()
    try:
        larger = next(a for a in window.actions() if a.text() == "&Larger text")
        before = QApplication.font().pointSize()
        larger.trigger()
        larger.trigger()
        bigger = QApplication.font().pointSize()
        assert bigger > before
        qtbot.waitUntil(
            lambda: window.chat_pane.transcript.font().pointSize() == bigger
        )
        window.close()  # saves the layout
        QApplication.setFont(original)
        again = MainWindow(window.settings)
        qtbot.addWidget(again)
        assert QApplication.font().pointSize() == bigger
        again.shutdown()
    finally:
        QApplication.setFont(original)


def test_dark_theme_is_chosen_and_remembered(qtbot: QtBot, window: MainWindow) -> None:
    from PySide6.QtWidgets import QApplication

    from assistant.ui.theme import is_dark

    palette, style = QApplication.palette(), QApplication.style().name()
    try:
        assert not is_dark()  # the offscreen platform reports no dark desktop
        from PySide6.QtCharts import QChart

        teach = window.teach.open()
        chart = teach.chart.chart()
        assert chart.theme() == QChart.ChartTheme.ChartThemeLight
        window.dark_action.setChecked(True)
        assert is_dark()
        # the Teach view's loss chart follows (it drew white on dark before)
        qtbot.waitUntil(lambda: chart.theme() == QChart.ChartTheme.ChartThemeDark)
        teach.close()
        window.close()  # the choice was saved when made
        QApplication.setPalette(palette)
        again = MainWindow(window.settings)
        qtbot.addWidget(again)
        assert is_dark() and again.dark_action.isChecked()
        again.dark_action.setChecked(False)
        assert not is_dark()
        again.shutdown()
    finally:
        QApplication.setPalette(palette)
        QApplication.setStyle(style)


def test_settings_dialog_turns_sentence_vectors_and_faster_indexing_on_and_off(
    qtbot: QtBot,
) -> None:
    from assistant.core.config import Settings
    from assistant.ui.settings_dialog import SettingsDialog

    dialog = SettingsDialog(Settings())
    qtbot.addWidget(dialog)
    assert dialog.sentence_vectors.isChecked()
    assert "1.8x" in dialog.sentence_vectors.toolTip()
    dialog.sentence_vectors.setChecked(False)
    assert dialog.result_settings().sentence_vectors is False
    dialog.sentence_vectors.setChecked(True)
    assert dialog.result_settings().sentence_vectors is True
    assert not dialog.faster_indexing.isChecked()  # off unless chosen
    dialog.faster_indexing.setChecked(True)
    assert dialog.result_settings().chunk_vectors == "from_sentences"


def test_a_folder_added_in_the_window_is_kept_in_sync(
    qtbot: QtBot, window: MainWindow, tmp_path: Path
) -> None:
    folder = tmp_path / "manuals"
    folder.mkdir()
    (folder / "pump.md").write_text("# Pump\n\nThe pump runs at 300 rpm.")
    _add_and_wait(qtbot, window, [str(folder)])
    assert _states(window) == {"pump.md": "ready"}
    # a new file saved into the folder is indexed without the user doing anything
    (folder / "fan.md").write_text("# Fan\n\nThe fan is cleaned monthly.")
    qtbot.waitUntil(lambda: _states(window).get("fan.md") == "ready", timeout=20000)
    (folder / "pump.md").unlink()
    qtbot.waitUntil(lambda: "pump.md" not in _states(window), timeout=20000)
    assert _states(window) == {"fan.md": "ready"}
    # File › Watched folders…: listed, and Stop watching keeps the documents
    assert window.library.watched == [(str(folder.resolve()), "")]
    window.library.manage_folders()
    dialog = window.library.folders_dialog
    assert dialog is not None and dialog.list.count() == 1
    dialog.list.setCurrentRow(0)
    dialog.unwatch_button.click()
    qtbot.waitUntil(lambda: dialog.list.count() == 0, timeout=10000)
    assert dialog.empty.isVisible() and window.library.watched == []
    assert _states(window) == {"fan.md": "ready"}


def test_changes_made_while_the_app_was_closed_are_found_at_start(
    qtbot: QtBot, window: MainWindow, tmp_path: Path
) -> None:
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "old.md").write_text("# Old\n\nAn old note.")
    _add_and_wait(qtbot, window, [str(folder)])
    settings = window.settings
    window.shutdown()
    (folder / "old.md").unlink()
    (folder / "new.md").write_text("# New\n\nWritten while the app was closed.")
    again = MainWindow(settings)
    qtbot.addWidget(again)
    again.show()
    try:
        qtbot.waitUntil(lambda: _states(again) == {"new.md": "ready"}, timeout=20000)
    finally:
        again.shutdown()


def test_the_status_bar_never_says_offline_with_a_server_or_shared_library(
    qtbot: QtBot, window: MainWindow, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert window.connection.text().startswith("\u25cf Offline")
    monkeypatch.setenv("ASSISTANT_CHAT_BASE_URL", "http://gpu-box:8080/v1")
    window.apply_settings(window.settings)
    assert "Server \u00b7 gpu-box:8080" in window.connection.text()
    assert "Offline" not in window.connection.text()
    monkeypatch.delenv("ASSISTANT_CHAT_BASE_URL")
    monkeypatch.setenv("ASSISTANT_LIBRARY", "s3://team/library")
    window.apply_settings(window.settings)
    assert window.connection.text() == "\u25cf Shared library \u00b7 s3://team/library"
    assert "s3://team/library" in window.connection.toolTip()


def test_choosing_another_library_location_opens_that_library(
    qtbot: QtBot, window: MainWindow, tmp_path: Path
) -> None:
    notes = tmp_path / "notes.md"
    notes.write_text("# Notes\n\nThe filter is changed every spring.")
    _add_and_wait(qtbot, window, [str(notes)])
    other = tmp_path / "team-library"
    window.apply_settings(
        window.settings.model_copy(update={"library_uri": str(other)})
    )
    qtbot.waitUntil(lambda: (other / "index.json").exists() and not _states(window))
    assert "Offline" in window.connection.text()  # a folder is still local
    window.apply_settings(window.settings.model_copy(update={"library_uri": ""}))
    qtbot.waitUntil(lambda: _states(window) == {"notes.md": "ready"})


def test_settings_dialog_sets_the_answer_server_and_library(qtbot: QtBot) -> None:
    from assistant.core.config import Settings
    from assistant.ui.settings_dialog import SettingsDialog

    dialog = SettingsDialog(Settings())
    qtbot.addWidget(dialog)
    dialog.chat_server.setText(" http://gpu-box:8080/v1 ")
    dialog.library_uri.setText("s3://team/library")
    chosen = dialog.result_settings()
    assert (chosen.chat_backend, chosen.chat_base_url) == (
        "openai",
        "http://gpu-box:8080/v1",
    )
    assert chosen.library_uri == "s3://team/library"
    dialog = SettingsDialog(chosen)
    qtbot.addWidget(dialog)
    dialog.chat_server.setText("")
    assert dialog.result_settings().chat_backend == "local"


def test_an_answer_cut_off_by_a_lost_server_says_so_and_keeps_its_text() -> None:
    from assistant.core.answer.conversations import ConversationRecord, Message
    from assistant.ui.panes.chat_pane import message_markdown

    lost = "The answer server at gpu-box:8080 stopped answering (RemoteProtocolError)."
    message = Message("assistant", "The pump runs at", stopped=True, interrupted=lost)
    markdown = message_markdown(1, message)
    assert "The pump runs at" in markdown and lost in markdown
    record = ConversationRecord(messages=[message])
    again = ConversationRecord.from_json(record.to_json())
    assert again.messages[0].interrupted == lost


def test_an_epub_is_counted_in_chapters() -> None:
    from assistant.ui.models.document_model import DocumentRow

    assert DocumentRow("a.epub", "epub", "ready", 47, 300).summary() == (
        "47 chapters · 300 chunks"
    )
    assert DocumentRow("a.pdf", "pdf", "ready", 1, 2).summary() == "1 page · 2 chunks"


def test_a_partly_indexed_pdf_says_what_is_searchable_by_words_and_by_meaning() -> None:
    from assistant.core.types import IngestProgress
    from assistant.ui.models.document_model import DocumentRow

    stopped = DocumentRow(
        "m.pdf", "pdf", "partial", 2415, 1066, pages_indexed=220, pages_by_words=2415
    )
    assert stopped.summary() == (
        "partly indexed: all 2,415 pages searchable by words, 220 by meaning "
        "(Resume continues)"
    )
    killed = DocumentRow(
        "m.pdf", "pdf", "partial", 2415, 0, pages_indexed=0, pages_by_words=800
    )
    assert killed.summary().startswith("partly indexed: 800 of 2,415 pages")
    progress = IngestProgress(pages_done=220, pages_read=2415, pages_total=2415)
    assert progress.pages_summary() == (
        "page 220 of 2,415 embedded, 2,415 searchable by words"
    )
    progress.pages_done = 2415
    assert progress.pages_summary() == "page 2,415 of 2,415"
    # a batch of many chunks moves the page count as it is embedded (it stood
    # at "page 6 of 113" while the chunks rose from 38 to 486)
    batch = IngestProgress(pages_done=6, pages_embedding=20.6, pages_total=113)
    assert batch.pages_summary() == "page 26 of 113"
    # Stop leaves a long document part-way: the summary counts it
    from assistant.core.types import IngestReport

    report = IngestReport(partial=["m.pdf"], cancelled=True)
    assert report.counts() == (
        "0 added, 0 updated, 0 unchanged, 0 failed, 1 partly indexed (Resume continues)"
    )


def test_indexing_progress_names_the_file_and_its_place_in_the_batch(
    qtbot: QtBot, window: MainWindow, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:

    _slow_embedding(monkeypatch, 0.1)
    pdfs = [
        make_pdf(
            tmp_path / f"manual{i}.pdf",
            [f"Pump {i} page {n}. " + FILLER for n in range(3)],
        )
        for i in (1, 2)
    ]
    seen: list[tuple[str, str]] = []
    pane = window.library_pane
    window.library.worker.sig_progress.connect(
        lambda _p: seen.append((pane.progress.format(), pane.progress_label.text()))
    )
    _add_and_wait(qtbot, window, [str(p) for p in pdfs])
    qtbot.waitUntil(lambda: len(seen) > 2)
    assert {f for f, _ in seen} == {"%p%"}  # the bar's text is its own percent
    labels = [t for _, t in seen if "manual" in t]
    assert any("manual1.pdf (file 1 of 2)" in t for t in labels), labels
    assert any("manual2.pdf (file 2 of 2)" in t for t in labels), labels
    assert all(
        "of 2 files" not in t and ("in all" in t or "page" not in t) for t in labels
    ), labels


def test_a_document_removed_in_the_window_does_not_return_at_the_next_start(
    qtbot: QtBot, window: MainWindow, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from PySide6.QtWidgets import QMessageBox

    monkeypatch.setattr(
        QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Yes
    )
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "keep.md").write_text("# Keep\n\nA note to keep.")
    (folder / "drop.md").write_text("# Drop\n\nA note to drop.")
    _add_and_wait(qtbot, window, [str(folder)])
    window.library.remove(str(folder / "drop.md"))
    qtbot.waitUntil(lambda: _states(window) == {"keep.md": "ready"}, timeout=10000)
    settings = window.settings
    window.shutdown()
    (folder / "keep.md").write_text("# Keep\n\nA note to keep, edited.")
    again = MainWindow(settings)
    qtbot.addWidget(again)
    again.show()
    try:
        with qtbot.waitSignal(again.library.worker.sig_ingest_finished, timeout=20000):
            pass  # the rescan at start re-indexed the edited file
        assert _states(again) == {"keep.md": "ready"}
    finally:
        again.shutdown()


def test_a_note_on_a_document_shows_on_its_row_for_the_session() -> None:
    from assistant.core.types import DocumentInfo
    from assistant.ui.models.document_model import DocumentListModel

    model = DocumentListModel()
    info = DocumentInfo("d1", "/x/scan.pdf", "scan", "pdf", "h", 10, 3, 4, 0.0, 3)
    model.set_documents([info])
    note = "OCR read no text on 1 scanned page (2): blank, or too faint"
    model.set_note("/x/scan.pdf", note)
    model.set_documents([info])  # a refresh keeps it
    [row] = model.rows()
    assert row.summary() == (
        "3 pages · 4 chunks · \u26a0 OCR read no text on 1 scanned page (2)"
    )
    model.set_note("/x/scan.pdf", "")  # indexed again without blank pages
    assert "\u26a0" not in model.rows()[0].summary()


def test_documents_are_listed_ready_as_they_are_committed_not_at_the_end(
    qtbot: QtBot, window: MainWindow, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each committed document is searchable at once: while the rest are indexed
    the list shows it ready and the status bar counts it (it said "0 documents"
    until a long ingest ended)."""

    from assistant.core.ingest import pipeline as ingest_pipeline
    from assistant.ui.workers import library_worker

    monkeypatch.setattr(ingest_pipeline.BatchWriter, "MAX_SECONDS", 0.2)
    monkeypatch.setattr(library_worker, "LIST_EVERY_S", 0.2)
    _slow_embedding(monkeypatch, 0.15)
    folder = tmp_path / "many"
    folder.mkdir()
    for i in range(12):
        (folder / f"doc{i:02d}.md").write_text(f"# Doc {i}\n\nPump {i} runs. " * 5)
    seen: list[tuple[int, str]] = []  # (ready rows, count label) while indexing

    def look() -> bool:
        ready = sum(1 for s in _states(window).values() if s == "ready")
        if window.library.indexing and 0 < ready < 12:
            seen.append((ready, window.count_label.text()))
        return bool(seen)

    window.add_paths([str(folder)])
    qtbot.waitUntil(look, timeout=30000)
    ready, label = seen[0]
    assert f"{ready} document" in label, label
    assert (
        "indexing" in _states(window).values() or "queued" in _states(window).values()
    )
    qtbot.waitUntil(lambda: not window.library.indexing, timeout=60000)
    qtbot.waitUntil(lambda: "12 documents" in window.count_label.text())
    assert set(_states(window).values()) == {"ready"}


def test_settings_refused_at_start_are_named_in_a_dialog(
    window: MainWindow, qtbot: QtBot, _isolated_home: Path
) -> None:
    """Probe 2, case 3, as the window shows it: which values were refused."""
    import json

    from PySide6.QtWidgets import QMessageBox

    from assistant.core.config import read_settings, settings_path

    settings_path().parent.mkdir(parents=True, exist_ok=True)
    settings_path().write_text(json.dumps({"top_k": 100, "library_uri": "/x/lib"}))
    settings, refused = read_settings()
    assert settings.library_uri == "/x/lib" and len(refused) == 1
    window.warn_refused_settings(refused)
    boxes = [w for w in window.findChildren(QMessageBox) if w.isVisible()]
    assert len(boxes) == 1 and "top_k = 100 refused" in boxes[0].informativeText()
    boxes[0].close()


def test_small_dead_ends_say_what_to_do(window, monkeypatch) -> None:  # type: ignore[no-untyped-def]  # noqa: E501
    from PySide6.QtWidgets import QMessageBox

    from assistant.core.model_files import resolve_chat_model

    # Compare with nothing typed says so instead of doing nothing
    window.chat_pane.input.clear()
    window.chat_pane.submit_compare()
    assert window.statusBar().currentMessage().startswith("Type a question first")
    # Help > About names the chat model in use (the default: setting "")
    shown: list[str] = []
    monkeypatch.setattr(
        QMessageBox,
        "about",
        staticmethod(lambda parent, title, text: shown.append(text)),
    )
    window.show_about()
    assert f"Chat model: {resolve_chat_model('').name}<" in shown[0]


def test_the_conversation_search_box_stays_readable_with_larger_text(
    qtbot: QtBot, window: MainWindow
) -> None:
    from PySide6.QtWidgets import QApplication

    from assistant.ui.window_layout import set_text_points

    font = QApplication.font()
    try:
        window.resize(1280, 800)
        for points in (9, 14, 18):
            set_text_points(points)
            qtbot.wait(50)
            edit = window.chat_pane.search_edit
            need = edit.fontMetrics().horizontalAdvance("Search conv")
            assert edit.width() >= need, (points, edit.width(), need)
    finally:
        QApplication.setFont(font)


def test_the_viewer_follows_the_answer_and_a_zoomed_page_shows_the_passage(
    qtbot: QtBot, window: MainWindow, fake_generator: SlowGenerator, tmp_path: Path
) -> None:
    from PySide6.QtCore import QRectF

    from assistant.ui.panes.viewer_pane import PLACEHOLDER

    # a fresh window gives the page room: it was a third of the chat's width
    assert window.viewer.width() >= 0.4 * window.width()
    lower = "\n\n".join([FILLER] * 9 + ["The pump runs at 300 rpm at night."])
    pdf = make_pdf(tmp_path / "pump.pdf", [FILLER, lower])
    _add_and_wait(qtbot, window, [str(pdf)])
    window.resize(1280, 800)
    viewer = window.viewer
    viewer.set_zoom(2.5)  # as remembered from an earlier session
    source = window.library.worker.library.search("pump runs at night", 1)[0]
    assert source.page == 2
    window.library.show_source(source)
    qtbot.waitUntil(lambda: bool(viewer.highlight_rects))
    ratio = viewer.devicePixelRatioF()

    def passage_in_view() -> bool:
        seen = viewer.page_label.visibleRegion().boundingRect()
        return any(
            QRectF(seen).intersects(
                QRectF(r.left() / ratio, r.top() / ratio, r.width(), r.height())
            )
            for r in viewer.highlight_rects
        )

    qtbot.waitUntil(passage_in_view, timeout=3000)
    # a new question: the page of the last answer goes, the placeholder comes back
    fake_generator.queue("It runs at 300 rpm.")
    with qtbot.waitSignal(window.chat.sig_answer_shown, timeout=10000):
        window.chat.ask("How fast is the pump at night?")
    assert viewer.stack.currentWidget() is viewer.placeholder
    assert viewer.placeholder.text() == PLACEHOLDER and not viewer.highlight_rects
    window.library.show_source(source)
    assert viewer.stack.currentWidget() is viewer.page_scroll
    window.chat.new_conversation()
    assert viewer.stack.currentWidget() is viewer.placeholder


def test_the_wait_says_what_the_model_reads_and_about_how_long(
    qtbot: QtBot, window: MainWindow, fake_generator: SlowGenerator, tmp_path: Path
) -> None:
    notes = tmp_path / "notes.md"
    notes.write_text("# Filters\n\n" + "The filter is changed in May. " * 30)
    _add_and_wait(qtbot, window, [str(notes)])
    said: list[str] = []
    window.chat.sig_status.connect(lambda text, _ms: said.append(text))
    sharing: list[bool] = []  # indexing's pace leaves the answer's stretch out
    window.chat.worker.sig_sources.connect(
        lambda *_: sharing.append(window.library.pace.sharing)
    )
    fake_generator.delay = 0.3
    for _ in range(2):
        fake_generator.queue("In May.")
        with qtbot.waitSignal(window.chat.sig_answer_shown, timeout=10000):
            window.chat.ask("When is the filter changed?")
    waits = [t for t in said if t.startswith("Reading")]
    assert waits[0].endswith("tokens\u2026 Esc stops."), waits  # nothing measured yet
    assert any("first words in about" in t or "any moment now" in t for t in waits)
    assert said[-1] == ""  # cleared once the answer is there
    assert sharing == [True, True] and not window.library.pace.sharing


def test_lines_of_the_passages_are_quoted_while_the_model_reads(
    qtbot: QtBot, window: MainWindow, fake_generator: SlowGenerator, tmp_path: Path
) -> None:
    notes = tmp_path / "pump.md"
    notes.write_text(
        "# Pump\n\nThe pump is cleaned with *warm* water every week. "
        + "The housing is painted grey and blue. " * 12
        + "The pump must never run dry for more than 30 seconds."
    )
    _add_and_wait(qtbot, window, [str(notes)])
    seen: list[str] = []
    window.chat.worker.sig_tokens.connect(
        lambda *_: seen.append(window.chat_pane.transcript.toPlainText())
    )
    fake_generator.delay = 0.3
    fake_generator.queue("Every week [1].")
    with qtbot.waitSignal(window.chat.sig_answer_shown, timeout=10000):
        window.chat.ask("How often is the pump cleaned?")
    waiting = seen[0]
    assert "From your documents, while the model reads:" in waiting
    # a line of the passage, as written (Markdown's marks shown, not applied)
    assert (
        "\u201cThe pump is cleaned with *warm* water every week.\u201d [1]" in waiting
    )
    done = window.chat_pane.transcript.toPlainText()
    assert "while the model reads" not in done and "Every week" in done
    from assistant.core.answer.conversations import ConversationRecord, Message

    waited = Message("assistant", "", quotes=((1, "The pump is cleaned."),))
    assert (
        "quotes" not in ConversationRecord(messages=[waited]).to_json()["messages"][0]
    )


def test_a_passage_with_a_word_broken_across_lines_is_found_on_its_page(
    qtbot: QtBot, window: MainWindow, tmp_path: Path
) -> None:
    from assistant.ui.panes.viewer_pane import locate

    page = "The data come from Ex-\ncel files.\nNext line."
    assert locate("from Excel files.", page) == (14, 19)  # "from Ex-\ncel files."
    assert locate("from Excel files.", "from Ex\ufffecel files.") == (0, 18)
    assert locate("a well-known tool", "a well-\nknown tool") == (0, 18)
    # the real page: pdfium marks the broken word; the index has it joined
    pdf = make_pdf(
        tmp_path / "r-data.pdf",
        ["Ex-<br/>cel files hold the data; read them with the readxl package."],
    )
    _add_and_wait(qtbot, window, [str(pdf)])
    source = window.library.worker.library.search("Excel files readxl", 1)[0]
    assert "Excel" in source.text
    window.library.show_source(source)
    qtbot.waitUntil(lambda: bool(window.viewer.highlight_rects))


def test_remove_during_indexing_says_it_waits_and_then_removes(
    qtbot: QtBot, window: MainWindow, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from PySide6.QtWidgets import QMessageBox

    notes = tmp_path / "notes.md"
    notes.write_text("# Pump\n\nThe pump runs at 300 rpm.")
    _add_and_wait(qtbot, window, [str(notes)])
    _slow_embedding(monkeypatch, 0.2)
    monkeypatch.setattr(
        QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Yes
    )
    folder = tmp_path / "many"
    folder.mkdir()
    for i in range(6):
        (folder / f"doc{i}.md").write_text(f"# Doc {i}\n\nFilter {i} is changed. " * 20)
    window.add_paths([str(folder)])
    qtbot.waitUntil(lambda: bool(window.library.indexing))
    window.library.remove(str(notes))
    assert _states(window)["notes.md"] == "removing"
    row = window.library.documents.row_for(str(notes))
    assert row is not None and "Stop" in row.summary()
    assert "will be removed once the indexing" in window.statusBar().currentMessage()
    qtbot.waitUntil(lambda: "notes.md" not in _states(window), timeout=60000)
    assert not window.library.indexing
    assert set(_states(window).values()) == {"ready"} and len(_states(window)) == 6


def test_files_of_the_same_name_show_where_they_live_and_copies_are_not_added(
    qtbot: QtBot, window: MainWindow, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from PySide6.QtWidgets import QMessageBox

    first, second = tmp_path / "2023", tmp_path / "2024"
    for folder, speed in ((first, 300), (second, 320)):
        folder.mkdir()
        (folder / "pump.md").write_text(f"# Pump\n\nThe pump runs at {speed} rpm.")
    _add_and_wait(qtbot, window, [str(first / "pump.md"), str(second / "pump.md")])
    model = window.library.documents
    shown = [model.data(model.index(i)) for i in range(model.rowCount())]
    assert any(s.startswith("pump.md\nin ") and "2023 \u00b7 " in s for s in shown), (
        shown
    )
    assert any("2024 \u00b7 " in s for s in shown), shown
    # a copy of an indexed file is not listed twice; the status bar says whose
    copy = tmp_path / "backup"
    copy.mkdir()
    (copy / "pump.md").write_bytes((first / "pump.md").read_bytes())
    _add_and_wait(qtbot, window, [str(copy / "pump.md")])
    assert model.rowCount() == 2
    assert "is a copy of" in window.statusBar().currentMessage()
    # Remove names the file's path, not only its name
    asked: list[str] = []
    monkeypatch.setattr(
        QMessageBox,
        "question",
        lambda parent, title, text, *a: (
            asked.append(text) or QMessageBox.StandardButton.No
        ),
    )
    window.library.remove(str(second / "pump.md"))
    assert str(second / "pump.md") in asked[0]


def test_questions_can_be_limited_to_some_documents(
    qtbot: QtBot, window: MainWindow, fake_generator: SlowGenerator, tmp_path: Path
) -> None:
    red, blue = tmp_path / "red", tmp_path / "blue"
    for folder in (red, blue):
        folder.mkdir()
        (folder / "pump.md").write_text(
            f"# Pump\n\nThe pump is painted {folder.name}. " * 3
        )
    (tmp_path / "valve.md").write_text("# Valve\n\nThe valve is painted grey. " * 3)
    _add_and_wait(qtbot, window, [str(red), str(blue), str(tmp_path / "valve.md")])
    pane = window.chat_pane
    assert not pane.scope_chip.isVisible()

    def ask() -> set[str]:
        fake_generator.queue("It is painted.")
        with qtbot.waitSignal(window.chat.sig_answer_shown, timeout=10000) as shown:
            window.chat.ask("What colour is the pump painted?")
        return {Path(s.path).parent.name for s in shown.args[0].sources}

    # the library pane's menu: only this document, then also another one
    window.library_pane.sig_scope.emit([str(red / "pump.md")], False)
    assert pane.scope_chip.isVisible() and pane.scope_label.text() == (
        "Only in: pump.md"
    )
    assert ask() == {"red"}
    window.library_pane.sig_scope.emit([str(blue)], True)
    assert pane.scope_label.text() == "Only in: pump.md, blue"
    assert ask() == {"red", "blue"}
    # the chip's x asks the whole library again
    pane.sig_clear_scope.emit()
    assert not pane.scope_chip.isVisible() and window.chat.within == ()
    assert tmp_path.name in ask()  # valve.md, in tmp_path itself, is found again
    # a scope whose documents are gone says so instead of asking everything
    window.library_pane.sig_scope.emit([str(tmp_path / "gone.md")], False)
    window.chat.ask("What colour is the pump painted?")
    qtbot.waitUntil(lambda: not window.chat_pane.stop_button.isEnabled())
    last = window.chat.messages.messages()[-1].text
    assert "No document in the library matches" in last, last


def test_full_collections_wait_until_both_models_have_loaded(
    qtbot: QtBot, window: MainWindow
) -> None:
    """A full GC pass walks the heap holding the GIL (60 ms at start-up): none
    runs while the models load, and the collector is back once both are in."""
    import gc

    qtbot.waitUntil(lambda: not window.models_loading, timeout=20000)
    assert gc.get_threshold()[2] < 1_000_000
    assert gc.get_freeze_count() > 0


def test_the_workers_run_behind_the_window_s_thread(
    qtbot: QtBot, window: MainWindow
) -> None:
    """Their threads (and the model threads they start) yield a core to the
    window's when it needs one: a lower priority, on Linux."""
    import os
    import sys
    import threading

    from PySide6.QtCore import QMetaObject, QObject, Qt, Slot

    if not sys.platform.startswith("linux"):
        return
    seen: list[int] = []

    class Probe(QObject):
        @Slot()
        def look(self) -> None:
            seen.append(os.getpriority(os.PRIO_PROCESS, threading.get_native_id()))

    probe = Probe()
    probe.moveToThread(window.chat.worker_thread)
    QMetaObject.invokeMethod(probe, "look", Qt.ConnectionType.QueuedConnection)
    qtbot.waitUntil(lambda: bool(seen), timeout=5000)
    mine = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    probe.deleteLater()  # in its thread
    assert seen[0] > mine


def test_a_staged_index_is_searchable_first_and_completed_behind_the_window(
    qtbot: QtBot, window: MainWindow, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The default index is staged: the window says when the documents are
    searchable by meaning, shows the second stage's progress, lets an answer
    have the cores (the stage waits), and says when the index is complete."""
    win = window
    controller, worker = win.library, win.library.worker
    said: list[str] = []
    controller.sig_status.connect(lambda text, _ms: said.append(text))
    label = controller.pane.progress_label
    reports: list[object] = []
    worker.sig_completed.connect(lambda _id, report: reports.append(report))
    for n in range(4):
        (tmp_path / f"pump{n}.txt").write_text(
            " ".join(f"Pump {n} part {i} is checked every week." for i in range(60))
        )
    _slow_embedding(monkeypatch, 0.05)
    _add_and_wait(qtbot, win, [str(tmp_path / f"pump{n}.txt") for n in range(4)])
    assert any(s.startswith("Searchable by meaning: 4 added") for s in said)
    qtbot.waitUntil(lambda: "improving" in label.text(), timeout=20000)
    assert label.text().startswith("Searchable by meaning · improving search: passage")
    assert controller.pane.progress_box.isVisible()
    controller.set_sharing(True)  # an answer starts: the second stage waits
    qtbot.waitUntil(lambda: bool(reports), timeout=20000)
    assert reports[0].cancelled  # type: ignore[attr-defined]
    from assistant.core.index.store import ChunkStore

    store = ChunkStore(tmp_path / "index", "fake", 64).reader()
    assert store.count_pending_vectors() > 0
    controller.set_sharing(False)  # the answer ended: it goes on
    qtbot.waitUntil(lambda: len(reports) == 2, timeout=60000)
    assert not reports[1].cancelled  # type: ignore[attr-defined]
    assert store.count_pending_vectors() == 0
    assert any(s.startswith("Index complete: ") for s in said)
    assert not controller.pane.progress_box.isVisible()


def test_stop_while_indexing_also_leaves_the_second_stage_for_later(
    qtbot: QtBot, window: MainWindow, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    win = window
    started: list[object] = []
    win.library.worker.sig_completion.connect(lambda p: started.append(p))
    for n in range(16):
        (tmp_path / f"valve{n}.txt").write_text(
            " ".join(f"Valve {n} part {i} is oiled every month." for i in range(60))
        )
    _slow_embedding(monkeypatch, 0.2)
    with qtbot.waitSignal(
        win.library.worker.sig_ingest_finished, timeout=60000
    ) as finished:
        win.add_paths([str(tmp_path / f"valve{n}.txt") for n in range(16)])
        qtbot.waitUntil(lambda: "ready" in _states(win).values(), timeout=30000)
        win.library.cancel()
    assert finished.args[0].cancelled  # (stopped while it ran)
    qtbot.wait(1500)
    assert not started  # nothing runs after Stop
    from assistant.core.index.store import ChunkStore

    assert ChunkStore(tmp_path / "index", "fake", 64).count_pending_vectors() > 0


def test_a_second_stage_that_fails_says_why_once_and_is_not_retried_in_a_loop(
    qtbot: QtBot, window: MainWindow, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A write error in the second stage (a full disk) is shown once; the stage
    is tried again only when the worker next finds chunks pending (the next
    ingest or start), not at once, over and over."""
    from PySide6.QtWidgets import QMessageBox

    from assistant.core.errors import IndexWriteError
    from assistant.core.services.library import Library

    shown: list[str] = []
    monkeypatch.setattr(
        QMessageBox, "warning", staticmethod(lambda _p, _t, text: shown.append(text))
    )
    tries: list[int] = []

    def full_disk(self: Library, *_args: object) -> object:
        tries.append(1)
        raise IndexWriteError(self.store.location, OSError(28, "No space left"))

    monkeypatch.setattr(Library, "complete_index", full_disk)
    (tmp_path / "pump.txt").write_text(
        " ".join(f"Pump part {i} is checked every week." for i in range(60))
    )
    _add_and_wait(qtbot, window, [str(tmp_path / "pump.txt")])
    qtbot.waitUntil(lambda: bool(shown), timeout=20000)
    qtbot.wait(1500)
    assert len(tries) == 1 and len(shown) == 1
    assert "No space left" in shown[0] or "space" in shown[0].lower()
