"""How every benchmark reports: an aligned table, then one ``BENCH {json}`` line."""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

DEVSET_QUESTIONS = Path(__file__).resolve().parents[2] / "shared/devset/questions.jsonl"
"""The public dev set's questions, beside this repository."""


def print_result(result: Mapping[str, object]) -> None:
    width = max(len(key) for key in result)
    for key, value in result.items():
        print(f"{key:<{width}}  {value}")
    print("BENCH " + json.dumps(result))


def print_rows(rows: list[dict[str, object]]) -> None:
    """Runs side by side: one line each, under the widest row's columns."""
    columns = list(max(rows, key=len))
    print(" | ".join(columns))
    for row in rows:
        print(" | ".join(str(row.get(c, "")) for c in columns))


def hit_row(
    summary: Mapping[str, Mapping[str, float]],
    kinds: Sequence[str],
    times_ms: Sequence[float],
    **labels: str,
) -> dict[str, object]:
    """One variant of a retrieval run: its labels, [hit@1, hit@5] per kind (of an
    ``evaluation.summarize`` result) and the search p50."""
    return {
        **labels,
        **{
            k: [round(summary[k]["hit@1"], 2), round(summary[k]["hit@5"], 2)]
            for k in kinds
            if k in summary
        },
        "p50_ms": round(statistics.median(times_ms), 1),
    }


def print_hit_table(
    rows: Sequence[Mapping[str, Any]], kinds: Sequence[str], labels: Sequence[str]
) -> None:
    """``hit_row`` rows as a Markdown table (as pasted into the README)."""
    head = " | ".join([*labels, *(f"{k} hit@1 / @5" for k in kinds), "p50"])
    print(f"\n| {head} |")
    print("|" + "---|" * (len(labels) + len(kinds) + 1))
    for row in rows:
        cells = [str(row[label]) for label in labels] + [
            f"{row[k][0]:.2f} / {row[k][1]:.2f}" if k in row else "–" for k in kinds
        ]
        print(f"| {' | '.join(cells)} | {row['p50_ms']} ms |")


def devset_library_parser() -> argparse.ArgumentParser:
    """The arguments of a probe on a dev-set library: its home and the questions."""
    parser = argparse.ArgumentParser()
    parser.add_argument("home", type=Path, help="ASSISTANT_HOME of a dev-set library")
    parser.add_argument("--questions", type=Path, default=DEVSET_QUESTIONS)
    return parser


def search_all(
    retriever: Any,
    questions: Sequence[Any],
    config: Any,
    translations: Mapping[str, str | None],
) -> tuple[list[dict[str, Any]], list[float]]:
    """Each question searched by the app's retriever and scored as `assistant eval`
    scores it (the results), with each search's milliseconds."""
    from assistant.core.answer.evaluation import score

    results, times = [], []
    for q in questions:
        started = time.perf_counter()
        sources = retriever.search(q.question, config, translations.get(q.id))
        times.append((time.perf_counter() - started) * 1000)
        results.append(score(q, sources, None))
    return results, times
