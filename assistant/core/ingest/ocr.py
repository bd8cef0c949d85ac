"""Offline OCR for image-only PDF pages and image files.

RapidOCR (``rapidocr-onnxruntime``) carries the PP-OCRv4 detection and
recognition models (Chinese + English) in its wheel and runs them on
onnxruntime: nothing is downloaded. Each recognised line keeps its box, so the
passage viewer can highlight an OCR'd passage on the page image.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from typing import Any

import numpy as np

from assistant.core.ingest.ocr_spaces import restore_spaces
from assistant.core.onnx_runtime import onnx_runtime
from assistant.core.search_text import has_cjk
from assistant.core.types import TextBox

MIN_LINE_SCORE = 0.6
"""Lines recognised with less confidence are dropped (noise, specks, bleed)."""
MIN_PAGE_CHARS = 8
"""A page that yields fewer letters than this is treated as blank."""
MAX_SIDE = 2400
"""RapidOCR scales larger images down to this before detecting text."""
RESTORE_SPACES = True
"""Put back the spaces the recogniser drops between words (ocr_spaces.py);
bench/ocr.py compares it with the recogniser's own text."""

_WIDE = re.compile(r"[\u3000-\u303f\uff00-\uffef]")
"""CJK and full-width punctuation."""

_LOCK = threading.Lock()
_ENGINE: Any = None


def _engine() -> Any:
    """The one recogniser of the process (loading it takes ~1 s)."""
    global _ENGINE
    if _ENGINE is None:
        try:
            from rapidocr_onnxruntime import RapidOCR
        except ImportError as exc:
            raise RuntimeError(
                "OCR is not installed (rapidocr-onnxruntime); "
                "run scripts/bootstrap.sh to install it"
            ) from exc
        onnx_runtime()  # telemetry off before the recogniser's sessions exist
        _ENGINE = RapidOCR(max_side_len=MAX_SIDE, print_verbose=False)
    return _ENGINE


def recognize(image: np.ndarray) -> tuple[str, tuple[TextBox, ...]]:
    """The text of an RGB image (H x W x 3, uint8) in reading order, one line per
    recognised line (a blank line between paragraphs), and each line's box as
    fractions of the image's width and height. ("", ()) for a blank page."""
    height, width = image.shape[:2]
    if height < 8 or width < 8:
        return "", ()
    with _LOCK:  # one page at a time: onnxruntime already uses every core
        # no line-angle classifier: it turned upright lines of a clean scan
        # upside down and their text was lost (a fifth of a page's lines;
        # characters read 0.91 -> 1.00 on the sample manual, bench/ocr.py)
        result, _ = _engine()(
            np.ascontiguousarray(image[:, :, ::-1]),
            use_cls=False,
            return_word_box=True,  # each character's place: for dropped spaces
        )
    gray = image.min(axis=2)
    lines = []
    letters = 0
    for points, text, score, *places in result or ():
        if RESTORE_SPACES and len(places) >= 2:
            text = restore_spaces(gray, str(text), places[0], places[1])
        text = normalized(" ".join(str(text).split()))
        count = sum(ch.isalnum() for ch in text)
        if float(score) < MIN_LINE_SCORE or count < 1:
            continue
        letters += count
        xs = [float(p[0]) for p in points]
        ys = [float(p[1]) for p in points]
        lines.append((min(ys), max(ys), min(xs), max(xs), text))
    if letters < MIN_PAGE_CHARS:
        return "", ()
    return _layout(lines, width, height)


def _layout(
    lines: list[tuple[float, float, float, float, str]], width: int, height: int
) -> tuple[str, tuple[TextBox, ...]]:
    """Rows of lines that share a baseline, top to bottom; paragraphs where the
    gap between rows is over a line's height."""
    lines.sort(key=lambda line: (line[0] + line[1]) / 2)
    rows: list[list[tuple[float, float, float, float, str]]] = []
    for line in lines:
        middle = (line[0] + line[1]) / 2
        if rows and abs(middle - _middle(rows[-1])) < (line[1] - line[0]) / 2:
            rows[-1].append(line)
        else:
            rows.append([line])
    heights = sorted(line[1] - line[0] for line in lines)
    line_height = heights[len(heights) // 2]
    parts: list[str] = []
    boxes: list[TextBox] = []
    offset = 0
    previous_bottom: float | None = None
    for row in rows:
        row.sort(key=lambda line: line[2])
        if previous_bottom is not None:
            gap = min(line[0] for line in row) - previous_bottom
            separator = "\n\n" if gap > line_height else "\n"
            parts.append(separator)
            offset += len(separator)
        for n, (top, bottom, left, right, text) in enumerate(row):
            if n:
                parts.append(" ")
                offset += 1
            parts.append(text)
            boxes.append(
                TextBox(
                    offset,
                    offset + len(text),
                    round(left / width, 5),
                    round(top / height, 5),
                    round(right / width, 5),
                    round(bottom / height, 5),
                )
            )
            offset += len(text)
        previous_bottom = max(line[1] for line in row)
    return "".join(parts), tuple(boxes)


def _middle(row: list[tuple[float, float, float, float, str]]) -> float:
    return sum((line[0] + line[1]) / 2 for line in row) / len(row)


def normalized(line: str) -> str:
    """The Chinese recogniser writes full-width punctuation (\uff0c \uff09) in
    English lines too; a line without CJK letters gets the ASCII forms."""
    if _WIDE.search(line) and not has_cjk(line):
        return unicodedata.normalize("NFKC", line)
    return line
