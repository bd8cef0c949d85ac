"""Names in a question (product, tool and option names) that a library never
mentions: when a user asks about "Kubernetes" and no document contains the word,
the documents cannot answer, and saying so beats letting the model answer from
memory. Only name-shaped words count (mixed case, capitals of four letters or
more, a capitalised word in mid-sentence, identifiers with ``.``, ``_`` or
digits), since everyday words of a paraphrased question are often absent from a
manual that still answers it."""

from __future__ import annotations

import re
from collections.abc import Callable

_NAME = re.compile(
    r"(?<![\w.])(?:"
    r"[A-Za-z]*[a-z][A-Z][A-Za-z]*"  # WireGuard, PostgreSQL, iPhone
    r"|[A-Z]{4,}s?"  # CUDA, NVIDIA (not OS, CPU: often spelled out in documents)
    r"|[A-Za-z][\w]*(?:[._][A-Za-z0-9]+)+"  # vm.swappiness, net_admin
    r"|[A-Za-z]+\d[\w]*"  # ext4, x86_64
    r")(?![\w])"
)
# a capitalised word after a lower-case one: "with Kubernetes" (not "8 Kbit/s")
_PROPER = re.compile(r"(?<=[a-z,;:] )[A-Z][a-z]{2,}\b")
_SPACES = re.compile(r"\s+")


def named_terms(question: str) -> list[str]:
    """Name-shaped words of ``question``, in order, without repeats."""
    found = [m.group(0) for m in _NAME.finditer(question)]
    found += [m.group(0) for m in _PROPER.finditer(question)]
    return list(dict.fromkeys(found))


def missing_names(question: str, passages_for: Callable[[str], list[str]]) -> list[str]:
    """The named terms of ``question`` that no passage found for them contains.

    ``passages_for(term)`` returns the library's best full-text matches for a term;
    a term counts as present when one of them contains it (case and spacing
    ignored, so "PostgreSQL" matches "Postgre SQL" and glued PDF text).
    """
    missing = []
    for term in named_terms(question):
        needle = _SPACES.sub("", term).lower()
        texts = passages_for(term)
        if not any(needle in _SPACES.sub("", t).lower() for t in texts):
            missing.append(term)
    return missing
