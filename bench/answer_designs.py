"""Answer designs compared on the dev set, in one run, with the default model.

    python bench/answer_designs.py [--devset DIR] [--designs a,b,...] [--limit N]

Library: the dev set's 8 documents (``../shared/devset``, fetched with its
``get-devset.sh`` into ``--devset``), ingested once into ``bench/out/devset-home``.
Retrieval runs once per question (default settings); every design then answers
the same questions with the same sources. Each answer is checked twice: with the
app's rule (a reply no passage supports becomes "not in your documents") and
without it, so the rule's cost on answerable questions and its gain on
unanswerable ones show side by side. Prints a table and one ``BENCH`` line per
design; per-question results go to ``bench/out/answers-DESIGN.jsonl`` (scorable
by the dev set's ``score.py``).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).parent
ROOT = HERE.parent
SHARED_DEVSET = ROOT.parent / "shared" / "devset"
SUMMARY_KEYS = (
    "hit@5",
    "keyword_accuracy",
    "conversion",
    "degenerate",
    "abstention",
    "wrong_refusals",
    "fact_claims_grounded",
    "ttft_s",
)


def ensure_devset(folder: Path) -> Path:
    docs = folder / "docs"
    if not (docs.is_dir() and len(list(docs.iterdir())) >= 8):
        subprocess.run(
            ["bash", str(SHARED_DEVSET / "get-devset.sh"), str(folder)], check=True
        )
    return docs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--devset", default="bench/out/devset")
    parser.add_argument("--questions", default=str(SHARED_DEVSET / "questions.jsonl"))
    parser.add_argument("--designs", default="")
    parser.add_argument(
        "--limit",
        type=int,
        default=0,
        help="compare the other designs on the first N questions of each kind "
        "(the default design always answers all)",
    )
    args = parser.parse_args()

    os.environ.setdefault("ASSISTANT_HOME", str(ROOT / "bench/out/devset-home"))
    from assistant.config import Settings
    from assistant.core.answer_check import check_answer
    from assistant.core.evaluation import load_questions, score, summarize
    from assistant.core.prompt import DEFAULT_DESIGN, DESIGNS
    from assistant.core.services import Conversation, Library, load_generator
    from assistant.core.types import Answer

    docs = ensure_devset(Path(args.devset))
    settings = Settings()
    library = Library.open(settings)
    started = time.perf_counter()
    report = library.ingest([docs])
    took = time.perf_counter() - started
    print(
        f"library: {len(library.documents())} documents, "
        f"{report.chunks_embedded} chunks embedded in {took:.0f} s",
        file=sys.stderr,
    )
    questions = load_questions(Path(args.questions))
    subset = questions
    if args.limit:
        seen: dict[str, int] = {}
        subset = []
        for q in questions:
            seen[q.group] = seen.get(q.group, 0) + 1
            if seen[q.group] <= args.limit:
                subset.append(q)
    ranked = {q.id: library.search(q.question, 10) for q in questions}
    sources = {q.id: library.search(q.question) for q in questions}
    names = args.designs.split(",") if args.designs else list(DESIGNS)
    generator = load_generator(settings)
    out = ROOT / "bench/out"
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for name in names:
        asked = questions if name == DEFAULT_DESIGN else subset
        conversation = Conversation(library, generator, DESIGNS[name])
        with_rule, without_rule = [], []
        tokens = seconds = 0.0
        for i, q in enumerate(asked, 1):
            conversation.reset()
            answer = conversation.ask(q.question, sources=sources[q.id])
            with_rule.append(score(q, ranked[q.id], answer))
            kept = check_answer(
                q.question,
                answer.raw,
                answer.sources,
                library.embedder.embed,
                decline_unsupported=False,
            )
            plain = Answer(
                kept.text,
                answer.sources,
                kept.cited,
                answer.timings,
                claims=kept.claims,
                declined=kept.declined,
            )
            without_rule.append(score(q, ranked[q.id], plain))
            tokens += answer.timings.get("tokens", 0.0)
            decode = answer.timings.get("total_ms", 0.0) - answer.timings.get(
                "ttft_ms", 0.0
            )
            seconds += max(decode, 0.0) / 1000
            with_rule[-1]["raw"] = answer.raw
            with_rule[-1]["source_texts"] = [s.text for s in answer.sources]
            print(f"\r{name}: {i}/{len(asked)}", end="", file=sys.stderr)
        print(file=sys.stderr)
        (out / f"answers-{name}.jsonl").write_text(
            "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in with_rule),
            encoding="utf-8",
        )
        for variant, results in (("", with_rule), (" (no decline rule)", without_rule)):
            summary = summarize(results)
            row: dict[str, object] = {"design": name + variant, "questions": len(asked)}
            for kind in ("paraphrase", "zh", "crosslingual"):
                if kind in summary:
                    row[f"kw_{kind}"] = summary[kind].get("keyword_accuracy")
            row.update({k: summary["all"].get(k) for k in SUMMARY_KEYS})
            row["abstention"] = summary.get("unanswerable", {}).get("abstention")
            row["wrong_refusals"] = summary.get("answerable", {}).get("wrong_refusals")
            row["kw_all"] = summary.get("answerable", {}).get("keyword_accuracy")
            row["decode_tok_s"] = round(tokens / seconds, 1) if seconds else None
            row["default"] = name == DEFAULT_DESIGN and not variant
            rows.append(row)
            print("BENCH " + json.dumps(row), flush=True)
    print_table(rows)


def print_table(rows: list[dict[str, object]]) -> None:
    columns = [
        "design",
        "questions",
        "kw_all",
        "kw_paraphrase",
        "kw_zh",
        "kw_crosslingual",
        "conversion",
        "degenerate",
        "abstention",
        "wrong_refusals",
        "fact_claims_grounded",
        "ttft_s",
        "decode_tok_s",
    ]
    print("| " + " | ".join(columns) + " |")
    print("|" + "---|" * len(columns))
    for row in rows:
        print("| " + " | ".join(_cell(row.get(c)) for c in columns) + " |")


def _cell(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.2f}"
    return "" if value is None else str(value)


if __name__ == "__main__":
    main()
