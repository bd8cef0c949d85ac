from __future__ import annotations

from pathlib import Path

import pytest
from docgen import make_docx, make_epub, make_pdf

from assistant.core.errors import IngestError
from assistant.core.ingest import discover, parse_file
from assistant.core.services.library import Library

LIMIT = 10 * 2**20


def test_pdf_pages_are_one_based_with_text(tmp_path: Path) -> None:
    path = make_pdf(
        tmp_path / "a.pdf", ["First page.", "Second page.", "Third page here."]
    )
    document = parse_file(path, LIMIT)
    assert document.kind == "pdf"
    assert [p.number for p in document.pages] == [1, 2, 3]
    assert "Third page here." in document.pages[2].text
    assert document.page_count == 3


def _lines_pdf(path: Path, lines: list[str]) -> Path:
    """A page drawn line by line, as typesetters do (no paragraph reflow)."""
    from reportlab.pdfgen import canvas

    pdf = canvas.Canvas(str(path))
    pdf.setFont("Helvetica", 11)
    for row, line in enumerate(lines):
        pdf.drawString(72, 700 - 14 * row, line)
    pdf.showPage()
    pdf.save()
    return path


def test_pdf_text_is_pdfium_s_with_words_rejoined(tmp_path: Path) -> None:
    """pdfium (QtPdf's engine) rejoins a word hyphenated at a line end, and its CRLF
    line ends become plain newlines; pypdf keeps "isosur-" / "face" apart."""
    from assistant.core.ingest.pdf import parse_pdf

    path = _lines_pdf(
        tmp_path / "h.pdf",
        [
            "The style draws the surface as an isosur-",
            "face with hidden lines removed.",
        ],
    )
    text = parse_pdf(path).pages[0].text
    assert "isosurface with hidden lines" in text
    assert "\r" not in text and "\x02" not in text
    assert "isosur-\nface" in parse_pdf(path, engine="pypdf").pages[0].text


def test_encrypted_pdf_says_encrypted(tmp_path: Path) -> None:
    from pypdf import PdfReader, PdfWriter

    plain = make_pdf(tmp_path / "plain.pdf", ["Secret text."])
    writer = PdfWriter()
    for page in PdfReader(str(plain)).pages:
        writer.add_page(page)
    writer.encrypt("hunter2")
    locked = tmp_path / "locked.pdf"
    with locked.open("wb") as handle:
        writer.write(handle)
    with pytest.raises(IngestError, match="encrypted"):
        parse_file(locked, LIMIT)


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("empty.pdf", b"", "empty"),
        ("fake.pdf", b"\x89PNG\r\n\x1a\n" + b"\0" * 100, "not a PDF"),
        (
            "broken.pdf",
            b"%PDF-1.7\n1 0 obj << /Type /Catalog",
            "damaged|no pages|could not",
        ),
        ("junk.docx", b"PK\x03\x04 this is not really a zip", "not a readable Word"),
        ("binary.txt", b"\x00\x01\x02\x03" * 50, "binary|encoding"),
    ],
)
def test_bad_files_get_a_reason(
    tmp_path: Path, name: str, content: bytes, reason: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(IngestError, match=reason) as info:
        parse_file(path, LIMIT)
    assert name in str(info.value)


def test_size_limit_is_enforced(tmp_path: Path) -> None:
    path = tmp_path / "big.txt"
    path.write_text("x" * 2000)
    with pytest.raises(IngestError, match="limit"):
        parse_file(path, 1000)


def test_docx_keeps_headings(tmp_path: Path) -> None:
    path = make_docx(
        tmp_path / "d.docx",
        [
            ("h1", "Handbook"),
            ("p", "Welcome."),
            ("h2", "Leave"),
            ("p", "Ten days a year."),
        ],
    )
    document = parse_file(path, LIMIT)
    page = document.pages[0]
    assert document.title == "Handbook"
    assert [(h.level, h.title) for h in page.headings] == [
        (1, "Handbook"),
        (2, "Leave"),
    ]
    leave = page.headings[1]
    assert page.text[leave.offset :].startswith("Leave")
    assert "Ten days a year." in page.text


def test_html_drops_scripts_and_keeps_structure(tmp_path: Path) -> None:
    path = tmp_path / "p.html"
    path.write_text(
        "<html><head><title>Page</title><style>p{}</style></head><body>"
        "<script>var evil = 'x'.repeat(100000);</script><h1>Main</h1>"
        "<p>Hello <b>world</b>.</p><div>Second <i>para</i></div></body></html>"
    )
    document = parse_file(path, LIMIT)
    text = document.pages[0].text
    assert document.title == "Page"
    assert "evil" not in text and "p{}" not in text
    assert text == "Main\n\nHello world.\n\nSecond para"
    assert [(h.level, h.title, h.offset) for h in document.pages[0].headings] == [
        (1, "Main", 0)
    ]


@pytest.mark.parametrize("encoding", ["gbk", "utf-16", "latin-1", "utf-8-sig"])
def test_text_encodings_are_detected(tmp_path: Path, encoding: str) -> None:
    text = (
        ("Café au lait, naïve résumé. " * 5)
        if encoding == "latin-1"
        else ("北京是中国的首都，也是一座历史悠久的城市。" * 5)
    )
    path = tmp_path / f"t-{encoding}.txt"
    path.write_bytes(text.encode(encoding))
    assert parse_file(path, LIMIT).pages[0].text == text


def test_markdown_headings_skip_code_fences(tmp_path: Path) -> None:
    path = tmp_path / "n.md"
    path.write_text("# Title\n\n```\n# not a heading\n```\n\n## Real\n\ntext\n")
    document = parse_file(path, LIMIT)
    assert [h.title for h in document.pages[0].headings] == ["Title", "Real"]


def test_discover_recurses_and_reports_unsupported(tmp_path: Path) -> None:
    (tmp_path / "sub" / "deeper").mkdir(parents=True)
    (tmp_path / "sub" / "a.md").write_text("a")
    (tmp_path / "sub" / "deeper" / "b.txt").write_text("b")
    (tmp_path / "sub" / "program.exe").write_bytes(b"MZ")
    (tmp_path / "sub" / "loop").symlink_to(tmp_path / "sub")
    files, failures = discover(
        [
            tmp_path / "sub",
            tmp_path / "sub" / "a.md",
            tmp_path / "x.exe",
            tmp_path / "missing.pdf",
        ]
    )
    assert sorted(f.name for f in files) == ["a.md", "b.txt"]
    assert [(Path(f.path).name, f.reason.split(" (")[0]) for f in failures] == [
        ("x.exe", "file not found"),
        ("missing.pdf", "file not found"),
    ]


def test_epub_chapters_are_pages_with_their_headings(tmp_path: Path) -> None:
    book = make_epub(
        tmp_path / "book.epub",
        [("", ""), ("Rigging", "Two people rig the wings."), ("Care", "Wax it.")],
        title="Glider Care",
    )
    document = parse_file(book, LIMIT)
    assert document.title == "Glider Care" and document.kind == "epub"
    assert [p.number for p in document.pages] == [1, 2]  # the empty cover skipped
    assert document.pages[0].text == "Rigging\n\nTwo people rig the wings."
    assert [h.title for h in document.pages[1].headings] == ["Care"]


LIVE_MANUAL = Path(__file__).parent / "data" / "live-manual.en.epub"
"""From Debian's live-manual-epub 2:20151217.2 (GPL-3+, see its .copyright file)."""


def test_a_real_epub_the_debian_live_manual(library: Library) -> None:
    document = parse_file(LIVE_MANUAL, LIMIT)
    assert document.title == "Live Systems Manual"
    assert 30 <= len(document.pages) <= 80  # one page a chapter file, not a fragment
    assert 100_000 < document.char_count < 400_000
    titles = [h.title for p in document.pages for h in p.headings]
    assert "2. About the Live Systems Project" in titles
    report = library.ingest([LIVE_MANUAL])
    assert report.added and not report.failed
    hit = library.search("lb config", top_k=5)
    assert any(h.path.endswith("live-manual.en.epub") and h.page for h in hit)
    # an EPUB's parts are chapters, named so wherever a passage is located
    assert f"live-manual.en.epub, chapter {hit[0].page}" in hit[0].location()


def _outlined_pdf(path: Path, labelled: bool) -> Path:
    """Four pages with a two-level outline (and roman-numbered front matter)."""
    from reportlab.pdfgen import canvas

    pdf = canvas.Canvas(str(path))
    pdf.setTitle("Field Guide")
    entries = {1: ("Preface", 0), 2: ("Care", 0), 3: ("Cleaning the lens", 1)}
    for index in range(4):
        pdf.drawString(72, 700, f"Text of page {index + 1}.")
        if index in entries:
            title, level = entries[index]
            pdf.drawString(72, 720, title)
            pdf.bookmarkPage(f"p{index}")
            pdf.addOutlineEntry(title, f"p{index}", level=level)
        pdf.showPage()
    if labelled:
        pdf.addPageLabel(0, style="ROMAN_LOWER")
        pdf.addPageLabel(2, style="ARABIC", start=1)
    pdf.save()
    return path


@pytest.mark.parametrize("labelled", [True, False])
def test_pdf_layout_read_by_pdfium_is_pypdf_s(tmp_path: Path, labelled: bool) -> None:
    """Page count, labels, outline and title come from pdfium (pypdf took 11 s
    to list the pages of a 2,415-page manual); they must be what pypdf read."""
    from pypdf import PdfReader

    from assistant.core.ingest.pdf import open_pdf, pdfium_layout, pypdf_layout

    path = _outlined_pdf(tmp_path / "guide.pdf", labelled)
    mine = pdfium_layout(path)
    assert mine == pypdf_layout(PdfReader(str(path)))
    assert mine is not None and mine.title == "Field Guide"
    assert mine.labels == (["i", "ii", "1", "2"] if labelled else ["1", "2", "3", "4"])
    assert {i: [(h.level, h.title) for h in hs] for i, hs in mine.outline.items()} == {
        1: [(1, "Preface")],
        2: [(1, "Care")],
        3: [(2, "Cleaning the lens")],
    }
    pages = list(open_pdf(path).pages)
    assert [p.label for p in pages] == mine.labels
    assert [h.title for h in pages[3].headings] == ["Cleaning the lens"]
