"""Stage: read files (PDF, Word, EPUB, HTML, Markdown, text, images by OCR) into
pages with offsets, chunk them, and add them to the index (pipeline.py).

This module finds supported files and turns each into a :class:`ParsedDocument`."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from assistant.core.errors import IngestError
from assistant.core.fsutil import unnameable
from assistant.core.ingest.docx import parse_docx
from assistant.core.ingest.epub import parse_epub
from assistant.core.ingest.html import parse_html
from assistant.core.ingest.image import NO_TEXT as NO_TEXT_IN_IMAGE
from assistant.core.ingest.image import SUFFIXES as IMAGE_SUFFIXES
from assistant.core.ingest.image import open_image
from assistant.core.ingest.markdown import parse_markdown
from assistant.core.ingest.pdf import NO_TEXT_LAYER, open_pdf
from assistant.core.ingest.textfile import parse_text
from assistant.core.types import (
    DEFAULT_LIMITS,
    DocumentStream,
    FileFailure,
    ParsedDocument,
    ParseLimits,
)

STREAMS: dict[str, Callable[[Path, ParseLimits], DocumentStream]] = {
    ".pdf": open_pdf,
    **dict.fromkeys(IMAGE_SUFFIXES, open_image),
}
"""Kinds read page by page (PDF pages, image frames)."""
PARSERS: dict[str, Callable[[Path, ParseLimits], ParsedDocument]] = {
    ".docx": parse_docx,
    ".epub": parse_epub,
    ".md": parse_markdown,
    ".markdown": parse_markdown,
    ".html": parse_html,
    ".htm": parse_html,
    ".xhtml": parse_html,
    ".txt": parse_text,
    ".text": parse_text,
    ".rst": parse_text,
    ".log": parse_text,
}


def is_supported(path: Path) -> bool:
    return path.suffix.lower() in PARSERS or path.suffix.lower() in STREAMS


UNNAMEABLE = "the file name is not valid UTF-8 text; rename the file to index it"


def outside_folders(path: Path, folders: Iterable[Path]) -> str:
    """Why ``path`` is not reachable inside one of ``folders`` without following a
    link ("" when it is): the folder-walk rule, for paths a component names one by
    one (a watcher's events, a sync's changed files). A link created inside a
    watched folder may point anywhere (``ln -s ../secret.txt``), so a path with a
    link anywhere below its folder is refused, the path itself included."""
    path = Path(os.path.abspath(path.expanduser()))
    for folder in folders:
        if not path.is_relative_to(folder):
            continue
        step = folder
        for part in path.relative_to(folder).parts:
            step = step / part
            try:
                is_link = stat.S_ISLNK(os.lstat(step).st_mode)
            except OSError:  # missing, or behind a folder we may not enter:
                return ""  # nothing there can be read through a link either
            if is_link:
                return f"a link inside the watched folder {folder} (not followed)"
        return ""
    return "not inside a watched folder"


def discover(
    paths: Iterable[Path | str], within: Sequence[Path] | None = None
) -> tuple[list[Path], list[FileFailure]]:
    """Expand folders recursively into supported regular files.

    Links are not followed inside folders (neither folder nor file links: a link in
    a dropped folder may point anywhere, even in a loop); a link named explicitly
    is followed to its target, unless ``within`` is given (paths found by syncing
    those folders): then every path must lie in one of them with no link on the
    way (:func:`outside_folders`). Pipes, devices and sockets are never read
    (reading one would block forever). Files named explicitly but unsupported are
    reported; unsupported files found inside folders are skipped silently, as a
    file manager's "add folder" would.
    """
    files: dict[Path, None] = {}
    failures: list[FileFailure] = []
    for raw in paths:
        if not str(raw).strip():
            failures.append(FileFailure(str(raw), "empty path (name a file or folder)"))
            continue
        path = Path(raw).expanduser()
        why = "" if within is None else outside_folders(path, within)
        if not why and unnameable(path):
            why = UNNAMEABLE
        if why:
            failures.append(FileFailure(str(path), why))
            continue
        if path.is_dir():
            for root, dirs, names in os.walk(path, followlinks=False):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                for name in sorted(names):
                    candidate = Path(root) / name
                    if unnameable(candidate):
                        failures.append(FileFailure(str(candidate), UNNAMEABLE))
                    elif (
                        not name.startswith(".")
                        and is_supported(candidate)
                        and not candidate.is_symlink()
                        and candidate.is_file()
                    ):
                        files.setdefault(candidate.resolve(), None)
            continue
        try:
            target = path.resolve(strict=True)
        except (OSError, RuntimeError):  # missing, or a link loop
            reason = "file not found" if not path.is_symlink() else "broken link"
            failures.append(FileFailure(str(path), reason))
            continue
        if not is_supported(path):
            kinds = ", ".join(sorted({k.lstrip(".") for k in [*PARSERS, *STREAMS]}))
            failures.append(
                FileFailure(str(path), f"unsupported file type (supported: {kinds})")
            )
        elif not target.is_file():
            failures.append(
                FileFailure(str(path), "not a regular file (a pipe, device or socket)")
            )
        else:
            files.setdefault(target, None)
    return list(files), failures


def parse_file(
    path: Path, max_bytes: int, limits: ParseLimits = DEFAULT_LIMITS
) -> ParsedDocument:
    """Parse one file; every failure is an :class:`IngestError` naming the reason."""
    stream = open_document(path, max_bytes, limits)
    with read_errors(path):
        document = stream.read_all()
    if not any(page.text.strip() for page in document.pages):
        raise IngestError(path, no_text_reason(document.kind))
    if document.char_count > limits.max_chars:
        raise too_much_text(path, document.char_count, limits.max_chars)
    return document


def open_document(
    path: Path, max_bytes: int, limits: ParseLimits = DEFAULT_LIMITS
) -> DocumentStream:
    """Open one file for reading page by page (PDFs and images stream; other
    kinds are read whole). Failures are :class:`IngestError`; so are those
    raised while the pages are read through :func:`read_errors`."""
    try:
        size = path.stat().st_size
    except FileNotFoundError as exc:
        raise IngestError(path, "file not found (moved or deleted?)") from exc
    except OSError as exc:
        raise IngestError(path, f"cannot be read ({exc.strerror})") from exc
    if not path.is_file():
        raise IngestError(path, "not a regular file")
    if size == 0:
        raise IngestError(path, "the file is empty")
    if size > max_bytes:
        raise IngestError(
            path,
            f"the file is {size / 2**20:.0f} MB, "
            f"over the {max_bytes / 2**20:.0f} MB limit "
            "(raise max_file_mb in the settings to add it)",
        )
    if not os.access(path, os.R_OK):
        raise IngestError(path, "permission denied (the file is not readable)")
    suffix = path.suffix.lower()
    with read_errors(path):
        if suffix in STREAMS:
            return STREAMS[suffix](path, limits)
        parser = PARSERS.get(suffix)
        if parser is None:
            raise IngestError(path, "unsupported file type")
        document = parser(path, limits)
        return DocumentStream(
            path, document.title, document.kind, 0, iter(document.pages)
        )


@contextmanager
def read_errors(path: Path) -> Iterator[None]:
    """Any failure while reading ``path`` as an :class:`IngestError` with a reason."""
    try:
        yield
    except IngestError:
        raise
    except MemoryError as exc:
        raise IngestError(path, "too large to read into memory") from exc
    except PermissionError as exc:
        raise IngestError(path, "permission denied (the file is not readable)") from exc
    except Exception as exc:
        raise IngestError(
            path, f"could not be read ({type(exc).__name__}: {exc})"
        ) from exc


def no_text_reason(kind: str) -> str:
    if kind == "image":
        return NO_TEXT_IN_IMAGE
    return NO_TEXT_LAYER if kind == "pdf" else "no text found in the file"


def too_much_text(path: Path, chars: int, max_chars: int) -> IngestError:
    return IngestError(
        path,
        f"too large: {chars / 1e6:.0f} million characters of text after "
        f"extraction; the limit is {max_chars / 1e6:.0f} million (split the file)",
    )
