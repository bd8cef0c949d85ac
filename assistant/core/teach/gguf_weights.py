"""The training model built from a GGUF one tensor at a time.

transformers' own GGUF path dequantises every tensor into a state dict and then
copies it into a freshly allocated model: two full bfloat16 copies at the peak
(5.8 GB RSS for the 1.5B default). Here the model is created without storage
(accelerate's ``init_empty_weights``), and each GGUF tensor is dequantised, given
transformers' per-architecture fix-ups (e.g. Llama's q/k permutation) and moved
into its parameter before the next is read; the two largest (the embedding and
output matrices) are dequantised in row blocks, and the file's pages are dropped
from the mapping as it goes.
"""

from __future__ import annotations

import mmap
from pathlib import Path
from typing import Any

from assistant.core.errors import AssistantError

ROW_BLOCK_BYTES = 64 * 2**20
"""Largest float32 block dequantised at once from a big tensor."""


def gguf_parameter_count(model_path: Path) -> int:
    """Weights in the file (what the training copy holds, 2 or 4 bytes each)."""
    from gguf import GGUFReader

    reader = GGUFReader(model_path)
    try:
        return sum(int(t.n_elements) for t in reader.tensors)
    finally:
        del reader


def load_training_model(model_path: Path, dtype: Any, quantised: bool = False) -> Any:
    """A transformers causal LM with the GGUF's weights in ``dtype``; with
    ``quantised``, its linear and embedding weights as int8 rows instead
    (int8_weights.py), each quantised as soon as it is read."""
    from accelerate import init_empty_weights
    from gguf import GGUFReader
    from transformers import AutoConfig, AutoModelForCausalLM
    from transformers.modeling_gguf_pytorch_utils import (
        TENSOR_PROCESSORS,
        TensorProcessor,
        get_gguf_hf_weights_map,
        load_gguf_checkpoint,
    )

    from assistant.core.teach.int8_weights import (
        quantise_modules,
        quantised_owner,
        tie_output,
    )

    try:
        parsed = load_gguf_checkpoint(str(model_path), return_tensors=False)
        config = AutoConfig.from_pretrained(
            str(model_path.parent), gguf_file=model_path.name
        )
        with init_empty_weights(include_buffers=False):
            model = AutoModelForCausalLM.from_config(config, dtype=dtype)
        if quantised:
            quantise_modules(model)
    except (ValueError, KeyError, NotImplementedError) as exc:
        raise AssistantError(
            f"{model_path.name}: this model's architecture cannot be loaded for "
            f"training ({exc}). Fine-tuning works with Qwen2, Llama-family and "
            "similar GGUF models."
        ) from exc
    reader = GGUFReader(model_path)
    architecture = str(reader.fields["general.architecture"].contents())
    processor_class = TENSOR_PROCESSORS.get(architecture, TensorProcessor)
    processor = processor_class(config=parsed.get("config", {}))
    mapping = get_gguf_hf_weights_map(model, processor)
    parsed["tensors"] = {}
    mapped = getattr(reader.data, "_mmap", None)  # numpy.memmap's mmap.mmap
    try:
        for tensor in reader.tensors:
            for name, value in _dequantised(tensor, processor, mapping, parsed, dtype):
                owner = quantised_owner(model, name) if quantised else None
                if owner is not None:
                    owner.set_weight(value)
                else:
                    model.load_state_dict({name: value}, strict=False, assign=True)
                del value
            if mapped is not None and hasattr(mmap, "MADV_DONTNEED"):
                # the file's pages read so far leave this process's RSS (1.1 GB
                # at the end otherwise, on top of the weights)
                mapped.madvise(mmap.MADV_DONTNEED)
    finally:
        del reader  # unmaps the file
    if getattr(config, "tie_word_embeddings", False):
        if quantised:
            tie_output(model)
        else:
            model.tie_weights()
    empty = [n for n, p in model.named_parameters() if p.device.type == "meta"]
    if empty:
        raise AssistantError(
            f"{model_path.name}: the GGUF has no weights for {', '.join(empty[:3])}"
            f"{' …' if len(empty) > 3 else ''}; this model cannot be fine-tuned here."
        )
    return model


BLOCKED = frozenset({"token_embd.weight", "output.weight"})
"""Tensors no architecture fix-up changes (GPT-2's renames ``output``, see below):
safe to dequantise in row blocks."""


def _dequantised(
    tensor: Any, processor: Any, mapping: dict[str, str], parsed: Any, dtype: Any
) -> list[tuple[str, Any]]:
    import numpy as np
    import torch
    from gguf import dequantize
    from transformers.modeling_gguf_pytorch_utils import GPT2TensorProcessor

    data = tensor.data
    shape = [int(d) for d in reversed(tensor.shape)]  # GGUF lists dims inner first
    row_floats = int(np.prod(shape[1:])) if len(shape) > 1 else 0
    block = ROW_BLOCK_BYTES // max(1, row_floats * 4)
    if (
        tensor.name in BLOCKED
        and tensor.name in mapping
        and not isinstance(processor, GPT2TensorProcessor)
        and data.ndim > 1
        and data.shape[0] == shape[0] > block > 0
    ):
        out = torch.empty(shape, dtype=dtype)
        for start in range(0, shape[0], block):
            rows = dequantize(data[start : start + block], tensor.tensor_type)
            out[start : start + rows.shape[0]] = torch.from_numpy(
                np.ascontiguousarray(rows.reshape(-1, *shape[1:]))
            )
        return [(mapping[tensor.name], out)]
    result = processor.process(
        weights=dequantize(data, tensor.tensor_type),
        name=tensor.name,
        tensor_key_mapping=mapping,
        parsed_parameters=parsed,
    )
    found = [(n, t.to(dtype)) for n, t in parsed["tensors"].items()]
    parsed["tensors"].clear()  # what a fix-up stored under its own name
    if result.name in mapping:
        # a copy when the array is the file's own (float32 tensors are mapped)
        writable = np.require(result.weights, requirements=["C", "W"])
        value = torch.from_numpy(writable).to(dtype)
        found.append((mapping[result.name], value))
    return found
