"""The index's folder swapped for a complete rebuild beside it, in two renames;
``recover`` finishes or undoes a swap that a crash interrupted between them."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

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


def swap_in(staging: Path, directory: Path) -> None:
    """Put the complete index at ``staging`` in ``directory``'s place."""
    (staging / COMPLETE).write_text("")
    if directory.exists():
        directory.rename(directory.with_name(f"{directory.name}.old-{time.time_ns()}"))
    staging.rename(directory)
    (directory / COMPLETE).unlink()
    recover(directory)  # removes the old index set aside
