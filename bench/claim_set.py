"""Claims from real answers, written out for labelling (issue: answers you can
trust). Each answer's claims with the passage windows closest to each, so a
person can read a claim beside its evidence and label it ``stated``,
``not_stated`` or ``contradicted``.

    python bench/claim_set.py --home HOME --questions Q.jsonl[,Q2.jsonl] \\
        --out bench/claims/raw.jsonl [--limit N]

HOME is an ``ASSISTANT_HOME`` whose library holds the documents (e.g. the dev
set's, from ``assistant ingest``). Answers come from the default model and
prompt with the decline rules off, so claims the app would withhold are kept
(wrong refusals are part of what the verifier must get right). One JSON line per
claim: the question, the answer, the claim, the app's current verdict and its
evidence spans, and the three windows of the passages closest to the claim (by
the grounding's own similarity and word overlap), with ``label`` left empty.
Lines already in OUT (by question id) are kept, so a run can be resumed. Labels
are kept apart, in ``bench/claims/labels.jsonl`` (claim id, label, whether the
claim answers the question, a note), so the claims can be read beside them.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent


def _windows(claim: str, sources: list, embed) -> list[dict[str, object]]:  # type: ignore[no-untyped-def]
    from assistant.core.answer.grounding import source_windows, terms

    found = []
    for source in sources:
        for start, end in source_windows(source.text):
            found.append((source, start, end, source.text[start:end]))
    if not found:
        return []
    vectors = np.asarray(embed([claim] + [w[3] for w in found]), dtype=np.float32)
    similarity = vectors[1:] @ vectors[0]
    claim_terms = set(terms(claim))
    scored = []
    for (source, start, end, text), sim in zip(found, similarity, strict=True):
        overlap = (
            len(claim_terms & set(terms(text))) / len(claim_terms)
            if claim_terms
            else 0.0
        )
        scored.append((max(float(sim), overlap), source, start, end, text))
    scored.sort(key=lambda item: -item[0])
    picked: list[dict[str, object]] = []
    for score, source, start, end, text in scored:
        if any(
            p["n"] == source.n and p["start"] < end and start < p["end"] for p in picked
        ):
            continue  # overlaps a window already shown
        picked.append(
            {
                "n": source.n,
                "doc": Path(source.path).name,
                "page": source.page,
                "start": start,
                "end": end,
                "score": round(score, 3),
                "text": text,
            }
        )
        if len(picked) == 3:
            break
    return picked


def read_jsonl(paths: str) -> list[dict]:
    """The JSON lines of one or more files (comma-separated paths)."""
    return [
        json.loads(line)
        for path in paths.split(",")
        for line in Path(path).read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--home", required=True)
    parser.add_argument("--questions", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--limit", type=int, default=0)
    args = parser.parse_args()
    os.environ["ASSISTANT_HOME"] = str(Path(args.home).resolve())
    sys.path.insert(0, str(ROOT))
    from assistant.core.config import load_settings
    from assistant.core.embed.embedding import multilingual_embed
    from assistant.core.services.components import load_generator
    from assistant.core.services.conversation import Conversation
    from assistant.core.services.library import Library

    questions = read_jsonl(args.questions)
    if args.limit:
        questions = questions[: args.limit]
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    done = set()
    if out.exists():
        done = {
            json.loads(line)["qid"] for line in out.read_text().splitlines() if line
        }
    settings = load_settings()
    library = Library.open(settings)
    generator = load_generator(settings)
    embed = multilingual_embed(library.embedder)
    claims = 0
    started = time.perf_counter()
    for question in questions:
        if question["id"] in done:
            continue
        conversation = Conversation(library, generator, decline_unsupported=False)
        answer = conversation.ask(question["question"])
        by_n = {source.n: source for source in answer.sources}
        with out.open("a", encoding="utf-8") as handle:
            for number, claim in enumerate(answer.claims):
                row = {
                    "qid": question["id"],
                    "kind": question.get("kind", ""),
                    "question": question["question"],
                    "answer": answer.text,
                    "claim_id": f"{question['id']}.{number + 1}",
                    "claim": claim.text,
                    "app_supported": claim.supported,
                    "app_evidence": [
                        {"n": e.n, "text": by_n[e.n].text[e.start : e.end]}
                        for e in claim.evidence
                        if e.n in by_n
                    ],
                    "windows": _windows(claim.text, answer.sources, embed),
                    "label": None,
                }
                handle.write(json.dumps(row, ensure_ascii=False) + "\n")
                claims += 1
        print(
            f"{question['id']}: {len(answer.claims)} claims "
            f"({time.perf_counter() - started:.0f} s)",
            file=sys.stderr,
            flush=True,
        )
    print(json.dumps({"bench": "claim_set", "claims": claims}))


if __name__ == "__main__":
    main()
