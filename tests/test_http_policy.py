"""Every outbound HTTP call follows one policy (core/http_policy.py): no
redirect off the configured server, and a streamed reply bounded in time, tokens
and bytes. Against tests/hostile_backend.py, a real server program."""

from __future__ import annotations

import resource
import time
from pathlib import Path

import pytest
from servers import hostile_backend

from assistant.core import http_policy
from assistant.core.cancel import CancelToken
from assistant.core.config import ChatServer
from assistant.core.generate.openai_chat import OpenAIGenerator, ServerLost
from assistant.core.http_policy import OffOriginRedirect

MESSAGES = [
    {"role": "system", "content": "Answer from the excerpts."},
    {"role": "user", "content": "EXCERPT: the vault code is 4471. When?"},
]


def _answer(generator: OpenAIGenerator, max_tokens: int = 50) -> str:
    return "".join(
        generator.stream_chat(
            MESSAGES, max_tokens=max_tokens, temperature=0.0, cancel=CancelToken()
        )
    )


def test_a_redirect_to_another_host_is_refused_before_the_excerpts_leave(
    tmp_path: Path,
) -> None:
    """Probe 2, case 2: a backend answering 307 to another host got the chat
    request with the document excerpts, and `ask` answered as if nothing was
    wrong."""
    caught = tmp_path / "caught.jsonl"
    with hostile_backend("record", str(caught), host="127.0.0.2") as elsewhere:
        with hostile_backend("redirect", elsewhere.removesuffix("/v1")) as base:
            generator = OpenAIGenerator(ChatServer(base, "m", "secret-key"))
            with pytest.raises(OffOriginRedirect, match="127.0.0.2"):
                _answer(generator)
            # the tokenizer endpoints are redirected too: refused, so estimated
            assert generator.count_tokens("EXCERPT: the vault code is 4471.") > 5
            with pytest.raises(OffOriginRedirect):
                generator.yes_odds(MESSAGES)
        # the other host answers whoever asks it directly: the policy is
        # about leaving the configured server, not about that host
        assert _answer(OpenAIGenerator(ChatServer(elsewhere, "m", ""))).startswith(
            "The gate"
        )
    assert caught.read_text().count("4471") == 1  # only the direct request


def test_a_reply_that_ignores_max_tokens_is_cut_at_its_budget() -> None:
    """Probe 2, cases 6 and 9: streaming for ever (still printing at 330 s), and
    100 MB of text (4.3 GB peak, then a 95 GiB allocation)."""
    with hostile_backend("forever") as base:
        started = time.monotonic()
        text = _answer(OpenAIGenerator(ChatServer(base, "m", "")), max_tokens=40)
        assert time.monotonic() - started < 20
        assert text.count("word") <= 40 + http_policy.SLACK_PARTS
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with hostile_backend("flood", "100") as base:
        text = _answer(OpenAIGenerator(ChatServer(base, "m", "")), max_tokens=1000)
    assert len(text) <= http_policy.CHARS_PER_TOKEN * 1000
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before) / 1024
    assert grown_mb < 200, f"peak grew by {grown_mb:.0f} MB"


def test_a_reply_that_trickles_is_ended_with_the_text_kept(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Probe 2, case 7: one token every 100 s never tripped the read timeout."""
    monkeypatch.setattr(http_policy, "STALL_S", 1.0)
    with hostile_backend("trickle", "3") as base:
        generator = OpenAIGenerator(ChatServer(base, "m", ""))
        seen: list[str] = []
        started = time.monotonic()
        with pytest.raises(ServerLost, match="sent nothing for 1 s"):
            for part in generator.stream_chat(
                MESSAGES, max_tokens=50, temperature=0.0, cancel=CancelToken()
            ):
                seen.append(part)
        assert seen == ["slow "] and time.monotonic() - started < 6
    monkeypatch.setattr(http_policy, "STALL_S", 60.0)
    monkeypatch.setattr(http_policy, "TOTAL_S", 1.5)
    with (
        hostile_backend("trickle", "0.5") as base,
        pytest.raises(ServerLost, match="longer than"),
    ):
        _answer(OpenAIGenerator(ChatServer(base, "m", "")))
