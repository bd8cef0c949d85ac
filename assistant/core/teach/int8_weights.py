"""Frozen weights kept as 8-bit integers while a LoRA adapter trains (QLoRA-style).

The base model's weights never change during LoRA training, so they need not be
held as float32 (6 GB for the 1.5B default on a CPU without native bfloat16):
each row is stored as int8 with one float32 scale (1.5 GB in all) and turned back
into float32 one block at a time, inside the matrix product, in the forward pass
and again in the backward pass (which only needs the gradient of the input: the
weights have none). The GGUF's own weights are 4-6 bit, so an 8-bit copy of their
dequantised values loses nothing measurable. peft wraps these modules like any
``nn.Linear``: they are subclasses with the same attributes.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

BLOCK_BYTES = 64 * 2**20
"""Largest float32 block of a weight matrix dequantised at once (the output
matrix is 151,936 x 1,536 for the default model: 0.9 GB in one piece)."""


def quantise_rows(weight: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Symmetric per-row int8: ``weight ≈ q * scale[:, None]``, worked out a
    block of rows at a time (the whole embedding table's float temporaries would
    be three times its 0.9 GB)."""
    rows = weight.reshape(weight.shape[0], -1)
    q = torch.empty(rows.shape, dtype=torch.int8)
    scale = torch.empty(rows.shape[0], dtype=torch.float32)
    for block in _row_blocks(rows):
        part = rows[block].float()
        part_scale = part.abs().amax(dim=1).clamp(min=1e-12) / 127.0
        q[block] = torch.round(part / part_scale[:, None]).clamp(-127, 127)
        scale[block] = part_scale
    return q.reshape(weight.shape), scale


def _row_blocks(q: torch.Tensor) -> list[slice]:
    """Row ranges of at most ``BLOCK_BYTES`` as float32."""
    per_row = max(1, q[0].numel() * 4)
    size = max(1, BLOCK_BYTES // per_row)
    return [slice(start, start + size) for start in range(0, q.shape[0], size)]


def _weights(q: torch.Tensor, scale: torch.Tensor, rows: slice) -> torch.Tensor:
    return q[rows].float() * scale[rows, None]


class _Int8Product(torch.autograd.Function):
    """``x @ W.T (+ bias)`` with W dequantised block by block, never kept."""

    @staticmethod
    def forward(
        ctx: Any,
        x: torch.Tensor,
        q: torch.Tensor,
        scale: torch.Tensor,
        bias: torch.Tensor | None,
    ) -> torch.Tensor:
        ctx.save_for_backward(q, scale)
        parts = [
            nn.functional.linear(x.float(), _weights(q, scale, rows))
            for rows in _row_blocks(q)
        ]
        out = parts[0] if len(parts) == 1 else torch.cat(parts, dim=-1)
        return out if bias is None else out + bias

    @staticmethod
    def backward(
        ctx: Any, grad: torch.Tensor
    ) -> tuple[torch.Tensor | None, None, None, None]:
        q, scale = ctx.saved_tensors
        if not ctx.needs_input_grad[0]:
            return None, None, None, None
        grad_x: torch.Tensor | None = None
        for rows in _row_blocks(q):
            part = grad[..., rows] @ _weights(q, scale, rows)
            grad_x = part if grad_x is None else grad_x + part
        return grad_x, None, None, None


def _set_rows(module: nn.Module, weight: torch.Tensor) -> None:
    q, scale = quantise_rows(weight)
    module.weight = nn.Parameter(q, requires_grad=False)
    module.scale = nn.Parameter(scale, requires_grad=False)


class Int8Linear(nn.Linear):
    """A frozen ``nn.Linear`` whose weight is int8 rows with float32 scales."""

    def __init__(self, in_features: int, out_features: int, bias: bool) -> None:
        nn.Module.__init__(self)
        self.in_features = in_features
        self.out_features = out_features
        self.weight = nn.Parameter(
            torch.empty(out_features, in_features, dtype=torch.int8, device="meta"),
            requires_grad=False,
        )
        self.scale = nn.Parameter(
            torch.empty(out_features, device="meta"), requires_grad=False
        )
        if bias:
            self.bias = nn.Parameter(
                torch.empty(out_features, device="meta"), requires_grad=False
            )
        else:
            self.register_parameter("bias", None)

    def set_weight(self, weight: torch.Tensor) -> None:
        _set_rows(self, weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        bias = None if self.bias is None else self.bias.float()
        return _Int8Product.apply(x, self.weight, self.scale, bias)  # type: ignore[no-any-return, unused-ignore]


class Int8Embedding(nn.Embedding):
    """A frozen embedding table stored as int8 rows; only looked-up rows are
    dequantised."""

    def __init__(self, num_embeddings: int, embedding_dim: int) -> None:
        nn.Module.__init__(self)
        self.num_embeddings = num_embeddings
        self.embedding_dim = embedding_dim
        self.padding_idx = None
        self.max_norm = None
        self.weight = nn.Parameter(
            torch.empty(num_embeddings, embedding_dim, dtype=torch.int8, device="meta"),
            requires_grad=False,
        )
        self.scale = nn.Parameter(
            torch.empty(num_embeddings, device="meta"), requires_grad=False
        )

    def set_weight(self, weight: torch.Tensor) -> None:
        _set_rows(self, weight)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return self.weight[ids].float() * self.scale[ids].unsqueeze(-1)


Quantised = Int8Linear | Int8Embedding


def quantise_modules(model: nn.Module) -> None:
    """Swap every Linear and Embedding of an empty (meta) model for its int8 kind;
    the weights are filled in by ``set_weight`` as the file is read."""
    for name, module in list(model.named_modules()):
        if isinstance(module, Int8Linear | Int8Embedding):
            continue
        replacement: nn.Module | None = None
        if isinstance(module, nn.Linear):
            replacement = Int8Linear(
                module.in_features, module.out_features, module.bias is not None
            )
        elif isinstance(module, nn.Embedding):
            replacement = Int8Embedding(module.num_embeddings, module.embedding_dim)
        if replacement is not None:
            parent_name, _, child = name.rpartition(".")
            parent = model.get_submodule(parent_name) if parent_name else model
            setattr(parent, child, replacement)


def quantised_owner(model: nn.Module, parameter: str) -> Quantised | None:
    """The int8 module whose ``weight`` is ``parameter`` (a state-dict name)."""
    owner, _, leaf = parameter.rpartition(".")
    if leaf != "weight":
        return None
    try:
        module = model.get_submodule(owner)
    except AttributeError:
        return None
    return module if isinstance(module, Int8Linear | Int8Embedding) else None


def tie_output(model: Any) -> None:
    """The output layer reads the embedding table's int8 rows (tied weights)."""
    output = model.get_output_embeddings()
    table = model.get_input_embeddings()
    output.weight = table.weight
    output.scale = table.scale
