"""Retrieval directions on the dev set, side by side in one run.

    python bench/retrieval_directions.py DEVSET_DIR [--out bench/out/directions]
                                         [--reuse] [--skip-llm]

DEVSET_DIR holds ``docs/`` from ``../shared/devset/get-devset.sh`` (questions are
read from ../shared/devset/questions.jsonl). Builds four libraries of the same
documents (PDF text by pypdf or pdfium; USE, MiniLM int8 or the routed default)
and scores hit@1 / hit@5 by page per question kind with the scorer of
``assistant eval``. Rows marked *product* run the app's own search path; rows
marked *offline* re-rank the same candidate lists in this script (fusion,
page-level scoring, sentence vectors, query rewriting, a heading field) to decide
whether a direction is worth building. Prints a table and one JSON line.
"""

from __future__ import annotations

import argparse
import collections
import json
import re
import shutil
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assistant.core.answer.evaluation import (  # noqa: E402
    EvalQuestion,
    load_questions,
    score,
    summarize,
)
from assistant.core.config import Settings  # noqa: E402
from assistant.core.embed.embedding import query_views  # noqa: E402
from assistant.core.index.store import HIT_COLUMNS  # noqa: E402
from assistant.core.ingest.chunking import sentence_spans  # noqa: E402
from assistant.core.model_files import ROUTED_EMBEDDER, USE_EMBEDDER  # noqa: E402
from assistant.core.retrieve.query_translation import english_query  # noqa: E402
from assistant.core.search_text import to_search_text  # noqa: E402
from assistant.core.services.components import load_embedder, load_generator  # noqa: E402
from assistant.core.services.library import Library  # noqa: E402
from assistant.core.types import Source  # noqa: E402

KINDS = ("paraphrase", "zh", "crosslingual", "answerable")
MINILM = "all-MiniLM-L6-v2-int8"
DEPTH = 100  # candidates per list for the offline rows
KEYWORDS_SYSTEM = (
    "You turn a user's question into a search query for a software manual. Reply "
    "with one line of English keywords only: the commands, options, settings, file "
    "names and technical terms the manual section that answers it would contain."
)
HYDE_SYSTEM = (
    "Write one short paragraph, as it would appear in a technical manual, that "
    "answers the user's question. Use the exact technical terms a manual would use: "
    "command names, options, configuration files, package names. Write in English."
)
_WORD = re.compile(r"[A-Za-z]+")


def glued_rate(pdf: Path) -> dict[str, float]:
    """Share of alphabetic tokens longer than 20 letters (words run together)."""
    from assistant.core.ingest.pdf import parse_pdf

    rates = {}
    for engine in ("pypdf", "pdfium"):
        started = time.perf_counter()
        pages = parse_pdf(pdf, engine=engine).pages  # type: ignore[arg-type]
        seconds = time.perf_counter() - started
        words = [w for p in pages for w in _WORD.findall(p.text)]
        rates[engine] = sum(len(w) > 20 for w in words) / max(1, len(words))
        rates[f"{engine}_s"] = seconds
    return rates


def build(home: Path, docs: Path, engine: str, embedder: str, reuse: bool) -> Library:
    import assistant.core.ingest.pdf as pdf

    pdf.DEFAULT_ENGINE = engine  # type: ignore[assignment]
    settings = Settings(embedding_model=embedder)
    if home.exists() and not reuse:
        shutil.rmtree(home)
    library = Library(settings, load_embedder(settings), directory=home)
    if not library.documents():
        started = time.perf_counter()
        report = library.ingest([docs])
        library.complete_index()  # (a staged index's second stage)
        print(
            f"{home.name}: {report.chunks_embedded} chunks in "
            f"{time.perf_counter() - started:.1f} s",
            file=sys.stderr,
        )
    pdf.DEFAULT_ENGINE = "pdfium"
    return library


def summarise(results: list[dict[str, Any]]) -> dict[str, list[float]]:
    summary = summarize(results)
    return {
        k: [round(summary[k]["hit@1"], 2), round(summary[k]["hit@5"], 2)]
        for k in KINDS
        if k in summary
    }


def product_row(
    library: Library, questions: list[EvalQuestion], translations: dict[str, str]
) -> tuple[dict[str, list[float]], float]:
    results, times = [], []
    for q in questions:
        started = time.perf_counter()
        sources = library.search(q.question, 10, translations.get(q.id))
        times.append((time.perf_counter() - started) * 1000)
        results.append(score(q, sources, None))
    return summarise(results), statistics.median(times)


class Lists:
    """Ranked candidate lists per question from one library, for offline rows."""

    def __init__(self, library: Library) -> None:
        self.library = library
        table = library.store.table
        rows = table.search().select(HIT_COLUMNS).limit(None).to_list()
        self.rows = {r["chunk_id"]: r for r in rows}
        self.relevant: set[str] = set()
        """Chunks a vector view found above its floor, or full-text search found
        (as in the product, only these may be shown)."""

    def vector(self, text: str, own: set[str] | None = None) -> list[list[str]]:
        """One ranked list per query view (skipping models in ``own``); chunks
        above the view's floor are remembered in ``relevant``."""
        out = []
        for view in query_views(self.library.embedder, text):
            if own is not None and view.model in own:
                continue
            hits = self.library.store.vector_search(view.vector, DEPTH)
            ranked = [h for h in hits if 1 - h["_distance"] > 1e-6]
            self.relevant.update(
                h["chunk_id"] for h in ranked if 1 - h["_distance"] >= view.floor
            )
            out.append([h["chunk_id"] for h in ranked])
        return out

    def models(self, text: str) -> set[str]:
        return {v.model for v in query_views(self.library.embedder, text)}

    def text(self, text: str, column: str = "search_text") -> list[str]:
        if column == "search_text":
            hits = self.library.store.text_search(to_search_text(text), DEPTH)
        else:
            try:
                hits = (
                    self.library.store.table.search(
                        to_search_text(text), query_type="fts", fts_columns=column
                    )
                    .select(["chunk_id", "_score"])
                    .limit(DEPTH)
                    .to_list()
                )
            except Exception:
                hits = []
        self.relevant.update(h["chunk_id"] for h in hits)
        return [h["chunk_id"] for h in hits]

    def sources(self, ranked: list[str], relevant: set[str]) -> list[Source]:
        out: list[Source] = []
        seen: set[tuple[str, object]] = set()
        for cid in ranked:
            if cid not in relevant:
                continue
            r = self.rows[cid]
            key = (r["path"], r["page"] if r["page"] is not None else r["start"])
            if key in seen:
                continue
            seen.add(key)
            out.append(
                Source(
                    len(out) + 1,
                    r["path"],
                    r["title"],
                    r["page"],
                    r["page_label"],
                    r["start"],
                    r["end"],
                    0.0,
                    r["text"],
                )
            )
            if len(out) == 10:
                break
        return out


def rrf(
    lists: list[list[str]], k: int = 60, weights: list[float] | None = None, n: int = 30
) -> list[str]:
    fused: dict[str, float] = collections.defaultdict(float)
    for j, ranked in enumerate(lists):
        for rank, cid in enumerate(ranked[:n]):
            fused[cid] += (weights[j] if weights else 1.0) / (k + rank + 1)
    return sorted(fused, key=fused.__getitem__, reverse=True)


def page_level(lists: list[list[str]], rows: dict[str, Any], bonus: float) -> list[str]:
    """Fuse, then score each page by its best chunk plus ``bonus`` x the rest."""
    fused: dict[str, float] = collections.defaultdict(float)
    for ranked in lists:
        for rank, cid in enumerate(ranked[:30]):
            fused[cid] += 1 / (60 + rank + 1)
    pages: dict[tuple[str, object], list[tuple[float, str]]] = collections.defaultdict(
        list
    )
    for cid, value in fused.items():
        r = rows[cid]
        pages[(r["path"], r["page"] if r["page"] is not None else r["start"])].append(
            (value, cid)
        )
    scored = []
    for members in pages.values():
        members.sort(reverse=True)
        scored.append(
            (members[0][0] + bonus * sum(v for v, _ in members[1:]), members[0][1])
        )
    return [cid for _, cid in sorted(scored, reverse=True)]


class SentenceIndex:
    """Every sentence of every chunk embedded on its own; a chunk's score is its
    best sentence's (max-sim), per query view."""

    def __init__(self, lists: Lists) -> None:
        embedder = lists.library.embedder
        owners, sentences = [], []
        for cid, r in lists.rows.items():
            for a, b in sentence_spans(r["text"]):
                if b - a >= 12:
                    owners.append(cid)
                    sentences.append(r["text"][a:b])
        started = time.perf_counter()
        self.vectors = embedder.embed(sentences)
        self.seconds = time.perf_counter() - started
        self.count = len(sentences)
        self.owners = np.array(owners)
        self.embedder = embedder

    def ranked(
        self, text: str, relevant: set[str], own: set[str] | None = None
    ) -> list[list[str]]:
        out = []
        for view in query_views(self.embedder, text):
            if own is not None and view.model in own:
                continue
            sims = self.vectors @ view.vector
            order = np.argsort(-sims)[: DEPTH * 8]
            seen: dict[str, None] = {}
            for i in order:
                if sims[i] > 1e-6:
                    seen.setdefault(str(self.owners[i]), None)
                if sims[i] >= view.floor:
                    relevant.add(str(self.owners[i]))
            out.append(list(seen)[:DEPTH])
        return out


def ask_model(
    generator: Any, system: str, question: str, tokens: int
) -> tuple[str, float]:
    from assistant.core.cancel import CancelToken

    started = time.perf_counter()
    reply = "".join(
        generator.stream_chat(
            [
                {"role": "system", "content": system},
                {"role": "user", "content": question},
            ],
            max_tokens=tokens,
            temperature=0.0,
            cancel=CancelToken(),
        )
    )
    return reply.strip(), time.perf_counter() - started


def offline_row(
    cache: dict[str, dict[str, Any]],
    lists: Lists,
    questions: list[EvalQuestion],
    rank: Callable[[EvalQuestion], list[str]],
) -> dict[str, list[float]]:
    return summarise(
        [score(q, lists.sources(rank(q), cache[q.id]["ok"]), None) for q in questions]
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("devset", type=Path)
    parser.add_argument(
        "--questions", type=Path, default=ROOT.parent / "shared/devset/questions.jsonl"
    )
    parser.add_argument("--out", type=Path, default=ROOT / "bench/out/directions")
    parser.add_argument("--reuse", action="store_true", help="keep built libraries")
    parser.add_argument(
        "--skip-llm", action="store_true", help="no keyword / HyDE rewriting rows"
    )
    args = parser.parse_args()
    docs = args.devset / "docs"
    questions = [q for q in load_questions(args.questions) if q.gold]
    table: list[tuple[str, str, dict[str, list[float]], str]] = []

    def add(
        name: str, how: str, figures: dict[str, list[float]], note: str = ""
    ) -> None:
        table.append((name, how, figures, note))
        cells = "  ".join(f"{k} {v[0]:.2f}/{v[1]:.2f}" for k, v in figures.items())
        print(f"{name:55s} {cells}  {note}", file=sys.stderr, flush=True)

    glued = {p.name: glued_rate(p) for p in sorted(docs.glob("*.pdf"))}
    for name, r in glued.items():
        print(
            f"glued words {name}: pypdf {r['pypdf']:.2%} ({r['pypdf_s']:.1f} s), "
            f"pdfium {r['pdfium']:.2%} ({r['pdfium_s']:.1f} s)",
            file=sys.stderr,
        )

    generator = load_generator(Settings())
    translations, translate_s = {}, []
    for q in questions:
        started = time.perf_counter()
        english = english_query(generator, q.question)
        if english:
            translations[q.id] = english
            translate_s.append(time.perf_counter() - started)

    libs = {
        "pypdf+USE": build(
            args.out / "pypdf-use", docs, "pypdf", USE_EMBEDDER, args.reuse
        ),
        "pdfium+USE": build(
            args.out / "pdfium-use", docs, "pdfium", USE_EMBEDDER, args.reuse
        ),
        "pdfium+MiniLM": build(
            args.out / "pdfium-minilm", docs, "pdfium", MINILM, args.reuse
        ),
        "pdfium+routed": build(
            args.out / "pdfium-routed", docs, "pdfium", ROUTED_EMBEDDER, args.reuse
        ),
    }
    latency = {}
    for name, library in libs.items():
        figures, p50 = product_row(library, questions, {})
        latency[name] = p50
        add(f"{name}, RRF, question only", "product", figures, f"p50 {p50:.0f} ms")
    for name in ("pdfium+USE", "pdfium+routed"):
        figures, p50 = product_row(libs[name], questions, translations)
        latency[f"{name}+translation"] = p50
        add(
            f"{name}, RRF, + English translation of CJK questions"
            + (" (default)" if name == "pdfium+routed" else ""),
            "product",
            figures,
            f"p50 {p50:.0f} ms + translation {statistics.mean(translate_s):.2f} s mean",
        )

    lists = Lists(libs["pdfium+routed"])
    cache: dict[str, dict[str, Any]] = {}
    for q in questions:
        tr = translations.get(q.id)
        own = lists.models(q.question)
        lists.relevant = set()
        cache[q.id] = {"ok": lists.relevant}
        cache[q.id] |= {
            "v": lists.vector(q.question) + (lists.vector(tr, own) if tr else []),
            "t": [lists.text(q.question)] + ([lists.text(tr)] if tr else []),
            "h": [lists.text(q.question, "heading")]
            + ([lists.text(tr, "heading")] if tr else []),
        }
    add(
        "default lists, vector views only",
        "offline",
        offline_row(cache, lists, questions, lambda q: rrf(cache[q.id]["v"])),
    )
    add(
        "default lists, full-text only",
        "offline",
        offline_row(cache, lists, questions, lambda q: rrf(cache[q.id]["t"])),
    )
    for k in (10, 60):
        add(
            f"default lists, RRF k={k}",
            "offline",
            offline_row(
                cache,
                lists,
                questions,
                lambda q, k=k: rrf(cache[q.id]["v"] + cache[q.id]["t"], k),
            ),
        )
    add(
        "default lists, full-text weight 0.5",
        "offline",
        offline_row(
            cache,
            lists,
            questions,
            lambda q: rrf(
                cache[q.id]["v"] + cache[q.id]["t"],
                weights=[1.0] * len(cache[q.id]["v"]) + [0.5] * len(cache[q.id]["t"]),
            ),
        ),
    )
    for bonus in (0.2, 0.5):
        add(
            f"page-level: best chunk + {bonus} x the page's other chunks",
            "offline",
            offline_row(
                cache,
                lists,
                questions,
                lambda q, b=bonus: page_level(
                    cache[q.id]["v"] + cache[q.id]["t"], lists.rows, b
                ),
            ),
        )

    # field-aware: headings as their own full-text field (an extra ranked list)
    from lancedb.index import FTS

    lists.library.store.table.create_index(
        "heading",
        config=FTS(language="English", stem=True, ascii_folding=True),
        replace=True,
    )
    for q in questions:
        tr = translations.get(q.id)
        lists.relevant = cache[q.id]["ok"]
        cache[q.id]["h"] = [lists.text(q.question, "heading")] + (
            [lists.text(tr, "heading")] if tr else []
        )
    add(
        "+ heading field as its own full-text list",
        "offline",
        offline_row(
            cache,
            lists,
            questions,
            lambda q: rrf(cache[q.id]["v"] + cache[q.id]["t"] + cache[q.id]["h"]),
        ),
    )

    sentences = SentenceIndex(lists)
    for q in questions:
        tr = translations.get(q.id)
        own = lists.models(q.question)
        ok = cache[q.id]["ok"]
        cache[q.id]["s"] = sentences.ranked(q.question, ok) + (
            sentences.ranked(tr, ok, own) if tr else []
        )
    note = f"{sentences.count} sentences embedded in {sentences.seconds:.1f} s"
    add(
        "+ sentence vectors (max-sim per chunk) as extra lists",
        "offline",
        offline_row(
            cache,
            lists,
            questions,
            lambda q: rrf(cache[q.id]["v"] + cache[q.id]["t"] + cache[q.id]["s"]),
        ),
        note,
    )
    add(
        "sentence vectors instead of chunk vectors",
        "offline",
        offline_row(
            cache, lists, questions, lambda q: rrf(cache[q.id]["s"] + cache[q.id]["t"])
        ),
        note,
    )

    rewrites: dict[str, Any] = {}
    if not args.skip_llm:
        for label, system, tokens in (
            ("keywords", KEYWORDS_SYSTEM, 32),
            ("HyDE passage", HYDE_SYSTEM, 80),
        ):
            seconds = []
            for q in questions:
                lists.relevant = cache[q.id]["ok"]
                text, s = ask_model(generator, system, q.question, tokens)
                seconds.append(s)
                cache[q.id][label] = lists.vector(f"{q.question}\n{text}") + [
                    lists.text(f"{q.question} {text}")
                ]
            rewrites[label] = statistics.mean(seconds)
            add(
                f"+ chat-model {label} (question + rewrite searched)",
                "offline",
                offline_row(
                    cache,
                    lists,
                    questions,
                    lambda q, lb=label: rrf(
                        cache[q.id]["v"] + cache[q.id]["t"] + cache[q.id][lb]
                    ),
                ),
                f"+{rewrites[label]:.2f} s per question",
            )

    print(
        "\n| direction | how | "
        + " | ".join(f"{k} hit@1 / @5" for k in KINDS)
        + " | note |"
    )
    print("|---|---|" + "---|" * len(KINDS) + "---|")
    for name, how, figures, note in table:
        cells = " | ".join(
            f"{figures[k][0]:.2f} / {figures[k][1]:.2f}" if k in figures else "–"
            for k in KINDS
        )
        print(f"| {name} | {how} | {cells} | {note} |")
    print(
        json.dumps(
            {
                "bench": "retrieval_directions",
                "questions": len(questions),
                "glued_words": glued,
                "translate_s_mean": statistics.mean(translate_s)
                if translate_s
                else 0.0,
                "rewrite_s_mean": rewrites,
                "latency_p50_ms": latency,
                "rows": [
                    {"direction": n, "how": h, **f, "note": note}
                    for n, h, f, note in table
                ],
            }
        )
    )


if __name__ == "__main__":
    main()
