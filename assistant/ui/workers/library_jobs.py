"""Work for the library thread, as values: each job carries its own id and cancel
token, so Stop cancels exactly the job it was pressed for (no token swapped on a
worker from another thread) and the results name the job they belong to."""

from __future__ import annotations

from dataclasses import dataclass, field

from assistant.core.cancel import CancelToken


@dataclass(frozen=True)
class IngestJob:
    """Add files and folders (``force``: index them again even if unchanged;
    ``synced``: found by folder sync, not added by the user)."""

    id: int
    paths: tuple[str, ...]
    force: bool = False
    synced: bool = False
    cancel: CancelToken = field(default_factory=CancelToken, compare=False)


@dataclass(frozen=True)
class RebuildJob:
    """Re-index every document with the configured embedder, beside the old index."""

    id: int
    cancel: CancelToken = field(default_factory=CancelToken, compare=False)


@dataclass(frozen=True)
class CompleteJob:
    """Encode whole the chunks a staged index's first stage left pooled from their
    sentences (staged_index.py); cancelled when other work comes first."""

    id: int
    cancel: CancelToken = field(default_factory=CancelToken, compare=False)
