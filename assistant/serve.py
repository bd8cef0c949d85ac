"""``assistant serve``: the library behind an OpenAI-compatible API
(``/v1/chat/completions``, streaming or not, and ``/v1/models``), on FastAPI and
uvicorn, the framework llama-cpp-python's own server runs on.

One thread owns the model (llama.cpp is not thread-safe): requests queue for it
and each gets its own cancel token, set when its client goes away. An answer
carries its passages and claims in the extra fields ``sources`` and ``claims``
(on the last chunk of a stream), which clients that don't know them ignore.
"""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
import json
import queue
import time
import uuid
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel

from assistant.core.answer.prompt import Turn
from assistant.core.cancel import CancelToken
from assistant.core.errors import AssistantError
from assistant.core.generate.llm import Generator
from assistant.core.index.scopes import Scope
from assistant.core.services.conversation import Conversation
from assistant.core.services.library import Library
from assistant.core.types import Answer

MODEL_NAME = "assistant"
_DONE = object()
MAX_BODY_BYTES = 8 * 2**20
"""A long conversation is well under this; a larger body is refused with 413."""
DISCONNECT_POLL_S = 0.25


class Message(BaseModel):
    role: str
    content: str | None = ""


class ChatRequest(BaseModel):
    model: str = MODEL_NAME
    messages: list[Message]
    stream: bool = False
    metadata: dict[str, str] | None = None
    """OpenAI's free-form tags; ``{"in": "PATH_OR_GLOB"}`` (several on separate
    lines) asks only within those documents of the library."""

    def scope_patterns(self) -> list[str]:
        given = (self.metadata or {}).get("in", "")
        return [line.strip() for line in given.splitlines() if line.strip()]


def needs_token(host: str) -> bool:
    """Anything but a loopback address is reachable by others."""
    if host == "localhost":
        return False
    try:
        return not ipaddress.ip_address(host).is_loopback
    except ValueError:
        return True


class AnswerQueue:
    """The model's one owner thread; ``ask`` runs there, one request at a time."""

    def __init__(self, library: Library, generator: Generator) -> None:
        self.library = library
        self.generator = generator
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="model")

    def submit(
        self,
        question: str,
        history: list[Turn],
        cancel: CancelToken,
        within: Scope | None = None,
    ) -> queue.Queue[Any]:
        """Tokens (str), then the Answer or an exception, then ``_DONE``."""
        out: queue.Queue[Any] = queue.Queue()

        def run() -> None:
            try:
                if cancel.cancelled:
                    raise AssistantError("the client went away")
                conversation = Conversation(self.library, self.generator)
                conversation.history = history
                out.put(
                    conversation.ask(
                        question, on_token=out.put, cancel=cancel, within=within
                    )
                )
            except Exception as exc:
                out.put(exc)
            finally:
                out.put(_DONE)

        self._thread.submit(run)
        return out

    def close(self) -> None:
        self._thread.shutdown(wait=True, cancel_futures=True)


def _question_and_history(messages: list[Message]) -> tuple[str, list[Turn]]:
    turns = [m for m in messages if m.role in ("user", "assistant")]
    if not turns or turns[-1].role != "user" or not (turns[-1].content or "").strip():
        raise HTTPException(400, "the last message must be the user's question")
    history: list[Turn] = []
    pending = ""
    for message in turns[:-1]:
        if message.role == "user":
            pending = message.content or ""
        elif pending:
            history.append(Turn(pending, message.content or "", pending))
            pending = ""
    return str(turns[-1].content), history


def _extras(answer: Answer) -> dict[str, Any]:
    return {
        "sources": [s.to_json() for s in answer.sources],
        "cited": answer.cited,
        "claims": [c.to_json() for c in answer.claims],
        "declined": answer.declined,
        "withheld": answer.withheld,
    }


def create_app(answers: AnswerQueue, token: str = "") -> FastAPI:
    app = FastAPI(title="Assistant", version="1")

    # outermost first: the key is checked before the body is read or parsed
    app.add_middleware(BodyLimit, max_bytes=MAX_BODY_BYTES)
    app.add_middleware(TokenCheck, token=token)

    @app.get("/v1/models")
    def models(request: Request) -> dict[str, Any]:
        return {
            "object": "list",
            "data": [
                {
                    "id": MODEL_NAME,
                    "object": "model",
                    "created": 0,
                    "owned_by": "assistant",
                    "description": f"the library, answered by {answers.generator.name}",
                }
            ],
        }

    @app.post("/v1/chat/completions", response_model=None)
    async def chat(
        body: ChatRequest, request: Request
    ) -> JSONResponse | StreamingResponse:
        question, history = _question_and_history(body.messages)
        try:
            within = answers.library.scope(body.scope_patterns())
        except AssistantError as exc:  # a scope that names no document
            raise HTTPException(400, str(exc)) from exc
        cancel = CancelToken()
        out = answers.submit(question, history, cancel, within)
        reply_id = f"chatcmpl-{uuid.uuid4().hex[:24]}"
        created = int(time.time())
        if body.stream:
            return StreamingResponse(
                _stream(out, cancel, reply_id, created),
                media_type="text/event-stream",
            )
        try:
            answer = await _final_unless_gone(out, request, cancel)
        except asyncio.CancelledError:
            cancel.cancel()
            raise
        tokens = float(answer.timings.get("tokens", 0.0))
        return JSONResponse(
            {
                "id": reply_id,
                "object": "chat.completion",
                "created": created,
                "model": MODEL_NAME,
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": answer.text},
                        "finish_reason": "stop",
                    }
                ],
                "usage": {
                    "prompt_tokens": 0,
                    "completion_tokens": int(tokens),
                    "total_tokens": int(tokens),
                },
                **_extras(answer),
            }
        )

    return app


async def _next(out: queue.Queue[Any]) -> Any:
    return await asyncio.to_thread(out.get)


async def _final(out: queue.Queue[Any]) -> Answer:
    while True:
        item = await _next(out)
        if isinstance(item, Answer):
            return item
        if isinstance(item, Exception):
            raise HTTPException(500, str(item))
        if item is _DONE:
            raise HTTPException(500, "no answer")


async def _final_unless_gone(
    out: queue.Queue[Any], request: Request, cancel: CancelToken
) -> Answer:
    """The answer, unless the client goes away first: then its request is
    cancelled (a queued one is skipped, a running one stops at its next token)."""
    final = asyncio.ensure_future(_final(out))
    gone = asyncio.ensure_future(_until_disconnected(request))
    try:
        await asyncio.wait({final, gone}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        gone.cancel()
    if not final.done():
        cancel.cancel()
        final.cancel()
        raise HTTPException(499, "the client went away")
    return final.result()


async def _until_disconnected(request: Request) -> None:
    while not await request.is_disconnected():
        await asyncio.sleep(DISCONNECT_POLL_S)


class TokenCheck:
    """Every request must carry the token as its Bearer key (when one is set),
    checked before the body is read: a client without it learns nothing."""

    def __init__(self, app: Any, token: str) -> None:
        self.app = app
        self.expected = token.encode("utf-8")

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and self.expected:
            headers = dict(scope.get("headers") or [])
            given = headers.get(b"authorization", b"").removeprefix(b"Bearer ")
            # bytes as sent: a header may hold any byte (compare_digest refuses
            # a non-ASCII str: a TypeError and a 500 before)
            if not hmac.compare_digest(given.strip(), self.expected):
                response = JSONResponse(
                    {"detail": "a valid API key (Bearer token) is required"},
                    status_code=401,
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


class BodyLimit:
    """Refuses a request body over ``max_bytes`` with 413, by its declared length
    or, without one, as it arrives (a 50 MB body was a 500 before)."""

    def __init__(self, app: Any, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length", b"0")
        if declared.isdigit() and int(declared) > self.max_bytes:
            await _too_large(self.max_bytes, scope, receive, send)
            return
        seen = 0

        async def counted() -> Any:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.max_bytes:
                raise _TooLarge(413, f"the request body is over {self.max_bytes} bytes")
            return message

        try:
            await self.app(scope, counted, send)
        except _TooLarge:
            await _too_large(self.max_bytes, scope, receive, send)


class _TooLarge(HTTPException):
    """An HTTPException, so FastAPI's body reading passes it on as it is."""


async def _too_large(limit: int, scope: Any, receive: Any, send: Any) -> None:
    response = JSONResponse(
        {"error": {"message": f"the request body is over {limit // 2**20} MB"}},
        status_code=413,
    )
    await response(scope, receive, send)


async def _stream(
    out: queue.Queue[Any], cancel: CancelToken, reply_id: str, created: int
) -> AsyncIterator[str]:
    """Server-sent events as OpenAI sends them; the answer text is streamed as
    generated, and the last chunk carries the sources and claims. (The checked
    answer may differ from the raw stream, e.g. a decline: it is in ``answer``.)"""

    def chunk(delta: dict[str, Any], finish: str | None, **extra: Any) -> str:
        body = {
            "id": reply_id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": MODEL_NAME,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
            **extra,
        }
        return f"data: {json.dumps(body, ensure_ascii=False)}\n\n"

    try:
        yield chunk({"role": "assistant", "content": ""}, None)
        streamed = False
        while True:
            item = await _next(out)
            if item is _DONE:
                break
            if isinstance(item, str):
                streamed = True
                yield chunk({"content": item}, None)
            elif isinstance(item, Answer):
                text = {} if streamed else {"content": item.text}
                yield chunk(text, "stop", answer=item.text, **_extras(item))
            elif isinstance(item, Exception):
                error = {"message": str(item), "type": "server_error"}
                yield f"data: {json.dumps({'error': error})}\n\n"
        yield "data: [DONE]\n\n"
    finally:
        cancel.cancel()  # the client went away (or all is sent): stop the answer


def check_binding(host: str, token: str) -> None:
    """Refuse to serve beyond this machine without a token (checked before the
    model loads, so the refusal comes at once)."""
    if needs_token(host) and not token:
        raise AssistantError(
            f"Serving on {host} makes the library reachable from other machines: "
            "set a token (--token, or ASSISTANT_SERVE_TOKEN) that clients send as "
            "their API key, or bind to 127.0.0.1."
        )


def serve(
    library: Library, generator: Generator, host: str, port: int, token: str
) -> None:
    import uvicorn

    check_binding(host, token)
    answers = AnswerQueue(library, generator)
    try:
        uvicorn.run(create_app(answers, token), host=host, port=port, log_level="info")
    finally:
        answers.close()
