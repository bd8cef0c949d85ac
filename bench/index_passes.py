"""Encoder passes per indexed page, side by side in one run: the same documents
indexed by the app with the default settings, each way of making the vectors,
beside one bare pass of the default encoder over the text.

- ``encoded``: chunk vectors and sentence vectors each from their own pass
  (every token of a sentence with a vector of its own is encoded twice);
- ``from_sentences``: sentence vectors only, a chunk's vector the mean of its
  heading line's and its sentences' (``chunk_vectors: from_sentences``);
- ``staged`` (the default since issue 47): ``from_sentences`` first (the library
  is searchable by meaning: ``seconds``), then the pooled chunk vectors encoded
  whole (``complete_s``: every vector as ``encoded`` makes it); hit@k at both;
- ``chunks only``: no sentence vectors (a chunks-only first stage's cost);
- ``pooled sentences``: chunks encoded whole, each sentence's vector pooled from
  its chunk's token states in the same pass (``sentence_model: pooled``);
- ``bare pass``: the default embedder's ``embed`` over the indexed chunks' texts
  once (no parsing, no store): the floor the issue's ratio is stated against.

Also hit@1 / hit@5 by page of known-item questions drawn from the documents
(a sentence with some words dropped): a sanity check, not the recall figure (the
dev set's is ``bench/sentence_vectors.py``).

    python bench/index_passes.py [DOCS_DIR]   (default: bench/out/corpus)

Prints a table and one JSON line (prefix ``BENCH``).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from ingest_bench import corpus_pages, make_questions
from report import print_result, print_rows

HERE = Path(__file__).parent
BUILDS: dict[str, dict[str, Any]] = {
    "encoded": {"chunk_vectors": "encoded"},
    "from_sentences": {"chunk_vectors": "from_sentences"},
    "staged (default)": {"chunk_vectors": "staged"},
    "chunks only": {"sentence_vectors": False, "chunk_vectors": "encoded"},
    "pooled sentences": {"sentence_model": "pooled", "chunk_vectors": "encoded"},
}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("docs", nargs="?", type=Path, default=HERE / "out/corpus")
    args = parser.parse_args()
    os.environ["ASSISTANT_HOME"] = tempfile.mkdtemp(prefix="bench-passes-")

    from assistant.core.config import Settings
    from assistant.core.ingest.chunking import row_embed_text
    from assistant.core.ingest.pipeline import IngestOptions, run_ingest
    from assistant.core.services.components import load_embedder
    from assistant.core.services.library import Library

    settings = Settings()
    embedder = load_embedder(settings)
    files = sorted(p for p in args.docs.iterdir() if p.is_file())
    questions = (
        make_questions(corpus_pages(args.docs))
        if any(p.suffix == ".pdf" for p in files)
        else []
    )
    home = Path(os.environ["ASSISTANT_HOME"])
    rows: list[dict[str, object]] = []
    texts: list[str] = []
    for label, options in BUILDS.items():
        library = Library(settings, embedder, directory=home / label.split()[0])
        started = time.perf_counter()
        report = run_ingest(files, library.store, embedder, IngestOptions(**options))
        seconds = time.perf_counter() - started
        if not texts:
            chunks = library.store.scan(["title", "heading", "text"]).to_pylist()
            texts = [row_embed_text(r) for r in chunks]
        row: dict[str, object] = {
            "build": label,
            "seconds": round(seconds, 1),
            "pages_per_s": round(report.pages / seconds, 2),
            "chunks": report.chunks_embedded,
            "sentences": report.sentences_embedded,
            **_hits(library, questions),
        }
        pending = library.store.count_pending_vectors()
        if pending:
            done = library.complete_index()
            complete = time.perf_counter() - started
            row.update(
                complete_s=round(complete, 1),
                complete_pages_per_s=round(report.pages / complete, 2),
                encoded_whole=done.chunks,
                **{f"complete_{k}": v for k, v in _hits(library, questions).items()},
            )
        rows.append(row)
    started = time.perf_counter()
    embedder.embed(texts)
    bare = time.perf_counter() - started
    rows.append({"build": "bare pass over the chunks' text", "seconds": round(bare, 1)})
    for row in rows:
        row["over_bare"] = round(float(row["seconds"]) / bare, 2)  # type: ignore[arg-type]
        if "complete_s" in row:
            row["complete_over_bare"] = round(float(row["complete_s"]) / bare, 2)  # type: ignore[arg-type]
    print_rows(rows)
    print_result(
        {
            "bench": "index_passes",
            "docs": str(args.docs),
            "files": len(files),
            "questions": len(questions),
            "cpus": os.cpu_count(),
            "runs": rows,
        }
    )


def _hits(library: Any, questions: list[dict[str, object]]) -> dict[str, float]:
    """hit@1 and hit@5 by page of the known-item questions."""
    hits = {1: 0, 5: 0}
    for q in questions:
        found = [
            i
            for i, s in enumerate(library.search(str(q["question"]), top_k=5))
            if Path(s.path).name == q["gold"][0]["doc"]  # type: ignore[index]
            and s.page == q["gold"][0]["page"]  # type: ignore[index]
        ]
        for k in hits:
            hits[k] += bool(found and found[0] < k)
    return {f"hit@{k}": round(v / max(len(questions), 1), 2) for k, v in hits.items()}


if __name__ == "__main__":
    main()
