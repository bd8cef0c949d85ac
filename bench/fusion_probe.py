"""How the ranked lists are fused, on a dev-set library, in one run (issue 14).

Each question's lists (vector chunk and sentence lists of every view, the full-text
list; for a CJK question also its translation's) are the app's own; only the fusion
differs between rows:

- reciprocal rank, k 60 (the default until 2026-12-05);
- scores min-max normalised per list, a flat list *spread* to 0-1 from at least
  ``MIN_SPREAD`` of its best (the first build of score fusion: the members of a list
  whose scores barely differ all get nearly a full share);
- scores min-max normalised per list, a flat list's scores *divided* by at least
  ``MIN_SPREAD`` of its best (the default: such a list adds little);

each at ``MIN_SPREAD`` 0.1, 0.2 (the default) and 0.3; and two that look at a
vector list's cosines themselves (2026-12-06):

- *theoretical* min-max (Bruch et al.): a vector list's cosines normalised from its
  view's floor (the least that counts as similar) to 1, not over the list, so a
  list whose best is weak (an English question's USE list of Chinese chunks) adds
  little; the full text's list as by default;
- by default, each vector list scaled by how far its best rises above the floor
  (full at 0.3 above it).

    python bench/fusion_probe.py LIBRARY_HOME [--questions FILE]

LIBRARY_HOME: an ``ASSISTANT_HOME`` whose library was built from the dev set's
documents by ``assistant ingest`` with the defaults. The chat model translates each
CJK question once, as the app does. Prints a table of hit@1 / hit@5 per kind and one
JSON line (prefix ``BENCH``).
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Sequence
from typing import Any

from report import devset_library_parser, hit_row, print_hit_table, search_all

KINDS = ("paraphrase", "zh", "crosslingual", "answerable")


def main() -> None:
    args = devset_library_parser().parse_args()
    os.environ["ASSISTANT_HOME"] = str(args.home)

    from assistant.core.answer.evaluation import load_questions, summarize
    from assistant.core.config import Settings
    from assistant.core.retrieve import retrieval
    from assistant.core.retrieve.query_translation import english_query
    from assistant.core.search_text import has_cjk
    from assistant.core.services.components import load_generator
    from assistant.core.services.library import Library

    settings = Settings()
    library = Library.open(settings)
    every = load_questions(args.questions)
    questions = [q for q in every if q.gold]
    generator = load_generator(settings)
    translations = {
        q.id: english_query(generator, q.question, None)
        for q in questions
        if has_cjk(q.question)
    }
    divided = retrieval._shares

    def spread(scores: Sequence[float], config: Any, lone: float = 0.0) -> list[float]:
        """The first build: a flat list spread over 0-1 from its floor."""
        if config.fusion == "rrf":
            return divided(scores, config)
        if not scores:
            return []
        high = max(scores)
        low = min(min(scores), high - retrieval.MIN_SPREAD * abs(high))
        if high <= low:
            return [1.0] * len(scores)
        return [(s - low) / (high - low) for s in scores]

    floors: list[float] = []  # the floor of the view whose list is normalised next
    floor_of = retrieval._floor

    def recording_floor(config: Any, view: Any) -> float:
        floors.append(floor_of(config, view))
        return floors[-1]

    def theoretical(
        scores: Sequence[float], config: Any, lone: float = 0.0
    ) -> list[float]:
        if lone or not scores or config.fusion == "rrf":  # full text: as by default
            return divided(scores, config, lone)
        low = floors[-1]
        return [max(0.0, s - low) / (1.0 - low) for s in scores]

    def by_height(
        scores: Sequence[float], config: Any, lone: float = 0.0
    ) -> list[float]:
        shares = divided(scores, config, lone)
        if lone or not scores or config.fusion == "rrf":
            return shares
        height = min(1.0, max(0.0, max(scores) - floors[-1]) / 0.3)
        return [share * height for share in shares]

    default_floor = retrieval.MIN_SPREAD
    by_rank = "reciprocal rank, k 60 (the default before)"
    default = f"scores, flat lists divided, MIN_SPREAD {default_floor} (default)"
    variants: list[tuple[str, str, Any, float]] = [(by_rank, "rrf", divided, 0.2)]
    for floor in (0.1, 0.2, 0.3):
        variants += [
            (f"scores, flat lists spread, MIN_SPREAD {floor}", "scores", spread, floor),
            (
                default
                if floor == default_floor
                else f"scores, flat lists divided, MIN_SPREAD {floor}",
                "scores",
                divided,
                floor,
            ),
        ]
    variants += [
        (
            "vector lists from the view's floor to 1 (theoretical min-max)",
            "scores",
            theoretical,
            default_floor,
        ),
        (
            "default, a vector list scaled by its best's height above the floor",
            "scores",
            by_height,
            default_floor,
        ),
    ]
    base = library.retrieval_config(10)
    rows, ranks = [], {}
    retrieval._floor = recording_floor
    try:
        for name, fusion, shares, floor in variants:
            retrieval._shares = shares
            retrieval.MIN_SPREAD = floor
            config = dataclasses.replace(base, fusion=fusion)
            results, times = search_all(
                library.retriever, questions, config, translations
            )
            ranks[name] = {r["id"]: r["page_rank"] for r in results}
            rows.append(hit_row(summarize(results), KINDS, times, variant=name))
    finally:
        retrieval._shares, retrieval.MIN_SPREAD = divided, default_floor
        retrieval._floor = floor_of
    print_hit_table(rows, KINDS, ["variant"])
    before, now = ranks[by_rank], ranks[default]
    moved = {
        "up": sorted(q for q in before if _better(now[q], before[q])),
        "down": sorted(q for q in before if _better(before[q], now[q])),
    }
    print(f"default against reciprocal rank: {moved}")
    print(
        "BENCH "
        + json.dumps(
            {
                "bench": "fusion_probe",
                "variants": rows,
                "moved": moved,
                "translations": translations,
            },
            ensure_ascii=False,
        )
    )


def _better(rank: int | None, other: int | None) -> bool:
    return rank is not None and (other is None or rank < other)


if __name__ == "__main__":
    main()
