"""Hostile inputs, generated (never committed as binaries): files and file-system
shapes that once hung, crashed or misled the ingest. Each maker writes under
``folder`` and returns what it made; tests/test_hostile.py feeds them to the app."""

from __future__ import annotations

import os
from pathlib import Path


def fifo(folder: Path, name: str = "pipe.txt") -> Path:
    """A named pipe with a supported name: reading it blocks until a writer comes."""
    path = folder / name
    os.mkfifo(path)
    return path


def device_link(folder: Path, name: str = "zero.txt") -> Path:
    """A link to /dev/zero: endless bytes."""
    path = folder / name
    path.symlink_to("/dev/zero")
    return path


def link_loop(folder: Path) -> tuple[Path, Path]:
    """Two links pointing at each other (resolve() raises RuntimeError on them)."""
    a, b = folder / "a.txt", folder / "b.txt"
    a.symlink_to(b.name)
    b.symlink_to(a.name)
    return a, b


def outside_link(folder: Path, target: Path) -> Path:
    """A file link inside a dropped folder pointing outside it."""
    path = folder / "secret.md"
    path.symlink_to(target)
    return path


def long_heading_line(folder: Path, spaces: int = 1_000_000) -> Path:
    """A Markdown heading followed by a million blanks (a lazy regex went quadratic)."""
    path = folder / "spaces.md"
    path.write_text("# a" + " " * spaces + "b\n\nSome text under it.\n")
    return path


def run_of_dots(folder: Path, dots: int = 300_000) -> Path:
    """A text that is mostly one run of full stops (the sentence splitter went
    quadratic on it)."""
    path = folder / "dots.txt"
    path.write_text("Leader dots follow" + "." * dots + " page 7. The end.\n")
    return path


def many_small_files(folder: Path, count: int) -> list[Path]:
    """Enough files to keep the ingest's parse thread ahead of the writer."""
    paths = []
    for i in range(count):
        path = folder / f"note{i:03}.txt"
        path.write_text(f"Note {i}. The harbour gate code is {1000 + i}.\n")
        paths.append(path)
    return paths
