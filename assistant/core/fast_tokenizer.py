"""A model folder's Hugging Face fast tokenizer (``tokenizer.json``) through the
``tokenizers`` library alone: ``transformers.AutoTokenizer`` gives the same tokens
but imports torch, which answering does not otherwise need (~0.3 GB)."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any


def load_tokenizer(folder: Path) -> Any:
    """No truncation or padding unless the caller enables them."""
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
    tokenizer.no_truncation()
    tokenizer.no_padding()
    return tokenizer


@functools.cache
def shared_tokenizer(
    folder: Path, max_length: int | None = None, truncation: str = "longest_first"
) -> Any:
    """One tokenizer per folder and configuration for the process (``max_length``:
    batches truncated by the ``truncation`` strategy and padded to it,
    ``enable_batches``; None: neither). It is
    never reconfigured, so threads can share it. Loading one holds the GIL 60-70
    ms (tokenizers' ``from_file``): the window's event loop would stall if a
    worker loaded it, so the app loads them before its window shows
    (``components.warm_tokenizers``)."""
    tokenizer = load_tokenizer(folder)
    if max_length is not None:
        enable_batches(tokenizer, max_length)
        tokenizer.enable_truncation(max_length, strategy=truncation)
    return tokenizer


def special_tokens(tokenizer: Any) -> int:
    """How many tokens ([CLS], [SEP]…) encoding one text adds."""
    processor = tokenizer.post_processor
    return int(processor.num_special_tokens_to_add(False)) if processor else 0


def enable_batches(tokenizer: Any, max_length: int) -> None:
    """Truncate to ``max_length`` and pad each batch to its longest, as
    ``AutoTokenizer(..., padding=True, truncation=True)`` does."""
    pad_token = "[PAD]"
    pad_id = tokenizer.token_to_id(pad_token)
    if pad_id is None:
        pad_id = 0
    tokenizer.enable_truncation(max_length)
    tokenizer.enable_padding(pad_id=pad_id, pad_token=pad_token)
