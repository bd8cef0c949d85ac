"""The MiniLM encoder's batch size on the dev set, side by side in one run: each
batch size builds the default library from the dev set's documents (its own
process, so neither warms the other) and is searched with every question as the
app searches (Chinese questions translated by the chat model).

    python bench/embed_batch_devset.py DEVSET_DIR [--batches 32,8]
        [--questions ../shared/devset/questions.jsonl]

Prints ingest time and hit@1 / hit@5 per kind, and one JSON line (prefix ``BENCH``).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from report import print_result

HERE = Path(__file__).resolve().parent
QUESTIONS = HERE.parent.parent / "shared" / "devset" / "questions.jsonl"
KINDS = ("paraphrase", "zh", "crosslingual", "answerable")


def child(devset: Path, questions: Path, batch: int) -> None:
    os.environ["ASSISTANT_HOME"] = tempfile.mkdtemp(prefix=f"embed-batch-{batch}-")
    from assistant.core.answer.evaluation import load_questions, run_eval, summarize
    from assistant.core.config import load_settings
    from assistant.core.services.components import load_generator
    from assistant.core.services.library import Library
    from assistant.core.services.question_search import search_question

    settings = load_settings()
    library = Library.open(settings)
    english = getattr(library.embedder, "english", library.embedder)
    english.batch_size = batch  # type: ignore[attr-defined]
    started = time.perf_counter()
    report = library.ingest(sorted((devset / "docs").iterdir()))
    seconds = time.perf_counter() - started
    generator = load_generator(settings)
    results = run_eval(
        load_questions(questions),
        lambda q: search_question(library, generator, q, None)[0],
    )
    summary = summarize(results)
    print(
        json.dumps(
            {
                "batch": batch,
                "ingest_s": round(seconds, 1),
                "chunks": report.chunks_embedded,
                "sentences": report.sentences_embedded,
                **{
                    f"{kind}_hit@{k}": summary[kind][f"hit@{k}"]
                    for kind in KINDS
                    for k in (1, 5)
                },
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("devset", type=Path)
    parser.add_argument("--batches", default="32,8")
    parser.add_argument("--questions", type=Path, default=QUESTIONS)
    parser.add_argument("--child", type=int)
    args = parser.parse_args()
    if args.child:
        child(args.devset, args.questions, args.child)
        return
    rows = []
    for batch in args.batches.split(","):
        out = subprocess.run(
            [
                sys.executable,
                __file__,
                str(args.devset),
                "--child",
                batch,
                "--questions",
                str(args.questions),
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        rows.append(json.loads(out.strip().splitlines()[-1]))
    for row in rows:
        print(" | ".join(f"{k} {v}" for k, v in row.items()))
    print_result({"runs": rows})


if __name__ == "__main__":
    main()
