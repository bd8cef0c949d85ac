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

from assistant.core.answer import claim_verifier as cv  # noqa: E402

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


@dataclasses.dataclass(frozen=True)
class Replay:
    """A labelled answer put back where the app had it: the question's sources
    and messages rebuilt from the library, the answer as written, its claims
    grounded."""

    question: str
    raw: str
    messages: list[dict[str, str]]
    included: list[Any]
    grounded: list[Any]


def _open(home: str) -> tuple[Any, Any, Any]:
    """HOME's library, the default chat model and the library's embedder."""
    os.environ["ASSISTANT_HOME"] = str(Path(home).resolve())
    from assistant.core.config import load_settings
    from assistant.core.embed.embedding import multilingual_embed
    from assistant.core.services.components import load_generator
    from assistant.core.services.library import Library

    settings = load_settings()
    library = Library.open(settings)
    return library, load_generator(settings), multilingual_embed(library.embedder)


def _replay(library: Any, generator: Any, embed: Any, row: dict) -> Replay:
    from assistant.core.answer.citations import link_citations
    from assistant.core.answer.grounding import ground
    from assistant.core.services.conversation import Conversation
    from assistant.core.services.question_search import search_question

    question = row["question"]
    raw = link_citations(row["answer"], 0)[0].strip()
    conversation = Conversation(library, generator, decline_unsupported=False)
    sources, _ = search_question(library, generator, question)
    _, messages, included = conversation.prompt(question, sources)
    grounded = ground(raw, included, embed, question=question)
    return Replay(question, raw, messages, included, grounded)


def _score_rows(args: argparse.Namespace, rows: list[dict], out: Path) -> None:
    from assistant.core.types import Claim

    done = set()
    if out.exists():
        done = {json.loads(line)["claim_id"] for line in out.read_text().splitlines()}
    library, generator, embed = _open(args.home)
    by_question: dict[str, list[dict]] = defaultdict(list)
    for row in rows:
        if row["claim_id"] not in done:
            by_question[row["qid"]].append(row)
    if args.only == "solo_answers":  # the claim and the question only: no search
        _answers_only(generator, by_question, out)
        return
    for qid, claims in by_question.items():
        replay = _replay(library, generator, embed, claims[0])
        question, raw, included = replay.question, replay.raw, replay.included
        answered = [*replay.messages, {"role": "assistant", "content": raw}]
        grounded = {c.text: c for c in replay.grounded}
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


def _time_answers(args: argparse.Namespace, rows: list[dict]) -> None:
    """Seconds the app spends after the last token checking an answer (the
    verdicts and the near-miss question), with and without the encoder, on the
    first ``--time`` answers, beside two bare baselines measured in the same
    run: one judge question, one encoder pass."""
    from assistant.core.answer.claim_encoder import shipped_encoder

    library, generator, embed = _open(args.home)
    encoder = shipped_encoder()
    assert encoder is not None
    by_question: dict[str, list[dict]] = defaultdict(list)
    for row in rows:
        by_question[row["qid"]].append(row)
    rules = {
        "encoder, judge between (the app)": APP,
        "judge (no encoder)": dataclasses.replace(APP, use_encoder=False),
    }
    spent: dict[str, list[float]] = {name: [] for name in rules}
    sizes: list[int] = []
    bare_judge: list[float] = []
    bare_encoder: list[float] = []
    for qid in list(by_question)[: args.time]:
        replay = _replay(library, generator, embed, by_question[qid][0])
        question, raw, included = replay.question, replay.raw, replay.included
        grounded = replay.grounded
        if not grounded:
            continue
        sizes.append(len(grounded))
        order = list(rules.items())
        if len(sizes) % 2:  # alternate: the judge's context reuses a shared prefix
            order.reverse()
        for name, config in order:
            started = time.perf_counter()
            cv.verify_claims(
                grounded,
                included,
                question,
                embed,
                generator.judge_odds,
                config,
                encode=encoder.scores if config.use_encoder else None,
            )
            cv.answers_the_question(
                [c for c in grounded if c.supported],
                question,
                generator.judge_odds,
                config,
            )
            spent[name].append(time.perf_counter() - started)
        claim = grounded[0].text
        started = time.perf_counter()
        generator.judge_odds(cv.SOLO_QUESTIONS["solo_state"](claim, [raw], question))
        bare_judge.append(time.perf_counter() - started)
        started = time.perf_counter()
        encoder.scores([(claim, raw)])
        bare_encoder.append(time.perf_counter() - started)
        print(f"{qid}: {len(grounded)} claims", file=sys.stderr)
    n = max(1, len(sizes))
    line: dict[str, Any] = {
        "bench": "claim_verifier_time",
        "answers": len(sizes),
        "claims per answer": round(sum(sizes) / n, 2),
        "bare judge question s": round(sum(bare_judge) / n, 3),
        "bare encoder pass s": round(sum(bare_encoder) / n, 3),
    }
    for name, values in spent.items():
        line[f"{name} s per answer"] = round(sum(values) / n, 3)
        line[f"{name} s per 4 claims"] = round(4 * sum(values) / max(1, sum(sizes)), 3)
        line[f"{name} / bare judge"] = round(
            sum(values) / max(1e-9, sum(bare_judge)), 2
        )
    print(json.dumps(line))
    for key, value in line.items():
        print(f"{key:48} {value}")


def _answers_only(
    generator: Any, by_question: dict[str, list[dict]], out: Path
) -> None:
    from assistant.core.answer.claim_verifier import answers_question

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


def _reading(score: dict) -> cv.Reading:
    found = cv.Cues(
        **{
            f.name: score[f.name]
            for f in dataclasses.fields(cv.Cues)
            if f.name in score
        }
    )
    return cv.Reading(found, score.get("enc_stated"), score.get("enc_contra"))


def verdict(score: dict, config: cv.VerifierConfig) -> tuple[str, bool]:
    """The app's own rule (claim_verifier.decide) on a scored claim, and whether
    it asked the judge (whose stored log-odds stand in for asking it)."""
    asked = []

    def ask() -> float:
        asked.append(True)
        return float(score["solo_state"])

    found = cv.decide(_reading(score), ask, config)
    if (
        found == "not_stated"
        and config.contra_question is not None
        and score[config.contra_question] >= config.min_contradicted
    ):
        return "contradicted", bool(asked)
    return found, bool(asked)


APP = cv.VerifierConfig()
VARIANTS: dict[str, cv.VerifierConfig] = {
    "cues, quoted, judge (no encoder)": dataclasses.replace(APP, use_encoder=False),
    "cues, quoted, encoder (no judge)": dataclasses.replace(
        APP, stated_question=None, encoder_stated=0.5
    ),
    "cues, quoted, encoder, judge between (the app)": APP,
}
"""The app's rule with one signal or another left out (each row decides every
claim of the set with the same function the app runs)."""

DIRECTIONS: dict[str, Callable[[dict, float], bool]] = {
    "grounding (overlap + similarity, before)": lambda s, t: s["app_ticked"],
    "grounding + cues (numbers, code)": lambda s, t: (
        s["app_ticked"] and not _lacking(s)
    ),
    "quoted (copied >= 0.9) only": lambda s, t: _copied(s) and not _lacking(s),
    "judge alone (solo_state >= t)": lambda s, t: s["solo_state"] >= t,
    "encoder alone (p stated >= 0.5)": lambda s, t: s.get("enc_stated", 0) >= 0.5,
}
KV_DIRECTIONS = {
    "KV: own answer, sentence only (kv_state >= t)": "kv_state",
    "KV: own answer, span quoted (kv_span >= t)": "kv_span",
}


def _scores(
    name: str, verdicts: list[str], rows: list[tuple[dict, dict]]
) -> dict[str, Any]:
    labels = [lab["label"] for _, lab in rows]
    ticks = [v == "stated" for v in verdicts]
    right = sum(
        1 for v, lab in zip(verdicts, labels, strict=True) if v == lab == "stated"
    )
    flagged = [v == "contradicted" for v in verdicts]
    caught = sum(
        1 for f, lab in zip(flagged, labels, strict=True) if f and lab == "contradicted"
    )
    return {
        "direction": name,
        "claims": len(rows),
        "ticked": sum(ticks),
        "tick_precision": round(right / max(1, sum(ticks)), 3),
        "stated_recall": round(right / max(1, labels.count("stated")), 3),
        "contradicted_ticked": sum(
            1
            for t, lab in zip(ticks, labels, strict=True)
            if t and lab == "contradicted"
        ),
        "contradicted_recall": round(caught / max(1, labels.count("contradicted")), 3),
        "contradicted_precision": round(caught / max(1, sum(flagged)), 3),
    }


def _table(rows: list[tuple[dict, dict]], t: float) -> list[dict]:
    table = [
        _scores(name, ["stated" if rule(s, t) else "-" for s, _ in rows], rows)
        for name, rule in DIRECTIONS.items()
        if all("enc_stated" in s for s, _ in rows) or "encoder" not in name
    ]
    for name, config in VARIANTS.items():
        if config.use_encoder and not all("enc_stated" in s for s, _ in rows):
            continue
        decided = [verdict(s, config) for s, _ in rows]
        row = _scores(name, [v for v, _ in decided], rows)
        asked = [s for (s, _), (_, a) in zip(rows, decided, strict=True) if a]
        row["judge asked"] = round(len(asked) / max(1, len(rows)), 2)
        judge_s = sum(float(s["solo_state_s"]) for s in asked) / max(1, len(rows))
        encoder_s = sum(float(s.get("enc_s", 0)) for s, _ in rows) / max(1, len(rows))
        row["s per claim"] = round(judge_s + encoder_s * config.use_encoder, 3)
        table.append(row)
    for name, key in KV_DIRECTIONS.items():
        have = [(score, lab) for score, lab in rows if key in score]
        if have:
            table.append(
                _scores(name, ["stated" if s[key] >= t else "-" for s, _ in have], have)
            )
    return table


def _encode(scores: list[dict], claims: dict[str, dict], folder: str) -> None:
    """The claim encoder's chances for each scored claim's stored spans (as the
    app reads them: claim_verifier.read_claim), and its time per claim."""
    from assistant.core.answer.claim_encoder import ClaimEncoder

    encoder = ClaimEncoder(Path(folder))
    for score in scores:
        row = claims.get(score["claim_id"])
        if row is None or not score.get("spans"):
            continue
        started = time.perf_counter()
        reading = cv.read_claim(row["claim"], score["spans"], "", encoder.scores)
        score["enc_s"] = time.perf_counter() - started
        score["enc_stated"], score["enc_contra"] = reading.stated, reading.contradicted


def _near_miss(
    scores: list[dict], claims: dict[str, dict], min_answers: float
) -> dict[str, Any]:
    """Per question, from its claims: declined before (grounding supports none
    of them) and with the near-miss check (also when none of the first
    ``most_asked`` supported ones answers the question, ``solo_answers``)."""
    by_question: dict[str, list[dict]] = defaultdict(list)
    for score in scores:
        row = claims.get(score["claim_id"])
        if row is not None and "app_ticked" in score:
            by_question[row["qid"]].append({**row, **score})
    out = {"near_miss": [0, 0, 0], "answerable": [0, 0, 0]}
    for qid, rows in by_question.items():
        kind = (
            "near_miss"
            if (qid.startswith("nm") or rows[0].get("kind") == "unanswerable")
            else "answerable"
        )
        supported = [r for r in rows if r["app_ticked"]]
        before = not supported
        asked = supported[: APP.most_asked]
        after = before or not any(
            r.get("solo_answers", min_answers) >= min_answers for r in asked
        )
        counts = out[kind]
        counts[0] += 1
        counts[1] += before
        counts[2] += after
    return {
        f"{kind} declined (before, with the check) of n": f"{c[1]}, {c[2]} of {c[0]}"
        for kind, c in out.items()
    }


def report(
    scores_paths: list[str],
    claims: dict[str, dict],
    labels: dict[str, dict],
    t: float,
    encoder: str,
) -> None:
    """Step 2: the table, one set per scores file (the dev set calibrates the
    thresholds, the others only check them). The cheap cues and the encoder are
    computed again from the claim and its stored spans (no chat model)."""
    for path in scores_paths:
        scores = [json.loads(line) for line in Path(path).read_text().splitlines()]
        answers = Path(path.replace("-scores", "-answers"))
        if answers.exists():
            asked = {
                r["claim_id"]: r["solo_answers"]
                for r in map(json.loads, answers.read_text().splitlines())
            }
            for score in scores:
                score.setdefault("solo_answers", asked.get(score["claim_id"]))
        for score in scores:
            if score.get("solo_answers") is None:
                score.pop("solo_answers", None)
            row = claims.get(score["claim_id"])
            if row is not None and "spans" in score:
                found = cv.cues(row["claim"], score["spans"], row["question"])
                score.update(dataclasses.asdict(found))
        if encoder:
            _encode(scores, claims, encoder)
        rows = [
            (score, labels[score["claim_id"]])
            for score in scores
            if labels.get(score["claim_id"], {}).get("label") not in (None, "skip")
            and "opposed" in score
            and "solo_state" in score
        ]
        table = _table(rows, t)
        counts = {
            k: sum(1 for _, lab in rows if lab["label"] == k)
            for k in ("stated", "not_stated", "contradicted")
        }
        line = {"bench": "claim_verifier", "set": path, "labels": counts}
        declines = _near_miss(scores, claims, APP.min_answers or -99.0)
        line.update({"min_stated": t, "encoder": encoder, "table": table})
        line["declines"] = declines
        print(json.dumps(line))
        print(f"\n{path}: {counts}, min_stated {t}")
        print(
            f"{'direction':48} {'n':>4} {'ticks':>5} {'prec':>5} {'recall':>6} "
            f"{'contra ticked':>13} {'contra recall':>13} {'s/claim':>7}"
        )
        for r in table:
            cost = r.get("s per claim", "")
            print(
                f"{r['direction']:48} {r['claims']:4} {r['ticked']:5} "
                f"{r['tick_precision']:5.2f} {r['stated_recall']:6.2f} "
                f"{r['contradicted_ticked']:13} {r['contradicted_recall']:13.2f} "
                f"{cost:>7}"
            )
        print("questions:", "; ".join(f"{k} {v}" for k, v in declines.items()))


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
        "--time", type=int, default=0, help="time the check on this many answers"
    )
    parser.add_argument(
        "--encoder",
        default="",
        help="a claim encoder folder (resources/models/claim-encoder) to read with",
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
            args.encoder,
        )
        return
    rows = [
        r
        for r in rows
        if r["claim_id"] in labels and labels[r["claim_id"]]["label"] != "skip"
    ]
    if args.limit:
        rows = rows[: args.limit]
    if args.time:
        _time_answers(args, rows)
        return
    _score_rows(args, rows, Path(args.out))


if __name__ == "__main__":
    main()
