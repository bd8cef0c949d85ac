"""Offline OCR (RapidOCR's PP-OCRv4 models from its wheel) on a scanned page made
here: a real PDF page rendered to an image with noise and a slight rotation."""

from __future__ import annotations

import numpy as np
import pytest

from assistant.core.ingest import ocr

LINES = [
    "Backups are written to the archive folder every night at two.",
    "The retention period for weekly snapshots is eleven weeks.",
    "Restore a file with the command restore --from snapshot.",
]


def _scanned_page(tmp_path, angle: float = 1.5, noise: int = 30) -> np.ndarray:
    import pypdfium2 as pdfium
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    pdf = tmp_path / "page.pdf"
    page = canvas.Canvas(str(pdf), pagesize=A4)
    page.setFont("Helvetica", 13)
    for n, line in enumerate(LINES):
        page.drawString(72, 760 - n * 22, line)
    page.drawString(72, 560, "Appendix: contact the operator on call.")
    page.save()
    document = pdfium.PdfDocument(str(pdf))
    image = document[0].render(scale=150 / 72).to_pil().convert("RGB")
    document.close()
    image = image.rotate(angle, expand=True, fillcolor=(255, 255, 255))
    pixels = np.asarray(image).astype(np.int16)
    rng = np.random.default_rng(7)
    pixels += rng.integers(-noise, noise + 1, size=pixels.shape, dtype=np.int16)
    return np.clip(pixels, 0, 255).astype(np.uint8)


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
    assert ocr._normalized("c(1,2，3)，nrow = 2）") == "c(1,2,3),nrow = 2)"
    assert ocr._normalized("默认值是 3，不是 4。") == "默认值是 3，不是 4。"
