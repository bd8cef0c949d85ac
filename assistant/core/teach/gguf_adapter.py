"""Write peft LoRA weights as a GGUF LoRA adapter that llama.cpp loads.

Format facts (from llama.cpp's convert_lora_to_gguf.py): ``general.type`` =
``adapter``, ``adapter.type`` = ``lora``, ``adapter.lora.alpha``; for every adapted
weight ``W`` of GGUF name ``blk.N.attn_q.weight`` two tensors ``….lora_a``
(rank × in) and ``….lora_b`` (out × rank), in PyTorch's row-major shapes.
Llama-architecture GGUFs store q/k rows permuted for rotary embeddings, so their
``lora_b`` rows are permuted the same way.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from assistant.core.errors import AssistantError
from assistant.core.teach.trainer import BaseModelInfo

ROTARY_PERMUTED_ARCHS = {"llama"}
PEFT_PREFIX = "base_model.model."


def _permute_rows(weight: Any, n_head: int) -> Any:
    """convert_hf_to_gguf's q/k permutation, applied to the output rows."""
    rows = weight.shape[0]
    return (
        weight.reshape(n_head, 2, rows // n_head // 2, *weight.shape[1:])
        .swapaxes(1, 2)
        .reshape(weight.shape)
    )


def gguf_lora_tensors(
    lora_state: dict[str, Any], gguf_arch: str, model: BaseModelInfo
) -> dict[str, Any]:
    """GGUF tensor name -> float32 numpy array."""
    import gguf

    arch = next((a for a, n in gguf.MODEL_ARCH_NAMES.items() if n == gguf_arch), None)
    if arch is None:
        raise AssistantError(
            f"GGUF architecture '{gguf_arch}' is not known to gguf-py."
        )
    names = gguf.get_tensor_name_map(arch, model.n_layers)
    out: dict[str, Any] = {}
    for key, tensor in lora_state.items():
        if ".lora_A." in key:
            part, suffix = ".lora_A.", "lora_a"
        elif ".lora_B." in key:
            part, suffix = ".lora_B.", "lora_b"
        else:
            raise AssistantError(f"Unexpected tensor in the LoRA weights: {key}")
        hf_name = key.removeprefix(PEFT_PREFIX).replace(part, ".")
        gguf_name = names.get_name(hf_name, try_suffixes=(".weight", ".bias"))
        if gguf_name is None:
            raise AssistantError(f"No llama.cpp tensor corresponds to {hf_name}.")
        array = tensor.float().numpy()
        if suffix == "lora_b" and gguf_arch in ROTARY_PERMUTED_ARCHS:
            if hf_name.endswith("q_proj.weight"):
                array = _permute_rows(array, model.n_heads)
            elif hf_name.endswith("k_proj.weight"):
                array = _permute_rows(array, model.n_kv_heads)
        out[f"{gguf_name}.{suffix}"] = array.copy()
    return out


def write_gguf_adapter(
    lora_state: dict[str, Any],
    gguf_arch: str,
    model: BaseModelInfo,
    alpha: float,
    path: Path,
    name: str,
) -> int:
    """Writes the adapter to ``path``; returns the number of adapted weights."""
    import gguf

    tensors = gguf_lora_tensors(lora_state, gguf_arch, model)
    if not tensors:
        raise AssistantError("The training produced no LoRA weights to export.")
    tmp = path.with_name(path.name + ".tmp")
    writer = gguf.GGUFWriter(str(tmp), gguf_arch)
    try:
        writer.add_type(gguf.GGUFType.ADAPTER)
        writer.add_string(gguf.Keys.Adapter.TYPE, "lora")
        writer.add_float32(gguf.Keys.Adapter.LORA_ALPHA, float(alpha))
        writer.add_name(name)
        for tensor_name, array in sorted(tensors.items()):
            writer.add_tensor(tensor_name, array)
        writer.write_header_to_file()
        writer.write_kv_data_to_file()
        writer.write_tensors_to_file()
    finally:
        writer.close()
    tmp.replace(path)
    return len(tensors) // 2
