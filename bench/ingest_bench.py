"""Ingest benchmark on real PDFs (400+ pages): the app versus bare ``encode`` of the
same texts (chunks and sentences: the ceiling), the app without sentence vectors,
and LlamaIndex's default pipeline with the same embedder, in one run. Also:
truncated share, time to first searchable document, and retrieval hit@5 by page
on questions drawn from the corpus.

    python bench/ingest_bench.py [CORPUS_DIR] [--no-llamaindex]

LlamaIndex runs in its own venv, made on first use: bench/.venv-llamaindex.
Prints a table and one JSON line (prefix ``BENCH``).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from report import print_result

HERE = Path(__file__).parent
LI_VENV = HERE / ".venv-llamaindex"
LI_PACKAGES = [
    "torch==2.13.0",
    "llama-index-core",
    "llama-index-readers-file",
    "llama-index-embeddings-huggingface",
    "llama-index-vector-stores-lancedb",
]


def corpus_pages(corpus: Path) -> list[tuple[str, int, str]]:
    """(file name, 1-based page number, extracted text) of every PDF page."""
    from pypdf import PdfReader

    return [
        (pdf.name, number, page.extract_text() or "")
        for pdf in sorted(corpus.glob("*.pdf"))
        for number, page in enumerate(PdfReader(str(pdf)).pages, 1)
    ]


def make_questions(
    pages: list[tuple[str, int, str]], count: int = 40, seed: int = 3
) -> list[dict[str, object]]:
    """Known-item questions: a sentence from a random page, some words dropped."""
    rng = random.Random(seed)
    questions = []
    while len(questions) < count:
        name, number, text = rng.choice(pages)
        sentences = [
            s
            for s in re.split(r"(?<=[.!?])\s+", " ".join(text.split()))
            if 8 <= len(s.split()) <= 25
        ]
        if not sentences:
            continue
        words = rng.choice(sentences).split()
        kept = [w for w in words if rng.random() > 0.25]
        questions.append(
            {"question": " ".join(kept), "gold": [{"doc": name, "page": number}]}
        )
    return questions


def ensure_llamaindex_venv() -> Path | None:
    python = LI_VENV / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(LI_VENV)], check=True)
        done = subprocess.run([str(python), "-m", "pip", "install", "-q", *LI_PACKAGES])
        if done.returncode != 0:
            return None
    return python


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("corpus", nargs="?", type=Path, default=HERE / "out" / "corpus")
    parser.add_argument("--no-llamaindex", action="store_true")
    parser.add_argument(
        "--embedding-model", default=None, help="default: the app's default"
    )
    parser.add_argument("--chunk-tokens", type=int, default=None)
    args = parser.parse_args()
    if not any(args.corpus.glob("*.pdf")):
        sys.path.insert(0, str(HERE))
        from corpus import main as build_corpus

        sys.argv = ["corpus", str(args.corpus)]
        build_corpus()
    os.environ["ASSISTANT_HOME"] = tempfile.mkdtemp(prefix="bench-ingest-")
    questions = make_questions(corpus_pages(args.corpus))
    questions_file = Path(tempfile.mkdtemp()) / "questions.json"
    questions_file.write_text(json.dumps(questions))

    from assistant.core.config import Settings
    from assistant.core.index.store import SENTENCE_ROWS
    from assistant.core.ingest.chunking import row_embed_text
    from assistant.core.services.components import load_embedder
    from assistant.core.services.library import Library
    from assistant.core.types import IngestProgress

    settings = (
        Settings(embedding_model=args.embedding_model)
        if args.embedding_model
        else Settings()
    )
    if args.chunk_tokens:
        settings = settings.model_copy(
            update={
                "chunk_tokens": args.chunk_tokens,
                "chunk_overlap": args.chunk_tokens // 7,
            }
        )
    embedder = load_embedder(settings)
    home = Path(os.environ["ASSISTANT_HOME"])
    plain = Library(
        settings.model_copy(update={"sentence_vectors": False}),
        embedder,
        directory=home / "no-sentences",
    )
    started = time.perf_counter()
    plain.ingest(sorted(args.corpus.glob("*.pdf")))
    plain_s = time.perf_counter() - started
    library = Library(settings, embedder, directory=home / "index")
    first_searchable: list[float] = []
    started = time.perf_counter()

    def on_progress(state: IngestProgress) -> None:
        if state.pages_done and not first_searchable:
            first_searchable.append(time.perf_counter() - started)

    report = library.ingest(sorted(args.corpus.glob("*.pdf")), progress=on_progress)
    app_s = time.perf_counter() - started  # searchable by meaning
    library.complete_index()  # (a staged index's second stage)
    complete_s = time.perf_counter() - started
    rows = library.store.scan(["title", "heading", "text"]).to_pylist()
    texts = [row_embed_text(r) for r in rows]
    truncated = sum(c > embedder.max_tokens for c in embedder.count_tokens(texts))
    sentences = library.store.scan(["text"], rows=SENTENCE_ROWS).column("text")
    started = time.perf_counter()
    embedder.embed(texts)
    chunks_bare_s = time.perf_counter() - started
    embedder.embed(sentences.to_pylist())
    bare_s = time.perf_counter() - started
    hits_at = {1: 0, 3: 0, 5: 0, 10: 0}
    for q in questions:
        sources = library.search(str(q["question"]), top_k=10)
        gold = q["gold"][0]  # type: ignore[index]
        found = [
            i
            for i, s in enumerate(sources)
            if Path(s.path).name == gold["doc"] and s.page == gold["page"]
        ]
        for k in hits_at:
            hits_at[k] += bool(found and found[0] < k)
    hits = hits_at[5]
    result: dict[str, object] = {
        "pages": report.pages,
        "chunks": report.chunks_embedded,
        "app_s": round(app_s, 1),
        "pages_per_s": round(report.pages / app_s, 2),
        "chunks_per_s": round(report.chunks_embedded / app_s, 1),
        "embedded_tokens_per_s": round(report.tokens_embedded / app_s),
        "truncated_share": round(truncated / max(len(texts), 1), 3),
        "first_searchable_s": round(first_searchable[0], 1)
        if first_searchable
        else None,
        "sentences": report.sentences_embedded,
        "bare_encode_s": round(bare_s, 1),
        "app_over_bare": round(app_s / bare_s, 3),
        "app_complete_s": round(complete_s, 1),
        "complete_over_bare": round(complete_s / bare_s, 3),
        "bare_encode_chunks_only_s": round(chunks_bare_s, 1),
        "app_without_sentences_s": round(plain_s, 1),
        "without_sentences_over_chunks_bare": round(plain_s / chunks_bare_s, 3),
        "chunk_tokens": settings.chunk_tokens,
        "hit@5": round(hits / len(questions), 3),
        **{f"hit@{k}": round(v / len(questions), 3) for k, v in hits_at.items()},
    }
    python = None if args.no_llamaindex else ensure_llamaindex_venv()
    if python is not None:
        embedder_dir = str(getattr(embedder, "path", ""))
        out = subprocess.run(
            [
                str(python),
                str(HERE / "llamaindex_ingest.py"),
                str(args.corpus),
                embedder_dir,
                str(questions_file),
            ],
            capture_output=True,
            text=True,
            env={**os.environ, "HF_HUB_OFFLINE": "1"},
        )
        line = next((x for x in out.stdout.splitlines() if x.startswith("{")), None)
        if line:
            li = json.loads(line)
            result.update({f"llamaindex_{k}": v for k, v in li.items()})
            result["app_over_llamaindex"] = round(app_s / li["seconds"], 3)
        else:
            result["llamaindex_error"] = out.stderr.strip().splitlines()[-1:]
    print_result(result)


if __name__ == "__main__":
    main()
