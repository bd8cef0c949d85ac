"""The chat feature: owns the chat worker (the only owner of the model) and its
thread, the conversation on screen, the requests in flight and the compare run.

State it owns and nobody else writes: ``conversation`` (the record on screen),
``messages`` and ``sources`` (what the panes show), the in-flight requests (each
with the conversation that asked and its messages so far). The worker keeps no
turns: each AskRequest carries them, each AskResult carries them back, and a
result is filed under the conversation that asked, or dropped if it was deleted.
"""

from __future__ import annotations

import itertools
import re
import time
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import QFileDialog, QInputDialog, QMessageBox, QWidget

from assistant.core.answer.conversations import (
    ConversationRecord,
    ConversationStore,
    Message,
)
from assistant.core.answer.reading_time import ReadingPlan, reading_status
from assistant.core.config import Settings, data_dir
from assistant.core.index.scopes import describe_paths
from assistant.core.types import (
    ANSWER_MODES,
    MODES_WITHOUT_ADAPTER,
    Answer,
    mode_uses_adapter,
    mode_uses_retrieval,
)
from assistant.ui.compare_dialog import CompareDialog
from assistant.ui.models.chat_model import ChatMessagesModel
from assistant.ui.models.sources_model import SourcesModel
from assistant.ui.panes.chat_pane import ChatPane
from assistant.ui.workers.ask_request import AskRequest, AskResult, CompareRequest
from assistant.ui.workers.chat_worker import ChatWorker
from assistant.ui.workers.worker_thread import Wiring, join, start_worker

SPREAD_MS = 30
"""Between showing the lines to read and the passages: two turns of the event
loop, each short, instead of one long one."""


def export_file_name(title: str, limit: int = 40) -> str:
    """A file name from a conversation title: cut at a word, no path characters."""
    clean = re.sub(r'[\\/:*?"<>|\s]+', " ", title).strip() or "conversation"
    if len(clean) > limit:
        clean = (
            clean[:limit].rsplit(" ", 1)[0] if " " in clean[:limit] else clean[:limit]
        )
    return f"{clean}.md"


def _listing(record: ConversationRecord) -> tuple[float, str, str]:
    """(created, title, everything searchable in lower case)."""
    text = "\n".join([record.title, *(m.text for m in record.messages)])
    return record.created, record.title, text.casefold()


class ChatController(QObject):
    """Signals:
    to the worker (queued): sig_load(), sig_ask(object: AskRequest),
        sig_compare(object: CompareRequest), sig_settings(object),
        sig_library(object: a Library reader).
    out: sig_status(str, int): a status-bar message and how long it shows (ms;
        0: until replaced, "" clears a question's "Searching…/Reading…");
        sig_model(str, bool): the model label and whether it is still loading;
        sig_open_source(object): show this Source (or span) in the viewer;
        sig_passages_gone(): the answer whose passage the viewer shows left the
            screen (a new question, another conversation);
        sig_busy(bool): the chat model is (not) working for the user (indexing
            leaves those stretches out of its pace);
        sig_answer_shown(object): an Answer is on screen, complete (tests).
    """

    sig_load = Signal()
    sig_ask = Signal(object)
    sig_compare = Signal(object)
    sig_settings = Signal(object)
    sig_library = Signal(object)
    sig_status = Signal(str, int)
    sig_model = Signal(str, bool)
    sig_open_source = Signal(object)
    sig_passages_gone = Signal()
    sig_busy = Signal(bool)
    sig_answer_shown = Signal(object)

    def __init__(
        self,
        parent: QWidget,
        pane: ChatPane,
        sources: SourcesModel,
        adapter_path: Callable[[str], Path],
        worker: ChatWorker | None = None,
        settings: Settings | None = None,
    ) -> None:
        super().__init__(parent)
        self._parent = parent
        self.pane = pane
        self.messages: ChatMessagesModel = pane.model
        self.sources = sources
        self._adapter_path = adapter_path
        self.store = ConversationStore(data_dir() / "conversations")
        self._listed = {r.id: _listing(r) for r in self.store.list()}
        """The saved conversations (id: created, title, searchable text), read once
        at start and kept up to date here (no file is read again after an answer)."""
        self._search = ""
        self.conversation = ConversationRecord()
        self.messages.show(self.conversation)  # the list on screen is a view of it
        self._ids = itertools.count(1)
        self._asking: AskRequest | None = None
        """The request whose answer streams into the messages on screen."""
        self._in_flight: dict[int, ConversationRecord] = {}
        """Per unanswered request: its conversation and its messages so far (with
        the question), so the answer is filed there even after a switch."""
        self._comparing: CompareRequest | None = None
        self.within: tuple[str, ...] = ()
        """The documents and folders questions go to (the scope chip); (): all."""
        self._reading: tuple[ReadingPlan, float] | None = None
        """What the model is reading for the answer on screen, since when."""
        self._unshown: tuple[int, ReadingPlan, str] | None = None
        """The passages of a question on its way (its id), until they are shown."""
        self._wait_timer = QTimer(self)
        self._wait_timer.setInterval(1000)
        self._wait_timer.timeout.connect(self._show_wait)
        self.compare_dialog: CompareDialog | None = None
        settings = settings or Settings()
        self.worker = worker or ChatWorker(settings)
        wiring = self._wiring()
        self.worker_thread = start_worker(self, self.worker, "chat-worker", wiring)
        self.sig_load.emit()
        last = self.store.last_saved()
        if last is not None:
            self.open_conversation(last)  # where the user left off
        self.refresh_conversations()

    def _wiring(self) -> Wiring:
        worker, pane = self.worker, self.pane
        return [
            (self.sig_load, worker.load),
            (self.sig_ask, worker.ask),
            (self.sig_compare, worker.compare),
            (self.sig_settings, worker.set_settings),
            (self.sig_library, worker.set_library),
            (worker.sig_model_ready, self._on_model_ready),
            (worker.sig_sources, self._on_sources),
            (worker.sig_tokens, self._on_tokens),
            (worker.sig_answer_finished, self._on_answer),
            (worker.sig_ask_failed, self._on_ask_failed),
            (worker.sig_failed, self._on_failed),
            (worker.sig_compare_started, self._on_compare_started),
            (worker.sig_compare_answer, self._on_compare_answer),
            (worker.sig_compare_failed, self._on_compare_failed),
            (worker.sig_compare_finished, self._on_compare_finished),
            (pane.sig_ask, self.ask),
            (pane.sig_regenerate, self.regenerate),
            (pane.sig_stop, self.stop),
            (pane.sig_citation, self.open_citation),
            (pane.sig_new, self.new_conversation),
            (pane.sig_rename, self.rename_conversation),
            (pane.sig_delete, self.delete_conversation),
            (pane.sig_export, self.export_conversation),
            (pane.sig_conversation_selected, self.open_conversation),
            (pane.sig_compare, self.compare),
            (pane.sig_search, self.search_conversations),
        ]

    def set_settings(self, settings: Settings, reload_model: bool) -> None:
        if reload_model:
            self._model_busy(True)  # until the new one is ready
            self.sig_model.emit("Loading model…", True)
        self.sig_settings.emit(settings)

    def _on_model_ready(self, name: str) -> None:
        self.sig_model.emit(name, False)
        self._model_free()

    def _model_busy(self, busy: bool) -> None:
        self.sig_busy.emit(busy)

    def _model_free(self) -> None:
        """Nothing waits for the model any more."""
        if self._asking is None and self._comparing is None:
            self._model_busy(False)

    # ---- asking ------------------------------------------------------------------
    def _adapter_for(self, mode: str) -> tuple[bool, Path | None]:
        """(ok, adapter file) for a mode; tells the user when there is none."""
        if not mode_uses_adapter(mode):
            return True, None
        name = self.pane.current_adapter()
        if name is None:
            QMessageBox.information(
                self._parent,
                "No adapter yet",
                "The Taught modes answer with a fine-tuned adapter. Open Model › "
                "Teach the model… (Ctrl+T), add question/answer pairs and train "
                "one first.",
            )
            return False, None
        return True, self._adapter_path(name)

    def ask(self, question: str) -> None:
        mode = self.pane.current_mode()
        ok, adapter = self._adapter_for(mode)
        if not ok:
            self.pane.input.setPlainText(question)
            return
        if not self.conversation.messages:
            self.conversation.title = question[:60]
        request = AskRequest(
            next(self._ids),
            self.conversation.id,
            question,
            mode,
            adapter,
            tuple(self.conversation.turns),
            within=self.within,
        )
        self._asking = request
        self._in_flight[request.id] = self.conversation
        self.messages.append(Message("user", question))
        self.messages.append(Message("assistant", ""))
        self.sig_passages_gone.emit()
        self.pane.set_busy(True)
        self._model_busy(True)
        if mode_uses_retrieval(mode):
            self.sig_status.emit("Searching the library\u2026", 0)
        self.sig_ask.emit(request)

    def regenerate(self, message_index: int) -> None:
        """Answer the last question again, replacing its answer (older answers
        stay: later turns were built on them)."""
        messages = self.messages.messages()
        last = len(messages) - 1
        if self._asking is not None or message_index != last or last < 1:
            self.sig_status.emit("Only the last answer can be redone.", 4000)
            return
        question = messages[last - 1].text
        self.messages.truncate(last - 1)
        self.conversation.turns = self.conversation.turns[:-1]
        self.ask(question)

    def set_scope(self, paths: list[str], add: bool = False) -> None:
        """Ask only within ``paths`` (documents or folders of the library) from
        now on, or also within them (``add``); [] asks the whole library."""
        chosen = [*self.within, *paths] if add else list(paths)
        self.within = tuple(dict.fromkeys(chosen))
        self.pane.show_scope(describe_paths(self.within, 3), list(self.within))

    def stop(self) -> None:
        """Esc / Stop: the streaming answer, or the compare run."""
        if self._asking is not None:
            self._asking.cancel.cancel()
        if self._comparing is not None:
            self._comparing.cancel.cancel()

    def _is_current(self, request_id: int) -> bool:
        return self._asking is not None and self._asking.id == request_id

    def _on_sources(self, request_id: int, plan: ReadingPlan) -> None:
        """Retrieval is done: show the passages while the model reads them, and
        count down the wait it expects."""
        if self._asking is None or self._asking.id != request_id:
            return
        if plan.quotes:
            self.messages.show_quotes(plan.quotes)
        # the passages a turn of the loop later (or with the first words, if
        # sooner): laying out both at once held the window ~50-80 ms on two busy
        # cores (bench/gui_stall.py)
        self._unshown = (request_id, plan, self._asking.question)
        QTimer.singleShot(SPREAD_MS, lambda: self._show_sources(request_id))
        self._reading = (plan, time.monotonic())
        self._show_wait()
        self._wait_timer.start()

    def _show_sources(self, request_id: int) -> None:
        if self._unshown is None or self._unshown[0] != request_id:
            return
        _, plan, question = self._unshown
        self._unshown = None
        if self._is_current(request_id):
            self.sources.set_sources(plan.sources, [], question)

    def _show_wait(self) -> None:
        if self._reading is None:
            self._wait_timer.stop()
            return
        plan, since = self._reading
        self.sig_status.emit(reading_status(plan, time.monotonic() - since), 0)

    def _end_wait(self) -> None:
        self._reading = None
        self._wait_timer.stop()

    def _on_tokens(self, request_id: int, text: str) -> None:
        if self._is_current(request_id):
            self._show_sources(request_id)
            if self._reading is not None:
                self._end_wait()
                self.sig_status.emit("", 0)
            self.messages.extend_last(text)

    def _on_answer(self, result: AskResult) -> None:
        """File the answer under the conversation that asked (saved even if another
        one is on screen now); dropped if that conversation was deleted."""
        record = self._in_flight.pop(result.request.id, None)
        if record is None:
            return
        message = Message.from_answer(result.answer)
        record.messages[-1] = message  # the streamed placeholder (shown below)
        record.turns = list(result.history)
        self._save(record)
        if not self._is_current(result.request.id):
            self._model_free()
            self.refresh_conversations()
            return
        self._asking = None
        self._end_wait()
        self._model_free()
        self.sig_status.emit("", 0)
        self.pane.set_busy(False)
        self.messages.replace_last(message)
        self.sources.set_sources(
            result.answer.sources, result.answer.cited, result.request.question
        )
        self.refresh_conversations()
        self.sig_answer_shown.emit(result.answer)

    def _on_ask_failed(self, request_id: int, message: str) -> None:
        record = self._in_flight.pop(request_id, None)
        if record is not None and not self.messages.shows(record):
            del record.messages[-2:]  # not on screen: the question was never seen

        if not self._is_current(request_id):
            self._model_free()
            return
        self._asking = None
        self._end_wait()
        self._model_free()
        self.sig_status.emit("", 0)
        self._on_failed(message)

    def _on_failed(self, message: str) -> None:
        self.pane.set_busy(False)
        messages = self.messages.messages()
        if messages and messages[-1].role == "assistant" and not messages[-1].text:
            self.messages.replace_last(Message("assistant", f"*{message}*"))
        if "model" in message.lower():
            self.sig_model.emit("Model unavailable", False)
        QMessageBox.warning(
            self._parent,
            "Chat",
            f"{message}\n\nCheck the chat model in File \u203a Settings.",
        )

    def open_citation(self, message_index: int, number: int, claim_index: int) -> None:
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
            source = source.span(evidence.start, evidence.end)
        if source is not None:
            self.sig_open_source.emit(source)

    # ---- compare -----------------------------------------------------------------
    def compare(self, question: str) -> None:
        name = self.pane.current_adapter()
        adapter = self._adapter_path(name) if name is not None else None
        modes = tuple(ANSWER_MODES if adapter else MODES_WITHOUT_ADAPTER)
        if self._comparing is not None:
            self._comparing.cancel.cancel()
        request = CompareRequest(
            next(self._ids), question, modes, adapter, within=self.within
        )
        self._comparing = request
        dialog = CompareDialog(question, list(modes), self._parent)
        dialog.sig_open_source.connect(self.sig_open_source)
        dialog.sig_stop.connect(self.stop)
        if self.compare_dialog is not None:
            self.compare_dialog.close()
        self.compare_dialog = dialog
        self.pane.set_busy(True)
        self._model_busy(True)
        dialog.show()
        self.sig_compare.emit(request)

    def _compare_target(self, request_id: int) -> CompareDialog | None:
        current = self._comparing is not None and self._comparing.id == request_id
        return self.compare_dialog if current else None

    def _on_compare_started(self, request_id: int, mode: str) -> None:
        if dialog := self._compare_target(request_id):
            dialog.on_started(mode)

    def _on_compare_answer(self, request_id: int, answer: Answer) -> None:
        if dialog := self._compare_target(request_id):
            dialog.on_answer(answer)

    def _on_compare_failed(self, request_id: int, message: str) -> None:
        if self._compare_target(request_id) is not None:
            QMessageBox.warning(self._parent, "Compare", message)

    def _on_compare_finished(self, request_id: int) -> None:
        if dialog := self._compare_target(request_id):
            dialog.on_finished()
            self._comparing = None
            self.pane.set_busy(self._asking is not None)
            self._model_free()

    # ---- conversations -----------------------------------------------------------
    def _save(self, record: ConversationRecord) -> None:
        self.store.save(record)
        self._listed[record.id] = _listing(record)

    def search_conversations(self, text: str) -> None:
        self._search = text.strip().casefold()
        self.refresh_conversations()

    def refresh_conversations(self) -> None:
        """The list: newest first, only those containing the search text (the one
        on screen is always listed)."""
        newest = sorted(self._listed.items(), key=lambda item: -item[1][0])
        items = [
            (id_, title)
            for id_, (_, title, text) in newest
            if self._search in text or id_ == self.conversation.id
        ]
        if self.conversation.id not in self._listed:
            items.insert(0, (self.conversation.id, self.conversation.title))
        self.pane.set_conversations(items, self.conversation.id)

    def _switch_to(self, record: ConversationRecord) -> None:
        """Show another conversation; an answer still streaming stops and is filed
        under the conversation that asked (see ``_on_answer``)."""
        self.stop()
        self._asking = None
        self._end_wait()
        self.sig_status.emit("", 0)
        self.pane.set_busy(False)
        self.conversation = record
        self.messages.show(record)
        self.sig_passages_gone.emit()
        last = next(
            (m for m in reversed(record.messages) if m.role == "assistant"), None
        )
        self.sources.set_sources(
            last.sources if last else [], last.cited if last else [], ""
        )
        self.refresh_conversations()

    def new_conversation(self) -> None:
        self._switch_to(ConversationRecord())

    def open_conversation(self, conversation_id: str) -> None:
        record = self.store.load(conversation_id)
        if record is not None:
            self._switch_to(record)

    def rename_conversation(self) -> None:
        title, ok = QInputDialog.getText(
            self._parent, "Rename conversation", "Title:", text=self.conversation.title
        )
        if ok and title.strip():
            self.conversation.title = title.strip()
            if self.conversation.messages:
                self._save(self.conversation)
            self.refresh_conversations()

    def delete_conversation(self) -> None:
        answer = QMessageBox.question(
            self._parent,
            "Delete conversation",
            f"Delete \u201c{self.conversation.title}\u201d?",
        )
        if answer == QMessageBox.StandardButton.Yes:
            deleted = self.conversation.id
            for request_id, record in list(self._in_flight.items()):
                if record.id == deleted:  # its answer must not bring it back
                    del self._in_flight[request_id]
            self.store.delete(deleted)
            self._listed.pop(deleted, None)
            self.new_conversation()

    def export_conversation(self) -> None:
        if not self.conversation.messages:
            self.sig_status.emit("Nothing to export yet.", 4000)
            return
        path, _ = QFileDialog.getSaveFileName(
            self._parent,
            "Export conversation",
            export_file_name(self.conversation.title),
            "Markdown (*.md)",
        )
        if path:
            Path(path).write_text(self.conversation.to_markdown(), encoding="utf-8")
            self.sig_status.emit(f"Exported to {path}", 6000)

    def shutdown(self, wait_ms: int) -> list[str]:
        self.stop()
        return join(self.worker_thread, wait_ms)
