from __future__ import annotations

from pathlib import Path

from fakes import FakeEmbedder

from assistant.core.ingest.chunking import (
    chunk_document,
    row_embed_text,
    sentence_spans,
)
from assistant.core.types import Heading, Page, ParsedDocument


def _doc(
    text: str, headings: tuple[Heading, ...] = (), title: str = "Doc"
) -> ParsedDocument:
    return ParsedDocument(
        Path("doc.md"), title, "md", [Page(None, text, headings=headings)]
    )


def test_sentence_spans_cover_latin_and_chinese_sentences() -> None:
    text = "First one. Second one!  Third?\n\n第一句。第二句！第三句"
    spans = [text[a:b] for a, b in sentence_spans(text)]
    assert spans == [
        "First one.",
        "Second one!",
        "Third?",
        "第一句。",
        "第二句！",
        "第三句",
    ]


def test_chunks_are_exact_spans_within_the_token_limit() -> None:
    embedder = FakeEmbedder(max_tokens=50)
    sentences = [
        f"Sentence number {i} talks about topic {i % 7} at some length."
        for i in range(60)
    ]
    document = _doc(" ".join(sentences))
    chunks = chunk_document(document, embedder, chunk_tokens=40, overlap_tokens=10)
    assert len(chunks) > 5
    page_text = document.pages[0].text
    for chunk in chunks:
        assert page_text[chunk.start : chunk.end] == chunk.text
        assert embedder.count_tokens([chunk.embed_text])[0] <= embedder.max_tokens
        assert chunk.embed_text.endswith(chunk.text)
    # consecutive chunks overlap by whole sentences, and every sentence is covered
    assert chunks[1].start < chunks[0].end
    covered = set()
    for chunk in chunks:
        covered.update(range(chunk.start, chunk.end))
    assert all(i in covered for i, ch in enumerate(page_text) if not ch.isspace())


def test_one_giant_sentence_is_cut_at_token_boundaries() -> None:
    embedder = FakeEmbedder(max_tokens=30)
    text = " ".join(f"word{i}" for i in range(500))
    chunks = chunk_document(_doc(text), embedder, chunk_tokens=200, overlap_tokens=0)
    assert len(chunks) >= 500 // 30
    assert all(embedder.count_tokens([c.embed_text])[0] <= 30 for c in chunks)
    assert " ".join(c.text for c in chunks) == text


def test_chinese_without_spaces_chunks_within_limit() -> None:
    embedder = FakeEmbedder(max_tokens=40)
    text = "北京是中国的首都，也是一座历史悠久的城市。" * 30 + "长城非常有名" * 40
    chunks = chunk_document(_doc(text), embedder, chunk_tokens=30, overlap_tokens=5)
    assert len(chunks) > 10
    assert all(embedder.count_tokens([c.embed_text])[0] <= 40 for c in chunks)
    assert chunks[0].text.startswith("北京是中国的首都")


def test_heading_path_is_kept_and_sections_do_not_mix() -> None:
    text = (
        "# Guide\n\nIntro text here.\n\n## Install\n\nRun the installer.\n\n"
        "## Remove\n\nDelete it."
    )
    headings = (
        Heading(0, 1, "Guide"),
        Heading(text.index("## Install"), 2, "Install"),
        Heading(text.index("## Remove"), 2, "Remove"),
    )
    chunks = chunk_document(
        _doc(text, headings, title="Manual"), FakeEmbedder(), 200, 0
    )
    by_heading = {c.heading: c.text for c in chunks}
    assert by_heading["Guide \u203a Install"] == "## Install\n\nRun the installer."
    assert by_heading["Guide \u203a Remove"] == "## Remove\n\nDelete it."
    assert all(c.embed_text.startswith("Manual") for c in chunks)
    rows = [{"title": "Manual", "heading": c.heading, "text": c.text} for c in chunks]
    assert [row_embed_text(r) for r in rows] == [c.embed_text for c in chunks]


def test_pdf_pages_keep_numbers_and_labels() -> None:
    pages = [
        Page(1, "Alpha page text.", "i"),
        Page(2, "", "ii"),
        Page(3, "Gamma text.", "1"),
    ]
    document = ParsedDocument(Path("x.pdf"), "X", "pdf", pages)
    chunks = chunk_document(document, FakeEmbedder())
    assert [(c.page, c.page_label) for c in chunks] == [(1, "i"), (3, "1")]


def test_chunks_carry_their_embedding_token_count() -> None:
    embedder = FakeEmbedder(max_tokens=50)
    chunks = chunk_document(_doc("One sentence here. " * 40), embedder, 30, 5)
    assert [c.tokens for c in chunks] == embedder.count_tokens(
        [c.embed_text for c in chunks]
    )
