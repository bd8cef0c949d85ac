"""Readable text of an HTML page: blocks become paragraphs; scripts and styles go."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from bs4 import BeautifulSoup, Comment, NavigableString, Tag

from assistant.core.ingest.textfile import read_text
from assistant.core.types import (
    DEFAULT_LIMITS,
    Heading,
    Page,
    ParsedDocument,
    ParseLimits,
)

_SKIP = {"script", "style", "noscript", "template", "svg", "head", "iframe", "object"}
_HEADINGS = {"h1": 1, "h2": 2, "h3": 3, "h4": 4, "h5": 5, "h6": 6}
_BLOCKS = {
    "p",
    "div",
    "section",
    "article",
    "main",
    "header",
    "footer",
    "nav",
    "aside",
    "ul",
    "ol",
    "li",
    "table",
    "tr",
    "td",
    "th",
    "thead",
    "tbody",
    "pre",
    "blockquote",
    "figure",
    "figcaption",
    "dl",
    "dt",
    "dd",
    "form",
    "hr",
    "address",
    "details",
    "summary",
    "caption",
    *_HEADINGS,
}
_SPACES = re.compile(r"[ \t\r\f\v\u00a0]+")


class _Flattener:
    def __init__(self) -> None:
        self.paragraphs: list[str] = []
        self.headings: list[Heading] = []
        self._buffer: list[str] = []
        self._offset = 0

    def _emit(self, text: str, heading_level: int = 0) -> None:
        lines = (_SPACES.sub(" ", line).strip() for line in text.split("\n"))
        text = "\n".join(line for line in lines if line)
        if not text:
            return
        if heading_level:
            self.headings.append(
                Heading(self._offset, heading_level, " ".join(text.split()))
            )
        self.paragraphs.append(text)
        self._offset += len(text) + 2

    def flush(self) -> None:
        self._emit("".join(self._buffer))
        self._buffer.clear()

    def walk(self, root: Tag) -> None:
        """Depth first with a stack of its own, not recursion: a page may nest
        200,000 tags (Python's recursion limit is 1,000)."""
        stack: list[tuple[Iterator[object], bool]] = [(iter(root.children), False)]
        while stack:
            children, block = stack[-1]
            child = next(children, None)
            if child is None:
                stack.pop()
                if block:
                    self.flush()
                continue
            if isinstance(child, Comment):
                continue
            if isinstance(child, NavigableString):
                self._buffer.append(str(child))
                continue
            if not isinstance(child, Tag) or child.name in _SKIP:
                continue
            if child.name == "br":
                self._buffer.append("\n")
            elif child.name in _HEADINGS:
                self.flush()
                self._emit(child.get_text(" "), _HEADINGS[child.name])
            elif child.name in _BLOCKS:
                self.flush()
                stack.append((iter(child.children), True))
            else:
                stack.append((iter(child.children), False))


def html_text(markup: str | bytes) -> tuple[str, str, tuple[Heading, ...]]:
    """An HTML page's title, readable text and headings (offsets into the text)."""
    soup = BeautifulSoup(markup, "html.parser")
    title_tag = soup.find("title")
    title = title_tag.get_text(" ", strip=True) if title_tag else ""
    flattener = _Flattener()
    root = soup.body or soup
    flattener.walk(root)
    flattener.flush()
    return title, "\n\n".join(flattener.paragraphs), tuple(flattener.headings)


def parse_html(path: Path, limits: ParseLimits = DEFAULT_LIMITS) -> ParsedDocument:
    title, text, headings = html_text(read_text(path))
    if not title:
        title = next((h.title for h in headings if h.level == 1), path.stem)
    page = Page(None, text, headings=headings)
    return ParsedDocument(path, title, "html", [page])
