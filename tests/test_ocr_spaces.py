"""Spaces the recogniser dropped between words, put back from the page image."""

from __future__ import annotations

import numpy as np

from assistant.core.ingest.ocr_spaces import restore_spaces


def _line(widths_gaps: list[tuple[str, int, int]]) -> tuple[np.ndarray, list, list]:
    """A white strip with one black bar per character: (char, width, gap after)."""
    gray = np.full((40, 400), 255, dtype=np.uint8)
    boxes, chars, x = [], [], 10
    for ch, width, gap in widths_gaps:
        gray[10:30, x : x + width] = 0
        boxes.append([[x, 8], [x + width, 8], [x + width, 32], [x, 32]])
        chars.append(ch)
        x += width + gap
    return gray, boxes, chars


def test_a_word_gap_in_the_ink_becomes_a_space():
    letters = [(c, 6, 2) for c in "club"] + [("s", 6, 10)] + [(c, 6, 2) for c in "who"]
    gray, boxes, chars = _line(letters)
    assert restore_spaces(gray, "clubswho", boxes, chars) == "clubs who"


def test_even_letter_gaps_stay_one_word():
    # monospaced type: every gap alike, however wide
    gray, boxes, chars = _line([(c, 4, 7) for c in "function"])
    assert restore_spaces(gray, "function", boxes, chars) == "function"


def test_existing_spaces_kept_and_nothing_doubled():
    letters = [("a", 6, 2), ("b", 6, 10), (" ", 0, 0), ("c", 6, 2), ("d", 6, 2)]
    gray, boxes, chars = _line(letters)
    assert restore_spaces(gray, "ab cd", boxes, chars) == "ab cd"


def test_cjk_lines_and_mismatched_boxes_are_left_as_read():
    letters = [(c, 6, 12) for c in "默认值是"]
    gray, boxes, chars = _line(letters)
    assert restore_spaces(gray, "默认值是", boxes, chars) == "默认值是"
    gray, boxes, chars = _line([(c, 6, 2) for c in "ab"] + [("c", 6, 12), ("d", 6, 2)])
    assert restore_spaces(gray, "abcd", boxes[:3], chars[:3]) == "abcd"
    blank = np.full((40, 400), 255, dtype=np.uint8)  # no contrast: no ink to read
    assert restore_spaces(blank, "abcd", boxes, chars) == "abcd"
