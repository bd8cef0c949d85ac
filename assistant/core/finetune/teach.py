"""The fine-tuning use case: pairs in, a verified GGUF adapter in the library out."""

from __future__ import annotations

import gc
import resource
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
from assistant.core.finetune.gguf_adapter import write_gguf_adapter
from assistant.core.finetune.pairs import QAPair, save_pairs
from assistant.core.finetune.trainer import (
    LoraSettings,
    TrainCallback,
    TrainProgress,
    train_lora,
)
from assistant.core.prompt import PLAIN_SYSTEM_PROMPT

CHECK_TOKENS = 48


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


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
        result = train_lora(
            model_path, examples, pad_id, settings, report, cancel, epoch_end
        )
        report(TrainProgress("exporting", result.steps, result.steps))
        adapted = write_gguf_adapter(
            result.lora_state,
            architecture,
            result.model,
            settings.alpha,
            staging / ADAPTER_FILE,
            name,
        )
        del result.lora_state
        gc.collect()
        save_pairs(pairs, staging / PAIRS_FILE)
        report(TrainProgress("verifying", result.steps, result.steps))
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
            steps=result.steps,
            losses=result.losses,
            load_s=result.load_s,
            train_s=result.train_s,
            total_s=time.perf_counter() - started,
            peak_rss_mb=peak_rss_mb(),
            adapted_weights=adapted,
            check_question=pairs[0].question,
            check_answer=answer,
        )
        store.commit(staging, record)
        return record
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
