"""Answers from an OpenAI-compatible server, and the assistant served over the
same API: llama-cpp-python's own server (real HTTP, real streaming) with the
default model, and the official ``openai`` client against ``assistant serve``."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from fakes import FakeEmbedder
from servers import ChatServerProcess, free_port, llama_server, wait_for

from assistant.core.cancel import CancelToken
from assistant.core.config import ChatServer, Settings
from assistant.core.errors import AssistantError
from assistant.core.generate.openai_chat import OpenAIGenerator, estimate_tokens
from assistant.core.model_files import resolve_chat_model
from assistant.core.services.components import load_generator
from assistant.core.services.conversation import Conversation
from assistant.core.services.library import Library

pytestmark = pytest.mark.slow

BOILER = (
    "# Boiler\n\nThe boiler pressure must stay between 1.2 and 1.5 bar. "
    "Bleed the radiators every autumn.\n"
)


@pytest.fixture(scope="module")
def chat_server(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[ChatServerProcess]:
    log = tmp_path_factory.mktemp("llama") / "server.log"
    with llama_server(resolve_chat_model(""), log) as server:
        yield server


@pytest.fixture
def boiler_library(settings: Settings, docs: Path) -> Library:
    (docs / "boiler.md").write_text(BOILER, encoding="utf-8")
    library = Library(settings, FakeEmbedder())
    library.ingest([docs])
    return library


def test_answers_come_from_the_server_with_citations(
    chat_server: ChatServerProcess,
    boiler_library: Library,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ASSISTANT_CHAT_BASE_URL", chat_server.base_url)
    generator = load_generator(settings)
    assert isinstance(generator, OpenAIGenerator)
    # the server's own tokenizer counts for prompt fitting
    assert generator.count_tokens("hello world") == 2
    streamed: list[str] = []
    answer = Conversation(boiler_library, generator).ask(
        "What pressure should the boiler have?", on_token=streamed.append
    )
    assert len(streamed) > 3  # streamed token by token, not in one piece
    assert "1.2" in answer.text and "1.5" in answer.text
    assert answer.cited == [1] and answer.claims and answer.claims[0].supported
    assert answer.self_check is not None and answer.self_check > 0  # logprobs
    with pytest.raises(AssistantError, match="adapter"):
        Conversation(boiler_library, generator).ask(
            "What pressure?", mode="sft", adapter=Path("x.gguf")
        )
    # the model alone, through the server too
    alone = Conversation(boiler_library, generator).ask(
        "Say hello in one word.", mode="base"
    )
    assert alone.text and not alone.sources
    # without a tokenizer endpoint the estimate must not undercount
    for text in (BOILER * 5, "锅炉压力必须保持在1.2到1.5巴之间。" * 10):
        assert estimate_tokens(text) >= generator.count_tokens(text)


def test_stop_ends_a_server_answer_within_200_ms(
    chat_server: ChatServerProcess,
) -> None:
    generator = OpenAIGenerator(ChatServer(chat_server.base_url, "", ""))
    long_prompt = [{"role": "user", "content": "Tell me about boilers. " * 300}]
    for delay in (0.05, 1.5):  # while the server reads the prompt; mid-reply
        cancel = CancelToken()
        timer = threading.Timer(delay, cancel.cancel)
        started = time.monotonic()
        timer.start()
        list(
            generator.stream_chat(
                long_prompt, max_tokens=400, temperature=0.2, cancel=cancel
            )
        )
        assert time.monotonic() - started - delay < 0.2


def test_a_server_killed_mid_answer_is_reported_and_the_text_kept(
    tmp_path: Path, boiler_library: Library
) -> None:
    with llama_server(resolve_chat_model(""), tmp_path / "log") as server:
        generator = OpenAIGenerator(ChatServer(server.base_url, "", ""))
        seen: list[str] = []

        def on_token(token: str) -> None:
            seen.append(token)
            if len(seen) == 5:
                server.process.kill()

        boiler_library.settings = boiler_library.settings.model_copy(
            update={"max_answer_tokens": 300}
        )
        answer = Conversation(boiler_library, generator).ask(
            "Explain everything about the boiler and the radiators in detail.",
            on_token=on_token,
        )
    assert answer.stopped and "stopped answering" in answer.interrupted
    assert answer.raw == "".join(seen) and len(seen) >= 5


def _serve(env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "assistant", "serve", *args],
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def test_assistant_serve_answers_the_openai_client_from_the_library(
    chat_server: ChatServerProcess, docs: Path
) -> None:
    from openai import OpenAI

    (docs / "boiler.md").write_text(BOILER, encoding="utf-8")
    (docs / "garden.md").write_text(
        "# Garden\n\nThe garden needs water every morning in summer. "
        "The hedge is trimmed in June.",
        encoding="utf-8",
    )
    env = {"ASSISTANT_CHAT_BASE_URL": chat_server.base_url}
    subprocess.run(
        [sys.executable, "-m", "assistant", "ingest", str(docs)],
        env={**os.environ, **env},
        check=True,
        capture_output=True,
    )
    port = free_port()
    server = _serve(env, "--port", str(port))
    try:
        wait_for(f"http://127.0.0.1:{port}/v1/models", 120, server)  # type: ignore[arg-type]
        client = OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key="unused")
        assert [m.id for m in client.models.list().data] == ["assistant"]
        reply = client.chat.completions.create(
            model="assistant",
            messages=[
                {"role": "user", "content": "What pressure should the boiler have?"}
            ],
        )
        assert "1.2" in (reply.choices[0].message.content or "")
        extra = reply.model_extra or {}
        assert extra["cited"] == [1] and "boiler.md" in extra["sources"][0]["path"]
        # metadata {"in": ...} asks within some documents; one naming none is a 400
        scoped = client.chat.completions.create(
            model="assistant",
            messages=[{"role": "user", "content": "What does the garden need?"}],
            extra_body={"metadata": {"in": "*garden*"}},
        )
        paths = {s["path"] for s in (scoped.model_extra or {})["sources"]}
        assert paths and all("garden.md" in p for p in paths), paths
        from openai import BadRequestError

        with pytest.raises(BadRequestError) as refused:
            client.chat.completions.create(
                model="assistant",
                messages=[{"role": "user", "content": "Anything?"}],
                extra_body={"metadata": {"in": "*.docx"}},
            )
        assert "No document in the library" in refused.value.response.text
        # four clients at once: they queue for the one model, each stream whole
        results: dict[int, tuple[str, dict[str, object]]] = {}

        def ask(i: int) -> None:
            text, last = [], None
            for chunk in client.chat.completions.create(
                model="assistant",
                messages=[{"role": "user", "content": "When are radiators bled?"}],
                stream=True,
            ):
                if chunk.choices and chunk.choices[0].delta.content:
                    text.append(chunk.choices[0].delta.content)
                last = chunk
            results[i] = ("".join(text), (last.model_extra or {}) if last else {})

        threads = [threading.Thread(target=ask, args=(i,)) for i in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(300)
        assert sorted(results) == [0, 1, 2, 3]
        for text, last in results.values():
            assert "autumn" in text.lower() and last["cited"] == [1]
    finally:
        server.terminate()
        server.wait(30)


def test_serving_beyond_localhost_needs_a_token(
    chat_server: ChatServerProcess,
) -> None:
    env = {"ASSISTANT_CHAT_BASE_URL": chat_server.base_url}
    refused = _serve(env, "--host", "0.0.0.0", "--port", str(free_port()))
    out, _ = refused.communicate(timeout=120)
    assert refused.returncode == 1 and "token" in out
    port = free_port()
    server = _serve(
        {**env, "ASSISTANT_SERVE_TOKEN": "s3cret"},
        "--host",
        "0.0.0.0",
        "--port",
        str(port),
    )
    try:
        wait_for(f"http://127.0.0.1:{port}/v1/models", 120, server)  # type: ignore[arg-type]
        from openai import AuthenticationError, OpenAI

        url = f"http://127.0.0.1:{port}/v1"
        with pytest.raises(AuthenticationError):
            OpenAI(base_url=url, api_key="wrong").models.list()
        assert (
            OpenAI(base_url=url, api_key="s3cret").models.list().data[0].id
            == "assistant"
        )
    finally:
        server.terminate()
        server.wait(30)


def test_embeddings_from_a_server_build_an_index_that_records_them(
    tmp_path: Path, settings: Settings, docs: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from assistant.core.errors import EmbedderMismatch
    from assistant.core.model_files import models_dir
    from assistant.core.services.components import embedder_name

    model = next(models_dir().glob("SmolLM2-135M*.gguf"))  # installed by test.sh
    with llama_server(model, tmp_path / "log", "--embedding", "true") as server:
        monkeypatch.setenv("ASSISTANT_EMBED_BASE_URL", server.base_url)
        chosen = settings.model_copy(
            update={"embedding_model": "openai:smollm2", "retrieval_mode": "vector"}
        )
        host = server.base_url.split("/")[2]
        assert embedder_name(chosen) == f"openai:smollm2@{host}"
        (docs / "boiler.md").write_text(BOILER, encoding="utf-8")
        (docs / "garden.md").write_text(
            "# Garden\n\nPrune the roses in early March.\n", encoding="utf-8"
        )
        library = Library.open(chosen)
        assert library.embedder.name == f"openai:smollm2@{host}"
        library.ingest([docs])
        assert library.store.meta.embedder == library.embedder.name
        # the stored vectors are the server's (a 135M chat model, mean-pooled, is
        # no semantic embedder: ranking is not what this checks)
        rows = library.store.scan(["text", "vector"]).to_pylist()
        stored = np.asarray([r["vector"] for r in rows])
        again = library.embedder.embed([r["text"] for r in rows])
        similarity = again @ stored.T  # (a batch differs from one text a little)
        assert len(rows) == 2 and np.all(np.diag(similarity) > 0.95)
        assert np.all(np.argmax(similarity, axis=1) == [0, 1])
        assert len(library.search("Garden: prune the roses in early March.")) == 2
    # the index says which embedder built it: another one is refused, not mixed
    with pytest.raises(EmbedderMismatch):
        Library(settings, FakeEmbedder(), directory=library.store.directory)


def test_a_server_that_is_not_there_is_named_with_what_to_do(
    boiler_library: Library,
) -> None:
    url = f"http://127.0.0.1:{free_port()}/v1"
    with pytest.raises(AssistantError, match="did not answer.*Start it"):
        OpenAIGenerator(ChatServer(url, "", ""))  # asks for its models
    generator = OpenAIGenerator(ChatServer(url, "some-model", ""))
    assert generator.count_tokens("hello world") == estimate_tokens("hello world")
    with pytest.raises(AssistantError, match="did not answer.*local model"):
        Conversation(boiler_library, generator).ask("What pressure?")
