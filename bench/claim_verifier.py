"""Claim verifier directions side by side on the labelled claim set (issue:
answers you can trust).

    python bench/claim_verifier.py --home HOME \\
        --claims bench/claims/devset-claims.jsonl

Step 1 (cached in ``--out``): for each labelled claim, the scores of every
direction — the app's overlap tick, the chat model asked per claim from the KV
cache of its own answer (with and without the best span quoted), the chat model
asked about the claim and its best spans alone, and the cheap cues (numbers,
`code`, negation). The model reads the same messages the app built for the
question (retrieval and prompt rebuilt from HOME's library) followed by the
answer as written. Step 2: precision and recall of "stated" for each direction
at its best threshold, recall of "contradicted", and the cost per claim, as a
JSON line and a table.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from claim_set import read_jsonl  # noqa: E402

from assistant.core import claim_verifier as cv  # noqa: E402

Question = Callable[[str, Sequence[str], str], dict[str, str]]
"""A user message asking about one claim (its text, its spans, the question)."""

KV_QUESTIONS: dict[str, Question] = {
    "kv_state": lambda claim, spans, question: {
        "role": "user",
        "content": (
            "Is this sentence of your answer stated in the excerpts: "
            f'"{cv.quote(claim)}"'
            " Reply with one word: yes or no."
        ),
    },
    "kv_span": lambda claim, spans, question: {
        "role": "user",
        "content": (
            f"The excerpts say:\n{cv.span_block(spans)}\n"
            f'Do these words state that "{cv.quote(claim)}"? Reply with one word: '
            "yes or no."
        ),
    },
    "kv_contra": lambda claim, spans, question: {
        "role": "user",
        "content": (
            f"The excerpts say:\n{cv.span_block(spans)}\n"
            f'Do these words contradict "{cv.quote(claim)}"? Reply with one word: '
            "yes or no."
        ),
    },
    "kv_answers": lambda claim, spans, question: {
        "role": "user",
        "content": (
            f'Does the sentence "{cv.quote(claim)}" give what my question asks for? '
            "Reply with one word: yes or no."
        ),
    },
}
"""The directions asked after the answer, in the conversation the model just had
(only these tokens are evaluated: the excerpts and the answer are in the KV
cache). Measured, not used by the app: the model says yes to its own answer."""


def _score_rows(args: argparse.Namespace, rows: list[dict], out: Path) -> None:
    os.environ["ASSISTANT_HOME"] = str(Path(args.home).resolve())
    sys.path.insert(0, str(ROOT))
    from assistant.config import load_settings
    from assistant.core.citations import link_citations
    from assistant.core.embedding import multilingual_embed
    from assistant.core.grounding import ground
    from assistant.core.services import (
        Conversation,
        Library,
        load_generator,
        search_question,
    )
    from assistant.core.types import Claim

    done = set()
    if out.exists():
        done = {json.loads(line)["claim_id"] for line in out.read_text().splitlines()}
    settings = load_settings()
    library = Library.open(settings)
    generator = load_generator(settings)
    by_question: dict[str, list[dict]] = defaultdict(list)
    for row in rows:
        if row["claim_id"] not in done:
            by_question[row["qid"]].append(row)
    embed = multilingual_embed(library.embedder)
    if args.only == "solo_answers":  # the claim and the question only: no search
        _answers_only(generator, by_question, out)
        return
    for qid, claims in by_question.items():
        question = claims[0]["question"]
        raw = link_citations(claims[0]["answer"], 0)[0].strip()
        conversation = Conversation(library, generator, decline_unsupported=False)
        sources, _ = search_question(library, generator, question)
        _, messages, included = conversation.prompt(question, sources)
        answered = [*messages, {"role": "assistant", "content": raw}]
        grounded = {c.text: c for c in ground(raw, included, embed, question=question)}
        by_n = {s.n: s for s in included}
        spans: dict[str, list[str]] = {}
        for row in claims:
            claim = grounded.get(row["claim"]) or Claim(row["claim"], 0, 0, False)
            spans[row["claim_id"]] = [
                by_n[e.n].text[e.start : e.end]
                for e in cv.spans_to_check(claim, included, embed, question)
            ]
        results: dict[str, dict[str, object]] = {r["claim_id"]: {} for r in claims}

        # the KV-cache directions first: they share the prompt and the answer
        kv_questions = KV_QUESTIONS if args.kv else {}
        asked: list[tuple[str, str, list[dict[str, str]]]] = [
            (
                row["claim_id"],
                name,
                [*answered, ask(row["claim"], spans[row["claim_id"]], question)],
            )
            for row in claims
            for name, ask in kv_questions.items()
        ] + [
            (
                row["claim_id"],
                name,
                build(row["claim"], spans[row["claim_id"]], question),
            )
            for row in claims
            for name, build in cv.SOLO_QUESTIONS.items()
            if not args.only or name in args.only.split(",")
        ]
        for cid, name, conversation_so_far in asked:
            started = time.perf_counter()
            odds = (
                generator.yes_odds if name.startswith("kv_") else generator.judge_odds
            )
            results[cid][name] = round(odds(conversation_so_far), 3)
            results[cid][name + "_s"] = round(time.perf_counter() - started, 3)
        for row in claims:
            cid, text = row["claim_id"], row["claim"]
            results[cid].update(dataclasses.asdict(cv.cues(text, spans[cid], question)))
            results[cid]["app_ticked"] = bool(
                grounded.get(text) and grounded[text].supported
            )
            results[cid]["spans"] = spans[cid]
        with out.open("a", encoding="utf-8") as handle:
            for row in claims:
                handle.write(
                    json.dumps(
                        {"claim_id": row["claim_id"], **results[row["claim_id"]]},
                        ensure_ascii=False,
                    )
                    + "\n"
                )
        print(f"{qid}: {len(claims)} claims, {len(included)} sources", file=sys.stderr)


def _answers_only(
    generator: Any, by_question: dict[str, list[dict]], out: Path
) -> None:
    from assistant.core.claim_verifier import answers_question

    with out.open("a", encoding="utf-8") as handle:
        for claims in by_question.values():
            for row in claims:
                started = time.perf_counter()
                odds = generator.judge_odds(
                    answers_question(row["claim"], (), row["question"])
                )
                score = {
                    "claim_id": row["claim_id"],
                    "solo_answers": round(odds, 3),
                    "solo_answers_s": round(time.perf_counter() - started, 3),
                }
                handle.write(json.dumps(score) + "\n")


def _lacking(score: dict) -> bool:
    return bool(score["numbers_missing"] or score["code_missing"])


def _copied(score: dict, min_copied: float = 0.9) -> bool:
    return score["copied"] >= min_copied and not score["negation_differs"]


def verdict(score: dict, t: float, tc: float | None) -> str:
    """The app's rule (claim_verifier._verdict) on a scored claim."""
    if score["opposed"]:
        return "contradicted"
    if _lacking(score):
        return "not_stated"
    if _copied(score) or score["solo_state"] >= t:
        return "stated"
    if tc is not None and score["solo_contra"] >= tc:
        return "contradicted"
    return "not_stated"


DIRECTIONS: dict[str, Callable[[dict, float], bool]] = {
    "grounding (overlap + similarity, before)": lambda s, t: s["app_ticked"],
    "grounding + cues (numbers, code)": lambda s, t: (
        s["app_ticked"] and not _lacking(s)
    ),
    "quoted (copied >= 0.9) only": lambda s, t: _copied(s) and not _lacking(s),
    "judge alone (solo_state >= t)": lambda s, t: s["solo_state"] >= t,
    "cues, quoted or judge (the app)": lambda s, t: verdict(s, t, None) == "stated",
    "grounding and the app": lambda s, t: (
        s["app_ticked"] and verdict(s, t, None) == "stated"
    ),
}
KV_DIRECTIONS = {
    "KV: own answer, sentence only (kv_state >= t)": "kv_state",
    "KV: own answer, span quoted (kv_span >= t)": "kv_span",
}


def _cost(score: dict) -> float:
    """Seconds the app's rule spends on a claim: nothing when a cue or a
    quotation decides, the stated question otherwise."""
    if score["opposed"] or _lacking(score) or _copied(score):
        return 0.0
    return float(score["solo_state_s"])


def _scores(
    name: str, ticks: list[bool], rows: list[tuple[dict, dict]]
) -> dict[str, Any]:
    stated = [lab["label"] == "stated" for _, lab in rows]
    right = sum(1 for tick, ok in zip(ticks, stated, strict=True) if tick and ok)
    return {
        "direction": name,
        "claims": len(rows),
        "ticked": sum(ticks),
        "tick_precision": round(right / max(1, sum(ticks)), 3),
        "stated_recall": round(right / max(1, sum(stated)), 3),
        "contradicted_ticked": sum(
            1
            for tick, (_, lab) in zip(ticks, rows, strict=True)
            if tick and lab["label"] == "contradicted"
        ),
    }


def _table(rows: list[tuple[dict, dict]], t: float, tc: float | None) -> list[dict]:
    table = [
        _scores(name, [bool(rule(score, t)) for score, _ in rows], rows)
        for name, rule in DIRECTIONS.items()
    ]
    app = next(r for r in table if r["direction"].endswith("(the app)"))
    truth = [lab["label"] == "contradicted" for _, lab in rows]
    for name, contra in (("cues", None), ("cues + judge", tc)):
        if name != "cues" and contra is None:
            continue
        flagged = [verdict(score, t, contra) == "contradicted" for score, _ in rows]
        hit = sum(1 for f, c in zip(flagged, truth, strict=True) if f and c)
        app[f"contradicted recall ({name})"] = round(hit / max(1, sum(truth)), 3)
        app[f"contradicted precision ({name})"] = round(hit / max(1, sum(flagged)), 3)
    app["s per claim"] = round(sum(_cost(s) for s, _ in rows) / max(1, len(rows)), 2)
    app["judge asked"] = round(
        sum(1 for s, _ in rows if _cost(s) > 0) / max(1, len(rows)), 2
    )
    for name, key in KV_DIRECTIONS.items():
        have = [(score, lab) for score, lab in rows if key in score]
        if have:
            table.append(_scores(name, [s[key] >= t for s, _ in have], have))
    return table


def report(
    scores_paths: list[str],
    claims: dict[str, dict],
    labels: dict[str, dict],
    t: float,
    tc: float | None,
) -> None:
    """Step 2: the table, one set per scores file (the dev set calibrates the
    thresholds, the others only check them). The cheap cues are computed again
    from the claim and its stored spans (a change to them needs no model)."""
    sys.path.insert(0, str(ROOT))
    from assistant.core.claim_verifier import cues

    for path in scores_paths:
        scores = [json.loads(line) for line in Path(path).read_text().splitlines()]
        for score in scores:
            row = claims.get(score["claim_id"])
            if row is not None and "spans" in score:
                found = cues(row["claim"], score["spans"], row["question"])
                score.update(dataclasses.asdict(found))
        rows = [
            (score, labels[score["claim_id"]])
            for score in scores
            if labels.get(score["claim_id"], {}).get("label") not in (None, "skip")
            and "opposed" in score
        ]
        table = _table(rows, t, tc)
        counts = {
            k: sum(1 for _, lab in rows if lab["label"] == k)
            for k in ("stated", "not_stated", "contradicted")
        }
        line = {"bench": "claim_verifier", "set": path, "labels": counts}
        line.update({"min_stated": t, "min_contradicted": tc, "table": table})
        print(json.dumps(line))
        print(f"\n{path}: {counts}, min_stated {t}, min_contradicted {tc}")
        print(
            f"{'direction':48} {'n':>4} {'ticks':>5} {'prec':>5} {'recall':>6} "
            f"{'contra ticked':>13}"
        )
        for r in table:
            print(
                f"{r['direction']:48} {r['claims']:4} {r['ticked']:5} "
                f"{r['tick_precision']:5.2f} {r['stated_recall']:6.2f} "
                f"{r['contradicted_ticked']:13}"
            )
        app = next(r for r in table if r["direction"].endswith("(the app)"))
        extra = {k: v for k, v in app.items() if " " in k}
        print("the app:", ", ".join(f"{k} {v}" for k, v in extra.items()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--home", default="")
    parser.add_argument("--claims", default="")
    parser.add_argument("--labels", default="bench/claims/labels.jsonl")
    parser.add_argument("--out", default="bench/claims/devset-scores.jsonl")
    parser.add_argument("--limit", type=int, default=0)
    parser.add_argument("--only", default="", help="these questions only (a,b)")
    parser.add_argument(
        "--kv", action="store_true", help="also the questions asked from the KV cache"
    )
    parser.add_argument(
        "--report", default="", help="scores files to report on (a,b); no scoring"
    )
    parser.add_argument(
        "--min-stated", type=float, default=cv.VerifierConfig().min_stated
    )
    parser.add_argument(
        "--min-contradicted",
        type=float,
        default=None,
        help="also flag contradicted from the judge's contradiction question",
    )
    args = parser.parse_args()
    labels = {
        json.loads(line)["claim_id"]: json.loads(line)
        for line in Path(args.labels).read_text().splitlines()
        if line.strip()
    }
    rows = read_jsonl(args.claims)
    if args.report:
        report(
            args.report.split(","),
            {r["claim_id"]: r for r in rows},
            labels,
            args.min_stated,
            args.min_contradicted,
        )
        return
    rows = [
        r
        for r in rows
        if r["claim_id"] in labels and labels[r["claim_id"]]["label"] != "skip"
    ]
    if args.limit:
        rows = rows[: args.limit]
    _score_rows(args, rows, Path(args.out))


if __name__ == "__main__":
    main()
