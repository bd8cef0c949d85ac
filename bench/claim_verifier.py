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
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _score_rows(args: argparse.Namespace, rows: list[dict], out: Path) -> None:
    os.environ["ASSISTANT_HOME"] = str(Path(args.home).resolve())
    sys.path.insert(0, str(ROOT))
    from assistant.config import load_settings
    from assistant.core import claim_verifier as cv
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
        kv_questions = cv.KV_QUESTIONS if args.kv else {}
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--home", required=True)
    parser.add_argument("--claims", required=True)
    parser.add_argument("--labels", default="bench/claims/labels.jsonl")
    parser.add_argument("--out", default="bench/claims/devset-scores.jsonl")
    parser.add_argument("--limit", type=int, default=0)
    parser.add_argument(
        "--kv", action="store_true", help="also the questions asked from the KV cache"
    )
    args = parser.parse_args()
    labels = {
        json.loads(line)["claim_id"]: json.loads(line)
        for line in Path(args.labels).read_text().splitlines()
        if line.strip()
    }
    rows = [
        json.loads(line)
        for path in args.claims.split(",")
        for line in Path(path).read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
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
