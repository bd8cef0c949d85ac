"""Make small real documents (PDF, DOCX, HTML, ...) for tests."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path


def make_pdf(path: Path, pages: Sequence[str], title: str = "") -> Path:
    """A PDF with one paragraph-wrapped text block per page (reportlab)."""
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.platypus import PageBreak, Paragraph, SimpleDocTemplate

    styles = getSampleStyleSheet()
    story: list[object] = []
    for index, text in enumerate(pages):
        for paragraph in text.split("\n\n"):
            story.append(Paragraph(paragraph, styles["BodyText"]))
        if index < len(pages) - 1:
            story.append(PageBreak())
    SimpleDocTemplate(str(path), pagesize=A4, title=title or path.stem).build(story)
    return path


def make_docx(path: Path, blocks: Sequence[tuple[str, str]]) -> Path:
    """``blocks`` of (style, text): style is "h1".."h3" or "p"."""
    import docx

    document = docx.Document()
    for style, text in blocks:
        if style.startswith("h"):
            document.add_heading(text, level=int(style[1:]))
        else:
            document.add_paragraph(text)
    document.save(str(path))
    return path


FILLER = (
    "This page describes general matters of the maintenance schedule. Staff review "
    "the checklist, record their observations in the log book and report anything "
    "unusual to the duty officer before the end of the shift."
)
