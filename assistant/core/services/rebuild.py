"""Re-index the whole library (after the embedder changed) without ever losing it.

The new index is built beside the old one and swapped in only when complete: a
Stop, a crash or a power cut during the rebuild leaves the old index as it was,
searchable meanwhile (the swap: index/swap.py).
"""

from __future__ import annotations

import shutil
from pathlib import Path

from assistant.core.cancel import CancelToken
from assistant.core.config import Settings
from assistant.core.embed.embedding import Embedder
from assistant.core.errors import AssistantError
from assistant.core.fsutil import is_remote
from assistant.core.index.store import ChunkStore
from assistant.core.index.swap import recover, staging_dir, swap_in
from assistant.core.ingest.pipeline import ProgressCallback
from assistant.core.services import components
from assistant.core.services.library import Library
from assistant.core.types import FileFailure, IngestReport


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
    library = Library(
        settings, embedder or components.load_embedder(settings), directory=staging
    )
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
    swap_in(staging, directory)
    return report
