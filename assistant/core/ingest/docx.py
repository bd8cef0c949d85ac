"""Word documents: paragraphs and tables in order, with Heading/Title styles kept."""

from __future__ import annotations

import re
from pathlib import Path

from assistant.core.errors import IngestError
from assistant.core.types import (
    DEFAULT_LIMITS,
    Heading,
    Page,
    ParsedDocument,
    ParseLimits,
)

_LEVEL = re.compile(r"^Heading\s*(\d)$", re.IGNORECASE)


def _heading_level(style_name: str) -> int:
    if style_name.lower() == "title":
        return 1
    match = _LEVEL.match(style_name)
    return int(match.group(1)) if match else 0


_XML_PER_TEXT_CHAR = 8
"""Generous bytes of Word XML per character of text, to refuse before parsing."""


def parse_docx(path: Path, limits: ParseLimits = DEFAULT_LIMITS) -> ParsedDocument:
    import docx  # python-docx; imported here so a missing install names the format
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    _check_inflated_size(path, limits.max_chars)

    try:
        document = docx.Document(str(path))
    except Exception as exc:  # zipfile/KeyError/lxml errors: all mean "not a docx"
        raise IngestError(
            path, f"not a readable Word document ({type(exc).__name__})"
        ) from exc
    parts: list[str] = []
    headings: list[Heading] = []
    offset = 0

    def add(text: str, level: int = 0) -> None:
        nonlocal offset
        text = text.strip()
        if not text:
            return
        if level:
            headings.append(Heading(offset, level, " ".join(text.split())))
        parts.append(text)
        offset += len(text) + 2

    for block in document.iter_inner_content():
        if isinstance(block, Paragraph):
            style = block.style.name if block.style is not None else ""
            add(block.text, _heading_level(style or ""))
        elif isinstance(block, Table):
            for row in block.rows:
                cells = [cell.text.strip() for cell in row.cells]
                add(" | ".join(dict.fromkeys(c for c in cells if c)))
    core_title = (document.core_properties.title or "").strip()
    title = core_title or next((h.title for h in headings if h.level == 1), path.stem)
    page = Page(None, "\n\n".join(parts), headings=tuple(headings))
    return ParsedDocument(path, title, "docx", [page])


def _check_inflated_size(path: Path, max_chars: int) -> None:
    """Refuse a .docx whose document XML inflates past the text limit, before
    any XML is parsed (a zip bomb would otherwise take gigabytes)."""
    import zipfile

    try:
        with zipfile.ZipFile(path) as archive:
            inflated = sum(
                info.file_size
                for info in archive.infolist()
                if info.filename.startswith("word/") and info.filename.endswith(".xml")
            )
    except (zipfile.BadZipFile, OSError):
        return  # opening it names what is wrong
    if inflated > max_chars * _XML_PER_TEXT_CHAR:
        raise IngestError(
            path,
            f"too large: it unpacks to {inflated / 2**20:.0f} MB of document XML, "
            f"more than the {max_chars / 1e6:.0f} million characters of text a "
            "document may hold (split the file)",
        )
