"""MiniLM-class sentence-transformers models run through onnxruntime, optionally
int8-quantised: 1.2x (fp32) to 2.4x (int8) faster than torch on 2 CPU cores.

The ONNX file is exported once from the model folder (torch.onnx) into the
models directory; mean pooling and normalisation are done here, as the
sentence-transformers pipeline of these models does.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from assistant.core.embed.embedding import TokenCounting, unit
from assistant.core.fast_tokenizer import shared_tokenizer
from assistant.core.hardware import physical_cores
from assistant.core.model_files import ONNX_EMBEDDERS, models_dir, resolve_embedder
from assistant.core.onnx_runtime import onnx_runtime

INPUTS = ("input_ids", "attention_mask", "token_type_ids")


def exported_embedder(alias: str) -> Path:
    """The ONNX file of a packaged embedder, exported once (idempotent)."""
    path, _ = resolve_embedder(alias)
    return export_onnx(path, models_dir() / f"{alias}.onnx", ONNX_EMBEDDERS[alias])


def export_onnx(model_dir: Path, target: Path, quantize: bool) -> Path:
    """Export (and optionally int8-quantise) a BERT-style encoder; idempotent."""
    if target.exists():
        return target
    from transformers import AutoModel, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
    model = AutoModel.from_pretrained(str(model_dir)).eval()
    sample = tokenizer(
        ["an example", "another example text"], padding=True, return_tensors="pt"
    )
    return export_bert(model, sample, target, "last_hidden_state", quantize)


def export_bert(
    model: Any, sample: Any, target: Path, output: str, quantize: bool
) -> Path:
    """Export a BERT-style torch ``model`` to ``target``, its forward output's
    field ``output`` (``last_hidden_state``, ``logits``) as the one output, batch
    and token axes dynamic; ``sample`` is a tokenizer's tensors to trace with."""
    import torch

    target.parent.mkdir(parents=True, exist_ok=True)
    fp32 = target.with_suffix(".fp32.onnx") if quantize else target
    axes = {name: {0: "batch", 1: "tokens"} for name in (*INPUTS, output)}

    class Encoder(torch.nn.Module):  # fixed positional inputs, whatever forward() takes
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(
            self, input_ids: Any, attention_mask: Any, token_type_ids: Any
        ) -> Any:
            return getattr(
                self.model(
                    input_ids=input_ids,
                    attention_mask=attention_mask,
                    token_type_ids=token_type_ids,
                ),
                output,
            )

    torch.onnx.export(
        Encoder(),
        tuple(sample[name] for name in INPUTS),
        str(fp32),
        input_names=list(INPUTS),
        output_names=[output],
        dynamic_axes=axes,
        opset_version=17,
        dynamo=False,
    )
    if quantize:
        onnx_runtime()
        from onnxruntime.quantization import QuantType, quantize_dynamic

        quantize_dynamic(str(fp32), str(target), weight_type=QuantType.QInt8)
        fp32.unlink()
    return target


BATCH_SIZE = 8
"""Texts per onnxruntime call. Measured on 2 cores (int8 MiniLM): ~192-token texts
ran at the same rate at batch 4-32, ~100-token ones slower at 32 (122 vs 188
texts/s); the 2,415-page R manual indexed in 393.5 s at 8 vs 466.7 s at 32 with
peak RSS 1,801 vs 1,900 MB, the dev set in 167.3 vs 184.8 s with hit@1 / hit@5
within a question of each other (bench/big_pdf.py, docs/bench/)."""


def max_sequence(model_dir: Path) -> int:
    """The model's longest input in tokens, special ones included."""
    config = json.loads((model_dir / "sentence_bert_config.json").read_text())
    return int(config.get("max_seq_length", 256))


class OnnxEmbedder(TokenCounting):
    def __init__(
        self,
        model_dir: Path,
        onnx_file: Path,
        name: str,
        batch_size: int = BATCH_SIZE,
        threads: int = 0,
    ) -> None:
        ort = onnx_runtime()
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or physical_cores()
        self._session: Any = ort.InferenceSession(
            str(onnx_file), options, providers=["CPUExecutionProvider"]
        )
        super().__init__(model_dir)
        self._max_length = max_sequence(model_dir)
        self._tokenizer: Any = shared_tokenizer(model_dir, self._max_length)
        self.max_tokens = self._max_length - self.special_tokens
        self.dim = int(self._session.get_outputs()[0].shape[-1] or 384)
        self.name = name
        self.path = model_dir
        self.batch_size = batch_size
        self._lock = threading.Lock()
        self._inputs = {i.name for i in self._session.get_inputs()}
        self._shrink = ort.RunOptions()
        self._shrink.add_run_config_entry(
            "memory.enable_memory_arena_shrinkage", "cpu:0"
        )

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        return self.embed_spans(texts, [[] for _ in texts])[0]

    def embed_spans(
        self, texts: Sequence[str], spans: Sequence[Sequence[tuple[int, int]]]
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """The texts' vectors, and for each text a vector per character span of it
        pooled from the same pass's token states (late pooling: a sentence's
        vector read in its chunk's context, for nearly no extra time). A span
        left without tokens (cut off by truncation) is embedded on its own."""
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        pooled_spans = [np.zeros((len(s), self.dim), dtype=np.float32) for s in spans]
        missing: list[tuple[int, int]] = []
        if not texts:
            return out, pooled_spans
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        with self._lock:
            for start in range(0, len(order), self.batch_size):
                batch = order[start : start + self.batch_size]
                rows = self._tokenizer.encode_batch([texts[i] for i in batch])
                encoded = {
                    "input_ids": np.array([r.ids for r in rows], dtype=np.int64),
                    "attention_mask": np.array(
                        [r.attention_mask for r in rows], dtype=np.int64
                    ),
                    "token_type_ids": np.array(
                        [r.type_ids for r in rows], dtype=np.int64
                    ),
                }
                feeds = {k: encoded[k] for k in INPUTS if k in self._inputs}
                # one-batch calls (questions, answer checks) hand the arena back
                # at once; ingest's long calls keep it and call release_memory()
                # when done (shrinking after each call re-grew it every time)
                shrink = len(order) <= self.batch_size
                run_options = self._shrink if shrink else None
                hidden = self._session.run(None, feeds, run_options)[0]
                mask = encoded["attention_mask"][..., None].astype(np.float32)
                out[batch] = unit(
                    (hidden * mask).sum(1) / np.clip(mask.sum(1), 1e-9, None)
                )
                for row, i in enumerate(batch):
                    if not spans[i]:
                        continue
                    offsets = np.array(rows[row].offsets, dtype=np.int64)
                    real = (offsets[:, 1] > offsets[:, 0]) & (mask[row, :, 0] > 0)
                    for k, (a, b) in enumerate(spans[i]):
                        inside = real & (offsets[:, 0] < b) & (offsets[:, 1] > a)
                        if inside.any():
                            pooled_spans[i][k] = unit(hidden[row, inside].mean(0))
                        else:
                            missing.append((i, k))
        if missing:
            alone = self.embed([texts[i][slice(*spans[i][k])] for i, k in missing])
            for (i, k), vector in zip(missing, alone, strict=True):
                pooled_spans[i][k] = vector
        return out, pooled_spans

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed([text])[0]

    def release_memory(self) -> None:
        """Hand onnxruntime's arena (the largest batch's working memory, ~400 MB
        after a document) back to the system."""
        self.embed(["."])
