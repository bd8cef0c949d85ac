"""The fine-tuning use case: pairs in, a verified GGUF adapter in the library out."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assistant.core.answer.prompt import PLAIN_SYSTEM_PROMPT
from assistant.core.cancel import CancelToken
from assistant.core.errors import AssistantError
from assistant.core.hardware import training_dtype_name
from assistant.core.teach.adapters import (
    ADAPTER_FILE,
    PAIRS_FILE,
    AdapterRecord,
    AdapterStore,
    check_name,
)
from assistant.core.teach.examples import (
    ChatTokenizer,
    Example,
    GgufChatTokenizer,
    build_example,
    chat_messages,
)
from assistant.core.teach.pairs import QAPair, save_pairs
from assistant.core.teach.trainer import (
    LoraSettings,
    TrainCallback,
    TrainProgress,
)
from assistant.core.teach.training_process import (
    TrainingJob,
    train_and_write,
    train_in_child,
)

CHECK_TOKENS = 48
CHECK_CONTEXT = 2048


def check_adapter(
    model_path: Path,
    adapter: Path,
    messages: Sequence[dict[str, str]],
    threads: int = 0,
) -> str:
    """Load the adapter with llama.cpp and answer ``messages`` greedily."""
    from assistant.core.generate.llm import LlamaGenerator

    generator = LlamaGenerator(model_path, CHECK_CONTEXT, threads, adapter=adapter)
    try:
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


QUANTISED_FACTOR = 2.0
"""With int8 weights (1 byte each) the peak is about twice them plus the runtime:
the LoRA weights, optimiser state and one layer's activations at a time
(checkpointing) no longer shrink with the weights (bench/memory.py)."""


def training_memory_mb(model_path: Path, settings: LoraSettings) -> float:
    from assistant.core.teach.gguf_weights import gguf_parameter_count

    if settings.quantised:
        width, factor = 1, QUANTISED_FACTOR
    else:
        width = 2 if training_dtype_name() == "bfloat16" else 4
        factor = WEIGHT_FACTOR
    weights_mb = gguf_parameter_count(model_path) * width / 2**20
    return weights_mb * factor + RUNTIME_MB


def check_training_memory(model_path: Path, settings: LoraSettings) -> None:
    """Refuse before loading anything when the machine lacks the memory a run
    needs: a half-loaded model that pushes the laptop into swap helps no one."""
    import psutil

    needed = training_memory_mb(model_path, settings)
    free = psutil.virtual_memory().available / 2**20
    if free < needed:
        raise AssistantError(
            f"Teaching {model_path.stem} needs about {needed / 1024:.1f} GB of free "
            f"memory and {free / 1024:.1f} GB is free now. Close other programs (a "
            "web browser frees the most) and try again, or choose a smaller chat "
            "model in Settings."
        )


@dataclass(frozen=True)
class Lesson:
    """What an adapter is taught from: its examples, made once the tokenizer is
    open, the first one's messages (asked again of the exported adapter) and how
    its data is kept beside it."""

    count: int
    examples: Callable[[ChatTokenizer], list[Example]]
    check_messages: list[dict[str, str]]
    keep_data: Callable[[Path], None]
    system_prompt: str = PLAIN_SYSTEM_PROMPT
    reading: bool = False


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
    if not pairs:
        raise AssistantError("There are no training pairs.")
    lesson = Lesson(
        len(pairs),
        lambda tokenizer: [
            build_example(tokenizer, PLAIN_SYSTEM_PROMPT, p, settings.max_tokens)
            for p in pairs
        ],
        chat_messages(PLAIN_SYSTEM_PROMPT, pairs[0].question),
        lambda folder: save_pairs(pairs, folder / PAIRS_FILE),
    )
    return train_adapter(
        model_path, lesson, name, settings, store, progress, cancel, epoch_end
    )


def train_adapter(
    model_path: Path,
    lesson: Lesson,
    name: str,
    settings: LoraSettings,
    store: AdapterStore | None = None,
    progress: TrainCallback | None = None,
    cancel: CancelToken | None = None,
    epoch_end: Callable[[Any, int], None] | None = None,
    checkpoint: Path | None = None,
) -> AdapterRecord:
    """Train ``lesson`` into an adapter named ``name``, check that llama.cpp loads
    it, and keep it. ``checkpoint``: the run resumes from it and saves to it."""
    store = store or AdapterStore()
    report = progress or (lambda p: None)
    name = check_name(name)
    check_training_memory(model_path, settings)
    started = time.perf_counter()
    staging = store.staging(name)
    try:
        tokenizer = GgufChatTokenizer(model_path)
        try:
            examples = lesson.examples(tokenizer)
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
            checkpoint,
        )
        if epoch_end is None:
            trained = train_in_child(job, report, cancel or CancelToken())
        else:  # a benchmark probing the model as it learns: it must be here
            trained = train_and_write(job, report, cancel, epoch_end)
        lesson.keep_data(staging)
        report(TrainProgress("verifying", trained.steps, trained.steps))
        try:
            answer = check_adapter(
                model_path,
                staging / ADAPTER_FILE,
                lesson.check_messages,
                settings.threads,
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
            system_prompt=lesson.system_prompt,
            reading=lesson.reading,
            pairs=lesson.count,
            steps=trained.steps,
            losses=trained.losses,
            load_s=trained.load_s,
            train_s=trained.train_s,
            total_s=time.perf_counter() - started,
            peak_rss_mb=trained.peak_rss_mb,
            adapted_weights=trained.adapted_weights,
            check_question=lesson.check_messages[-1]["content"],
            check_answer=answer,
        )
        store.commit(staging, record)
        return record
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
