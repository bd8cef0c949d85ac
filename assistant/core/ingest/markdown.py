"""Markdown kept as written (offsets point into the file), with ATX headings."""

from __future__ import annotations

import re
from pathlib import Path

from assistant.core.ingest.textfile import read_text
from assistant.core.types import Heading, Page, ParsedDocument

_HEADING = re.compile(r"^(#{1,6})[ \t]+(.+?)[ \t#]*$", re.MULTILINE)
_FENCE = re.compile(r"^(```|~~~).*?^\1", re.MULTILINE | re.DOTALL)


def parse_markdown(path: Path) -> ParsedDocument:
    text = read_text(path)
    fenced = [(m.start(), m.end()) for m in _FENCE.finditer(text)]
    headings = tuple(
        Heading(m.start(), len(m.group(1)), m.group(2).strip())
        for m in _HEADING.finditer(text)
        if not any(a <= m.start() < b for a, b in fenced)
    )
    title = next((h.title for h in headings if h.level == 1), path.stem)
    return ParsedDocument(path, title, "md", [Page(None, text, headings=headings)])
