"""PDF text per page (1-based index plus printed label), headings from the outline.

Page text comes from pdfium (``pypdfium2``), the engine QtPdf renders with, so the
text we index is the text the viewer finds when it highlights a passage. pypdf
glued the words of justified paragraphs together in real manuals (a tenth of the
Debian Reference's words became "Howtoleavethecommandprompt"); pdfium keeps the
spaces and is ~15x faster. pdfium also gives the page count, page labels, outline
and title at once (pypdf took 11 s to list the 2,415 pages of the R manual, the
whole wait before its first page was searchable); pypdf judges damage and
encryption, reads a page pdfium fails on, and everything when pdfium cannot open
the file. A page whose text layer is
(nearly) empty but which holds an image is a scan: it is rendered and read by OCR
(``ocr.py``), its line boxes kept for the viewer.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from assistant.core.errors import IngestError
from assistant.core.types import (
    DEFAULT_LIMITS,
    DocumentStream,
    Heading,
    Page,
    ParsedDocument,
    ParseLimits,
    TextBox,
)

log = logging.getLogger(__name__)

Engine = Literal["pdfium", "pypdf"]
DEFAULT_ENGINE: Engine = "pdfium"

_PDFIUM_LOCK = threading.Lock()
"""pdfium is not thread-safe: one document at a time in this process."""

NO_TEXT_LAYER = (
    "no text found: the PDF has no text layer, and OCR read no text on its pages "
    "(blank, or scans too faint or small to read)"
)

MIN_PT2_PER_CHAR = 8.0
"""Page area a character needs at least: 4 pt type packed edge to edge takes
~9 pt² (an A4 page holds ~60,000 such characters; a dense real page 5,000)."""
OCR_MAX_PIXELS = 36e6
"""A scan is rendered at most this large (an A4 page at 200 dpi is 3.9
megapixels, A0 62): the render's memory is four bytes a pixel."""
OCR_DPI = 200
"""Scans are rendered at this resolution for OCR (bench/ocr.py, README table).
Scanned pages of the sample manual (9 pt type, turned 1.5 degrees, grain): words
read 0.68 at 150 dpi, 0.97 at 200 and 300, at 2.1, 2.8 and 4.3 s a page. 300 dpi
read more of the clean 9-pt pages (0.93 vs 0.82) but fewer Chinese characters
(0.935 vs 0.953) and took up to half as long again."""
MIN_SCAN_LETTERS = 8
"""Fewer letters than this in a page's text layer and any image make it a scan."""
SCAN_MAX_LETTERS = 80
"""So do fewer letters than this and an image over half of the page (a scan with a
stamped line: a page number, a scanner's footer)."""

_LINE_END_HYPHEN = "\x02"
"""pdfium's mark for a word hyphenated across a line break; the word is rejoined."""


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


@dataclass(frozen=True)
class _Layout:
    """What a PDF says about its pages before any is read."""

    page_count: int
    labels: list[str]
    outline: dict[int, list[Heading]]
    title: str


def pdfium_layout(path: Path) -> _Layout | None:
    """The layout as pdfium reads it (milliseconds), or None when it can't."""
    with _PDFIUM_LOCK:
        try:
            import pypdfium2 as pdfium

            document = pdfium.PdfDocument(str(path))
        except Exception:
            return None
        try:
            count = len(document)
            labels = [document.get_page_label(i) for i in range(count)]
            if not any(labels):  # no labels in the file: the page numbers
                labels = [str(i + 1) for i in range(count)]
            outline: dict[int, list[Heading]] = {}
            for bookmark in document.get_toc():
                index = _bookmark_page(document, bookmark)
                title = " ".join(bookmark.get_title().split())
                if index is not None and 0 <= index < count and title:
                    outline.setdefault(index, []).append(
                        Heading(0, bookmark.level + 1, title)
                    )
            title = str(document.get_metadata_value("Title") or "").strip()
            return _Layout(count, labels, outline, title)
        except Exception as exc:  # an odd outline or label: pypdf reads them
            log.info("%s: pdfium could not read the layout (%s)", path.name, exc)
            return None
        finally:
            document.close()


def _bookmark_page(document: Any, bookmark: Any) -> int | None:
    """A bookmark's 0-based page: its destination, or its GoTo action's."""
    import pypdfium2.raw as pdfium_c

    dest = bookmark.get_dest()
    if dest is not None:
        return int(dest.get_index())
    action = pdfium_c.FPDFBookmark_GetAction(bookmark.raw)
    if not action:
        return None
    raw = pdfium_c.FPDFAction_GetDest(document.raw, action)
    if not raw:
        return None
    index = int(pdfium_c.FPDFDest_GetDestPageIndex(document.raw, raw))
    return index if index >= 0 else None


def pypdf_layout(reader: Any) -> _Layout:
    try:
        labels = list(reader.page_labels)
    except Exception:
        labels = []
    title = ""
    try:
        metadata = reader.metadata
        title = str((metadata.title if metadata else "") or "").strip()
    except Exception:
        title = ""
    return _Layout(len(reader.pages), labels, _outline_by_page(reader), title)


def clean_page_text(text: str) -> str:
    return (
        text.replace("\r\n", "\n")
        .replace("\r", "\n")
        .replace(_LINE_END_HYPHEN, "")
        .replace("\x00", "")
    )


class _Pdfium:
    """Text and scans of an open pdfium document's pages."""

    def __init__(self, document: Any) -> None:
        self.document = document

    def text(self, index: int) -> str:
        page = self.document[index]
        try:
            textpage = page.get_textpage()
            try:
                return str(textpage.get_text_bounded())
            finally:
                textpage.close()
        finally:
            page.close()

    def size(self, index: int) -> tuple[float, float]:
        page = self.document[index]
        try:
            width, height = page.get_size()
            return float(width), float(height)
        finally:
            page.close()

    def has_text(self, index: int) -> bool:
        """The page draws text (pdfium failed on a page that has some, or the
        page is blank: only then is pypdf asked)."""
        import pypdfium2.raw as pdfium_c

        page = self.document[index]
        try:
            objects = page.get_objects(
                filter=(pdfium_c.FPDF_PAGEOBJ_TEXT,), max_depth=3
            )
            return next(iter(objects), None) is not None
        finally:
            page.close()

    def scan(self, index: int, letters: int) -> Any:
        """The page as an RGB image when it is a scan (an image and no text
        layer to speak of), else None."""
        import pypdfium2.raw as pdfium_c

        page = self.document[index]
        try:
            width, height = page.get_size()
            covered = 0.0
            for image in page.get_objects(
                filter=(pdfium_c.FPDF_PAGEOBJ_IMAGE,), max_depth=3
            ):
                bounds = getattr(image, "get_bounds", None) or image.get_pos
                left, bottom, right, top = bounds()
                covered = max(covered, (right - left) * (top - bottom))
            if covered <= 0 or (
                letters >= MIN_SCAN_LETTERS and covered < width * height / 2
            ):
                return None
            bitmap = page.render(scale=ocr_scale(width, height), rev_byteorder=True)
            return bitmap.to_numpy()[:, :, :3]
        finally:
            page.close()


def ocr_scale(width_pt: float, height_pt: float) -> float:
    """Pixels per point to render a scan at: OCR_DPI, unless the page is so large
    that it would pass OCR_MAX_PIXELS (a 7,200 pt page at 200 dpi is 400
    megapixels, 3.6 GB): then what fits the budget."""
    scale = OCR_DPI / 72
    area = max(width_pt * height_pt, 1.0)
    if area * scale * scale > OCR_MAX_PIXELS:
        scale = (OCR_MAX_PIXELS / area) ** 0.5
    return scale


@contextmanager
def _pdfium_pages(path: Path) -> Iterator[_Pdfium | None]:
    """The open document, or None when pdfium can't open it."""
    with _PDFIUM_LOCK:
        try:
            import pypdfium2 as pdfium

            document = pdfium.PdfDocument(str(path))
        except Exception as exc:  # pypdf's reading decides what is damaged
            log.info("%s: pdfium could not open it (%s); using pypdf", path.name, exc)
            yield None
            return
        try:
            yield _Pdfium(document)
        finally:
            document.close()


def parse_pdf(
    path: Path,
    limits: ParseLimits = DEFAULT_LIMITS,
    engine: Engine | None = None,
) -> ParsedDocument:
    document = open_pdf(path, limits, engine).read_all()
    if not any(p.text.strip() for p in document.pages):
        raise IngestError(path, NO_TEXT_LAYER)
    return document


def open_pdf(
    path: Path,
    limits: ParseLimits = DEFAULT_LIMITS,
    engine: Engine | None = None,
) -> DocumentStream:
    """The PDF's title and page count at once, its pages as they are read."""
    from pypdf import PdfReader

    engine = engine or DEFAULT_ENGINE
    with path.open("rb") as handle:
        if b"%PDF" not in handle.read(1024):
            raise IngestError(
                path, "not a PDF file (the content does not start like a PDF)"
            )
    with _damage_reported(path):
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
        layout = pdfium_layout(path) or pypdf_layout(reader)
    if not layout.page_count:
        raise IngestError(path, "the PDF has no pages")
    pages = _read_pages(path, reader, layout, engine, limits)
    return DocumentStream(
        path, layout.title or path.stem, "pdf", layout.page_count, pages
    )


@contextmanager
def _damage_reported(path: Path) -> Iterator[None]:
    from pypdf.errors import PdfReadError

    try:
        yield
    except IngestError:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, OSError) as exc:
        raise IngestError(
            path, f"the PDF is damaged and cannot be read ({exc})"
        ) from exc


def locate_headings(text: str, headings: tuple[Heading, ...]) -> tuple[Heading, ...]:
    """Outline entries only name their page: place each where its title stands
    on the page (a line that starts with it, else anywhere; else the top), so a
    passage gets the heading in force where it starts, not the page's last one."""
    placed = []
    for heading in headings:
        words = heading.title.split()
        offset = 0
        if words:
            pattern = r"\s+".join(re.escape(w) for w in words)
            found = re.search(r"(?m)^[ \t]*(" + pattern + ")", text) or re.search(
                pattern, text
            )
            if found:
                offset = found.start(found.lastindex or 0)
        placed.append(Heading(offset, heading.level, heading.title))
    return tuple(sorted(placed, key=lambda h: h.offset))


def _read_pages(
    path: Path,
    reader: Any,
    layout: _Layout,
    engine: Engine,
    limits: ParseLimits,
) -> Iterator[Page]:
    """Page texts; stops as soon as the document's text passes the limit (one
    real PDF drew an 8 MB content stream on each of its 1,000 pages: 8 GB)."""

    def pypdf_text(index: int) -> str:
        try:
            return str(reader.pages[index].extract_text() or "")
        except Exception as exc:
            log.warning("%s: page %d unreadable: %s", path.name, index + 1, exc)
            return ""

    total = 0
    with _pdfium_pages(path) as pdfium, _damage_reported(path):
        for index in range(layout.page_count):
            if limits.cancel is not None and limits.cancel.cancelled:
                raise IngestError(path, "stopped by the user")
            text = ""
            if engine == "pdfium" and pdfium is not None:
                try:
                    text = pdfium.text(index)
                except Exception as exc:
                    log.warning(
                        "%s: pdfium failed on page %d: %s", path.name, index + 1, exc
                    )
            if not text.strip() and (pdfium is None or pdfium.has_text(index)):
                text = pypdf_text(index)  # (listing pypdf's pages takes seconds)
            text = clean_page_text(text)
            if pdfium is not None:
                _refuse_overfull(path, pdfium, index, len(text))
            boxes: tuple[TextBox, ...] = ()
            scanned = False
            if pdfium is not None:
                text, boxes, scanned = _read_scan(path, pdfium, index, text)
            total += len(text)
            if total > limits.max_chars:
                raise IngestError(
                    path,
                    f"too large: more than {limits.max_chars / 1e6:.0f} million "
                    "characters "
                    f"of text by page {index + 1} of {layout.page_count} (split the "
                    "file)",
                )
            labels = layout.labels
            label = labels[index] if index < len(labels) else str(index + 1)
            yield Page(
                index + 1,
                text,
                label,
                locate_headings(text, tuple(layout.outline.get(index, ()))),
                boxes,
                scanned,
            )


def _refuse_overfull(path: Path, pdfium: _Pdfium, index: int, chars: int) -> None:
    """A page whose text would not fit on it legibly is a generated or hostile
    file (100,000 tiny text operations drawn on each of 200 pages: hours of
    embedding); refused before its text is chunked."""
    if chars <= 10_000:
        return
    width, height = pdfium.size(index)
    if chars > width * height / MIN_PT2_PER_CHAR:
        raise IngestError(
            path,
            f"page {index + 1} draws {chars:,} characters on a {width:.0f} x "
            f"{height:.0f} pt page, more text than a page can show (a generated "
            "file); not read",
        )


def _read_scan(
    path: Path, pdfium: _Pdfium, index: int, text: str
) -> tuple[str, tuple[TextBox, ...], bool]:
    """The page's OCR'd text and line boxes when it is a scan and OCR reads more
    than its text layer holds; else the text layer as it is. The flag: the page
    is a scan (OCR read it, whatever it found)."""
    letters = sum(ch.isalnum() for ch in text)
    if letters >= SCAN_MAX_LETTERS:
        return text, (), False
    try:
        image = pdfium.scan(index, letters)
        if image is None:
            return text, (), False
        from assistant.core.ingest import ocr

        found, boxes = ocr.recognize(image)
    except Exception as exc:  # OCR missing or failing: the page keeps its text
        log.warning(
            "%s: OCR failed on page %d: %s",
            path.name,
            index + 1,
            f"{type(exc).__name__} {exc}".rstrip(),
        )
        return text, (), False
    if sum(ch.isalnum() for ch in found) <= letters:
        return text, (), True
    return found, boxes, True
