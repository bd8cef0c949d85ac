"""The chat model as a listwise re-ranker, on a dev-set library (issue 14).

The yes/no judge (one request per passage) cost 5-12 s a question and lowered hit@1
(README, *Retrieval quality and the knobs it chose*). This asks once per question:
the model sees the question and the default's top pages, each as its innermost
heading and first words (short, so the prompt stays ~250 tokens), and replies with
the numbers of those that answer, best first. The misses left on the dev set have
their page at 6th-23rd for several questions, within reach of such a pick.

Rows, from the same replies: the default order; the first pick moved to 1st; all
picks moved to the front in the model's order; the first pick moved up to 3rd or to
5th at most (the default's top places kept).

    python bench/listwise_pick.py LIBRARY_HOME [--questions FILE] [--shown N]

LIBRARY_HOME: an ``ASSISTANT_HOME`` whose library ``assistant ingest`` built from the
dev set's documents with the defaults. Prints a table of hit@1 / hit@5 per kind, how
many replies began with "1" (the order shown), and one JSON line (prefix ``BENCH``).
"""

from __future__ import annotations

import json
import os
import re
import time
from typing import Any

from report import devset_library_parser, hit_row, print_hit_table

KINDS = ("paraphrase", "zh", "crosslingual", "answerable")
SYSTEM = (
    "You pick the documentation sections that answer a user's question. Reply with "
    "the numbers of the sections that answer it, best first, separated by commas, on "
    "one line."
)
WORDS = 10
"""Of each page's first passage, shown after its heading."""


def main() -> None:
    parser = devset_library_parser()
    parser.add_argument("--shown", type=int, default=10, help="pages shown the model")
    args = parser.parse_args()
    os.environ["ASSISTANT_HOME"] = str(args.home)

    from assistant.core.answer.evaluation import load_questions, score, summarize
    from assistant.core.cancel import CancelToken
    from assistant.core.config import Settings
    from assistant.core.retrieve.query_translation import english_query
    from assistant.core.search_text import has_cjk
    from assistant.core.services.components import load_generator
    from assistant.core.services.library import Library

    settings = Settings()
    library = Library.open(settings)
    questions = [q for q in load_questions(args.questions) if q.gold]
    generator = load_generator(settings)
    translations = {
        q.id: english_query(generator, q.question, None)
        for q in questions
        if has_cjk(q.question)
    }
    config = library.retrieval_config(30)
    ways = (
        "default order",
        "first pick 1st",
        "picks first",
        "first pick up to 3rd",
        "first pick up to 5th",
    )
    results: dict[str, list[dict[str, Any]]] = {way: [] for way in ways}
    times: dict[str, list[float]] = {way: [] for way in ways}
    replies: dict[str, str] = {}
    for q in questions:
        started = time.perf_counter()
        sources = library.retriever.search(q.question, config, translations.get(q.id))
        search_ms = (time.perf_counter() - started) * 1000
        pages: list[Any] = []  # each page's first source, in the default's order
        for source in sources:
            if all((s.path, s.page) != (source.path, source.page) for s in pages):
                pages.append(source)
        shown = pages[: args.shown]
        listing = "\n".join(f"{i}. {_label(s)}" for i, s in enumerate(shown, 1))
        messages = [
            {"role": "system", "content": SYSTEM},
            {
                "role": "user",
                "content": f"Question: {q.question}\n\nSections:\n{listing}",
            },
        ]
        started = time.perf_counter()
        reply = "".join(
            generator.stream_chat(
                messages, max_tokens=16, temperature=0.0, cancel=CancelToken()
            )
        ).strip()
        pick_ms = (time.perf_counter() - started) * 1000
        replies[q.id] = reply
        picks: list[int] = []
        for number in re.findall(r"\d+", reply.splitlines()[0] if reply else ""):
            index = int(number) - 1
            if 0 <= index < len(shown) and index not in picks:
                picks.append(index)
        orders = {
            "default order": pages,
            "first pick 1st": _moved(pages, picks[:1], 0),
            "picks first": _moved(pages, picks, 0),
            "first pick up to 3rd": _moved(pages, picks[:1], 2),
            "first pick up to 5th": _moved(pages, picks[:1], 4),
        }
        for way, order in orders.items():
            results[way].append(score(q, order[:10], None))
            times[way].append(search_ms + (pick_ms if way != "default order" else 0))
    rows = [
        hit_row(summarize(results[way]), KINDS, times[way], variant=way) for way in ways
    ]
    print_hit_table(rows, KINDS, ["variant"])
    first = sum(reply.startswith("1") for reply in replies.values())
    print(f"replies beginning with 1 (the first page shown): {first} of {len(replies)}")
    print(
        "BENCH "
        + json.dumps(
            {
                "bench": "listwise_pick",
                "shown": args.shown,
                "variants": rows,
                "replies_beginning_1": first,
                "replies": replies,
                "translations": translations,
            },
            ensure_ascii=False,
        )
    )


def _label(source: Any) -> str:
    leaf = (source.heading or source.title).rsplit(" \u203a ", 1)[-1].strip()[:60]
    return f"{leaf}: {' '.join(source.text.split()[:WORDS])}"


def _moved(pages: list[Any], picks: list[int], highest: int) -> list[Any]:
    """``pages`` with the picked ones, in pick order, moved up to places
    ``highest``, ``highest`` + 1, ... (0-based) at most; one already above stays."""
    order = list(pages)
    for n, index in enumerate(picks):
        page = pages[index]
        if order.index(page) > highest + n:
            order.remove(page)
            order.insert(highest + n, page)
    return order


if __name__ == "__main__":
    main()
