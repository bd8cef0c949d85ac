"""CLI commands for fine-tuning: ``finetune``, ``adapters`` and ``compare``."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from assistant.cli_shared import cancel_on_interrupt, open_conversation, open_library
from assistant.core.cancel import CancelToken
from assistant.core.config import Settings
from assistant.core.errors import AssistantError
from assistant.core.time_left import format_time_left
from assistant.core.types import (
    ANSWER_MODES,
    MODES_WITHOUT_ADAPTER,
    Answer,
    mode_uses_adapter,
    shorten,
)


def adapter_for(settings: Settings, mode: str, name: str | None) -> Path | None:
    """The adapter file a mode needs (None for base/rag)."""
    if not mode_uses_adapter(mode):
        return None
    from assistant.core.model_files import resolve_chat_model
    from assistant.core.teach.adapters import AdapterStore

    store = AdapterStore()
    record = store.resolve(name)
    model = resolve_chat_model(settings.chat_model)
    if record.base_model != model.name:
        print(
            f"warning: adapter '{record.name}' was trained on {record.base_model}, "
            f"the chat model is {model.name}; answers may be poor.",
            file=sys.stderr,
        )
    return store.adapter_file(record.name)


def _print_training(p: Any) -> None:
    if p.phase == "training":
        eta = f", {format_time_left(p.eta_s)}" if p.eta_s is not None else ""
        print(
            f"  step {p.step}/{p.total_steps} (epoch {p.epoch}) loss {p.loss:.4f}{eta}",
            flush=True,
        )
    else:
        print(f"  {p.phase} ...", flush=True)


def _print_record(record: Any) -> None:
    print(
        f"Adapter '{record.name}': {record.steps} steps, final loss "
        f"{record.losses[-1][1]:.4f}, {record.total_s:.0f} s "
        f"(loading {record.load_s:.0f} s, training {record.train_s:.0f} s), "
        f"peak memory {record.peak_rss_mb / 1024:.1f} GB."
    )
    print(f"Check: {shorten(record.check_question, 200)}\n  -> {record.check_answer}")


def cmd_teach_library(args: argparse.Namespace, settings: Settings) -> int:
    """Teach the model to read excerpts of this library (reading adapter)."""
    from assistant.core.model_files import resolve_chat_model
    from assistant.core.services.components import load_generator
    from assistant.core.services.library_teaching import (
        LibraryLesson,
        reading_settings,
        teach_from_library,
    )

    lesson = LibraryLesson(
        args.name, args.limit, args.seed, reading_settings(settings.threads)
    )
    library = open_library(settings)
    generator = load_generator(settings)
    model = resolve_chat_model(settings.chat_model)
    if not args.json:
        print(
            f"Teaching {model.name} to read this library as '{args.name}': "
            f"{args.limit} examples from its documents, then training "
            "(Ctrl+C stops; the same command goes on later) ..."
        )

    def on_examples(p: Any) -> None:
        if args.json:
            return
        eta = f", {format_time_left(p.seconds_left)}"
        print(
            f"  examples {p.kept}/{p.wanted} ({p.tried} passages tried{eta})",
            flush=True,
        )

    try:
        with cancel_on_interrupt() as cancel:
            record = teach_from_library(
                library,
                generator,
                model,
                lesson,
                on_examples=on_examples,
                progress=None if args.json else _print_training,
                cancel=cancel,
            )
    finally:
        generator.close()
    if args.json:
        print(record.model_dump_json())
    else:
        _print_record(record)
    return 0


def cmd_finetune(args: argparse.Namespace, settings: Settings) -> int:
    if args.from_library:
        return cmd_teach_library(args, settings)
    if not args.pairs:
        raise AssistantError(
            "Give a file of question/answer pairs, or --from-library to teach the "
            "model to read your documents."
        )
    from assistant.core.model_files import resolve_chat_model
    from assistant.core.teach.pairs import load_pairs
    from assistant.core.teach.teaching import teach
    from assistant.core.teach.trainer import LoraSettings

    pairs = load_pairs(args.pairs)
    lora = LoraSettings(
        rank=args.rank,
        alpha=args.alpha if args.alpha is not None else 2.0 * args.rank,
        epochs=args.epochs,
        learning_rate=args.lr,
        batch_size=args.batch_size,
        seed=args.seed,
        threads=settings.threads,
    )
    model = resolve_chat_model(settings.chat_model)
    if not args.json:
        print(f"Teaching {model.name} {len(pairs)} pairs as '{args.name}' ...")

    with cancel_on_interrupt() as cancel:
        record = teach(
            model,
            pairs,
            args.name,
            lora,
            progress=None if args.json else _print_training,
            cancel=cancel,
        )
    if args.json:
        print(record.model_dump_json())
    else:
        _print_record(record)
    return 0


def cmd_adapters(args: argparse.Namespace, settings: Settings) -> int:
    from assistant.core.teach.adapters import AdapterStore

    store = AdapterStore()
    if args.delete:
        store.delete(args.delete)
        print(f"Deleted adapter '{args.delete}'.")
        return 0
    records = store.records()
    if args.json:
        print(json.dumps([json.loads(r.model_dump_json()) for r in records]))
        return 0
    if not records:
        print("No adapters yet: `assistant teach PAIRS --name NAME` makes one.")
    for r in records:
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(r.created))
        loss = r.losses[-1][1] if r.losses else float("nan")
        print(
            f"{r.name}\t{when}\t{r.pairs} pairs\t{r.steps} steps\tloss {loss:.4f}"
            f"\t{r.base_model}"
        )
    return 0


def cmd_compare(args: argparse.Namespace, settings: Settings) -> int:
    """The same question answered in each mode, one after the other."""

    modes = list(ANSWER_MODES)
    adapter = None
    try:
        adapter = adapter_for(settings, "sft", args.adapter)
    except AssistantError as exc:
        print(f"note: {exc} Comparing base and rag only.", file=sys.stderr)
        modes = list(MODES_WITHOUT_ADAPTER)
    conversation: Any = open_conversation(settings)
    results: dict[str, Answer] = {}
    for mode in modes:
        conversation.reset()
        results[mode] = conversation.ask(
            args.question, cancel=CancelToken(), mode=mode, adapter=adapter
        )
    if args.json:
        print(
            json.dumps({m: a.to_json() for m, a in results.items()}, ensure_ascii=False)
        )
        return 0
    for mode, answer in results.items():
        print(f"== {mode} ==\n{answer.text.strip()}")
        for source in answer.cited_sources:
            print(f"   [{source.n}] {source.location()}: {shorten(source.text, 80)}")
        print()
    return 0


def add_commands(sub: Any) -> None:
    p = sub.add_parser(
        "teach",
        aliases=["finetune"],
        help="teach the model question/answer pairs (LoRA fine-tuning)",
    )
    p.add_argument("pairs", nargs="?", help="JSONL or CSV with question/answer pairs")
    p.add_argument("--name", required=True, help="name of the new adapter")
    p.add_argument(
        "--from-library",
        action="store_true",
        help="teach the model to read excerpts of your documents (examples made "
        "from the library; resumes a stopped run of the same name)",
    )
    p.add_argument(
        "--limit",
        type=int,
        default=300,
        help="examples to make with --from-library (default 300)",
    )
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--lr", type=float, default=5e-4, help="learning rate")
    p.add_argument("--rank", type=int, default=16, help="LoRA rank")
    p.add_argument("--alpha", type=float, default=None, help="LoRA alpha (2 x rank)")
    p.add_argument("--batch-size", type=int, default=4)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_finetune)

    p = sub.add_parser("adapters", help="list fine-tuned adapters")
    p.add_argument("--delete", metavar="NAME", help="delete an adapter")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_adapters)

    p = sub.add_parser("compare", help="answer one question in every mode")
    p.add_argument("question")
    p.add_argument("--adapter", help="adapter name (default: the last trained)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_compare)
