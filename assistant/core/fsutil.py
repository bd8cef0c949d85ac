"""Small file-system helpers: atomic writes, content hashes, library locations."""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from pathlib import Path

from assistant.core.errors import AssistantError

_UNSHOWABLE = {
    **{c: f"\\x{c:02x}" for c in range(32)},
    0x7F: "\\x7f",
    **{c: f"\\u{c:04x}" for c in (0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F))},
    **{c: f"\\u{c:04x}" for c in range(0x2066, 0x206A)},
}
"""Control characters and bidirectional marks: a file name holding them would
garble a line of output (a newline splits it, an RTL override reverses it)."""


def shown_name(text: str) -> str:
    """A file name as one safe line: controls and bidi marks escaped, bytes that
    are not UTF-8 (kept by Python as surrogates) shown as \\xNN."""
    text = text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    return text.translate(_UNSHOWABLE)


def unnameable(path: Path | str) -> bool:
    """A name with bytes that are not UTF-8: it cannot be stored in the index's
    text columns, nor named again reliably."""
    try:
        str(path).encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def is_remote(location: Path | str) -> bool:
    """Whether a library location is an object-store URI (``s3://bucket/prefix``)
    rather than a folder."""
    text = str(location)
    return "://" in text and not text.startswith("file://")


def atomic_write_text(path: Path, text: str) -> None:
    """Write via a temp file + fsync + rename: readers see the old or the new file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def sha256_file(path: Path, block: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(block):
            digest.update(chunk)
    return digest.hexdigest()


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def private_files() -> None:
    """Make every file and folder this process creates readable by the user only
    (LanceDB writes its table files with the default umask: 644 / 755)."""
    os.umask(0o077)


def private_dir(path: Path) -> Path:
    """Create ``path`` (and parents) readable by the current user only. A folder
    that can be read but not written (a read-only disk) is allowed: searching
    works, and a write fails with its own clear error (``IndexWriteError``)."""
    try:
        path.mkdir(parents=True, exist_ok=True, mode=0o700)
    except FileExistsError as exc:
        raise AssistantError(
            f"{path} is a file, not a folder; Assistant keeps its data in a folder "
            "(check ASSISTANT_HOME)"
        ) from exc
    except OSError as exc:
        raise AssistantError(
            f"Cannot create or use the folder {path} ({exc.strerror}); check its "
            "permissions (or ASSISTANT_HOME)"
        ) from exc
    if not os.access(path, os.R_OK | os.X_OK):
        raise AssistantError(
            f"The folder {path} is not readable by you; check its permissions "
            "(or ASSISTANT_HOME)"
        )
    with contextlib.suppress(OSError):  # e.g. a folder owned by someone else
        os.chmod(path, 0o700)
    return path
