"""EPUB books: each chapter of the reading order (the OPF's spine) is a page, its
headings kept. The archive is checked before anything is unpacked: an EPUB is a
zip file, and a small one can inflate to gigabytes.

Read with zipfile and ElementTree rather than ``ebooklib``: ebooklib 0.20 refused
the Debian Live Manual's EPUB (a manifest href with a ``#fragment``), and real
books carry such slips; the container, the OPF and the spine are all a reader
needs.
"""

from __future__ import annotations

import posixpath
import zipfile
from pathlib import Path
from urllib.parse import unquote
from xml.etree import ElementTree

from assistant.core.errors import IngestError
from assistant.core.ingest.html import html_text
from assistant.core.types import DEFAULT_LIMITS, Page, ParsedDocument, ParseLimits

MAX_UNPACKED_MB = 512
"""What an EPUB's files may add up to once unpacked (novels are ~1 MB, a
picture-heavy manual ~100 MB)."""
MAX_RATIO = 200
"""Compression ratio beyond which a large member is a zip bomb (text deflates
about 3-10x; a bomb's runs of zeros 1000x)."""
MAX_CHAPTER_MB = 64
"""A chapter larger than this is not a chapter."""
_DOCUMENT_TYPES = ("application/xhtml+xml", "text/html", "application/xml")


def parse_epub(path: Path, limits: ParseLimits = DEFAULT_LIMITS) -> ParsedDocument:
    _check_archive(path)
    with zipfile.ZipFile(path) as archive:
        opf_path = _rootfile(path, archive)
        opf = _xml(path, archive, opf_path)
        base = posixpath.dirname(opf_path)
        manifest = {}
        for item in opf.iter():
            if _local(item.tag) == "item" and item.get("id") and item.get("href"):
                href = unquote(item.get("href", "").split("#", 1)[0])
                manifest[item.get("id")] = (
                    posixpath.normpath(posixpath.join(base, href)),
                    item.get("media-type", ""),
                )
        spine = [
            ref.get("idref", "") for ref in opf.iter() if _local(ref.tag) == "itemref"
        ]
        title = next(
            (
                " ".join((e.text or "").split())
                for e in opf.iter()
                if _local(e.tag) == "title" and (e.text or "").strip()
            ),
            "",
        )
        names = set(archive.namelist())
        locked = _encrypted(path, archive, names) & {
            manifest.get(idref, ("", ""))[0] for idref in spine
        }
        if locked:
            raise IngestError(
                path,
                f"the book is DRM-protected ({len(locked)} encrypted chapters, e.g. "
                f"{sorted(locked)[0]}); only DRM-free EPUBs can be read",
            )
        pages: list[Page] = []
        total = 0
        read: set[str] = set()
        for idref in spine:
            if limits.cancel is not None and limits.cancel.cancelled:
                raise IngestError(path, "stopped by the user")
            member, media = manifest.get(idref, ("", ""))
            if member not in names or (media and media not in _DOCUMENT_TYPES):
                continue  # a listed chapter that is missing, an image page
            if member in read:
                continue  # several manifest entries (file#fragment) for one file
            read.add(member)
            if archive.getinfo(member).file_size > MAX_CHAPTER_MB * 2**20:
                raise IngestError(
                    path, f"the EPUB's chapter {member} is over {MAX_CHAPTER_MB} MB"
                )
            _, text, headings = html_text(archive.read(member))
            if not text.strip():
                continue  # a cover, a blank separator page
            total += len(text)
            if total > limits.max_chars:
                raise IngestError(
                    path,
                    f"too large: more than {limits.max_chars / 1e6:.0f} million "
                    f"characters of text by chapter {len(pages) + 1} (split the file)",
                )
            pages.append(Page(len(pages) + 1, text, str(len(pages) + 1), headings))
    if not spine:
        raise IngestError(path, "the EPUB is damaged: its OPF lists no chapters")
    return ParsedDocument(path, title or path.stem, "epub", pages)


def _rootfile(path: Path, archive: zipfile.ZipFile) -> str:
    container = _xml(path, archive, "META-INF/container.xml")
    for element in container.iter():
        if _local(element.tag) == "rootfile" and element.get("full-path"):
            full = unquote(element.get("full-path", ""))
            if full in archive.namelist():
                return full
            raise IngestError(
                path,
                f"the EPUB is damaged: META-INF/container.xml names {full}, "
                "which is not in the book",
            )
    raise IngestError(
        path, "the EPUB is damaged: META-INF/container.xml names no content file"
    )


def _xml(path: Path, archive: zipfile.ZipFile, member: str) -> ElementTree.Element:
    try:
        return ElementTree.fromstring(archive.read(member))
    except KeyError as exc:
        raise IngestError(path, f"the EPUB is damaged: {member} is missing") from exc
    except ElementTree.ParseError as exc:
        raise IngestError(
            path, f"the EPUB is damaged: {member} is not valid XML ({exc})"
        ) from exc


def _encrypted(path: Path, archive: zipfile.ZipFile, names: set[str]) -> set[str]:
    """The members ``META-INF/encryption.xml`` lists as encrypted (fonts are often
    only obfuscated this way, which a reader may ignore; chapters may not)."""
    if "META-INF/encryption.xml" not in names:
        return set()
    return {
        posixpath.normpath(unquote(element.get("URI", "")))
        for element in _xml(path, archive, "META-INF/encryption.xml").iter()
        if _local(element.tag) == "CipherReference" and element.get("URI")
    }


def _local(tag: object) -> str:
    """An element's name without its namespace."""
    return str(tag).rsplit("}", 1)[-1]


def _check_archive(path: Path) -> None:
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
    except zipfile.BadZipFile as exc:
        raise IngestError(
            path, "not a readable EPUB (the file is not a zip archive)"
        ) from exc
    names = {m.filename for m in members}
    if "META-INF/container.xml" not in names:
        raise IngestError(
            path,
            "the EPUB is damaged: it has no META-INF/container.xml, which names "
            "the book's contents",
        )
    unpacked = sum(m.file_size for m in members)
    if unpacked > MAX_UNPACKED_MB * 2**20:
        raise IngestError(
            path,
            f"the EPUB unpacks to {unpacked / 2**20:,.0f} MB, over the "
            f"{MAX_UNPACKED_MB} MB limit (a zip bomb, or a book to split)",
        )
    for member in members:
        if member.file_size > 10 * 2**20 and member.file_size > MAX_RATIO * max(
            member.compress_size, 1
        ):
            raise IngestError(
                path,
                f"the EPUB's {member.filename} inflates {member.compress_size:,} "
                f"bytes to {member.file_size / 2**20:,.0f} MB: a zip bomb, not read",
            )
