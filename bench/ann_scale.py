"""Recall of the ANN index at library sizes the dev set does not reach (issue 14).

A dev-set library has ~19k rows, so every IVF partition is searched (``store.py``,
``ANN_PARTITION_ROWS``); at 100k chunks (~400k rows with their sentences) a search
probes 24 of ~195. This grows the dev-set library's own vectors to N rows: its real
rows, then rows mixed from two real rows of the same embedder (``a + 0.5 b`` plus a
little noise, normalised; MiniLM rows from MiniLM rows, USE rows from USE rows, in
the library's shares), indexes them as the store does (IVF_HNSW_SQ, cosine, 64
training vectors a partition) under each partition rule, and searches the dev-set
questions' own query vectors (each view: MiniLM for English text, USE for any
language) with each number of probes. Recall@10 against exact search (numpy), for
all views and for the USE views alone, and the p50 of one vector search.

Mixed rows are a stand-in for real ones (their neighbourhoods are smoother than a
real library's), so compare rules and probes within a run, not against the dev set.

    python bench/ann_scale.py LIBRARY_HOME [--rows 100000,400000]
        [--rules 2048,8192] [--caps none,24] [--probes 24,48,96,all]

``--rules`` are rows per partition, ``--caps`` the most partitions (``none``: no
cap; ``store.ann_partitions``).
"""

from __future__ import annotations

import json
import os
import statistics
import tempfile
import time
from typing import Any

import numpy as np
from report import devset_library_parser, print_rows

SEARCH_ROWS = 90
"""Rows one vector search of the app asks for (30 candidates, 2 sentence rows
each beyond the chunk: ``RetrievalConfig``); the first 10 are compared."""
USE_DIMS = 512
"""The routed embedder's vector: USE's 512 dimensions, then MiniLM's 384 (a row
fills one part, the other is zeros)."""


def main() -> None:
    parser = devset_library_parser()
    parser.add_argument("--rows", default="100000,400000")
    parser.add_argument("--rules", default="2048,8192", help="rows per partition")
    parser.add_argument("--caps", default="none", help="most partitions")
    parser.add_argument("--probes", default="24,48,96,all")
    args = parser.parse_args()
    os.environ["ASSISTANT_HOME"] = str(args.home)

    import lancedb
    import pyarrow as pa

    from assistant.core.answer.evaluation import load_questions
    from assistant.core.config import Settings
    from assistant.core.embed.embedding import query_views
    from assistant.core.index.store import ANN_SAMPLE_RATE, ann_partitions
    from assistant.core.services.library import Library

    library = Library.open(Settings())
    questions = [q for q in load_questions(args.questions) if q.gold]
    queries = np.stack(
        [v.vector for q in questions for v in query_views(library.embedder, q.question)]
    ).astype(np.float32)
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    use_query = np.abs(queries[:, :USE_DIMS]).sum(axis=1) > 0
    vectors = (
        library.store.table.to_arrow().column("vector").to_numpy(zero_copy_only=False)
    )
    real = np.stack(vectors).astype(np.float32)
    rows: list[dict[str, object]] = []
    for total in (int(n) for n in args.rows.split(",")):
        grown = _grown(real, total, np.random.default_rng(0))
        exact = [set(np.argsort(-(grown @ q))[:10].tolist()) for q in queries]
        table: Any = lancedb.connect(tempfile.mkdtemp(dir="/tmp")).create_table(
            "rows",
            pa.table(
                {
                    "id": np.arange(len(grown)),
                    "vector": pa.FixedSizeListArray.from_arrays(
                        pa.array(grown.reshape(-1)), grown.shape[1]
                    ),
                }
            ),
        )
        layouts = sorted(
            {
                (rule, ann_partitions(total, cap, rule))
                for rule in (int(r) for r in args.rules.split(","))
                for cap in (
                    None if c == "none" else int(c) for c in args.caps.split(",")
                )
            }
        )
        for rule, partitions in layouts:
            started = time.perf_counter()
            table.create_index(
                metric="cosine",
                vector_column_name="vector",
                index_type="IVF_HNSW_SQ",
                num_partitions=partitions,
                sample_rate=ANN_SAMPLE_RATE,
                replace=True,
            )
            build_s = time.perf_counter() - started
            for probes in _probes(args.probes, partitions):
                recalls, times = [], []
                for query, truth in zip(queries, exact, strict=True):
                    started = time.perf_counter()
                    found = (
                        table.search(query, vector_column_name="vector")
                        .metric("cosine")
                        .nprobes(probes)
                        .refine_factor(1)
                        .select(["id", "_distance"])
                        .limit(SEARCH_ROWS)
                        .to_list()
                    )[:10]
                    times.append((time.perf_counter() - started) * 1000)
                    recalls.append(len({r["id"] for r in found} & truth) / 10)
                use = [r for r, u in zip(recalls, use_query, strict=True) if u]
                rows.append(
                    {
                        "rows": total,
                        "rows_per_partition": rule,
                        "partitions": partitions,
                        "probes": probes,
                        "recall@10": round(statistics.mean(recalls), 3),
                        "recall@10_use_views": round(statistics.mean(use), 3),
                        "queries_below_0.5": sum(r < 0.5 for r in recalls),
                        "p50_ms": round(statistics.median(times), 1),
                        "build_s": round(build_s, 1),
                    }
                )
                print(json.dumps(rows[-1]), flush=True)
    print_rows(rows)
    print(
        "BENCH "
        + json.dumps(
            {
                "bench": "ann_scale",
                "queries": len(queries),
                "use_views": int(use_query.sum()),
                "rows": rows,
            }
        )
    )


def _grown(real: Any, total: int, rng: Any) -> Any:
    """``real`` and rows mixed from pairs of its rows of one embedder, ``total`` in
    all, normalised."""
    use = np.abs(real[:, :USE_DIMS]).sum(axis=1) > 0
    parts = [real]
    wanted = total - len(real)
    for members in (np.flatnonzero(use), np.flatnonzero(~use)):
        count = round(wanted * len(members) / len(real))
        a, b = rng.choice(members, count), rng.choice(members, count)
        mixed = real[a] + 0.5 * real[b]
        noise = rng.standard_normal(mixed.shape).astype(np.float32)
        noise *= (real[a] != 0).astype(np.float32)
        mixed += 0.4 * noise / np.linalg.norm(noise, axis=1, keepdims=True)
        parts.append(mixed / np.linalg.norm(mixed, axis=1, keepdims=True))
    return np.concatenate(parts)[:total]


def _probes(setting: str, partitions: int) -> list[int]:
    """The probes asked for, each at most the partitions, without repeats."""
    wanted = [
        partitions if p == "all" else min(int(p), partitions)
        for p in setting.split(",")
    ]
    return sorted(set(wanted))


if __name__ == "__main__":
    main()
