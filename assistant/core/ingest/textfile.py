"""Plain text with its encoding detected rather than assumed to be UTF-8."""

from __future__ import annotations

import codecs
from pathlib import Path

from charset_normalizer import from_bytes

from assistant.core.errors import IngestError
from assistant.core.types import DEFAULT_LIMITS, Page, ParsedDocument, ParseLimits

_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


_WESTERN = ("cp1252", "latin_1", "iso8859_15")


def decode_bytes(data: bytes, path: Path) -> str:
    """Decode by BOM, then strict UTF-8, then charset detection."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return data.decode(encoding, errors="replace")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    matches = from_bytes(data[: 4 * 1024 * 1024])
    best = matches.best()
    if best is None or best.encoding is None:
        raise IngestError(path, "not a text file (its encoding could not be detected)")
    # Short Western text fits many code pages equally well; among equally clean
    # readings prefer the most common one (Windows-1252, a superset of Latin-1).
    encoding = best.encoding
    for match in matches:
        if match.encoding in _WESTERN and match.chaos <= best.chaos:
            encoding = match.encoding
            break
    return data.decode(encoding, errors="replace")


def read_text(path: Path) -> str:
    data = path.read_bytes()
    text = decode_bytes(data, path)
    if "\x00" in text[:8192]:
        raise IngestError(path, "looks like a binary file, not text")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def parse_text(path: Path, limits: ParseLimits = DEFAULT_LIMITS) -> ParsedDocument:
    text = read_text(path)
    return ParsedDocument(
        path=path, title=path.stem, kind="txt", pages=[Page(None, text)]
    )
