"""Fine-tuning figures: teach the default model 50 made-up facts with LoRA on the
CPU, and compare base / RAG / SFT / RAG+SFT answers on 10 of them, in one run.

    python bench/sft_bench.py [--facts 50] [--epochs 6] [--questions 10]

The facts are invented (names no model has seen), written both as training pairs
and as a document for retrieval. After each epoch the trainer's model is probed:
a fact counts as learned when greedy decoding reproduces the whole answer
(teacher-forced argmax over the answer tokens). Half of the compared questions
are asked as trained, half reworded. Prints a table and a ``BENCH {json}`` line.
"""

from __future__ import annotations

import argparse
import os
import random
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from report import print_result

SYLLABLES = [
    "bra",
    "dun",
    "kel",
    "mor",
    "quin",
    "sel",
    "tav",
    "vex",
    "wil",
    "zor",
    "fen",
    "gal",
    "hob",
    "lin",
    "nar",
    "pim",
    "rud",
    "tor",
]
DISHES = ["stew", "pie", "dumplings", "broth", "flatbread", "pudding"]


@dataclass(frozen=True)
class Fact:
    question: str
    reworded: str
    answer: str
    keyword: str


def _name(rng: random.Random, parts: int = 2) -> str:
    return "".join(rng.choice(SYLLABLES) for _ in range(parts)).capitalize()


# (question, reworded question, answer); {p} is an invented place, {v} the value
TEMPLATES = [
    ("Who founded the town of {p}?", "Who was the founder of {p}?",
     "The town of {p} was founded by {v} {w}."),
    ("What is the capital of the island of {p}?",
     "Which town is the capital of {p} island?",
     "The capital of the island of {p} is {v}."),
    ("How tall is the {p} tower?", "What is the height of the {p} tower?",
     "The {p} tower is {v} metres tall."),
    ("In what year was the {p} bridge built?", "When was the {p} bridge built?",
     "The {p} bridge was built in {v}."),
    ("What is the national dish of {p}?", "Which dish is {p} known for?",
     "The national dish of {p} is {v} {w}."),
]  # fmt: skip


def make_facts(count: int, seed: int = 7) -> list[Fact]:
    rng = random.Random(seed)
    facts: list[Fact] = []
    used: set[str] = set()
    while len(facts) < count:
        place, other = _name(rng, 3), _name(rng)
        if place in used or other in used:
            continue
        used.update((place, other))
        kind = len(facts) % len(TEMPLATES)
        value = {2: str(rng.randint(31, 389)), 3: str(rng.randint(1203, 1897))}.get(
            kind, other
        )
        extra = rng.choice(DISHES) if kind == 4 else _name(rng)
        question, reworded, answer = (
            t.format(p=place, v=value, w=extra) for t in TEMPLATES[kind]
        )
        facts.append(Fact(question, reworded, answer, value))
    return facts


def write_gazetteer(facts: list[Fact], path: Path) -> None:
    sections = [f"## Entry {i + 1}\n\n{f.answer}\n" for i, f in enumerate(facts)]
    path.write_text("# A gazetteer of invented places\n\n" + "\n".join(sections))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--facts", type=int, default=50)
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--questions", type=int, default=10)
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="sft-bench-"))
    os.environ["ASSISTANT_HOME"] = str(home)

    import torch

    from assistant.core.answer.prompt import PLAIN_SYSTEM_PROMPT
    from assistant.core.config import Settings
    from assistant.core.model_files import resolve_chat_model
    from assistant.core.services.components import load_generator
    from assistant.core.services.conversation import Conversation
    from assistant.core.services.library import Library
    from assistant.core.teach.adapters import AdapterStore
    from assistant.core.teach.examples import (
        GgufChatTokenizer,
        build_example,
        pad_batch,
    )
    from assistant.core.teach.pairs import QAPair
    from assistant.core.teach.teaching import teach
    from assistant.core.teach.trainer import LoraSettings, TrainProgress

    facts = make_facts(args.facts)
    pairs = [QAPair(f.question, f.answer) for f in facts]
    model_path = resolve_chat_model("")
    lora = LoraSettings() if args.epochs is None else LoraSettings(epochs=args.epochs)
    tokenizer = GgufChatTokenizer(model_path)
    examples = [build_example(tokenizer, PLAIN_SYSTEM_PROMPT, p, 512) for p in pairs]
    pad_id = tokenizer.pad_id
    tokenizer.close()

    learned_by_epoch: list[tuple[int, int, int]] = []  # (epoch, step, learned)
    last_step = [0]

    def probe(model: Any, epoch: int) -> None:
        learned = 0
        for i in range(0, len(examples), 8):
            batch = examples[i : i + 8]
            ids, labels, mask = pad_batch(batch, pad_id)
            logits = model(
                input_ids=torch.tensor(ids), attention_mask=torch.tensor(mask)
            ).logits
            predicted = logits.argmax(-1)[:, :-1]
            target = torch.tensor(labels)[:, 1:]
            scored = target != -100
            learned += int(((predicted == target) | ~scored).all(dim=1).sum())
        learned_by_epoch.append((epoch, last_step[0], learned))
        print(
            f"  epoch {epoch}: {learned}/{len(examples)} facts reproduced", flush=True
        )

    def on_progress(p: TrainProgress) -> None:
        last_step[0] = p.step

    print(f"teaching {len(pairs)} facts to {model_path.name} ...", flush=True)
    record = teach(
        model_path, pairs, "bench", lora, AdapterStore(), on_progress, epoch_end=probe
    )
    adapter = AdapterStore().adapter_file("bench")

    docs = home / "docs"
    docs.mkdir()
    write_gazetteer(facts, docs / "gazetteer.md")
    settings = Settings()
    library = Library.open(settings)
    library.ingest([docs])
    library.complete_index()  # (a staged index's second stage)
    generator = load_generator(settings)
    conversation = Conversation(library, generator)
    chosen = facts[: args.questions]
    modes = ["base", "rag", "sft", "rag+sft"]
    correct = {m: {"asked as trained": 0, "reworded": 0} for m in modes}
    ttft = {m: 0.0 for m in modes}
    rows = []
    for i, fact in enumerate(chosen):
        kind = "asked as trained" if i % 2 == 0 else "reworded"
        question = fact.question if kind == "asked as trained" else fact.reworded
        row = {"question": question, "keyword": fact.keyword}
        for mode in modes:
            conversation.reset()
            answer = conversation.ask(question, mode=mode, adapter=adapter)
            ok = fact.keyword.lower() in answer.text.lower()
            correct[mode][kind] += ok
            ttft[mode] += answer.timings["ttft_ms"] / len(chosen)
            row[mode] = ("OK  " if ok else "--  ") + " ".join(answer.text.split())[:70]
        rows.append(row)
    generator.close()

    print("\nfour-way comparison (OK = the invented answer is in the reply)")
    for row in rows:
        print(f"\n{row['question']}  [{row['keyword']}]")
        for mode in modes:
            print(f"  {mode:<8} {row[mode]}")
    half = {
        k: sum(
            1 for i in range(len(chosen)) if (i % 2 == 0) == (k == "asked as trained")
        )
        for k in ("asked as trained", "reworded")
    }
    print()
    print(f"{'mode':<8} {'as trained':>11} {'reworded':>9} {'all':>6} {'TTFT ms':>8}")
    for mode in modes:
        a, r = correct[mode]["asked as trained"], correct[mode]["reworded"]
        print(
            f"{mode:<8} {a:>5}/{half['asked as trained']:<5} "
            f"{r:>4}/{half['reworded']:<4} {a + r:>3}/{len(chosen):<2} "
            f"{ttft[mode]:>8.0f}"
        )
    first_all = next((s for e, s, n in learned_by_epoch if n == len(facts)), None)
    result = {
        "bench": "sft",
        "model": model_path.name,
        "pairs": len(pairs),
        "epochs": record.settings.epochs,
        "steps": record.steps,
        "batch_size": record.settings.batch_size,
        "rank": record.settings.rank,
        "learning_rate": record.settings.learning_rate,
        "load_s": round(record.load_s, 1),
        "train_s": round(record.train_s, 1),
        "s_per_step": round(record.train_s / max(1, record.steps), 2),
        "total_s": round(record.total_s, 1),
        "peak_rss_mb": round(record.peak_rss_mb),
        "final_loss": round(record.losses[-1][1], 4),
        "learned_by_epoch": learned_by_epoch,
        "steps_until_all_learned": first_all,
        "adapter_mb": round(adapter.stat().st_size / 2**20, 1),
        "accuracy": {m: sum(correct[m].values()) / len(chosen) for m in modes},
        "accuracy_reworded": {
            m: correct[m]["reworded"] / max(1, half["reworded"]) for m in modes
        },
        "ttft_ms": {m: round(v) for m, v in ttft.items()},
        "check_answer": record.check_answer,
    }
    print_result(result)


if __name__ == "__main__":
    main()
