"""LoRA training and export in a child process.

The app that asked never imports torch, and whatever the run held goes back to
the system the moment it ends: in-process, torch and transformers stayed imported
(~260 MB) and the heap kept ~170 MB more after a finished run (bench/memory.py).
Cancel kills the child, so Stop takes effect at once, even in the middle of a
step or while the weights load.
"""

from __future__ import annotations

import multiprocessing
import resource
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from assistant.core.cancel import CancelToken
from assistant.core.errors import AssistantError, Cancelled
from assistant.core.teach.examples import Example
from assistant.core.teach.trainer import (
    BaseModelInfo,
    LoraSettings,
    TrainCallback,
    TrainProgress,
)

POLL_S = 0.1


@dataclass(frozen=True)
class TrainedAdapter:
    """What a run wrote (the GGUF adapter at the path it was given) and measured."""

    adapted_weights: int
    model: BaseModelInfo
    losses: list[tuple[int, float]] = field(default_factory=list)
    steps: int = 0
    load_s: float = 0.0
    train_s: float = 0.0
    peak_rss_mb: float = 0.0


@dataclass(frozen=True)
class TrainingJob:
    """One run, as a value that crosses to the child process."""

    model_path: Path
    examples: Sequence[Example]
    pad_id: int
    settings: LoraSettings
    architecture: str
    """The GGUF architecture name the adapter is written for."""
    adapter_path: Path
    name: str
    checkpoint: Path | None = None
    """Where the run saves its state now and then, and resumes from."""


def train_and_write(
    job: TrainingJob,
    progress: TrainCallback,
    cancel: CancelToken | None = None,
    epoch_end: Any = None,
) -> TrainedAdapter:
    """Train, then write the GGUF adapter, in the calling process."""
    from assistant.core.hardware import release_memory
    from assistant.core.teach.gguf_adapter import write_gguf_adapter
    from assistant.core.teach.trainer import train_lora

    result = train_lora(
        job.model_path,
        job.examples,
        job.pad_id,
        job.settings,
        progress,
        cancel,
        epoch_end,
        job.checkpoint,
    )
    progress(TrainProgress("exporting", result.steps, result.steps))
    adapted = write_gguf_adapter(
        result.lora_state,
        job.architecture,
        result.model,
        job.settings.alpha,
        job.adapter_path,
        job.name,
    )
    trained = TrainedAdapter(
        adapted,
        result.model,
        result.losses,
        result.steps,
        result.load_s,
        result.train_s,
        resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    )
    del result
    release_memory()
    return trained


def train_in_child(
    job: TrainingJob, progress: TrainCallback, cancel: CancelToken
) -> TrainedAdapter:
    """:func:`train_and_write` in a spawned child; progress arrives as it would
    in-process. Raises :class:`Cancelled` once the child is gone.

    As with any ``spawn`` child, the parent's main script is imported again in the
    child: a script calling this needs an ``if __name__ == "__main__"`` guard (the
    app's entry points have one; the frozen bundle calls ``freeze_support``)."""
    context = multiprocessing.get_context("spawn")
    receive, send = context.Pipe(duplex=False)
    child = context.Process(
        target=_child_main,
        args=(send, job),
        name="assistant-training",
        daemon=True,
    )
    child.start()
    send.close()  # the child's end: recv() sees EOF when the child is gone
    try:
        while not cancel.cancelled:
            if not receive.poll(POLL_S):
                continue
            try:
                kind, value = receive.recv()
            except EOFError:
                break
            if kind == "progress":
                progress(value)
            elif kind == "done":
                return value
            else:
                raise AssistantError(str(value))
        if cancel.cancelled:
            raise Cancelled()
        child.join(5)
        raise AssistantError(_died(child.exitcode))
    finally:
        if child.is_alive():
            child.kill()
        child.join()
        receive.close()


def _died(code: int | None) -> str:
    if code == -9:
        return (
            "The training process was killed by the system, most likely because "
            "the memory ran out. Close other programs and try again, or teach "
            "fewer pairs at a time."
        )
    return f"The training process stopped unexpectedly (exit code {code})."


def _child_main(send: Any, job: TrainingJob) -> None:
    from assistant.core.hardware import map_large_blocks

    map_large_blocks()

    def report(p: TrainProgress) -> None:
        send.send(("progress", p))

    try:
        trained = train_and_write(job, report)
    except AssistantError as exc:
        send.send(("error", str(exc)))
    except MemoryError:
        send.send(("error", _died(-9)))
    except Exception as exc:  # a readable line for the parent; the rest is lost
        send.send(("error", f"Training failed: {type(exc).__name__}: {exc}"))
    else:
        send.send(("done", trained))
    finally:
        send.close()
