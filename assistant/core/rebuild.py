"""Re-index the whole library (after the embedder changed) without ever losing it.

The new index is built beside the old one and swapped in only when complete: a
Stop, a crash or a power cut during the rebuild leaves the old index as it was,
searchable meanwhile. The swap is two renames; ``recover`` finishes or undoes a
swap that a crash interrupted between them.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

from assistant.config import Settings
from assistant.core.cancel import CancelToken
from assistant.core.embedding import Embedder
from assistant.core.errors import AssistantError
from assistant.core.fsutil import is_remote
from assistant.core.ingest_pipeline import ProgressCallback
from assistant.core.store import ChunkStore
from assistant.core.types import FileFailure, IngestReport

COMPLETE = "REBUILD-COMPLETE"


def staging_dir(directory: Path) -> Path:
    return directory.with_name(directory.name + ".rebuild")


def _aside_dirs(directory: Path) -> list[Path]:
    return sorted(directory.parent.glob(directory.name + ".old-*"))


def recover(directory: Path) -> None:
    """Finish a swap a crash interrupted (the index missing, a complete rebuild or
    the old index set aside), and drop leftovers of an unfinished rebuild."""
    staging = staging_dir(directory)
    if not directory.exists():
        if (staging / COMPLETE).exists():
            staging.rename(directory)
        elif _aside_dirs(directory):
            _aside_dirs(directory)[-1].rename(directory)
    if directory.exists():
        for aside in _aside_dirs(directory):
            shutil.rmtree(aside, ignore_errors=True)
        if staging.exists() and not (staging / COMPLETE).exists():
            shutil.rmtree(staging, ignore_errors=True)


def rebuild_index(
    settings: Settings,
    directory: Path | str,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
    embedder: Embedder | None = None,
) -> IngestReport:
    """Re-index every stored document with ``embedder`` (default: the configured
    one); the old index stays until the new one is complete. Files that no longer
    exist are dropped (reported as failures)."""
    from assistant.core.services import Library, load_embedder

    if is_remote(directory):
        raise AssistantError(
            f"Re-indexing the shared library {directory} is not supported yet: "
            "the swap of a complete new index needs a folder. Ingest with --force "
            "to re-index its documents with the same embedder."
        )

    directory = Path(directory)
    recover(directory)
    cancel = cancel or CancelToken()
    paths = ChunkStore.stored_paths(directory)
    present = [p for p in paths if Path(p).exists()]
    staging = staging_dir(directory)
    shutil.rmtree(staging, ignore_errors=True)
    library = Library(settings, embedder or load_embedder(settings), directory=staging)
    try:
        report = library.ingest(present, progress, cancel, force=True)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    report.failed.extend(
        FileFailure(p, "file no longer exists; dropped from the library")
        for p in paths
        if p not in present
    )
    if report.cancelled:
        shutil.rmtree(staging, ignore_errors=True)
        return report
    (staging / COMPLETE).write_text("")
    if directory.exists():
        directory.rename(directory.with_name(f"{directory.name}.old-{time.time_ns()}"))
    staging.rename(directory)
    (directory / COMPLETE).unlink()
    recover(directory)  # removes the old index set aside
    return report
