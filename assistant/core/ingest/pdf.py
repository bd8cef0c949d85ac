"""PDF text per page (1-based index plus printed label), headings from the outline."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from assistant.core.errors import IngestError
from assistant.core.types import Heading, Page, ParsedDocument

log = logging.getLogger(__name__)


def _outline_by_page(reader: Any) -> dict[int, list[Heading]]:
    """Map 0-based page index -> outline entries that start on it (best effort)."""
    found: dict[int, list[Heading]] = {}

    def visit(items: list[Any], level: int) -> None:
        for item in items:
            if isinstance(item, list):
                visit(item, level + 1)
                continue
            try:
                index = reader.get_destination_page_number(item)
            except Exception:  # broken destinations are common; skip them
                continue
            title = str(getattr(item, "title", "") or "").strip()
            if index is not None and index >= 0 and title:
                found.setdefault(index, []).append(Heading(0, level, title))

    try:
        visit(reader.outline, 1)
    except Exception as exc:
        log.debug("outline unreadable: %s", exc)
    return found


def parse_pdf(path: Path) -> ParsedDocument:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    with path.open("rb") as handle:
        if b"%PDF" not in handle.read(1024):
            raise IngestError(
                path, "not a PDF file (the content does not start like a PDF)"
            )
    try:
        reader = PdfReader(str(path))
        if reader.is_encrypted:
            try:
                opened = bool(reader.decrypt(""))
            except Exception:
                opened = False
            if not opened:
                raise IngestError(
                    path,
                    "the PDF is encrypted (password-protected); "
                    "save an unprotected copy and add that instead",
                )
        try:
            labels = list(reader.page_labels)
        except Exception:
            labels = []
        outline = _outline_by_page(reader)
        pages: list[Page] = []
        for index, pdf_page in enumerate(reader.pages):
            try:
                text = pdf_page.extract_text() or ""
            except Exception as exc:
                log.warning("%s: page %d unreadable: %s", path.name, index + 1, exc)
                text = ""
            text = text.replace("\x00", "")
            label = labels[index] if index < len(labels) else str(index + 1)
            pages.append(Page(index + 1, text, label, tuple(outline.get(index, ()))))
        metadata_title = ""
        try:
            metadata = reader.metadata
            metadata_title = str((metadata.title if metadata else "") or "").strip()
        except Exception:
            metadata_title = ""
    except IngestError:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, OSError) as exc:
        raise IngestError(
            path, f"the PDF is damaged and cannot be read ({exc})"
        ) from exc
    if not pages:
        raise IngestError(path, "the PDF has no pages")
    if not any(p.text.strip() for p in pages):
        raise IngestError(
            path,
            "no extractable text (a scanned or image-only PDF; run OCR on it first)",
        )
    return ParsedDocument(path, metadata_title or path.stem, "pdf", pages)
