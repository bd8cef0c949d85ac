"""Retrieval quality by configuration, to choose the defaults by measurement:
vector-only, text-only, hybrid with several fusion weights, and hybrid + re-rank
by a chat GGUF, on three question sets over one library, in one run.

    python bench/retrieval_quality.py [CORPUS] [--rerankers A,B] [--rerank-candidates N]

Library: the sample documents (heron-manual.pdf, club-rules.txt,
library-guide-zh.md) plus the 463-page Python reference corpus (bench/corpus.py).
Question sets:
- sample: bench/eval/questions.jsonl (hand-written, EN + ZH, about the samples);
- pydocs: bench/eval/python-docs.jsonl (paraphrased EN questions and Chinese
  questions about the English reference: no shared words); gold pages are the
  pages holding the question's ``needle`` sentence;
- known-item: 40 sentences from random corpus pages with a quarter of the words
  dropped (bench/ingest_bench.py).
Re-rank runs on sample + pydocs only (it costs seconds per question).
Prints a table (hit@1 / hit@5 / MRR by page per set, p50 latency) and a JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

HERE = Path(__file__).parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT / "scripts"))


def needle_questions(
    path: Path, pages: list[tuple[str, int, str]]
) -> list[dict[str, object]]:
    flat = [(name, number, " ".join(text.split())) for name, number, text in pages]
    questions = []
    for line in path.read_text(encoding="utf-8").splitlines():
        data = json.loads(line)
        gold = [
            {"doc": name, "page": number}
            for name, number, text in flat
            if data["needle"] in text
        ]
        if not gold:
            raise SystemExit(f"{path.name} {data['id']}: needle found on no page")
        questions.append({"id": data["id"], "question": data["question"], "gold": gold})
    return questions


def load_sets(corpus: Path) -> dict[str, list]:  # type: ignore[type-arg]
    from ingest_bench import corpus_pages, make_questions

    from assistant.core.answer.evaluation import load_questions

    folder = Path(tempfile.mkdtemp(prefix="bench-questions-"))
    sets = {}
    pages = corpus_pages(corpus)
    generated = {
        "pydocs": needle_questions(HERE / "eval" / "python-docs.jsonl", pages),
        "known-item": [
            {"id": f"k{n:02d}", **q} for n, q in enumerate(make_questions(pages), 1)
        ],
    }
    sets["sample"] = load_questions(HERE / "eval" / "questions.jsonl")
    for name, rows in generated.items():
        file = folder / f"{name}.jsonl"
        file.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows))
        sets[name] = load_questions(file)
    return sets


CONFIGS: list[tuple[str, dict[str, object]]] = [
    ("vector", {"mode": "vector"}),
    ("text", {"mode": "text"}),
    ("hybrid 1:1 by scores (default)", {"fusion": "scores"}),
    ("hybrid 1:0.5 by scores", {"fusion": "scores", "text_weight": 0.5}),
    ("hybrid 1:2 by scores", {"fusion": "scores", "text_weight": 2.0}),
    ("hybrid 1:1 rrf k60", {"fusion": "rrf"}),
    ("hybrid 1:0.5 rrf k60", {"fusion": "rrf", "text_weight": 0.5}),
    ("hybrid 1:1 rrf k10", {"fusion": "rrf", "rrf_k": 10}),
]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("corpus", nargs="?", type=Path, default=HERE / "out" / "corpus")
    parser.add_argument(
        "--rerankers",
        default="qwen2.5-coder-0.5b,qwen2.5-coder-1.5b",
        help="chat models to re-rank with (comma-separated; empty = none)",
    )
    parser.add_argument("--rerank-candidates", type=int, default=8)
    args = parser.parse_args()
    if not any(args.corpus.glob("*.pdf")):
        from corpus import main as build_corpus

        sys.argv = ["corpus", str(args.corpus)]
        build_corpus()
    os.environ["ASSISTANT_HOME"] = tempfile.mkdtemp(prefix="bench-quality-")
    from make_sample_pdf import build as build_sample_pdf

    from assistant.core.answer.evaluation import run_eval, summarize
    from assistant.core.config import Settings
    from assistant.core.retrieve.retrieval import Retriever, load_reranker
    from assistant.core.services.components import load_embedder
    from assistant.core.services.library import Library

    samples = ROOT / "resources" / "samples"
    docs = Path(tempfile.mkdtemp(prefix="bench-docs-"))
    build_sample_pdf(docs / "heron-manual.pdf")
    paths = [
        docs / "heron-manual.pdf",
        samples / "club-rules.txt",
        samples / "library-guide-zh.md",
        *sorted(args.corpus.glob("*.pdf")),
    ]
    settings = Settings()
    library = Library(settings, load_embedder(settings))
    started = time.perf_counter()
    library.ingest(paths)
    library.complete_index()  # (a staged index's second stage)
    print(f"indexed {len(paths)} files in {time.perf_counter() - started:.1f} s")
    sets = load_sets(args.corpus)

    def measure(
        label: str, retriever: Retriever, overrides: dict[str, object], names: list[str]
    ) -> dict[str, object]:
        config = replace(library.retrieval_config(top_k=10), **overrides)
        row: dict[str, object] = {"config": label}
        latencies: list[float] = []

        def search(question: str) -> list:  # type: ignore[type-arg]
            began = time.perf_counter()
            sources = retriever.search(question, config)
            latencies.append((time.perf_counter() - began) * 1000)
            return sources

        for name in names:
            summary = summarize(run_eval(sets[name], search))
            for group, entry in summary.items():
                if group != "all" and len(summary) == 2:
                    continue  # one language: its row is the set's
                key = name if group == "all" else f"{name}-{group}"
                row[key] = {m: entry[m] for m in ("hit@1", "hit@5", "mrr")}
        row["p50_ms"] = round(statistics.median(latencies), 1)
        return row

    rows = [
        measure(label, library.retriever, overrides, list(sets))
        for label, overrides in CONFIGS
    ]
    for alias in filter(None, args.rerankers.split(",")):
        reranked = Retriever(library.store, library.embedder, load_reranker(alias))
        rows.append(
            measure(
                f"hybrid + re-rank {alias} (top {args.rerank_candidates})",
                reranked,
                {"rerank_candidates": args.rerank_candidates},
                ["sample", "pydocs"],
            )
        )
    print_table(rows)
    print("BENCH " + json.dumps({"bench": "retrieval_quality", "rows": rows}))


def print_table(rows: list[dict[str, object]]) -> None:
    keys = [k for k in rows[0] if k not in ("config", "p50_ms")]
    print("hit@1 / hit@5 / MRR by page")
    header = f"{'config':<44}" + "".join(f"{k:>21}" for k in keys) + f"{'p50 ms':>9}"
    print(header)
    for row in rows:
        cells = []
        for key in keys:
            entry = row.get(key)
            cells.append(
                "{hit@1:.2f}/{hit@5:.2f}/{mrr:.2f}".format(**entry)  # type: ignore[arg-type]
                if isinstance(entry, dict)
                else "-"
            )
        print(
            f"{str(row['config']):<44}"
            + "".join(f"{c:>21}" for c in cells)
            + f"{row['p50_ms']:>9}"
        )


if __name__ == "__main__":
    main()
