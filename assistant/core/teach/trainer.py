"""LoRA training on the CPU with transformers + peft, from the chat model's GGUF.

transformers reads the GGUF and dequantises it: to bfloat16 on CPUs that compute
in it (AVX512-BF16 or AMX: a step takes about half the time of float32, in half
the memory), else to float32 (emulated bfloat16 is 20x slower, see
``hardware.native_bf16``); the LoRA weights stay float32. The trained adapter
is later applied by llama.cpp to the quantised model.
"""

from __future__ import annotations

import hashlib
import logging
import math
import os
import random
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from assistant.core.cancel import CancelToken
from assistant.core.errors import AssistantError
from assistant.core.hardware import (
    physical_cores,
    release_memory,
    training_dtype_name,
)
from assistant.core.teach.examples import IGNORE_INDEX, Example, pad_batch

log = logging.getLogger(__name__)

DEFAULT_TARGETS = [
    "q_proj",
    "k_proj",
    "v_proj",
    "o_proj",
    "gate_proj",
    "up_proj",
    "down_proj",
]


class LoraSettings(BaseModel):
    rank: int = Field(16, ge=1, le=256)
    alpha: float = Field(32.0, gt=0)
    dropout: float = Field(0.0, ge=0.0, lt=1.0)
    target_modules: list[str] = Field(default_factory=lambda: list(DEFAULT_TARGETS))
    epochs: int = Field(10, ge=1, le=100)
    learning_rate: float = Field(5e-4, gt=0, le=1.0)
    batch_size: int = Field(4, ge=1, le=64)
    max_tokens: int = Field(512, ge=32, le=8192)
    seed: int = 0
    checkpointing: bool = Field(
        False,
        description="recompute each layer's activations in the backward pass "
        "instead of keeping them (less memory, a slower step)",
    )
    threads: int = Field(0, ge=0, le=256, description="0 = one per physical core")
    top_layers: int = Field(
        0,
        ge=0,
        le=512,
        description="LoRA in the last N transformer layers only (0 = all): the "
        "backward pass stops at the first of them, so a step costs less",
    )
    quantised: bool = Field(
        True,
        description="hold the frozen weights as int8 rows (int8_weights.py): a "
        "quarter of float32's memory",
    )

    def total_steps(self, examples: int) -> int:
        return math.ceil(examples / self.batch_size) * self.epochs


@dataclass(frozen=True)
class TrainProgress:
    phase: str
    """"loading", "training", "exporting" or "verifying"."""
    step: int = 0
    total_steps: int = 0
    epoch: int = 0
    loss: float | None = None
    elapsed_s: float = 0.0
    eta_s: float | None = None


TrainCallback = Callable[[TrainProgress], None]


@dataclass
class BaseModelInfo:
    """What the GGUF exporter needs to know about the trained architecture."""

    architecture: str
    n_layers: int
    n_heads: int
    n_kv_heads: int


@dataclass
class TrainResult:
    lora_state: dict[str, Any]
    """peft's state dict: ``...q_proj.lora_A.weight`` -> tensor (float32)."""
    model: BaseModelInfo
    losses: list[tuple[int, float]] = field(default_factory=list)
    steps: int = 0
    load_s: float = 0.0
    train_s: float = 0.0


def load_base_model(
    model_path: Path, quantised: bool = False
) -> tuple[Any, BaseModelInfo]:
    import torch
    from transformers.utils import logging as hf_logging

    from assistant.core.teach.gguf_weights import load_training_model

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    dtype = torch.float32 if quantised else getattr(torch, training_dtype_name())
    model = load_training_model(model_path, dtype, quantised)
    release_memory()  # the loader's transient blocks (~450 MB of heap)
    config = model.config
    info = BaseModelInfo(
        architecture=str(config.model_type),
        n_layers=int(config.num_hidden_layers),
        n_heads=int(config.num_attention_heads),
        n_kv_heads=int(
            getattr(config, "num_key_value_heads", config.num_attention_heads)
        ),
    )
    return model, info


def answer_loss(model: Any, ids: Any, mask: Any, labels: Any) -> Any:
    """Cross-entropy over the answer tokens only. The output layer runs on those
    positions alone: over the whole batch its float32 logits are batch x length x
    vocabulary (4 x 120 x 151,936 = 290 MB for the default model, plus their
    gradient), for an answer that is a fifth of the tokens."""
    import torch

    causal = model.get_base_model() if hasattr(model, "get_base_model") else model
    hidden = causal.get_decoder()(input_ids=ids, attention_mask=mask)[0]
    targets = labels[:, 1:]
    keep = targets != IGNORE_INDEX
    logits = causal.get_output_embeddings()(hidden[:, :-1][keep]).float()
    return torch.nn.functional.cross_entropy(logits, targets[keep])


def batches(
    examples: Sequence[Example], size: int, rng: random.Random
) -> list[list[Example]]:
    """A seeded shuffle, then batches of similar length (less padding on a CPU)."""
    order = list(examples)
    rng.shuffle(order)
    groups = [order[i : i + size * 4] for i in range(0, len(order), size * 4)]
    out: list[list[Example]] = []
    for group in groups:
        group.sort(key=lambda e: len(e.input_ids))
        out.extend(group[i : i + size] for i in range(0, len(group), size))
    rng.shuffle(out)
    return out


CHECKPOINT_EVERY_S = 300.0


class Resume:
    """A training run's state on disk: the LoRA weights, the optimiser's and the
    schedule's state and the steps done, with a key naming the examples and the
    settings it belongs to (a checkpoint of another run is ignored)."""

    def __init__(
        self,
        path: Path | None,
        examples: Sequence[Example],
        settings: LoraSettings,
        every_s: float = CHECKPOINT_EVERY_S,
    ) -> None:
        self.path = path
        self.every_s = every_s
        self.saved_at = time.monotonic()
        digest = hashlib.sha256(settings.model_dump_json(exclude={"threads"}).encode())
        for example in examples:
            digest.update(repr((example.input_ids, example.labels)).encode())
        self.key = digest.hexdigest()

    def restore(
        self,
        model: Any,
        optimizer: Any,
        scheduler: Any,
        losses: list[tuple[int, float]],
    ) -> int:
        """The steps already done (0: none, or no usable checkpoint)."""
        import torch
        from peft import set_peft_model_state_dict

        if self.path is None or not self.path.is_file():
            return 0
        try:
            state = torch.load(self.path, weights_only=False)
        except Exception:  # a file cut short: start again
            log.warning("Unreadable training checkpoint %s: starting over", self.path)
            return 0
        if state.get("key") != self.key:
            return 0
        set_peft_model_state_dict(model, state["lora"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        losses.extend(state["losses"])
        return int(state["step"])

    def save_if_due(
        self,
        model: Any,
        optimizer: Any,
        scheduler: Any,
        step: int,
        losses: list[tuple[int, float]],
    ) -> None:
        import torch
        from peft import get_peft_model_state_dict

        if self.path is None or time.monotonic() - self.saved_at < self.every_s:
            return
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            lora = get_peft_model_state_dict(model)
        partial = self.path.with_name(self.path.name + ".partial")
        torch.save(
            {
                "key": self.key,
                "step": step,
                "lora": lora,
                "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict(),
                "losses": list(losses),
            },
            partial,
        )
        os.replace(partial, self.path)
        self.saved_at = time.monotonic()


def _top_layers(n_layers: int, top: int) -> list[int] | None:
    if top <= 0 or top >= n_layers:
        return None
    return list(range(n_layers - top, n_layers))


def train_lora(
    model_path: Path,
    examples: Sequence[Example],
    pad_id: int,
    settings: LoraSettings,
    progress: TrainCallback | None = None,
    cancel: CancelToken | None = None,
    epoch_end: Callable[[Any, int], None] | None = None,
    checkpoint: Path | None = None,
) -> TrainResult:
    """``epoch_end(model, epoch)`` lets a benchmark probe the model as it learns.
    ``checkpoint``: the run's state is saved there every few minutes, and a run
    that finds one for the same examples and settings goes on from it."""
    import torch
    from peft import LoraConfig, get_peft_model, get_peft_model_state_dict

    if not examples:
        raise AssistantError("There are no training pairs.")
    cancel = cancel or CancelToken()
    report = progress or (lambda p: None)
    torch.set_num_threads(settings.threads or physical_cores())
    torch.manual_seed(settings.seed)
    rng = random.Random(settings.seed)

    base: Any = None
    model: Any = None
    optimizer: Any = None
    try:
        started = time.perf_counter()
        report(TrainProgress("loading"))
        base, info = load_base_model(model_path, settings.quantised)
        cancel.raise_if_cancelled()
        loaded = time.perf_counter()

        if settings.checkpointing:
            base.config.use_cache = False
            base.gradient_checkpointing_enable(
                gradient_checkpointing_kwargs={"use_reentrant": False}
            )
        config = LoraConfig(
            r=settings.rank,
            lora_alpha=settings.alpha,  # type: ignore[arg-type]  # float works
            lora_dropout=settings.dropout,
            target_modules=settings.target_modules,
            bias="none",
            task_type="CAUSAL_LM",
            layers_to_transform=_top_layers(info.n_layers, settings.top_layers),
        )
        model = get_peft_model(base, config)
        model.train()
        params = [p for p in model.parameters() if p.requires_grad]
        optimizer = torch.optim.AdamW(
            params, lr=settings.learning_rate, weight_decay=0.0
        )
        total = settings.total_steps(len(examples))
        warmup = max(1, total // 10)

        def lr_factor(step: int) -> float:  # linear warm-up, then linear decay to 10 %
            if step < warmup:
                return (step + 1) / warmup
            return max(0.1, 1 - 0.9 * (step - warmup) / max(1, total - warmup))

        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_factor)
        result = TrainResult({}, info, load_s=loaded - started)
        resume = Resume(checkpoint, examples, settings)
        resumed = resume.restore(model, optimizer, scheduler, result.losses)
        step = skipped = 0
        for epoch in range(1, settings.epochs + 1):
            for batch in batches(examples, settings.batch_size, rng):
                if skipped < resumed:  # done before the run was stopped
                    skipped += 1
                    step += 1
                    continue
                cancel.raise_if_cancelled()
                ids, labels, mask = pad_batch(batch, pad_id)
                loss_value = answer_loss(
                    model, torch.tensor(ids), torch.tensor(mask), torch.tensor(labels)
                )
                loss_value.backward()
                torch.nn.utils.clip_grad_norm_(params, 1.0)
                optimizer.step()
                scheduler.step()
                optimizer.zero_grad(set_to_none=True)
                step += 1
                loss = float(loss_value.detach())
                del loss_value
                result.losses.append((step, loss))
                resume.save_if_due(model, optimizer, scheduler, step, result.losses)
                elapsed = time.perf_counter() - loaded
                done_here = step - resumed
                report(
                    TrainProgress(
                        "training",
                        step,
                        total,
                        epoch,
                        loss,
                        elapsed,
                        elapsed / done_here * (total - step),
                    )
                )
            if epoch_end is not None:
                model.eval()
                with torch.no_grad():
                    epoch_end(model, epoch)
                model.train()
        result.steps = step
        result.train_s = time.perf_counter() - loaded
        with warnings.catch_warnings():  # "no config file beside the GGUF": expected
            warnings.simplefilter("ignore", UserWarning)
            state = get_peft_model_state_dict(model)
        result.lora_state = {
            name: tensor.detach().to(torch.float32).clone()
            for name, tensor in state.items()
        }
    finally:
        # a cancel leaves these frames in a traceback: drop the weights here
        base = model = optimizer = None
        release_memory()
    return result
