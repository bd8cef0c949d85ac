"""Search questions written while the model is idle (section_questions.py): when to
ask the chat worker for them, and where they go.

The chat controller owns this and tells it when the model is wanted (a question,
a compare run, a settings change) and when it is free again; the library side says
when indexing starts and ends. The chat worker writes the questions section by
section with a QuestionsRequest's cancel token, so an answer waits at most one
token; the library worker stores them (it owns the embedder and the index writes).
"""

from __future__ import annotations

import itertools

from PySide6.QtCore import QObject, Signal

from assistant.core.retrieve.section_questions import QuestionsProgress, Section
from assistant.core.time_left import format_time_left
from assistant.ui.workers.ask_request import QuestionsRequest

MAINTAIN_EVERY = 200
"""Sections stored between index updates (unindexed rows are searched exactly)."""


class IdleQuestions(QObject):
    """Signals:
    sig_write(object): a QuestionsRequest for the chat worker (queued).
    sig_found(object, list): a Section and its questions, for the library worker.
    sig_update_index(): bring the index up to date with the stored questions.
    sig_state(str): what the status bar shows of this work ("" when none).
    """

    sig_write = Signal(object)
    sig_found = Signal(object, list)
    sig_update_index = Signal()
    sig_state = Signal(str)

    def __init__(self, enabled: bool, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.enabled = enabled
        self._ids = itertools.count(1)
        self._request: QuestionsRequest | None = None
        self._model_busy = True
        """Until the model is loaded, and while it answers."""
        self._indexing = False
        self._stored = 0
        """Sections stored since the index was last updated."""
        self._complete = False
        """Every section was asked, and nothing was indexed since."""

    def set_enabled(self, enabled: bool) -> None:
        self.enabled = enabled
        self._hold(not enabled)

    def model_busy(self, busy: bool) -> None:
        self._model_busy = busy
        self._hold(busy)

    def indexing(self, busy: bool) -> None:
        """Indexing takes the cores (and changes what is pending): pause, then
        start again from the library as it is."""
        self._indexing = busy
        if not busy:
            self._complete = False
        self._hold(busy)

    def stop(self) -> None:
        self._pause()

    def _hold(self, held: bool) -> None:
        if held:
            self._pause()
        else:
            self._start()

    def _start(self) -> None:
        if (
            not self.enabled
            or self._model_busy
            or self._indexing
            or self._complete
            or self._request is not None
        ):
            return
        self._request = QuestionsRequest(next(self._ids))
        self.sig_write.emit(self._request)

    def _pause(self) -> None:
        if self._request is not None:
            self._request.cancel.cancel()
            self._request = None
            self.sig_state.emit("")
        self._flush()

    def _flush(self) -> None:
        if self._stored:
            self._stored = 0
            self.sig_update_index.emit()

    # ---- from the chat worker ----------------------------------------------------
    def on_section(
        self,
        request_id: int,
        section: Section,
        questions: list[str],
        progress: QuestionsProgress,
    ) -> None:
        """Stored whichever request wrote them (a paused one's last section too)."""
        self.sig_found.emit(section, questions)
        self._stored += 1
        if self._stored >= MAINTAIN_EVERY:
            self._flush()
        if self._request is None or self._request.id != request_id:
            return
        self.sig_state.emit(
            f"Writing search questions: {progress.done:,} / {progress.total:,} "
            f"sections, {format_time_left(progress.seconds_left)}"
        )

    def on_finished(self, request_id: int, complete: bool) -> None:
        if self._request is None or self._request.id != request_id:
            return
        self._request = None
        self._complete = complete
        self._flush()
        self.sig_state.emit("")
