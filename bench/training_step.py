"""Seconds per training step of the reading adapter at the app's prompt length,
LoRA in every layer beside LoRA in the last N only (``LoraSettings.top_layers``:
the backward pass stops at the first adapted layer), one run.

    python bench/training_step.py [--tokens 1100] [--steps 4] [--tops 0,8,4]

Synthetic examples (random token ids, the last 40 tokens the answer) at the
reading settings (``library_teaching.reading_settings``); the first step is left
out of the mean (warm-up). Prints a table and one JSON line (prefix ``BENCH``).
"""

from __future__ import annotations

import argparse
import os
import random
import time

from report import print_result, print_rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tokens", type=int, default=1100)
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--tops", default="0,8,4")
    args = parser.parse_args()

    from assistant.core.config import load_settings
    from assistant.core.model_files import resolve_chat_model
    from assistant.core.services.library_teaching import reading_settings
    from assistant.core.teach.examples import Example
    from assistant.core.teach.trainer import TrainProgress, train_lora

    model = resolve_chat_model(load_settings().chat_model)
    rng = random.Random(0)
    answer = 40
    examples = []
    for _ in range(args.steps):
        ids = [rng.randrange(1000, 30000) for _ in range(args.tokens)]
        labels = [-100] * (args.tokens - answer) + ids[-answer:]
        examples.append(Example(ids, labels))
    rows = []
    for top in (int(t) for t in args.tops.split(",")):
        settings = reading_settings().model_copy(update={"top_layers": top})
        times: list[float] = []
        started = time.perf_counter()

        def progress(p: TrainProgress, times: list[float] = times) -> None:
            if p.phase == "training":
                times.append(time.perf_counter())

        train_lora(model, examples, 0, settings, progress)
        steps = [b - a for a, b in zip(times, times[1:], strict=False)]
        rows.append(
            {
                "lora_layers": "all" if top == 0 else f"last {top}",
                "s_per_step": round(sum(steps) / max(len(steps), 1), 1),
                "first_step_s": round(times[0] - started, 1) if times else None,
                "steps": len(times),
            }
        )
    every = [r for r in rows if r["lora_layers"] == "all"] or rows
    base = float(every[0]["s_per_step"] or 1)  # type: ignore[arg-type]
    for row in rows:
        row["over_all_layers"] = round(float(row["s_per_step"] or 0) / base, 2)  # type: ignore[arg-type]
    print_rows(rows)
    print_result(
        {
            "bench": "training_step",
            "tokens": args.tokens,
            "cpus": os.cpu_count(),
            "runs": rows,
        }
    )


if __name__ == "__main__":
    main()
