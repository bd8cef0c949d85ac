"""Beyond one laptop, side by side in one run on this machine:

- search p50/p95 (query embedding included) with the library on local disk vs on
  a real S3 server (SeaweedFS, ``weed server -s3``) on the same machine, with the
  shared library's cached view (``REMOTE_REFRESH``) and with a check of the store
  on every search (what a strongly consistent reader would pay);
- ingest throughput to S3 vs local (default embedder);
- TTFT and tokens/s of the same questions answered in-process vs through the
  OpenAI backend against llama-cpp-python's server with the same model;
- ``assistant serve`` answering 4 concurrent streaming clients (the official
  ``openai`` client): each stream complete, the queueing each one saw.

    python bench/beyond_laptop.py [--modules 10] [--queries 40] [--link-ms 40]

``--link-ms``: the same S3 searches again over a link with that round trip (a
delaying TCP relay in front of the S3 server).

Prints a table and one JSON line (prefix ``BENCH``).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

from corpus import MODULES, build_manual
from report import print_result

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from servers import free_port, llama_server, s3_server, wait_for  # noqa: E402

QUESTIONS = [
    "How do I read a JSON file into a dictionary?",
    "How can I run a function in a separate thread?",
    "How do I join path components?",
    "What does the heapq module do?",
]


@contextmanager
def slow_link(target_port: int, rtt_ms: float) -> Iterator[str]:
    """A TCP relay to ``127.0.0.1:target_port`` that delivers every chunk half the
    round trip after it arrived, each way (latency without a bandwidth cap; this
    machine's kernel has no netem). Yields its endpoint URL."""
    import asyncio

    delay = rtt_ms / 2000
    loop = asyncio.new_event_loop()
    ready: list[int] = []

    async def pump(reader: Any, writer: Any) -> None:
        queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

        async def deliver() -> None:
            while True:
                due, data = await queue.get()
                await asyncio.sleep(max(0.0, due - loop.time()))
                if not data:
                    writer.close()
                    return
                writer.write(data)
                await writer.drain()

        sender = asyncio.ensure_future(deliver())
        while True:
            data = await reader.read(65536)
            await queue.put((loop.time() + delay, data))
            if not data:
                break
        await sender

    async def handle(reader: Any, writer: Any) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", target_port)
        await asyncio.gather(
            pump(reader, up_writer), pump(up_reader, writer), return_exceptions=True
        )

    async def start() -> Any:
        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        ready.append(server.sockets[0].getsockname()[1])
        return server

    server = loop.run_until_complete(start())
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{ready[0]}"
    finally:

        def stop() -> None:
            server.close()
            for task in asyncio.all_tasks(loop):
                task.cancel()
            loop.call_later(0.1, loop.stop)

        loop.call_soon_threadsafe(stop)
        thread.join(5)


def percentiles(values: list[float]) -> tuple[float, float]:
    ordered = sorted(values)
    return statistics.median(ordered), ordered[int(0.95 * (len(ordered) - 1))]


def search_times(library: Any, queries: list[str]) -> tuple[float, float]:
    library.search(queries[0])  # warm: caches, the index opened
    times = []
    for query in queries:
        started = time.perf_counter()
        library.search(query)
        times.append((time.perf_counter() - started) * 1000)
    return percentiles(times)


def answer_times(conversation: Any) -> tuple[float, float]:
    ttft, rate = [], []
    for question in QUESTIONS:
        conversation.reset()
        answer = conversation.ask(question)
        if answer.declined:
            continue
        ttft.append(answer.timings["ttft_ms"])
        rate.append(answer.timings["tokens_per_s"])
    return statistics.mean(ttft), statistics.mean(rate)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--modules", type=int, default=10)
    parser.add_argument("--queries", type=int, default=40)
    parser.add_argument(
        "--link-ms",
        type=float,
        default=0,
        help="also search the S3 library over a link with this round trip",
    )
    args = parser.parse_args()

    from assistant.core.config import Settings
    from assistant.core.generate.openai_chat import OpenAIGenerator
    from assistant.core.index import store as store_module
    from assistant.core.model_files import resolve_chat_model
    from assistant.core.services.components import load_embedder, load_generator
    from assistant.core.services.conversation import Conversation
    from assistant.core.services.library import Library

    work = Path(tempfile.mkdtemp(prefix="beyond-"))
    os.environ["ASSISTANT_HOME"] = str(work / "home")
    pdf = work / "docs" / "manual.pdf"
    pdf.parent.mkdir()
    pages = build_manual(pdf, MODULES[: args.modules], "Python library reference")
    settings = Settings()
    embedder = load_embedder(settings)
    result: dict[str, object] = {"pages": pages}

    with s3_server(work / "weed") as s3:
        os.environ.update(s3.env())
        uri = "s3://library/bench"
        libraries = {}
        for name, where in (("local", work / "index"), ("s3", uri)):
            library = Library(settings, embedder, directory=where)
            started = time.perf_counter()
            report = library.ingest([pdf])
            library.complete_index()  # (a staged index's second stage)
            seconds = time.perf_counter() - started
            result[f"ingest_{name}_s"] = round(seconds, 1)
            result[f"ingest_{name}_chunks_per_s"] = round(
                report.chunks_embedded / seconds, 1
            )
            libraries[name] = library
        texts = [
            str(row["text"])
            for row in libraries["local"]
            .store.scan(["text"])
            .slice(0, 10_000)
            .to_pylist()
        ]
        step = max(1, len(texts) // args.queries)
        queries = [" ".join(t.split()[:10]) for t in texts[::step]][: args.queries]
        for name in ("local", "s3"):
            p50, p95 = search_times(libraries[name], queries)
            result[f"search_{name}_p50_ms"] = round(p50, 1)
            result[f"search_{name}_p95_ms"] = round(p95, 1)
        cached = store_module.REMOTE_REFRESH
        store_module.REMOTE_REFRESH = timedelta(0)
        strict = Library(settings, embedder, directory=uri)
        p50, p95 = search_times(strict, queries)
        result["search_s3_uncached_p50_ms"] = round(p50, 1)
        result["search_s3_uncached_p95_ms"] = round(p95, 1)
        store_module.REMOTE_REFRESH = cached
        if args.link_ms:
            port = int(s3.endpoint.rsplit(":", 1)[1])
            with slow_link(port, args.link_ms) as endpoint:
                far = settings.model_copy(
                    update={"library_options": {"endpoint": endpoint}}
                )
                for name, refresh in (("cached", cached), ("uncached", timedelta(0))):
                    store_module.REMOTE_REFRESH = refresh
                    started = time.perf_counter()
                    slow = Library(far, embedder, directory=uri)
                    slow.documents()
                    result[f"slow_link_open_{name}_ms"] = round(
                        (time.perf_counter() - started) * 1000
                    )
                    p50, p95 = search_times(slow, queries)
                    result[f"slow_link_search_s3_{name}_p50_ms"] = round(p50, 1)
                    result[f"slow_link_search_s3_{name}_p95_ms"] = round(p95, 1)
            store_module.REMOTE_REFRESH = cached
            result["slow_link_rtt_ms"] = args.link_ms
    result["chunks"] = libraries["local"].store.count_chunks()

    # answers: in-process vs the OpenAI backend, the same model and questions
    local = libraries["local"]
    generator = load_generator(settings)
    ttft, rate = answer_times(Conversation(local, generator))
    generator.close()
    result["answer_inprocess_ttft_ms"] = round(ttft)
    result["answer_inprocess_tokens_per_s"] = round(rate, 1)
    with llama_server(resolve_chat_model(""), work / "llama.log") as server:
        from assistant.core.config import ChatServer

        remote = OpenAIGenerator(ChatServer(server.base_url, "", ""))
        ttft, rate = answer_times(Conversation(local, remote))
        result["answer_openai_ttft_ms"] = round(ttft)
        result["answer_openai_tokens_per_s"] = round(rate, 1)

    # assistant serve: four clients at once
    from openai import OpenAI

    port = free_port()
    serve = subprocess.Popen(
        [sys.executable, "-m", "assistant", "serve", "--port", str(port)],
        env={**os.environ, "ASSISTANT_LIBRARY": str(work / "index")},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(f"http://127.0.0.1:{port}/v1/models", 180, serve)  # type: ignore[arg-type]
        client = OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key="x")
        outcomes: dict[int, tuple[float, float, bool]] = {}

        def ask(i: int) -> None:
            started = time.perf_counter()
            first = None
            finished = False
            for chunk in client.chat.completions.create(
                model="assistant",
                messages=[{"role": "user", "content": QUESTIONS[i]}],
                stream=True,
            ):
                if first is None and chunk.choices and chunk.choices[0].delta.content:
                    first = time.perf_counter() - started
                if chunk.choices and chunk.choices[0].finish_reason == "stop":
                    finished = True
            outcomes[i] = (first or 0.0, time.perf_counter() - started, finished)

        started = time.perf_counter()
        threads = [threading.Thread(target=ask, args=(i,)) for i in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(900)
        result["serve_4_clients_wall_s"] = round(time.perf_counter() - started, 1)
        result["serve_4_clients_complete"] = sum(o[2] for o in outcomes.values())
        result["serve_first_token_s"] = sorted(
            round(o[0], 1) for o in outcomes.values()
        )
        result["serve_total_s"] = sorted(round(o[1], 1) for o in outcomes.values())
    finally:
        serve.terminate()
        serve.wait(30)
    print_result(result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
