"""A misbehaving OpenAI-compatible answer server, run as a real program by the
tests and by bench/hostile_run.py:

    python tests/hostile_backend.py PORT MODE [ARG] [--host HOST]

Modes (every one answers ``GET /v1/models`` with one model):
  redirect URL   ``POST`` answered with 307 to URL (another host)
  record FILE    a normal short streamed answer; each request body appended to FILE
  forever        streams words and ignores ``max_tokens`` (stops after 10 min)
  trickle S      one word every S seconds
  flood MB       MB megabytes of text in 64 KB parts, ignoring ``max_tokens``
  delay S        a short answer after S seconds (a slow server)
Requests that are not streamed get 400 at once (no log-probabilities here).
Its loops are bounded in count and time, and it serves 127.0.0.0/8 only.
"""

from __future__ import annotations

import json
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

MODE = sys.argv[2]
ARG = sys.argv[3] if len(sys.argv) > 3 and not sys.argv[3].startswith("--") else ""
HOST = sys.argv[sys.argv.index("--host") + 1] if "--host" in sys.argv else "127.0.0.1"
LIMIT_S = 600.0


def _chunk(text: str) -> bytes:
    part = {
        "id": "x",
        "object": "chat.completion.chunk",
        "created": 0,
        "model": "m",
        "choices": [{"index": 0, "delta": {"content": text}, "finish_reason": None}],
    }
    return f"data: {json.dumps(part)}\n\n".encode()


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        body = json.dumps({"object": "list", "data": [{"id": "m", "object": "model"}]})
        self._reply(200, body.encode(), "application/json")

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if MODE == "redirect":
            self.send_response(307)
            self.send_header("Location", ARG.rstrip("/") + self.path)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if MODE == "record":
            with Path(ARG).open("ab") as out:
                out.write(body + b"\n")
        if not self.path.endswith("/chat/completions"):
            self._reply(404, b"{}", "application/json")
            return
        if not json.loads(body or b"{}").get("stream"):
            self._reply(400, b'{"error": "stream only"}', "application/json")
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Connection", "close")
        self.end_headers()
        try:
            self._stream()
        except (BrokenPipeError, ConnectionResetError):
            return  # the client went away: what the policy should make it do

    def _stream(self) -> None:
        started = time.monotonic()
        if MODE == "record":
            self.wfile.write(_chunk("The gate closes at 21:30."))
        elif MODE == "delay":
            time.sleep(float(ARG))
            self.wfile.write(_chunk("The boiler pressure must stay between 1.2 "))
            self.wfile.write(_chunk("and 1.5 bar."))
        elif MODE == "forever":
            while time.monotonic() - started < LIMIT_S:
                self.wfile.write(_chunk("word "))
                self.wfile.flush()
                time.sleep(0.001)
        elif MODE == "trickle":
            while time.monotonic() - started < LIMIT_S:
                self.wfile.write(_chunk("slow "))
                self.wfile.flush()
                time.sleep(float(ARG))
        elif MODE == "flood":
            block = "x" * 65536
            for _ in range(int(float(ARG) * 16)):
                self.wfile.write(_chunk(block))
        self.wfile.write(b"data: [DONE]\n\n")
        self.wfile.flush()

    def _reply(self, status: int, body: bytes, kind: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


if __name__ == "__main__":
    if not HOST.startswith("127."):
        sys.exit("serves the loopback range only")
    server = ThreadingHTTPServer((HOST, int(sys.argv[1])), Handler)
    server.daemon_threads = True
    server.serve_forever()
