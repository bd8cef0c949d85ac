"""One exception family whose messages are written for the user."""

from __future__ import annotations

import re
from pathlib import Path


class AssistantError(Exception):
    """Base class: ``str(error)`` is a sentence a user can act on."""


class IngestError(AssistantError):
    """A file could not be added; the message names the file and the reason."""

    def __init__(self, path: Path | str, reason: str) -> None:
        self.path = Path(path)
        self.reason = reason
        super().__init__(f"{self.path.name}: {reason}")


class Cancelled(AssistantError):
    """The user stopped the operation."""

    def __init__(self) -> None:
        super().__init__("Stopped by the user.")


class ModelNotFound(AssistantError):
    """A configured model file or folder is missing."""


class EmbedderMismatch(AssistantError):
    """The index was built with a different embedding model than the one configured."""

    def __init__(self, index_model: str, index_dim: int, model: str, dim: int) -> None:
        self.index_model = index_model
        self.model = model
        super().__init__(
            f"The library was indexed with the embedding model '{index_model}' "
            f"({index_dim} dimensions), but '{model}' ({dim} dimensions) is "
            "configured. "
            "Switch the embedding model back, or re-index the library "
            "(`assistant reindex`) to use the new one."
        )


class IndexWriteError(AssistantError):
    """The index could not be written (disk full, read-only, ...); what was already
    committed is intact."""

    def __init__(self, directory: Path | str, exc: BaseException) -> None:
        import errno

        code = getattr(exc, "errno", None)
        text = str(exc)
        if code == errno.ENOSPC or "No space left" in text:
            why = "the disk is full; free some space and add the files again"
        elif code == errno.EROFS or "Read-only file system" in text:
            why = "the file system is read-only; move the library (ASSISTANT_HOME)"
        elif code == errno.EACCES or "Permission denied" in text:
            why = "permission denied; check the library folder's permissions"
        else:  # a store's error is one huge line with a Rust source path
            why = _store_reason(exc) if isinstance(exc, Exception) else str(exc)
        self.directory = directory if isinstance(directory, str) else Path(directory)
        super().__init__(
            f"Could not write the library index in {self.directory} ({why}). "
            "Documents indexed before this are unchanged."
        )


def _without_source_location(text: str) -> str:
    """LanceDB's messages end with the Rust file and line that raised them
    (", /root/.cargo/registry/.../utils.rs:172:20"): noise to a user."""
    return re.sub(r",?\s*/\S+\.rs:\d+:\d+", "", text).strip()


class IndexDamaged(AssistantError):
    """The library index on disk cannot be read as it is."""

    def __init__(self, directory: Path | str, what: str) -> None:
        self.directory = directory if isinstance(directory, str) else Path(directory)
        self.what = _without_source_location(what)
        super().__init__(
            f"The library index in {self.directory} is damaged ({self.what}). Re-index "
            "it from your files (File \u203a Re-index library, or `assistant "
            "reindex`; the files are not touched), or move that folder away to "
            "start an empty library."
        )


class LibraryUnreachable(AssistantError):
    """A shared library's object store did not answer or refused access."""

    def __init__(self, location: str, exc: Exception) -> None:
        self.location = location
        super().__init__(
            f"Could not reach the shared library {location} ({_store_reason(exc)}). "
            "Check the "
            "endpoint and credentials (AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID, "
            "AWS_SECRET_ACCESS_KEY, AWS_REGION; AWS_ALLOW_HTTP=true for a plain-http "
            "endpoint) and that the bucket exists."
        )


class LibraryBusy(AssistantError):
    """Another writer kept committing to the same library through every retry."""

    def __init__(self, location: str) -> None:
        self.location = location
        super().__init__(
            f"The library {location} is being updated by another writer; try again "
            "in a moment. Documents indexed before this are unchanged."
        )


def _store_reason(exc: Exception) -> str:
    """The part of an object store's error a user can act on (LanceDB's message
    is a nested Rust debug dump)."""
    text = str(exc)
    code = re.search(r"<Code>(\w+)</Code>", text)
    if code and code.group(1) == "NoSuchBucket":
        return "the bucket does not exist"
    if code or re.search(r"status: (401|403)\b", text):
        return f"access refused: {code.group(1) if code else 'check the credentials'}"
    if re.search(r"(?i)connection refused|error sending request|dns error", text):
        return "the endpoint does not answer"
    first = text.strip().splitlines()[0] if text.strip() else ""
    first = _without_source_location(first)
    if len(first) > 200:
        first = first[:200].rsplit(" ", 1)[0] + " …"
    return f"{type(exc).__name__}: {first}" if first else type(exc).__name__
