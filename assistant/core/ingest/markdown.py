"""Markdown kept as written (offsets point into the file), with ATX headings."""

from __future__ import annotations

import bisect
import re
from pathlib import Path

from assistant.core.ingest.textfile import read_text
from assistant.core.types import (
    DEFAULT_LIMITS,
    Heading,
    Page,
    ParsedDocument,
    ParseLimits,
)

_HEADING = re.compile(r"^(#{1,6})[ \t]+([^\n]*)", re.MULTILINE)
"""The title's closing #s and blanks are stripped in Python: as a lazy pattern
followed by ``[ \t#]*$`` it took quadratic time on a long line of spaces."""
_FENCE = re.compile(r"^(```|~~~).*?^\1", re.MULTILINE | re.DOTALL)


def parse_markdown(path: Path, limits: ParseLimits = DEFAULT_LIMITS) -> ParsedDocument:
    text = read_text(path)
    fenced = [(m.start(), m.end()) for m in _FENCE.finditer(text)]
    starts = [a for a, _ in fenced]

    def in_fence(position: int) -> bool:
        i = bisect.bisect_right(starts, position) - 1
        return i >= 0 and position < fenced[i][1]

    headings = tuple(
        Heading(m.start(), len(m.group(1)), title)
        for m in _HEADING.finditer(text)
        if (title := m.group(2).rstrip(" \t#").strip()) and not in_fence(m.start())
    )
    title = next((h.title for h in headings if h.level == 1), path.stem)
    return ParsedDocument(path, title, "md", [Page(None, text, headings=headings)])
