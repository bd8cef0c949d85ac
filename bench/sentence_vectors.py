"""Sentence vectors on the dev set, in one run: the default library (chunk and
sentence vectors) built from the dev set's documents (and again with each sentence
embedded after its heading, and with sentences embedded by USE), then searched with
each way of using the sentence vectors, and without them, by the app's own search.
Chinese questions are translated once by the chat model (as the app does) and every
variant gets the same translations.

    python bench/sentence_vectors.py DEVSET_DIR [--questions FILE]
        [--builds without,with,...]  (default: all; the variants of the others
        are left out)

Prints ingest time with and without sentence vectors, a table of hit@1 / hit@5
per kind with search p50, and one JSON line (prefix ``BENCH``).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from report import DEVSET_QUESTIONS, hit_row, print_hit_table, search_all

KINDS = ("paraphrase", "zh", "crosslingual", "answerable")
VARIANTS: list[tuple[str, str, dict[str, Any]]] = [
    ("no sentence vectors (chunks + full text)", "with", {"sentences": False}),
    ("sentence lists, translation's at 0.5 (default)", "with", {}),
    (
        "sentence lists, translation's at 1.0",
        "with",
        {"translation_sentence_weight": 1.0},
    ),
    (
        "sentence lists, translation's left out",
        "with",
        {"translation_sentence_weight": 0.0},
    ),
    ("sentence lists at 0.5", "with", {"sentence_weight": 0.5}),
    ("merged into the chunk list by rank (rrf)", "with", {"sentence_merge": "rrf"}),
    ("merged into the chunk list by cosine (max)", "with", {"sentence_merge": "max"}),
    ("sentences embedded after their heading", "with_headings", {}),
    ("sentences embedded by USE (faster) instead of MiniLM", "by_use", {}),
    ("sentences pooled from their chunk's pass (late pooling)", "pooled", {}),
    (
        "chunk vectors: their sentences' mean by length (each token encoded once)",
        "from_sentences",
        {},
    ),
    ("staged (default): searchable by meaning (its first stage)", "staged", {}),
    ("staged (default): complete (chunks encoded whole)", "staged_complete", {}),
    (
        "encoded, its chunks encoded again in the second stage's batches (noise)",
        "with_again",
        {},
    ),
]
BUILDS: dict[str, dict[str, Any]] = {
    "without": {"sentence_vectors": False},
    "with": {},
    "with_headings": {"sentence_headings": True},
    "by_use": {"sentence_model": "multilingual"},
    "pooled": {"sentence_model": "pooled"},
    "from_sentences": {"chunk_vectors": "from_sentences"},
    "staged": {"chunk_vectors": "staged"},
}
"""Each library the variants search, by the ingest options it is built with."""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("devset", type=Path, help="the folder get-devset.sh filled")
    parser.add_argument("--questions", type=Path, default=DEVSET_QUESTIONS)
    parser.add_argument("--builds", default=",".join(BUILDS))
    parser.add_argument(
        "--again",
        action="store_true",
        help="also search the 'with' library with its chunks encoded again in "
        "the second stage's batches (how far the encoder's own noise moves hits)",
    )
    args = parser.parse_args()
    os.environ["ASSISTANT_HOME"] = tempfile.mkdtemp(prefix="bench-sentences-")

    from assistant.core.answer.evaluation import load_questions, summarize
    from assistant.core.config import Settings
    from assistant.core.index.store import PENDING_VECTOR
    from assistant.core.ingest.pipeline import IngestOptions, run_ingest
    from assistant.core.retrieve.query_translation import english_query
    from assistant.core.search_text import has_cjk
    from assistant.core.services.components import load_embedder, load_generator
    from assistant.core.services.library import Library

    settings = Settings()
    embedder = load_embedder(settings)
    docs = sorted((args.devset / "docs").iterdir())
    home = Path(os.environ["ASSISTANT_HOME"])
    ingest: dict[str, float] = {}
    libraries = {}
    for label in args.builds.split(","):
        lib = Library(settings, embedder, directory=home / label)
        started = time.perf_counter()
        run_ingest(docs, lib.store, embedder, IngestOptions(**BUILDS[label]))
        ingest[f"ingest_{label}_s"] = round(time.perf_counter() - started, 1)
        libraries[label] = lib
        if lib.store.count_pending_vectors():  # staged: searched at both stages
            shutil.copytree(home / label, home / f"{label}_complete")
            done = Library(settings, embedder, directory=home / f"{label}_complete")
            stage = time.perf_counter()
            done.complete_index()
            complete = ingest[f"ingest_{label}_s"] + time.perf_counter() - stage
            ingest[f"ingest_{label}_complete_s"] = round(complete, 1)
            libraries[f"{label}_complete"] = done
    if args.again and "with" in libraries:  # the encoder's noise, measured: the
        # same chunks encoded again, batched as a staged index's second stage does
        shutil.copytree(home / "with", home / "with_again")
        again = Library(settings, embedder, directory=home / "with_again")
        again.store.table.update(
            where="parent IS NULL AND text_hash IS NOT NULL",
            values_sql={"text_hash": f"concat('{PENDING_VECTOR}', text_hash)"},
        )
        again.complete_index()
        libraries["with_again"] = again
    library = libraries.get("with") or next(iter(libraries.values()))
    counts = {
        "chunks": library.store.count_chunks(),
        "sentences": library.store.count_sentences(),
    }
    print(
        "ingest: "
        + ", ".join(f"{k[7:-2]} {v} s" for k, v in ingest.items())
        + f" ({counts['chunks']} chunks, {counts['sentences']} sentences)"
    )

    questions = [q for q in load_questions(args.questions) if q.gold]
    generator = load_generator(settings)
    translations = {
        q.id: english_query(generator, q.question, None)
        for q in questions
        if has_cjk(q.question)
    }
    base = library.retrieval_config(10)
    rows = []
    for name, label, change in VARIANTS:
        if label not in libraries:
            continue
        library = libraries[label]
        config = dataclasses.replace(base, **change)
        results, times = search_all(library.retriever, questions, config, translations)
        rows.append(hit_row(summarize(results), KINDS, times, variant=name))
    print_hit_table(rows, KINDS, ["variant"])
    print(
        "BENCH "
        + json.dumps(
            {"bench": "sentence_vectors", **ingest, **counts, "variants": rows},
            ensure_ascii=False,
        )
    )


if __name__ == "__main__":
    main()
