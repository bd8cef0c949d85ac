"""`assistant serve` under careless and hostile clients (probe 2, cases 8 and 14):
clients that leave, a 50 MB body, a non-ASCII token, binding beyond this machine
without a token. Answers come from tests/hostile_backend.py (a real server
program) in its slow mode, so the test measures the queue, not a model."""

from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from servers import free_port, hostile_backend, wait_for

pytestmark = pytest.mark.slow

DELAY_S = 3.0
BOILER = "# Boiler\n\nThe boiler pressure must stay between 1.2 and 1.5 bar.\n"
QUESTION = "What pressure should the boiler have?"


def _cli(env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "assistant", *args],
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


@pytest.fixture
def served(docs: Path) -> Iterator[tuple[int, dict[str, str]]]:
    """`assistant serve --token` over a one-document library, answered by a
    backend that takes DELAY_S a reply."""
    (docs / "boiler.md").write_text(BOILER, encoding="utf-8")
    with hostile_backend("delay", str(DELAY_S)) as backend:
        env = {"ASSISTANT_CHAT_BASE_URL": backend, "ASSISTANT_SERVE_TOKEN": "s3cret"}
        ingest = _cli(env, "ingest", str(docs))
        assert ingest.wait(300) == 0
        port = free_port()
        server = _cli(env, "serve", "--port", str(port))
        try:
            wait_for(f"http://127.0.0.1:{port}/v1/models", 120, server)  # type: ignore[arg-type]
            yield port, env
        finally:
            server.terminate()
            server.wait(30)


def _post(port: int, body: bytes, token: bytes = b"s3cret") -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    connection.putrequest("POST", "/v1/chat/completions")
    connection.putheader("Content-Type", "application/json")
    connection.putheader("Content-Length", str(len(body)))
    connection.putheader("Authorization", b"Bearer " + token)
    connection.endheaders(body)
    response = connection.getresponse()
    return response.status, response.read()


def _question(stream: bool = False) -> bytes:
    messages = [{"role": "user", "content": QUESTION}]
    return json.dumps({"messages": messages, "stream": stream}).encode()


def _leave_after(port: int, seconds: float, stream: bool) -> None:
    """A client that sends its question and goes away."""
    body = _question(stream)
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(
            b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n"
            b"Authorization: Bearer s3cret\r\nContent-Type: application/json\r\n"
            + f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body
        )
        time.sleep(seconds)


def test_clients_that_leave_are_not_answered(
    served: tuple[int, dict[str, str]],
) -> None:
    """Probe 2, case 8: after 10 + 10 clients left at 1.5 s the next request
    waited 86.9 s: the requests of clients gone were still answered."""
    port, _ = served
    leavers = [
        threading.Thread(target=_leave_after, args=(port, 1.0, n % 2 == 0))
        for n in range(6)
    ]
    for thread in leavers:
        thread.start()
    for thread in leavers:
        thread.join()
    started = time.monotonic()
    status, body = _post(port, _question())
    waited = time.monotonic() - started
    assert (
        status == 200 and "1.2" in json.loads(body)["choices"][0]["message"]["content"]
    )
    # six requests answered in turn would take 6 x 3 s; cancelled, only the
    # one running when its client left may still finish its reply
    assert waited < 3 * DELAY_S, f"the next request waited {waited:.1f} s"


def test_a_huge_body_and_a_non_ascii_token_get_4xx_not_500(
    served: tuple[int, dict[str, str]],
) -> None:
    """Probe 2, case 14: a 50 MB body was a 500, Bearer \\xe9\\xe9 a TypeError."""
    port, _ = served
    status, _ = _post(port, b'{"messages": [' + b" " * (50 * 2**20) + b"]}")
    assert status == 413
    status, body = _post(port, b"{}", token=b"\xe9\xe9")
    assert status == 401, body


def test_binding_beyond_this_machine_without_a_token_is_refused_at_once(
    tmp_path: Path,
) -> None:
    """Probe 2, case 14: refused only after loading the model and "Serving…"."""
    env = {"ASSISTANT_SERVE_TOKEN": "", "ASSISTANT_CHAT_BASE_URL": "http://127.0.0.1:9"}
    started = time.monotonic()
    refused = _cli(env, "serve", "--host", "0.0.0.0", "--port", str(free_port()))
    out, _ = refused.communicate(timeout=60)
    assert refused.returncode == 1 and "token" in out
    assert "Serving the library" not in out  # refused before the model loads
    assert "Traceback" not in out and time.monotonic() - started < 30
