"""Answers from an OpenAI-compatible server (llama.cpp's, vLLM, Ollama, ...)
through the official ``openai`` client, behind the same ``Generator`` protocol as
the local model, so prompt fitting, streaming, Stop and the claim checks are the
same code. The client is imported only when used (it takes half a second).

Prompt fitting needs token counts: the server's own tokenizer is asked where it
has one (llama-cpp-python's ``/extras/tokenize``, llama.cpp's ``/tokenize``), else
a byte-based estimate that overcounts English by about a third.
"""

from __future__ import annotations

import logging
import math
import queue
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from assistant.core.cancel import CancelToken
from assistant.core.config import ChatServer, url_host
from assistant.core.errors import AssistantError
from assistant.core.generate.yes_no import NO_WORDS, YES_WORDS
from assistant.core.http_policy import (
    READ_TIMEOUT_S,
    StreamBudget,
    guarded_client,
    raise_if_refused,
)

log = logging.getLogger(__name__)

_END = object()


class ServerLost(AssistantError):
    """The server stopped answering mid-reply; the text so far is kept."""


def estimate_tokens(text: str) -> int:
    """An upper estimate without a tokenizer: a byte-level BPE averages ~4 bytes
    per English token and ~3 per CJK character's token."""
    return math.ceil(len(text.encode("utf-8")) / 3) + 1


class OpenAIGenerator:
    """Answers streamed from a server's ``/v1/chat/completions``."""

    def __init__(self, server: ChatServer, context_length: int = 4096) -> None:
        from openai import OpenAI

        self.server = server
        self._http = guarded_client(server.base_url)
        self._client = OpenAI(
            base_url=server.base_url,
            api_key=server.api_key or "not-needed",
            timeout=READ_TIMEOUT_S,
            max_retries=0,
            http_client=self._http,
        )
        self.model = server.model or self._first_model()
        host = url_host(server.base_url)
        # llama.cpp's servers name a model by its file path
        shown = Path(self.model).stem if "/" in self.model else self.model
        self.name = f"{shown} @ {host}"
        self.host = host
        self.context_length = context_length
        self.adapter: Path | None = None
        self._tokenize: str | None = None
        """The tokenizer endpoint that answered ("" when none does)."""

    def _first_model(self) -> str:
        try:
            models = self._client.models.list().data
        except Exception as exc:
            raise_if_refused(exc)
            raise AssistantError(
                f"The answer server at {self.server.base_url} did not answer "
                f"({_reason(exc)}). Start it, or answer with the local model "
                "(Settings › Answer server: empty)."
            ) from exc
        if not models:
            raise AssistantError(f"The server at {self.server.base_url} has no model.")
        return str(models[0].id)

    # ---- tokens ----------------------------------------------------------------
    def count_tokens(self, text: str) -> int:
        if self._tokenize is None:
            self._tokenize = self._find_tokenizer()
        if self._tokenize:
            try:
                return self._server_count(self._tokenize, text)
            except Exception as exc:  # gone since: estimate rather than fail
                log.debug("tokenize failed (%s); estimating", exc)
        return estimate_tokens(text)

    def tokens_to_read(self, messages: Sequence[dict[str, str]]) -> int:
        """All of them, as far as this side can tell (the server caches its own)."""
        return self.count_tokens("\n".join(m["content"] for m in messages))

    def _find_tokenizer(self) -> str:
        for endpoint in ("/extras/tokenize", "/tokenize"):
            try:
                self._server_count(endpoint, "probe")
                return endpoint
            except Exception as exc:
                log.debug("no %s on the server: %s", endpoint, exc)
        return ""

    def _server_count(self, endpoint: str, text: str) -> int:
        root = self.server.base_url.removesuffix("/v1")
        body = (
            {"input": text, "model": self.model}
            if endpoint == "/extras/tokenize"
            else {"content": text}
        )
        response = self._http.post(
            root + endpoint, json=body, headers=self._headers(), timeout=10.0
        )
        response.raise_for_status()
        return len(response.json()["tokens"])

    def _headers(self) -> dict[str, str]:
        key = self.server.api_key
        return {"Authorization": f"Bearer {key}"} if key else {}

    # ---- answers ---------------------------------------------------------------
    def stream_chat(
        self,
        messages: Sequence[dict[str, str]],
        *,
        max_tokens: int,
        temperature: float,
        cancel: CancelToken,
        aside: bool = False,
    ) -> Iterator[str]:
        """(``aside`` changes nothing: the server keeps its own caches.)
        The request runs on a helper thread that hands over the text as it
        comes, so Stop returns at once even while the server is still reading the
        prompt (an HTTP read cannot be interrupted); the helper closes the
        connection at its next chunk, which tells the server to stop. The reply
        is bounded by the HTTP policy's :class:`StreamBudget`: a server that
        ignores ``max_tokens`` is cut off there, one that stalls is reported."""
        parts: queue.Queue[object] = queue.Queue(maxsize=256)
        done = threading.Event()
        helper = threading.Thread(
            target=self._receive,
            args=(messages, max_tokens, temperature, cancel, done, parts),
            daemon=True,
        )
        helper.start()
        budget = StreamBudget(max_tokens)
        try:
            yield from self._read_parts(parts, budget, cancel)
        finally:
            done.set()  # the helper closes the connection at its next part

    def _read_parts(
        self, parts: queue.Queue[object], budget: StreamBudget, cancel: CancelToken
    ) -> Iterator[str]:
        received = False
        while True:
            try:
                item = parts.get(timeout=0.02)
            except queue.Empty:
                if cancel.cancelled:
                    return
                why = budget.overrun()
                if why:
                    raise ServerLost(
                        f"The answer server at {self.host} stopped answering ({why})."
                    ) from None
                continue
            if item is _END or cancel.cancelled:
                return
            if isinstance(item, BaseException):
                raise_if_refused(item)
                from openai import APIStatusError

                if isinstance(item, APIStatusError):
                    raise AssistantError(
                        f"The answer server at {self.host} refused the request "
                        f"({_reason(item)})."
                    ) from item
                if not received:
                    raise AssistantError(
                        f"The answer server at {self.host} did not answer "
                        f"({_reason(item)}). Start it, or answer with the local "
                        "model (Settings › Answer server: empty)."
                    ) from item
                raise ServerLost(
                    f"The answer server at {self.host} stopped answering "
                    f"({_reason(item)})."
                ) from item
            received = True
            if not budget.take(str(item)):
                log.warning(
                    "%s sent more than the %d tokens asked for; the reply is cut",
                    self.host,
                    budget.max_tokens,
                )
                return
            yield str(item)

    def _receive(
        self,
        messages: Sequence[dict[str, str]],
        max_tokens: int,
        temperature: float,
        cancel: CancelToken,
        done: threading.Event,
        parts: queue.Queue[object],
    ) -> None:
        try:
            stream: Any = self._client.chat.completions.create(
                model=self.model,
                messages=list(messages),  # type: ignore[arg-type]
                stream=True,
                max_tokens=max_tokens,
                temperature=temperature,
                top_p=0.9,
            )
            with stream:
                for part in stream:
                    if cancel.cancelled or done.is_set():
                        break
                    if part.choices and part.choices[0].delta.content:
                        _hand_over(parts, part.choices[0].delta.content, done)
        except Exception as exc:
            _hand_over(parts, exc, done)
        finally:
            _hand_over(parts, _END, done)

    def judge_odds(self, messages: Sequence[dict[str, str]]) -> float:
        """The server keeps no conversation state here to disturb."""
        return self.yes_odds(messages)

    def yes_odds(self, messages: Sequence[dict[str, str]]) -> float:
        """From the first token's top log-probabilities; a server that gives
        none is reported as ``NotImplementedError`` (the self-check is skipped)."""
        try:
            reply: Any = self._client.chat.completions.create(
                model=self.model,
                messages=list(messages),  # type: ignore[arg-type]
                max_tokens=1,
                temperature=0.0,
                logprobs=True,
                top_logprobs=20,
            )
            top = reply.choices[0].logprobs.content[0].top_logprobs
        except Exception as exc:
            raise_if_refused(exc)
            raise NotImplementedError(f"no log-probabilities: {exc}") from exc
        yes = [t.logprob for t in top if t.token in YES_WORDS]
        no = [t.logprob for t in top if t.token in NO_WORDS]
        floor = min((t.logprob for t in top), default=-30.0) - 1.0
        return _logsumexp(yes or [floor]) - _logsumexp(no or [floor])

    def use_adapter(self, path: Path | None) -> None:
        if path is not None:
            raise AssistantError(
                "This answer mode needs a fine-tuned adapter on the local model; "
                f"answers come from the server {self.host} (set chat_backend to "
                "local to use it)."
            )

    def close(self) -> None:
        self._client.close()


def _hand_over(parts: queue.Queue[object], item: object, done: threading.Event) -> None:
    """Put ``item`` for the reader, unless the reader has gone (then drop it:
    the queue is bounded, so a reply faster than its reader cannot fill memory)."""
    while not done.is_set():
        try:
            parts.put(item, timeout=0.1)
            return
        except queue.Full:
            continue


def _logsumexp(values: Sequence[float]) -> float:
    top = max(values)
    return top + math.log(sum(math.exp(v - top) for v in values))


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0][:200]}" if text else type(exc).__name__
