"""The only owner of the llama.cpp model: loads it and answers, on its own thread."""

from __future__ import annotations

import logging
import time

from PySide6.QtCore import QObject, Signal, Slot

from assistant.core.answer.claim_encoder import shipped_encoder
from assistant.core.answer.reading_time import ReadingSpeed
from assistant.core.config import Settings, generator_settings
from assistant.core.generate.llm import Generator
from assistant.core.hardware import freeze_heap
from assistant.core.index.scopes import ScopeError
from assistant.core.index.store import import_lancedb
from assistant.core.services.components import load_generator
from assistant.core.services.conversation import Conversation
from assistant.core.services.library import Library
from assistant.core.types import Answer
from assistant.ui.workers.ask_request import (
    AskRequest,
    AskResult,
    CompareRequest,
)
from assistant.ui.workers.library_owner import LibraryOwner
from assistant.ui.workers.readable_error import readable_error

TOKEN_BATCH_SECONDS = 0.04
log = logging.getLogger(__name__)


class ChatWorker(LibraryOwner, QObject):
    """Signals:
    sig_model_ready(str): model name, after loading.
    sig_sources(int, object): request id, the ReadingPlan (the passages the model
        is about to read, how many were found, the wait it expects).
    sig_tokens(int, str): request id, a batch of streamed answer text (~40 ms).
    sig_answer_finished(object): the AskResult (request, answer, turns after it).
    sig_ask_failed(int, str): request id, a readable error.
    sig_failed(str): a readable error (loading the model).
    sig_compare_started(int, str): a compare run (its id) starts this mode.
    sig_compare_answer(int, object): one mode's Answer in that run.
    sig_compare_failed(int, str): the run stopped on an error (readable).
    sig_compare_finished(int): all modes answered (or stopped).
    """

    sig_model_ready = Signal(str)
    sig_sources = Signal(int, object)
    sig_tokens = Signal(int, str)
    sig_answer_finished = Signal(object)
    sig_ask_failed = Signal(int, str)
    sig_failed = Signal(str)
    sig_compare_started = Signal(int, str)
    sig_compare_answer = Signal(int, object)
    sig_compare_failed = Signal(int, str)
    sig_compare_finished = Signal(int)

    def __init__(self, settings: Settings) -> None:
        super().__init__()
        self._settings = settings
        self._generator: Generator | None = None
        self._library: Library | None = None
        """A reader of the library thread's Library (``Library.reader``), owned here."""
        self._reading = ReadingSpeed()
        """The chat model's reading speed, measured by its answers."""

    @Slot(object)
    def set_settings(self, settings: Settings) -> None:
        reload = generator_settings(settings) != generator_settings(self._settings)
        self._settings = settings
        if self._library is not None:
            self._library = self._library.with_settings(settings)
        if reload and self._generator is not None:
            self._generator.close()
            self._generator = None
            self.load()

    @Slot()
    def load(self) -> None:
        self._reading = ReadingSpeed()  # another model, or other settings
        import_lancedb()  # before the model: start-up loads take turns (its doc)
        try:
            self._generator = load_generator(self._settings)
        except Exception as exc:
            self.sig_failed.emit(readable_error(exc))
            return
        self.sig_model_ready.emit(self._generator.name)
        try:  # now, not in the first answer
            shipped_encoder()
        except Exception:  # the answer check says so when it needs it
            log.exception("the claim encoder did not load")
        freeze_heap()  # the chat model is loaded

    @Slot(object)
    def set_library(self, library: Library) -> None:
        self._library = library.with_settings(self._settings)

    def _missing_models(self) -> str:
        if self._generator is None or self._library is None:
            return "The models are still loading; try again in a moment."
        return ""

    def _conversation(self) -> Conversation:
        assert self._generator is not None and self._library is not None
        return Conversation(self._library, self._generator, reading=self._reading)

    @Slot(object)
    def ask(self, request: AskRequest) -> None:
        missing = self._missing_models()
        if missing:
            self.sig_ask_failed.emit(request.id, missing)
            return
        conversation = self._conversation()
        conversation.history = list(request.history)
        buffer: list[str] = []
        last = time.monotonic()

        def on_token(token: str) -> None:
            nonlocal last
            buffer.append(token)
            now = time.monotonic()
            if now - last >= TOKEN_BATCH_SECONDS:
                self.sig_tokens.emit(request.id, "".join(buffer))
                buffer.clear()
                last = now

        try:
            answer = conversation.ask(
                request.question,
                on_token=on_token,
                cancel=request.cancel,
                mode=request.mode,
                adapter=request.adapter,
                on_sources=lambda plan: self.sig_sources.emit(request.id, plan),
                within=conversation.library.scope(request.within),
            )
        except ScopeError as exc:  # the chosen documents are gone: said as the
            # answer (not a model failure), with no passage behind it
            answer = Answer(str(exc), [], [], mode=request.mode, declined=True)
        except Exception as exc:
            self.sig_ask_failed.emit(request.id, readable_error(exc))
            return
        if buffer:
            self.sig_tokens.emit(request.id, "".join(buffer))
        self.sig_answer_finished.emit(
            AskResult(request, answer, tuple(conversation.history))
        )

    @Slot(object)
    def compare(self, request: CompareRequest) -> None:
        """The same question in each mode, each without conversation history."""
        missing = self._missing_models()
        if missing:
            self.sig_compare_failed.emit(request.id, missing)
            self.sig_compare_finished.emit(request.id)
            return
        conversation = self._conversation()
        try:
            within = conversation.library.scope(request.within)
            for mode in request.modes:
                if request.cancel.cancelled:
                    break
                self.sig_compare_started.emit(request.id, mode)
                conversation.reset()
                answer = conversation.ask(
                    request.question,
                    cancel=request.cancel,
                    mode=mode,
                    adapter=request.adapter,
                    within=within,
                )
                self.sig_compare_answer.emit(request.id, answer)
        except Exception as exc:
            self.sig_compare_failed.emit(request.id, readable_error(exc))
        finally:
            self.sig_compare_finished.emit(request.id)

    @Slot()
    def shutdown(self) -> None:
        if self._generator is not None:
            self._generator.close()
            self._generator = None
