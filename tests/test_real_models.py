"""End to end with the real default models: MiniLM embeddings, the default GGUF."""

from __future__ import annotations

from pathlib import Path

import pytest
from docgen import FILLER, make_pdf

from assistant.config import Settings
from assistant.core.chunking import chunk_document
from assistant.core.embedding import SentenceTransformerEmbedder
from assistant.core.llm import LlamaGenerator
from assistant.core.services import Conversation, Library, load_embedder, load_generator
from assistant.core.types import Page, ParsedDocument

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def real_embedder() -> SentenceTransformerEmbedder:
    return load_embedder(Settings())


@pytest.fixture(scope="module")
def real_generator() -> LlamaGenerator:
    return load_generator(Settings())


def test_no_chunk_exceeds_what_minilm_reads(
    real_embedder: SentenceTransformerEmbedder,
) -> None:
    english = " ".join(
        f"Paragraph {i} explains configuration option number {i} in detail, "
        "including its default value and side effects."
        for i in range(300)
    )
    chinese = "系统配置文件位于安装目录下，修改后需要重新启动服务才能生效。" * 200
    no_punctuation = "token " * 3000
    document = ParsedDocument(
        Path("x.txt"),
        "A long title " * 5,
        "txt",
        [Page(None, english), Page(None, chinese), Page(None, no_punctuation)],
    )
    chunks = chunk_document(
        document, real_embedder, chunk_tokens=200, overlap_tokens=30
    )
    counts = real_embedder.count_tokens([c.embed_text for c in chunks])
    assert real_embedder.max_tokens == 254
    assert max(counts) <= real_embedder.max_tokens
    assert len(chunks) > 30


def test_pdf_question_is_answered_from_page_three(
    tmp_path: Path,
    real_embedder: SentenceTransformerEmbedder,
    real_generator: LlamaGenerator,
) -> None:
    pages = [
        "Orientation. " + FILLER * 2,
        "Safety rules. Always wear a helmet in the hangar. " + FILLER,
        "Calibration. The altimeter of the Heron glider must be recalibrated every "
        "37 days by a certified technician. " + FILLER,
        "Appendix. " + FILLER * 2,
    ]
    pdf = make_pdf(tmp_path / "heron-manual.pdf", pages)
    settings = Settings()
    library = Library(settings, real_embedder, directory=tmp_path / "index")
    report = library.ingest([pdf])
    assert report.ok and report.pages == 4
    conversation = Conversation(library, real_generator)
    tokens: list[str] = []
    answer = conversation.ask(
        "How often must the Heron glider's altimeter be recalibrated?",
        on_token=tokens.append,
    )
    assert len(tokens) > 3, "the answer should stream token by token"
    assert answer.sources[0].page == 3
    assert Path(answer.sources[0].path).name == "heron-manual.pdf"
    assert "37" in answer.text
    assert 1 in answer.cited
    assert answer.timings["tokens_per_s"] > 0


def test_unanswerable_question_is_not_made_up(
    tmp_path: Path,
    real_embedder: SentenceTransformerEmbedder,
    real_generator: LlamaGenerator,
) -> None:
    notes = tmp_path / "notes.md"
    notes.write_text("# Garden\n\nTomatoes need six hours of sun a day.\n")
    library = Library(Settings(), real_embedder, directory=tmp_path / "index")
    library.ingest([notes])
    answer = Conversation(library, real_generator).ask(
        "What is the boiling point of liquid nitrogen?"
    )
    assert answer.sources == []
    assert "196" not in answer.text
