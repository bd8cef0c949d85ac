"""Make small real documents (PDF, DOCX, HTML, ...) for tests."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any


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


def scanned_page(
    pdf: Path,
    lines: Sequence[str],
    angle: float = 1.5,
    noise: int = 30,
    points: float = 13,
    dpi: int = 150,
) -> Any:
    """A page as a scanner sees it: ``lines`` (and an appendix line below them)
    typeset at ``points`` in a real PDF at ``pdf``, rendered at ``dpi``, turned by
    ``angle`` degrees, with +-``noise`` grain. An RGB uint8 array."""
    import numpy as np
    import pypdfium2 as pdfium
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    page = canvas.Canvas(str(pdf), pagesize=A4)
    page.setFont("Helvetica", points)
    for n, line in enumerate(lines):
        page.drawString(72, 760 - n * points * 1.7, line)
    page.drawString(72, 560, "Appendix: contact the operator on call.")
    page.save()
    document = pdfium.PdfDocument(str(pdf))
    image = document[0].render(scale=dpi / 72).to_pil().convert("RGB")
    document.close()
    image = image.rotate(angle, expand=True, fillcolor=(255, 255, 255))
    pixels = np.asarray(image).astype(np.int16)
    rng = np.random.default_rng(7)
    pixels += rng.integers(-noise, noise + 1, size=pixels.shape, dtype=np.int16)
    return np.clip(pixels, 0, 255).astype(np.uint8)


def image_pdf(pages: Sequence[Any], path: Path) -> Path:
    """An image-only PDF, one scan (RGB array) a page, no text layer."""
    from PIL import Image

    images = [Image.fromarray(p) for p in pages]
    images[0].save(path, "PDF", resolution=150, save_all=True, append_images=images[1:])
    return path


def encrypt_in_epub(book: Path, uri: str) -> Path:
    """List ``uri`` in the book's META-INF/encryption.xml, as DRM (or font
    obfuscation) does; the member itself is left as it is."""
    import zipfile

    with zipfile.ZipFile(book, "a") as archive:
        archive.writestr(
            "META-INF/encryption.xml",
            '<encryption xmlns="urn:oasis:names:tc:opendocument:xmlns:container"'
            ' xmlns:enc="http://www.w3.org/2001/04/xmlenc#"><enc:EncryptedData>'
            f'<enc:CipherData><enc:CipherReference URI="{uri}"/></enc:CipherData>'
            "</enc:EncryptedData></encryption>",
        )
    return book


def make_epub(
    path: Path,
    chapters: Sequence[tuple[str, str]],
    title: str = "A Small Book",
    container: str | None = None,
) -> Path:
    """An EPUB 3 with one XHTML file a chapter of (heading, paragraph text);
    ``container`` replaces META-INF/container.xml (for broken books)."""
    import zipfile

    manifest = "".join(
        f'<item id="c{n}" href="text/ch{n}.xhtml" media-type="application/xhtml+xml"/>'
        for n in range(len(chapters))
    )
    spine = "".join(f'<itemref idref="c{n}"/>' for n in range(len(chapters)))
    opf = (
        '<?xml version="1.0"?><package xmlns="http://www.idpf.org/2007/opf" '
        'version="3.0"><metadata xmlns:dc="http://purl.org/dc/elements/1.1/">'
        f"<dc:title>{title}</dc:title></metadata><manifest>{manifest}</manifest>"
        f"<spine>{spine}</spine></package>"
    )
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as book:
        book.writestr("mimetype", "application/epub+zip", zipfile.ZIP_STORED)
        book.writestr(
            "META-INF/container.xml",
            container
            or '<?xml version="1.0"?><container version="1.0" xmlns='
            '"urn:oasis:names:tc:opendocument:xmlns:container"><rootfiles>'
            '<rootfile full-path="OEBPS/content.opf" media-type='
            '"application/oebps-package+xml"/></rootfiles></container>',
        )
        book.writestr("OEBPS/content.opf", opf)
        for n, (heading, text) in enumerate(chapters):
            book.writestr(
                f"OEBPS/text/ch{n}.xhtml",
                '<html xmlns="http://www.w3.org/1999/xhtml"><head><title>'
                f"{heading}</title></head><body><h1>{heading}</h1><p>{text}</p>"
                "</body></html>",
            )
    return path
