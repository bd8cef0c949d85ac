"""Questions the chat model writes for each section (doc2query), on a dev-set
library, in one run (issue 14).

    python bench/section_questions.py LIBRARY_HOME [--cache FILE] [--questions FILE]

LIBRARY_HOME: an ``ASSISTANT_HOME`` whose library was built from the dev set's
documents by ``assistant ingest`` with the defaults. The library is copied; the chat
model writes the questions of each of its pending sections as `assistant questions`
does (section_questions.py; ~5 s a section on 2 cores, so the replies are kept in
``--cache`` and a rerun asks only the sections missing there), and the copies are
searched with the app's own search, the CJK questions translated once:

- without questions (the library as built);
- with each section's first question only;
- with all its questions (what `assistant questions` stores);
- with ``--tune DOCS``: none stored, but the English encoder (MiniLM) fine-tuned on
  the (question, section chunk) pairs (one epoch, in-batch negatives; ~8 min on 2
  cores), exported to int8 ONNX as setup exports the packaged one, and the dev set's
  documents (``DOCS``) ingested again with it: the *re-ranker trained on the user's
  own documents* direction, done in the encoder so that search costs nothing more.

Prints a table of hit@1 / hit@5 per kind and one JSON line (prefix ``BENCH``).
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from report import devset_library_parser, hit_row, print_hit_table, search_all

KINDS = ("paraphrase", "zh", "crosslingual", "answerable")


def main() -> None:
    parser = devset_library_parser()
    parser.add_argument(
        "--cache",
        type=Path,
        default=Path("section_questions.jsonl"),
        help="the model's questions per section (JSON lines), read and extended",
    )
    parser.add_argument(
        "--tune",
        type=Path,
        metavar="DOCS",
        help="also fine-tune MiniLM on the questions and ingest DOCS with it",
    )
    args = parser.parse_args()
    os.environ["ASSISTANT_HOME"] = str(args.home)

    from assistant.core.answer.evaluation import load_questions, summarize
    from assistant.core.cancel import CancelToken
    from assistant.core.config import Settings
    from assistant.core.retrieve.query_translation import english_query
    from assistant.core.retrieve.section_questions import (
        ask_for_questions,
        parse_questions,
        pending_sections,
        question_rows,
    )
    from assistant.core.search_text import has_cjk
    from assistant.core.services.components import load_generator
    from assistant.core.services.library import Library

    settings = Settings()
    library = Library.open(settings)
    sections = pending_sections(library.store)
    cached = _read_cache(args.cache, parse_questions)
    generator = load_generator(settings)
    with args.cache.open("a", encoding="utf-8") as cache:
        for section in sections:
            if section.chunk_id in cached:
                continue
            started = time.monotonic()
            questions = ask_for_questions(generator, section, CancelToken())
            seconds = time.monotonic() - started
            cached[section.chunk_id] = (questions, seconds)
            record = {"chunk_id": section.chunk_id, "questions": questions}
            cache.write(json.dumps(record | {"seconds": round(seconds, 2)}) + "\n")
            cache.flush()
    asked = [(s, cached[s.chunk_id][0]) for s in sections]
    seconds = [cached[s.chunk_id][1] for s in sections]

    questions = [q for q in load_questions(args.questions) if q.gold]
    translations = {
        q.id: english_query(generator, q.question, None)
        for q in questions
        if has_cjk(q.question)
    }
    rows, ranks = [], {}
    variants: list[tuple[str, int]] = [
        ("without questions (the library as built)", 0),
        ("each section's first question", 1),
        ("all its questions (default of `assistant questions`)", 99),
    ]
    with tempfile.TemporaryDirectory() as scratch:
        for name, per_section in variants:
            index = Path(scratch) / name[:7].replace(" ", "_") / "index"
            shutil.copytree(args.home / "index", index)
            copy = Library.open(settings, index)
            added = [
                row
                for section, qs in asked
                for row in question_rows(section, qs[:per_section], copy.embedder)
            ]
            if added:
                copy.store.write_rows(added, [])
                copy.store.maintain()
            results, times = search_all(
                copy.retriever, questions, copy.retrieval_config(10), translations
            )
            ranks[name] = {r["id"]: r["page_rank"] for r in results}
            rows.append(
                hit_row(summarize(results), KINDS, times, variant=name)
                | {"question_rows": len(added)}
            )
        if args.tune is not None:
            tuned = _tuned_library(settings, asked, args.tune, Path(scratch))
            results, times = search_all(
                tuned.retriever, questions, tuned.retrieval_config(10), translations
            )
            name = "MiniLM fine-tuned on the questions (none stored)"
            ranks[name] = {r["id"]: r["page_rank"] for r in results}
            rows.append(hit_row(summarize(results), KINDS, times, variant=name))
    print_hit_table(rows, KINDS, ["variant"])
    before, after = ranks[variants[0][0]], ranks[variants[-1][0]]
    moved = {
        "up": sorted(q for q in before if _better(after[q], before[q])),
        "down": sorted(q for q in before if _better(before[q], after[q])),
    }
    cost = {
        "sections": len(sections),
        "seconds_per_section_mean": round(statistics.mean(seconds or [0.0]), 2),
        "hours_total": round(sum(seconds) / 3600, 2),
    }
    print(f"all questions against none: {moved}; asking: {cost}")
    print(
        "BENCH "
        + json.dumps(
            {
                "bench": "section_questions",
                "variants": rows,
                "moved": moved,
                "asking": cost,
                "ranks": ranks,
            },
            ensure_ascii=False,
        )
    )


def _tuned_library(
    settings: Any, asked: list[tuple[Any, list[str]]], docs: Path, scratch: Path
) -> Any:
    """A library of ``docs`` whose English encoder is MiniLM fine-tuned on the
    (question, section chunk) pairs with in-batch negatives."""
    import random

    import torch
    from transformers import AutoModel, AutoTokenizer

    from assistant.core import model_files
    from assistant.core.embed.onnx_embedding import export_onnx
    from assistant.core.ingest.chunking import row_embed_text
    from assistant.core.services.components import load_embedder
    from assistant.core.services.library import Library

    pairs = [(q, row_embed_text(s.chunk)) for s, qs in asked for q in qs]
    source, _ = model_files.resolve_embedder(model_files.BASE_EMBEDDER)
    tokenizer = AutoTokenizer.from_pretrained(str(source))
    model = AutoModel.from_pretrained(str(source)).train()
    batch = 32
    steps = len(pairs) // batch
    optimizer = torch.optim.AdamW(model.parameters(), lr=2e-5)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer,
        lambda s: min(1.0, (s + 1) / max(1, steps // 10)) * max(0.0, 1 - s / steps),
    )

    def encode(texts: list[str], tokens: int) -> Any:
        inputs = tokenizer(
            texts, padding=True, truncation=True, max_length=tokens, return_tensors="pt"
        )
        states = model(**inputs).last_hidden_state
        mask = inputs["attention_mask"].unsqueeze(-1).float()
        pooled = (states * mask).sum(1) / mask.sum(1)
        return torch.nn.functional.normalize(pooled, dim=-1)

    random.Random(0).shuffle(pairs)
    started = time.monotonic()
    for step in range(steps):
        part = pairs[step * batch : (step + 1) * batch]
        scores = encode([q for q, _ in part], 64) @ encode([p for _, p in part], 256).T
        same = torch.tensor(  # a section's other questions are no negatives
            [
                [a != b and part[a][1] == part[b][1] for b in range(batch)]
                for a in range(batch)
            ]
        )
        loss = torch.nn.functional.cross_entropy(
            (scores * 20.0).masked_fill(same, -1e4), torch.arange(batch)
        )
        loss.backward()
        optimizer.step()
        schedule.step()
        optimizer.zero_grad()
    print(f"fine-tuned on {len(pairs)} pairs in {time.monotonic() - started:.0f} s")
    folder = scratch / "tuned"
    model.eval().save_pretrained(folder / "hf")
    tokenizer.save_pretrained(folder / "hf")
    models = folder / "models"
    export_onnx(folder / "hf", models / f"{model_files.ROUTED_ENGLISH}.onnx", True)
    for other in model_files.models_dir().iterdir():  # the chat model, as set up
        if not (models / other.name).exists():
            (models / other.name).symlink_to(other)
    os.environ["ASSISTANT_MODELS_DIR"] = str(models)
    library = Library(settings, load_embedder(settings), directory=folder / "index")
    started = time.monotonic()
    library.ingest(sorted(docs.iterdir()))
    print(f"ingested with the tuned encoder in {time.monotonic() - started:.0f} s")
    return library


def _read_cache(path: Path, parse: Any) -> dict[str, tuple[list[str], float]]:
    """chunk id -> (questions, seconds); a record may hold the raw ``reply``."""
    out: dict[str, tuple[list[str], float]] = {}
    if not path.is_file():
        return out
    for line in path.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        questions = record.get("questions")
        if questions is None:
            questions = parse(record["reply"])
        out[record["chunk_id"]] = (questions, float(record.get("seconds", 0.0)))
    return out


def _better(rank: int | None, other: int | None) -> bool:
    return rank is not None and (other is None or rank < other)


if __name__ == "__main__":
    main()
