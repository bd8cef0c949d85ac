"""Retrieval latency (query embedding included) at 1k, 10k and 100k chunks,
hybrid versus vector-only, with and without sentence vectors, for each embedder,
in one run. Each chunk has ``--sentences`` sentence rows (3: the dev set's English
text has 13.4k for 4.5k chunks). Chunk texts are synthetic
(random words); their vectors are random unit vectors, so only speed is measured
here. For the routed embedder the chunks are English: their USE half is zero, as
ingest leaves it.

    python bench/retrieval_bench.py [--sizes 1000,10000,100000] [--queries 40]
        [--embedders use-minilm-routed-v1,use-multilingual-v3] [--sentences 3]
        [--ann-caps none,24]

``--ann-caps``: the most IVF partitions of the ANN index, each cap measured on the
same rows (the index built again); ``none`` is no cap.

Prints a table and one JSON line (prefix ``BENCH``).
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any, Literal

import numpy as np

from assistant.core.index.store import chunk_row_id, sentence_row_id


def _rows(
    start: int,
    count: int,
    dim: int,
    rng: np.random.Generator,
    vocabulary: list[str],
    zero_prefix: int = 0,
    sentences: int = 0,
) -> list[dict[str, object]]:
    vectors = rng.standard_normal((count * (1 + sentences), dim)).astype(np.float32)
    vectors[:, :zero_prefix] = 0.0
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    rows: list[dict[str, object]] = []
    for i in range(count):
        n = start + i
        words = " ".join(rng.choice(vocabulary, 60))
        rows.append(
            {
                "chunk_id": chunk_row_id(f"doc{n // 50}", n),
                "doc_id": f"doc{n // 50}",
                "path": f"/bench/doc{n // 50}.txt",
                "title": f"doc{n // 50}",
                "kind": "txt",
                "content_hash": "x",
                "file_size": 1,
                "page_count": 0,
                "ingested_at": 0.0,
                "ordinal": n,
                "page": None,
                "page_label": None,
                "start": (n % 50) * 1000,  # each chunk its own span, as in
                "end": (n % 50) * 1000 + 900,  # a text file (none collapse)
                "heading": "",
                "text": words,
                "text_hash": str(n),
                "search_text": words,
                "vector": vectors[i],
            }
        )
        for k in range(sentences):
            rows.append(
                {
                    **rows[-1 - k],
                    "chunk_id": sentence_row_id(chunk_row_id(f"doc{n // 50}", n), k),
                    "parent": chunk_row_id(f"doc{n // 50}", n),
                    "text": words[:40],
                    "text_hash": f"{n}s{k}",
                    "search_text": None,
                    "vector": vectors[count + i * sentences + k],
                }
            )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--queries", type=int, default=40)
    parser.add_argument(
        "--embedders", default="use-minilm-routed-v1,use-multilingual-v3"
    )
    parser.add_argument("--sentences", type=int, default=3)
    parser.add_argument("--ann-caps", default="default")
    args = parser.parse_args()
    table = []
    for name in args.embedders.split(","):
        table += _measure(
            name,
            [int(s) for s in args.sizes.split(",")],
            args.queries,
            args.sentences,
            args.ann_caps.split(","),
        )
    header = ("embedder", "chunks", "cap", "mode", "ann", "p50 ms", "p95 ms", "index s")
    print(f"{header[0]:>22} " + " ".join(f"{h:>8}" for h in header[1:]))
    for row in table:
        print(
            f"{row['embedder']:>22} "
            f"{row['chunks']:>8} {row['ann_cap']!s:>8} {row['mode']:>11} "
            f"{row['ann_index']!s:>5} "
            f"{row['p50_ms']:>8} {row['p95_ms']:>8} {row['index_update_s']:>8}"
        )
    print("BENCH " + json.dumps({"retrieval": table}))


def _measure(
    name: str, sizes: list[int], queries_n: int, sentences: int, caps: list[str]
) -> list[dict[str, object]]:
    from assistant.core.config import Settings
    from assistant.core.index.store import ANN_MAX_PARTITIONS, ChunkStore
    from assistant.core.services.components import load_embedder

    embedder = load_embedder(Settings(embedding_model=name))
    zero_prefix = getattr(getattr(embedder, "multilingual", None), "dim", 0)
    rng = np.random.default_rng(0)
    vocabulary = [f"term{i}" for i in range(20000)] + [
        "pump",
        "valve",
        "filter",
        "rotor",
    ]
    queries = [
        " ".join(rng.choice(vocabulary, 6)) + " pump valve" for _ in range(queries_n)
    ]
    embedder.embed_query("warm up")
    table = []
    store = ChunkStore(Path(tempfile.mkdtemp()) / "index", embedder.name, embedder.dim)
    loaded = 0
    for size in sizes:
        while loaded < size:
            batch = min(5000, size - loaded)
            rows = _rows(
                loaded, batch, embedder.dim, rng, vocabulary, zero_prefix, sentences
            )
            store.replace_documents(sorted({str(r["doc_id"]) for r in rows}), rows)
            loaded += batch
        for cap_name in caps:
            cap = (
                ANN_MAX_PARTITIONS
                if cap_name == "default"
                else None
                if cap_name == "none"
                else int(cap_name)
            )
            if store.ann_max_partitions != cap:  # the same rows by another rule
                if store.has_vector_index():
                    store.table.drop_index(store.ann_index_name)
                store.ann_max_partitions = cap
                store.generation += 1
            started = time.perf_counter()
            store.maintain()
            index_s = time.perf_counter() - started
            rows_now = _searches(store, embedder, name, size, queries, sentences, cap)
            for row in rows_now:
                row["index_update_s"] = round(index_s, 1)
            table += rows_now
    return table


def _searches(
    store: Any,
    embedder: Any,
    name: str,
    size: int,
    queries: list[str],
    sentences: int,
    cap: int | None,
) -> list[dict[str, object]]:
    """Each mode's p50 and p95 over ``queries`` on the store as it is."""
    from assistant.core.retrieve.retrieval import RetrievalConfig, Retriever

    table: list[dict[str, object]] = []
    retriever = Retriever(store, embedder)
    modes: list[tuple[Literal["vector", "hybrid"], bool]] = [
        ("vector", False),
        ("hybrid", False),
        ("vector", True),
        ("hybrid", True),
    ]
    for mode, with_sentences in modes:
        if with_sentences and not sentences:
            continue
        config = RetrievalConfig(
            top_k=5, mode=mode, min_similarity=-1.0, sentences=with_sentences
        )
        retriever.search(queries[0], config)  # warm caches
        times = []
        for query in queries:
            started = time.perf_counter()
            retriever.search(query, config)
            times.append((time.perf_counter() - started) * 1000)
        times.sort()
        table.append(
            {
                "embedder": name,
                "chunks": size,
                "mode": mode + ("+sent" if with_sentences else ""),
                "rows": store.count_chunks() + store.count_sentences(),
                "ann_index": store.has_vector_index(),
                "p50_ms": round(statistics.median(times), 1),
                "p95_ms": round(times[int(0.95 * (len(times) - 1))], 1),
                "ann_cap": cap,
            }
        )
    return table


if __name__ == "__main__":
    main()
