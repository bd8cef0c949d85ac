"""Document scopes: ask only within some documents of the library (a file, a
folder, a glob), as the window's scope chip, the CLI's ``--in`` and the served
API's ``metadata`` name them."""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from assistant.core.errors import AssistantError
from assistant.core.types import DocumentInfo


class ScopeError(AssistantError):
    """A scope that names no document of the library."""


@dataclass(frozen=True)
class Scope:
    """The documents a question is asked within."""

    patterns: tuple[str, ...]
    """As the user gave them."""
    doc_ids: tuple[str, ...]
    paths: tuple[str, ...]

    def describe(self, names: int = 2) -> str:
        return describe_paths(self.paths, names)


def describe_paths(paths: Sequence[str], names: int = 2) -> str:
    """ "R-FAQ.pdf, manual.pdf and 3 more" (a folder by its name too)."""
    shown = [Path(p).name or p for p in paths[:names]]
    more = len(paths) - len(shown)
    return ", ".join(shown) + (f" and {more} more" if more > 0 else "")


def matches(pattern: str, path: str) -> bool:
    """A document's path is named by ``pattern``: the file itself, a folder it
    is in, or a glob over its path or its name (``*.pdf``, ``~/papers/*``)."""
    expanded = os.path.expanduser(pattern.strip())
    if not expanded:
        return False
    if any(ch in expanded for ch in "*?["):
        return fnmatch.fnmatch(path, expanded) or fnmatch.fnmatch(
            Path(path).name, expanded
        )
    target = (
        str(Path(expanded).resolve())
        if os.path.isabs(expanded) or os.path.exists(expanded)
        else expanded
    )
    folder = target.rstrip(os.sep) + os.sep
    return path == target or path.startswith(folder) or Path(path).name == expanded


def resolve_scope(documents: Sequence[DocumentInfo], patterns: Sequence[str]) -> Scope:
    """The documents ``patterns`` name (any of them). Raises AssistantError for a
    pattern that names no document: a typo must not widen the question to all."""
    chosen: dict[str, str] = {}
    for pattern in patterns:
        found = {d.doc_id: d.path for d in documents if matches(pattern, d.path)}
        if not found:
            raise ScopeError(
                f"No document in the library matches \u201c{pattern}\u201d: give a "
                "file or folder in the library, or a pattern such as *.pdf "
                "(`assistant docs` lists them)."
            )
        chosen.update(found)
    ordered = sorted(chosen.items(), key=lambda item: item[1])
    return Scope(
        tuple(patterns),
        tuple(doc_id for doc_id, _ in ordered),
        tuple(path for _, path in ordered),
    )
