"""One policy for every outbound HTTP call (the answer server, the embedding
server, their tokenizer endpoints): requests never leave the configured origin,
and a streamed reply is bounded in time, tokens and bytes.

A redirect is followed only to the same scheme, host and port: a backend that
answers 307 to another host would otherwise receive the chat request with the
document excerpts (the client strips the key on a cross-host redirect, not the
body). A reply that ignores ``max_tokens``, streams for ever or trickles one
token a minute is ended by :class:`StreamBudget`, with the text so far kept.
"""

from __future__ import annotations

import importlib
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from assistant.core.errors import AssistantError

READ_TIMEOUT_S = 120.0
"""Until the first byte: a CPU server may read a long prompt for a minute."""
STALL_S = 60.0
"""Longest silence between two parts of a reply once it has begun."""
TOTAL_S = 900.0
"""Longest a whole reply may take."""
CHARS_PER_TOKEN = 16
"""Bytes allowed per requested token (English averages ~4, code ~3)."""
SLACK_PARTS = 16


class OffOriginRedirect(AssistantError):
    """A server redirected a request to another host (not followed)."""


def origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    port = parts.port or {"http": 80, "https": 443}.get(parts.scheme)
    return parts.scheme, (parts.hostname or "").lower(), port


def http_library() -> Any:
    """The HTTP library the installed ``openai`` client is built on: ``httpx2``
    from openai 3, ``httpx`` before (the same API)."""
    for name in ("httpx2", "httpx"):
        try:
            return importlib.import_module(name)
        except ImportError:
            continue
    raise AssistantError("No HTTP client library (httpx2 or httpx) is installed.")


def guarded_client(base_url: str, timeout: float = READ_TIMEOUT_S) -> Any:
    """An HTTP client (``httpx2.Client``) that follows redirects only within
    ``base_url``'s origin; every request (the first and each hop) is checked
    before it is sent."""
    httpx = http_library()
    home = origin(base_url)
    shown = urlsplit(base_url).netloc

    def same_origin(request: Any) -> None:
        if origin(str(request.url)) != home:
            raise OffOriginRedirect(
                f"The server at {shown} redirected the request to "
                f"{request.url.host}; requests never leave the configured server "
                "(check its address in Settings)."
            )

    return httpx.Client(
        timeout=httpx.Timeout(timeout, connect=10.0),
        follow_redirects=True,
        max_redirects=5,
        event_hooks={"request": [same_origin]},
    )


def raise_if_refused(exc: BaseException) -> None:
    """Raise the policy's own refusal if it is what ``exc`` wraps (the openai
    client reports it as a bare connection error), so the user reads why."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, OffOriginRedirect):
            raise seen
        seen = seen.__cause__ or seen.__context__


@dataclass
class StreamBudget:
    """Bounds on one streamed reply, checked by whoever reads its parts."""

    max_tokens: int
    started: float = field(default_factory=time.monotonic)
    last_part: float | None = None
    parts: int = 0
    chars: int = 0

    def take(self, text: str) -> bool:
        """Count a part; False once the reply has had its tokens or bytes (the
        server ignored ``max_tokens``): end it there as if it had stopped."""
        self.parts += 1
        self.chars += len(text)
        self.last_part = time.monotonic()
        return (
            self.parts <= self.max_tokens + SLACK_PARTS
            and self.chars <= CHARS_PER_TOKEN * max(self.max_tokens, 1)
        )

    def overrun(self) -> str:
        """Why the reply has taken too long ("" while it has not)."""
        now = time.monotonic()
        if self.last_part is not None and now - self.last_part > STALL_S:
            return f"it sent nothing for {STALL_S:.0f} s"
        if now - self.started > TOTAL_S:
            return f"the reply took longer than {TOTAL_S:.0f} s"
        return ""
