"""Generator of awkward and broken input files, each with what the user must see.

``make_cases(folder)`` writes the files and returns the cases; ``expect`` is a
regular expression the failure reason must match, or None when the file must be
indexed fine.
"""

from __future__ import annotations

import io
import os
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from docgen import FILLER, encrypt_in_epub, make_docx, make_epub, make_pdf


@dataclass(frozen=True)
class Case:
    name: str
    path: Path
    expect: str | None  # regex for the failure reason; None = must succeed


def _encrypted_pdf(path: Path, source: Path) -> None:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter()
    for page in PdfReader(str(source)).pages:
        writer.add_page(page)
    writer.encrypt("secret-password")
    with path.open("wb") as handle:
        writer.write(handle)


def _image_only_pdf(path: Path) -> None:
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    pdf = canvas.Canvas(str(path), pagesize=A4)
    pdf.rect(100, 100, 300, 400, fill=1)
    pdf.showPage()
    pdf.save()


def _png_claiming(path: Path, width: int, height: int) -> None:
    """A tiny PNG whose header declares ``width`` x ``height`` pixels."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 1000))
        + chunk(b"IEND", b"")
    )


def _image_cases(add: Callable[[str, str | None], Path]) -> None:
    import numpy as np
    from PIL import Image

    Image.new("RGB", (800, 600), "white").save(add("blank.png", "no text found"))
    noise = np.random.default_rng(5).integers(0, 256, (500, 700, 3), dtype=np.uint8)
    Image.fromarray(noise).save(add("noise.png", "no text found"))
    _png_claiming(add("bomb.png", "megapixel limit"), 100_000, 100_000)
    blank = [Image.new("L", (16, 16), 255) for _ in range(1001)]
    blank[0].save(
        add("frames1001.tiff", "1,001 frames"), save_all=True, append_images=blank[1:]
    )
    blank[0].save(
        add("frames500.tiff", "no text found"),
        save_all=True,
        append_images=blank[1:500],
    )
    add("broken.png", "not a readable image").write_bytes(
        b"\x89PNG\r\n\x1a\n" + os.urandom(400)
    )
    photo = io.BytesIO()
    Image.fromarray(noise).save(photo, "JPEG", quality=90)
    add("truncated.jpg", "damaged").write_bytes(photo.getvalue()[:4000])
    with add("huge.tiff", "limit").open("wb") as handle:  # sparse: no disk used
        handle.truncate(300 * 2**20)


def _epub_cases(add: Callable[[str, str | None], Path]) -> None:
    chapters = [("One", "The first chapter of a fine book. " * 5)]
    make_epub(add("fine.epub", None), chapters)
    make_epub(
        add("broken-container.epub", "container.xml is not valid XML"),
        chapters,
        container="<container><rootfiles><rootfile",
    )
    make_epub(
        add("wrong-rootfile.epub", "names OEBPS/missing.opf"),
        chapters,
        container="<container><rootfiles><rootfile full-path="
        '"OEBPS/missing.opf"/></rootfiles></container>',
    )
    with zipfile.ZipFile(add("bomb.epub", "zip bomb"), "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("META-INF/container.xml", "<container/>")
        with z.open("OEBPS/zeros.xhtml", "w", force_zip64=True) as member:
            block = b"\0" * 2**20
            for _ in range(600):  # 600 MB of zeros in ~600 KB
                member.write(block)
    with zipfile.ZipFile(
        add("no-container.epub", "no META-INF/container.xml"), "w"
    ) as z:
        z.writestr("mimetype", "application/epub+zip")
    add("notzip.epub", "not a zip archive").write_bytes(b"<html>not a book</html>")
    # probe 2: DRM (encrypted chapters) refused by name; fonts merely obfuscated
    # the same way are no reason to refuse a book
    for name, uri, expect in (
        ("drm.epub", "OEBPS/text/ch0.xhtml", "DRM-protected"),
        ("obfuscated-font.epub", "OEBPS/fonts/a.otf", None),
    ):
        encrypt_in_epub(make_epub(add(name, expect), chapters), uri)
    deep = "<span>" * 200_000 + "Deep text about the boiler. " * 3 + "</span>" * 200_000
    make_epub(add("deep-nesting.epub", None), [("Deep", deep)])
    add("deep-nesting.html", None).write_text(f"<html><body>{deep}</body></html>")


def make_cases(folder: Path, huge_mb: int = 500) -> list[Case]:
    folder.mkdir(parents=True, exist_ok=True)
    cases: list[Case] = []

    def add(name: str, expect: str | None) -> Path:
        path = folder / name
        cases.append(Case(name, path, expect))
        return path

    good = make_pdf(
        folder / ".good-source.pdf", [FILLER, "Second page text. " + FILLER]
    )
    data = good.read_bytes()
    add("truncated.pdf", "damaged|no text found").write_bytes(data[: len(data) // 3])
    add("garbage.pdf", "damaged|no pages|could not").write_bytes(
        b"%PDF-1.7\n" + os.urandom(2000)
    )
    _encrypted_pdf(add("locked.pdf", "encrypted"), good)
    _image_only_pdf(add("scanned.pdf", "no text found"))
    add("zero.pdf", "empty").write_bytes(b"")
    add("zero.txt", "empty").write_bytes(b"")
    with add("huge.txt", "limit").open("wb") as handle:  # sparse: no real disk used
        handle.truncate(huge_mb * 2**20)
    add("picture.pdf", "not a PDF").write_bytes(b"\x89PNG\r\n\x1a\n" + os.urandom(500))
    junk = io.BytesIO()
    with zipfile.ZipFile(junk, "w") as archive:
        archive.writestr("random.bin", os.urandom(300))
    add("junk.docx", "not a readable Word").write_bytes(junk.getvalue())
    add("notzip.docx", "not a readable Word").write_bytes(b"PK\x03\x04garbage")
    add("binary.txt", "binary|encoding").write_bytes(bytes(range(256)) * 20)
    add("whitespace.md", "no text").write_text("   \n\n\t\n")
    add("script-heavy.html", None).write_text(
        "<html><body><script>" + "var x = 1;" * 500_000 + "</script>"
        "<p>Visible paragraph about turbines.</p></body></html>"
    )
    add("gbk.txt", None).write_bytes(
        "涡轮机的叶片需要每年检查一次。".encode("gbk") * 20
    )
    add("latin1.txt", None).write_bytes(
        "Turbine café résumé naïve. ".encode("latin-1") * 20
    )
    add("utf16.txt", None).write_bytes(
        "Turbine blades, UTF-16 text. ".encode("utf-16") * 20
    )
    add("名字 with spaces ü.md", None).write_text("# Título\n\nUnicode name works.")
    make_docx(add("fine.docx", None), [("h1", "Fine"), ("p", "A normal Word file.")])
    add("program.exe", "unsupported").write_bytes(b"MZ" + os.urandom(100))
    (folder / "loop").mkdir(exist_ok=True)
    link = folder / "loop" / "back"
    if not link.exists():
        link.symlink_to(folder)
    make_docx(add("empty.docx", "no text"), [])
    _image_cases(add)
    _epub_cases(add)
    add("missing.pdf", "not found")  # never created
    return cases
