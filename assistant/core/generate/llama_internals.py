"""Every use of llama-cpp-python's private internals, in one place.

The public ``Llama`` API has no call for these (the trained context, token texts,
LoRA adapters on a loaded model, the tokens in the KV cache, raw logits), so
they reach into its members. ``tests/test_library_internals.py`` checks each one
against the installed version, which pyproject.toml pins: an upgrade that moves
one fails there, loudly, not in a user's answer.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

_LOAD_LOCK = threading.Lock()

PINNED_VERSION = "0.3.36"
"""The llama-cpp-python these were checked against (pyproject.toml pins it)."""


def trained_context(llm: Any) -> int:
    """The context length the model was trained with."""
    return int(llm._model.n_ctx_train())


def token_text(llm: Any, token: int) -> str:
    """A token's text as the vocabulary stores it (special tokens included)."""
    return str(llm._model.token_get_text(token))


def context_pointer(llm: Any) -> Any:
    """The ``llama_context *`` for the C API (adapters)."""
    return llm._ctx.ctx


def model_pointer(llm: Any) -> Any:
    """The ``llama_model *`` for the C API (adapters)."""
    return llm._model.model


def free_on_close(llm: Any, free: Callable[..., Any], *args: Any) -> None:
    """Call ``free(*args)`` when the model closes, before the model is freed
    (its exit stack unwinds in reverse order)."""
    llm._stack.callback(free, *args)


def cached_tokens(llm: Any) -> list[int]:
    """The token ids whose states the KV cache holds."""
    return [int(t) for t in llm._input_ids[: llm.n_tokens].tolist()]


def last_logits(llm: Any) -> np.ndarray:
    """The logits after the last token ``llm`` evaluated."""
    return np.ctypeslib.as_array(
        llm._ctx.get_logits(), shape=(int(llm.n_vocab()),)
    ).astype(np.float64)


@contextmanager
def native_output_silenced() -> Iterator[None]:
    """llama.cpp's own printing (one line per adapter tensor) kept off the
    terminal, even when the model was loaded verbose."""
    from llama_cpp._utils import suppress_stdout_stderr

    with suppress_stdout_stderr(disable=False):
        yield


@contextmanager
def repacking(repack: bool) -> Iterator[None]:
    """Models loaded inside repack their weights or not: llama-cpp-python has no
    argument for it, so its default model parameters are patched meanwhile."""
    import llama_cpp.llama as llama_module

    binding = llama_module.llama_cpp
    default_params = binding.llama_model_default_params

    def model_params() -> Any:
        chosen = default_params()
        chosen.use_extra_bufts = repack
        return chosen

    with _LOAD_LOCK:
        binding.llama_model_default_params = model_params
        try:
            yield
        finally:
            binding.llama_model_default_params = default_params


def save_cache(llm: Any) -> tuple[list[int], bytes]:
    """The tokens the KV cache holds and the cache's bytes (sequence 0 only:
    ~28 KB a token for the default 1.5B model; ``Llama.save_state`` would also
    copy its 300 MB logits buffer)."""
    import ctypes

    import llama_cpp

    ctx = llm._ctx.ctx
    size = int(llama_cpp.llama_state_seq_get_size(ctx, 0))
    buffer = (ctypes.c_uint8 * size)()
    written = int(llama_cpp.llama_state_seq_get_data(ctx, buffer, size, 0))
    return cached_tokens(llm), bytes(buffer[:written])


def load_cache(llm: Any, tokens: list[int], data: bytes) -> bool:
    """Put back what ``save_cache`` saved but its last token (False, with the
    cache empty, if llama.cpp refused it)."""
    import ctypes

    import llama_cpp

    ctx = llm._ctx.ctx
    llama_cpp.llama_memory_seq_rm(llama_cpp.llama_get_memory(ctx), 0, -1, -1)
    llm.n_tokens = 0
    buffer = (ctypes.c_uint8 * len(data)).from_buffer_copy(data)
    if int(llama_cpp.llama_state_seq_set_data(ctx, buffer, len(data), 0)) == 0:
        return False
    # all but the last token: the next evaluation then makes fresh logits even
    # when the whole prompt was kept (the logits of the cache are not)
    kept = len(tokens) - 1
    llama_cpp.llama_memory_seq_rm(llama_cpp.llama_get_memory(ctx), 0, kept, -1)
    llm.input_ids[:kept] = tokens[:kept]
    llm.n_tokens = kept
    return True
