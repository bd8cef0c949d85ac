"""Questions the chat model writes for each section, searched like sentences."""

from __future__ import annotations

from pathlib import Path

from fakes import FakeEmbedder, FakeGenerator

from assistant.core.cancel import CancelToken
from assistant.core.config import Settings
from assistant.core.retrieve.retrieval import RetrievalConfig
from assistant.core.retrieve.section_questions import (
    QuestionsProgress,
    add_questions,
    parse_questions,
    pending_sections,
)
from assistant.core.services.library import Library

MANUAL = """# Plotting manual

## Decimalsign

The set decimalsign command selects a decimal sign for numbers printed into tic
labels or set label strings.

## Samples

The default sampling rate of functions may be changed by the set samples command.

## 串口

这是中文的章节，讲的是串口的设置。
"""
USER_QUESTION = "My tick labels must read 3,5 and not 3.5 for a German journal"


def _library(settings: Settings, embedder: FakeEmbedder, tmp_path: Path) -> Library:
    settings = settings.model_copy(update={"chunk_tokens": 120})
    return Library(settings, embedder, directory=tmp_path / "index")


def _ingest(library: Library, docs: Path, text: str = MANUAL) -> None:
    (docs / "manual.md").write_text(text, encoding="utf-8")
    assert library.ingest([docs]).ok


def test_parse_questions_drops_numbering_repeats_and_scraps() -> None:
    reply = "1. How do I get a comma?\n\n2) `How do I get a comma?`\n- ok\n"
    reply += "* Why is it 3.5?"
    assert parse_questions(reply) == ["How do I get a comma?", "Why is it 3.5?"]


def test_each_english_section_is_asked_once_and_its_questions_find_it(
    settings: Settings, embedder: FakeEmbedder, tmp_path: Path, docs: Path
) -> None:
    library = _library(settings, embedder, tmp_path)
    _ingest(library, docs)
    sections = pending_sections(library.store)
    # the title alone is too short to ask about; the Chinese section is left to its
    # own text (as with sentence rows)
    assert [s.text.split()[1] for s in sections] == ["Decimalsign", "Samples"]
    assert sections[0].prompt_title == "Plotting manual \u2014 Decimalsign"
    before = library.search(USER_QUESTION, top_k=1)
    generator = FakeGenerator()
    generator.section_replies = [
        f"1. {USER_QUESTION}?\n2. How do I use a comma as the decimal separator?",
        "1. How can I make the curves smoother?",
    ]
    seen: list[QuestionsProgress] = []
    done = add_questions(library.store, embedder, generator, progress=seen.append)
    assert (done.done, done.total, done.questions) == (2, 2, 3)
    assert [p.done for p in seen] == [1, 2]
    assert "decimal sign for numbers" in generator.sections_asked[0]
    assert library.store.count_questions() == 3
    assert pending_sections(library.store) == []
    # the chunk comes first, shown with its own text, not the question's
    top = library.search(USER_QUESTION, top_k=1)[0]
    assert "set decimalsign command" in top.text
    assert top.similarity > (before[0].similarity if before else 0.0)
    hits = library.retriever.search(
        USER_QUESTION, RetrievalConfig(top_k=5, min_similarity=0.0)
    )
    assert [h.text for h in hits if h.text.endswith("?")] == []  # passages only
    assert len(library.documents()) == 1 and library.documents()[0].chunks == 4


def test_questions_go_with_their_document_and_a_stop_leaves_the_rest_pending(
    settings: Settings, embedder: FakeEmbedder, tmp_path: Path, docs: Path
) -> None:
    library = _library(settings, embedder, tmp_path)
    _ingest(library, docs)
    generator = FakeGenerator()
    cancel = CancelToken()
    generator.section_replies = ["1. Why not a comma in the labels?"] * 3

    def stop_after_one(progress: QuestionsProgress) -> None:
        cancel.cancel()

    done = add_questions(
        library.store, embedder, generator, progress=stop_after_one, cancel=cancel
    )
    assert (done.done, done.questions) == (1, 1)
    assert len(pending_sections(library.store)) == 1
    # a changed document is asked again (its old questions are gone with it)
    _ingest(library, docs, MANUAL.replace("selects", "chooses"))
    assert library.store.count_questions() == 0
    assert len(pending_sections(library.store)) == 2
    add_questions(library.store, embedder, generator, limit=1)
    assert library.store.count_questions() == 1
    library.remove(docs / "manual.md")
    assert library.store.count_questions() == 0 == library.store.count_sentences()
