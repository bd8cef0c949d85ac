"""Spaces the recogniser dropped between words, put back from the image.

PP-OCRv4's recogniser runs words of small, tightly set English type together
("clubtechnicians and pilotswhohold"), which blinds full-text search on a scan.
The gap between two words on the page is still there: in a line's ink, the blank
columns between letters of a word are a fraction of those between words (at
200 dpi, 9 pt: 3-4 px against 8-13 px). For each pair of adjacent letters the
recogniser wrote without a space, the widest blank run between their positions
(from the decoder's columns) is measured; a run as wide as a word gap gets a
space. Lines with CJK text are left as read (no spaces between its words).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from assistant.core.search_text import has_cjk

WORD_GAP = 0.22
"""A blank run at least this share of the line's height separates two words..."""
LETTER_GAPS = 2.0
"""...and at least this many times the line's typical gap between its letters
(monospaced type has wide gaps beside narrow letters such as "i")."""
_BEFORE = frozenset(".,;:!?)]")
"""Punctuation that a word may follow directly ("authorisation.Work")."""


def restore_spaces(
    gray: np.ndarray,
    text: str,
    boxes: Sequence[Sequence[Sequence[float]]],
    chars: Sequence[str],
) -> str:
    """``text`` with a space wherever the page shows a word gap between two of
    its letters. ``gray``: the page (H x W, 0 = black); ``boxes``: one
    quadrilateral per character of ``chars`` (page pixels), as RapidOCR reports
    them with ``return_word_box``. Unchanged when the boxes do not match."""
    if not text or len(chars) != len(boxes) or "".join(chars) != text or has_cjk(text):
        return text
    quads = [np.asarray(box, dtype=np.float64).reshape(-1, 2) for box in boxes]
    if any(quad.shape[0] < 2 for quad in quads):
        return text
    top = max(0, int(min(quad[:, 1].min() for quad in quads)))
    bottom = min(gray.shape[0], int(np.ceil(max(quad[:, 1].max() for quad in quads))))
    if bottom - top < 4:
        return text
    level = _ink_level(gray[top:bottom])
    if level < 0:
        return text
    height = float(np.median([quad[:, 1].max() - quad[:, 1].min() for quad in quads]))
    gaps: list[tuple[int, int]] = []  # (index of the right letter, widest blank run)
    for left in range(len(chars) - 1):
        right = left + 1
        a, b = chars[left], chars[right]
        if not (a.isalnum() or a in _BEFORE) or not b.isalnum():
            continue
        x0 = int(quads[left][:, 0].mean())
        x1 = int(np.ceil(quads[right][:, 0].mean()))
        if x1 - x0 < 2:
            continue
        y0 = max(top, int(min(quads[left][:, 1].min(), quads[right][:, 1].min())))
        y1 = min(bottom, int(max(quads[left][:, 1].max(), quads[right][:, 1].max())))
        band = gray[y0:y1, max(x0, 0) : min(x1, gray.shape[1])]
        if band.size == 0:
            continue
        gaps.append((right, _widest_blank_run(band, level)))
    if not gaps:
        return text
    letters = float(np.median([run for _, run in gaps]))
    cut = max(WORD_GAP * height, LETTER_GAPS * letters, 2.0)
    spaced = {right for right, run in gaps if run >= cut}
    if not spaced:
        return text
    return "".join((" " if i in spaced else "") + ch for i, ch in enumerate(chars))


def _ink_level(strip: np.ndarray) -> float:
    """Grey level below which a pixel of the line is ink: halfway between its
    dark and its light end (a grey scan background stays paper)."""
    dark, light = np.percentile(strip, (2, 90))
    return float(dark + light) / 2 if light - dark > 40 else -1.0


def _widest_blank_run(band: np.ndarray, level: float) -> int:
    blank = np.logical_not((band < level).any(axis=0)).tolist()
    best = run = 0
    for column in blank:
        run = run + 1 if column else 0
        best = max(best, run)
    return best
