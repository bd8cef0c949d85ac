"""The only owner of the llama.cpp model: loads it and answers, on its own thread."""

from __future__ import annotations

import time
from pathlib import Path

from PySide6.QtCore import QObject, Signal, Slot

from assistant.config import Settings, generator_settings
from assistant.core.cancel import CancelToken
from assistant.core.llm import LlamaGenerator
from assistant.core.prompt import Turn
from assistant.core.services import Conversation, Library, load_generator
from assistant.ui.workers.library_worker import _message

TOKEN_BATCH_SECONDS = 0.04


class ChatWorker(QObject):
    """Signals:
    sig_model_ready(str): model name, after loading.
    sig_tokens(str): a batch of streamed answer text (every ~40 ms).
    sig_answer_finished(object): the Answer.
    sig_failed(str): a readable error.
    sig_history(list): the conversation's turns after an answer (to save).
    sig_compare_started(str): a compare run starts answering in this mode.
    sig_compare_answer(object): one mode's Answer in a compare run.
    sig_compare_finished(): all modes answered (or stopped).
    """

    sig_model_ready = Signal(str)
    sig_tokens = Signal(str)
    sig_answer_finished = Signal(object)
    sig_failed = Signal(str)
    sig_history = Signal(list)
    sig_compare_started = Signal(str)
    sig_compare_answer = Signal(object)
    sig_compare_finished = Signal()

    def __init__(self, settings: Settings) -> None:
        super().__init__()
        self._settings = settings
        self._generator: LlamaGenerator | None = None
        self._library: Library | None = None
        self._turns: list[Turn] = []
        self.cancel_token = CancelToken()

    @Slot(object)
    def set_settings(self, settings: Settings) -> None:
        reload = generator_settings(settings) != generator_settings(self._settings)
        self._settings = settings
        if reload and self._generator is not None:
            self._generator.close()
            self._generator = None
            self.load()

    @Slot()
    def load(self) -> None:
        try:
            self._generator = load_generator(self._settings)
        except Exception as exc:
            self.sig_failed.emit(_message(exc))
            return
        self.sig_model_ready.emit(self._generator.name)

    @Slot(object)
    def set_library(self, library: Library) -> None:
        self._library = library

    @Slot(list)
    def set_history(self, turns: list[Turn]) -> None:
        """Switch conversation: the next question continues these turns."""
        self._turns = list(turns)

    def _conversation(self) -> Conversation | None:
        if self._generator is None or self._library is None:
            self.sig_failed.emit("The models are still loading; try again in a moment.")
            return None
        self._library.settings = self._settings
        return Conversation(self._library, self._generator)

    @Slot(str, str, object)
    def ask(self, question: str, mode: str, adapter: Path | None) -> None:
        conversation = self._conversation()
        if conversation is None:
            return
        conversation.history = list(self._turns)
        buffer: list[str] = []
        last = time.monotonic()

        def on_token(token: str) -> None:
            nonlocal last
            buffer.append(token)
            now = time.monotonic()
            if now - last >= TOKEN_BATCH_SECONDS:
                self.sig_tokens.emit("".join(buffer))
                buffer.clear()
                last = now

        try:
            answer = conversation.ask(
                question,
                on_token=on_token,
                cancel=self.cancel_token,
                mode=mode,
                adapter=adapter,
            )
        except Exception as exc:
            self.sig_failed.emit(_message(exc))
            return
        self._turns = list(conversation.history)
        if buffer:
            self.sig_tokens.emit("".join(buffer))
        self.sig_history.emit(self._turns)
        self.sig_answer_finished.emit(answer)

    @Slot(str, list, object)
    def compare(self, question: str, modes: list[str], adapter: Path | None) -> None:
        """The same question in each mode, each without conversation history."""
        conversation = self._conversation()
        if conversation is None:
            self.sig_compare_finished.emit()
            return
        try:
            for mode in modes:
                if self.cancel_token.cancelled:
                    break
                self.sig_compare_started.emit(mode)
                conversation.reset()
                answer = conversation.ask(
                    question, cancel=self.cancel_token, mode=mode, adapter=adapter
                )
                self.sig_compare_answer.emit(answer)
        except Exception as exc:
            self.sig_failed.emit(_message(exc))
        finally:
            self.sig_compare_finished.emit()

    @Slot()
    def shutdown(self) -> None:
        if self._generator is not None:
            self._generator.close()
            self._generator = None
