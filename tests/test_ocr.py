"""Offline OCR (RapidOCR's PP-OCRv4 models from its wheel) on a scanned page made
here: a real PDF page rendered to an image with noise and a slight rotation."""

from __future__ import annotations

import numpy as np
import pytest
from docgen import image_pdf, scanned_page

from assistant.core.ingest import ocr

LINES = [
    "Backups are written to the archive folder every night at two.",
    "The retention period for weekly snapshots is eleven weeks.",
    "Restore a file with the command restore --from snapshot.",
]


def _scanned_page(tmp_path, angle: float = 1.5, noise: int = 30) -> np.ndarray:
    return scanned_page(tmp_path / "page.pdf", LINES, angle, noise)


@pytest.mark.slow
def test_scanned_page_text_lines_and_boxes(tmp_path):
    text, boxes = ocr.recognize(_scanned_page(tmp_path))
    words = " ".join(text.split()).lower()
    for line in LINES:
        assert " ".join(line.lower().split()[:4]) in words, (line, text)
    assert "eleven weeks" in words
    # one box per line, each naming its own span of the text, inside the page
    assert len(boxes) == len(LINES) + 1
    for box in boxes:
        assert 0 <= box.x0 < box.x1 <= 1 and 0 <= box.y0 < box.y1 <= 1
        assert text[box.start : box.end].strip() == text[box.start : box.end]
    assert [b.y0 for b in boxes] == sorted(b.y0 for b in boxes)
    # the appendix stands apart from the paragraph: a blank line between them
    assert "\n\nAppendix" in text


@pytest.mark.slow
def test_blank_and_noise_pages_give_no_text():
    white = np.full((1200, 900, 3), 255, dtype=np.uint8)
    assert ocr.recognize(white) == ("", ())
    noise = np.random.default_rng(3).integers(0, 256, (1200, 900, 3), dtype=np.uint8)
    assert ocr.recognize(noise) == ("", ())


def test_full_width_punctuation_in_english_lines_becomes_ascii():
    assert ocr.normalized("c(1,2，3)，nrow = 2）") == "c(1,2,3),nrow = 2)"
    assert ocr.normalized("默认值是 3，不是 4。") == "默认值是 3，不是 4。"


@pytest.mark.slow
def test_scanned_pdf_is_read_by_ocr_and_its_passages_carry_line_boxes(
    library, tmp_path
):
    from assistant.core.ingest import parse_file

    blank = np.full((1754, 1240, 3), 255, dtype=np.uint8)
    pdf = image_pdf([_scanned_page(tmp_path), blank], tmp_path / "scan.pdf")
    document = parse_file(pdf, 2**30)
    first, second = document.pages
    assert "eleven weeks" in " ".join(first.text.split()).lower()
    assert len(first.boxes) == len(LINES) + 1
    assert second.text == "" and second.boxes == ()  # a blank scan: no garbage

    report = library.ingest([pdf])
    assert report.added and not report.failed
    # the blank scan is named in a note on the file, not passed over in silence
    [note] = report.notes
    assert note.path == str(pdf)
    assert note.reason.startswith("OCR read no text on 1 scanned page (2)")
    hit = library.search("retention period for weekly snapshots", top_k=1)[0]
    assert hit.page == 1 and hit.boxes
    # the boxes are those of the passage's own lines, in reading order
    for box in hit.boxes:
        assert 0 <= box.x0 < box.x1 <= 1 and 0 <= box.y0 < box.y1 <= 1
    assert "retention" in hit.text.lower()


@pytest.mark.slow
def test_image_files_and_tiff_frames_are_pages(library, tmp_path):
    from PIL import Image

    from assistant.core.ingest import parse_file

    page = Image.fromarray(_scanned_page(tmp_path))
    page.save(tmp_path / "notice.png")
    page.convert("L").save(tmp_path / "notice.jpg", quality=85)
    white = Image.new("RGB", page.size, "white")
    page.save(tmp_path / "book.tiff", save_all=True, append_images=[white, page])
    for name in ("notice.png", "notice.jpg"):
        document = parse_file(tmp_path / name, 2**30)
        assert document.kind == "image" and len(document.pages) == 1
        assert "eleven weeks" in " ".join(document.pages[0].text.split()).lower()
    book = parse_file(tmp_path / "book.tiff", 2**30)
    assert [bool(p.text) for p in book.pages] == [True, False, True]
    assert [p.number for p in book.pages] == [1, 2, 3]

    report = library.ingest([tmp_path / "book.tiff"])
    assert report.added and not report.failed
    assert [n.reason.split(":")[0] for n in report.notes] == [
        "OCR read no text on 1 scanned frame (2)"
    ]
    hits = library.search("restore a file from a snapshot", top_k=5)
    assert {h.page for h in hits if h.path.endswith("book.tiff")} <= {1, 3}
    assert all(h.boxes for h in hits)


SMALL_TYPE = [
    "Club technicians and pilots who hold a basic maintenance authorisation may",
    "inspect the tow release, the canopy lock and the brake fluid level before",
    "the first flight of the day. Work not described here goes to a workshop.",
]


@pytest.mark.slow
def test_small_type_keeps_the_spaces_between_its_words(tmp_path):
    """9-point type read at 200 dpi: the recogniser may run words together
    ("pilotswhohold"; on some CPUs it did, on others not); the gaps on the page
    put the spaces back, and no word is split."""
    image = scanned_page(
        tmp_path / "small.pdf", SMALL_TYPE, angle=0, noise=0, points=9, dpi=200
    )
    text, _ = ocr.recognize(image)
    read = {word.strip(".,") for word in text.split()}
    words = [word.strip(".,") for line in SMALL_TYPE for word in line.split()]
    assert [word for word in words if word not in read] == [], text
