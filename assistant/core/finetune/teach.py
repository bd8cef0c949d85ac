"""The fine-tuning use case: pairs in, a verified GGUF adapter in the library out."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from assistant.core.cancel import CancelToken
from assistant.core.errors import AssistantError
from assistant.core.finetune.adapters import (
    ADAPTER_FILE,
    PAIRS_FILE,
    AdapterRecord,
    AdapterStore,
    check_name,
)
from assistant.core.finetune.examples import GgufChatTokenizer, build_example
from assistant.core.finetune.pairs import QAPair, save_pairs
from assistant.core.finetune.trainer import (
    LoraSettings,
    TrainCallback,
    TrainProgress,
)
from assistant.core.finetune.training_process import (
    TrainingJob,
    train_and_write,
    train_in_child,
)
from assistant.core.hardware import training_dtype_name
from assistant.core.prompt import PLAIN_SYSTEM_PROMPT

CHECK_TOKENS = 48


def check_adapter(
    model_path: Path, adapter: Path, question: str, threads: int = 0
) -> str:
    """Load the adapter with llama.cpp and answer ``question`` greedily."""
    from assistant.core.llm import LlamaGenerator
    from assistant.core.prompt import build_messages

    generator = LlamaGenerator(model_path, 1024, threads, adapter=adapter)
    try:
        messages, _ = build_messages(
            question, [], [], generator.count_tokens, 1024, CHECK_TOKENS, grounded=False
        )
        return "".join(
            generator.stream_chat(
                messages, max_tokens=CHECK_TOKENS, temperature=0.0, cancel=CancelToken()
            )
        ).strip()
    finally:
        generator.close()


WEIGHT_FACTOR = 1.8
RUNTIME_MB = 300
"""A run's peak is about 1.8x its weights (2 bytes each in bfloat16, 4 in float32)
plus torch's own 300 MB: the weights, LoRA weights with their optimiser state, and
the activations of a batch of 4 pairs (bench/memory.py: 6.4 GB for the 1.5B
default's 3.39 GB in bfloat16)."""


def training_memory_mb(model_path: Path) -> float:
    from assistant.core.finetune.gguf_weights import gguf_parameter_count

    width = 2 if training_dtype_name() == "bfloat16" else 4
    weights_mb = gguf_parameter_count(model_path) * width / 2**20
    return weights_mb * WEIGHT_FACTOR + RUNTIME_MB


def check_training_memory(model_path: Path) -> None:
    """Refuse before loading anything when the machine lacks the memory a run
    needs: a half-loaded model that pushes the laptop into swap helps no one."""
    import psutil

    needed = training_memory_mb(model_path)
    free = psutil.virtual_memory().available / 2**20
    if free < needed:
        raise AssistantError(
            f"Teaching {model_path.stem} needs about {needed / 1024:.1f} GB of free "
            f"memory and {free / 1024:.1f} GB is free now. Close other programs (a "
            "web browser frees the most) and try again, or choose a smaller chat "
            "model in Settings."
        )


def teach(
    model_path: Path,
    pairs: Sequence[QAPair],
    name: str,
    settings: LoraSettings | None = None,
    store: AdapterStore | None = None,
    progress: TrainCallback | None = None,
    cancel: CancelToken | None = None,
    epoch_end: Callable[[Any, int], None] | None = None,
) -> AdapterRecord:
    """Train a LoRA adapter on ``pairs`` for the GGUF at ``model_path``, export it,
    check that llama.cpp loads it, and keep it (with its data) under ``name``.
    On failure or cancel nothing is left behind. ``epoch_end`` goes to the trainer."""
    settings = settings or LoraSettings()
    store = store or AdapterStore()
    report = progress or (lambda p: None)
    name = check_name(name)
    if not pairs:
        raise AssistantError("There are no training pairs.")
    check_training_memory(model_path)
    started = time.perf_counter()
    staging = store.staging(name)
    try:
        tokenizer = GgufChatTokenizer(model_path)
        try:
            examples = [
                build_example(tokenizer, PLAIN_SYSTEM_PROMPT, p, settings.max_tokens)
                for p in pairs
            ]
            pad_id = tokenizer.pad_id
            architecture = tokenizer.architecture
        finally:
            tokenizer.close()
        job = TrainingJob(
            model_path,
            examples,
            pad_id,
            settings,
            architecture,
            staging / ADAPTER_FILE,
            name,
        )
        if epoch_end is None:
            trained = train_in_child(job, report, cancel or CancelToken())
        else:  # a benchmark probing the model as it learns: it must be here
            trained = train_and_write(job, report, cancel, epoch_end)
        save_pairs(pairs, staging / PAIRS_FILE)
        report(TrainProgress("verifying", trained.steps, trained.steps))
        try:
            answer = check_adapter(
                model_path, staging / ADAPTER_FILE, pairs[0].question, settings.threads
            )
        except Exception as exc:
            raise AssistantError(
                f"The exported adapter does not load in llama.cpp ({exc})."
            ) from exc
        record = AdapterRecord(
            name=name,
            base_model=model_path.name,
            base_model_bytes=model_path.stat().st_size,
            architecture=architecture,
            settings=settings,
            system_prompt=PLAIN_SYSTEM_PROMPT,
            pairs=len(pairs),
            steps=trained.steps,
            losses=trained.losses,
            load_s=trained.load_s,
            train_s=trained.train_s,
            total_s=time.perf_counter() - started,
            peak_rss_mb=trained.peak_rss_mb,
            adapted_weights=trained.adapted_weights,
            check_question=pairs[0].question,
            check_answer=answer,
        )
        store.commit(staging, record)
        return record
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
