"""Answer-quality evaluation over a JSONL question set.

Input lines: ``{"id", "question", "kind"?, "gold": [{"doc", "page"}],
"answer_keywords"}`` (the format of ``../shared/devset``; ``gold`` empty = the
documents do not answer it; a keyword that is a list means any one of them).
Retrieval is scored by page (hit@1, hit@5, MRR) and by document; answers by
keywords, by conversion (keywords right when a gold page is among the sources),
degenerate replies, abstention (declines on unanswerable questions, wrong refusals
on the others) and grounding (claims stating a keyword whose evidence holds it).
The per-question results file can also be scored by the dev set's ``score.py``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from assistant.core.answer.answer_check import is_degenerate, says_not_found
from assistant.core.errors import AssistantError
from assistant.core.search_text import has_cjk
from assistant.core.types import Answer, Source

Keyword = str | tuple[str, ...]
"""A keyword group: a word, or alternatives of which any one will do."""


@dataclass(frozen=True)
class EvalQuestion:
    id: str
    question: str
    gold: list[tuple[str, int | None]] = field(default_factory=list)
    keywords: list[Keyword] = field(default_factory=list)
    kind: str = ""

    @property
    def language(self) -> str:
        return "zh" if has_cjk(self.question) else "en"

    @property
    def group(self) -> str:
        """The kind the set gives, else the question's language."""
        return self.kind or self.language


def _keyword(value: object) -> Keyword:
    if isinstance(value, list):
        return tuple(str(v) for v in value)
    return str(value)


def keyword_found(keyword: Keyword, text: str) -> bool:
    options = keyword if isinstance(keyword, tuple) else (keyword,)
    lowered = text.lower()
    return any(option.lower() in lowered for option in options)


def load_questions(path: Path) -> list[EvalQuestion]:
    questions = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
            gold = [(g["doc"], g.get("page")) for g in data.get("gold", [])]
            questions.append(
                EvalQuestion(
                    str(data["id"]),
                    str(data["question"]),
                    gold,
                    [_keyword(k) for k in data.get("answer_keywords", [])],
                    str(data.get("kind", "")),
                )
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise AssistantError(
                f"{path.name}, line {number}: not a valid question "
                f"({type(exc).__name__}: {exc})"
            ) from exc
    return questions


def matches_gold(
    source: Source, gold: list[tuple[str, int | None]], by_page: bool
) -> bool:
    name = Path(source.path).name
    return any(
        name == doc and (not by_page or page is None or source.page == page)
        for doc, page in gold
    )


def _rank(sources: list[Source], question: EvalQuestion, by_page: bool) -> int | None:
    for position, source in enumerate(sources, 1):
        if matches_gold(source, question.gold, by_page):
            return position
    return None


def declined(answer: str) -> bool:
    return says_not_found(answer)


def _grounded_keywords(question: EvalQuestion, answer: Answer) -> tuple[int, int]:
    """(claims stating a keyword, of those whose evidence span contains it)."""
    by_n = {s.n: s for s in answer.sources}
    stating = grounded = 0
    for claim in answer.claims:
        found = [k for k in question.keywords if keyword_found(k, claim.text)]
        if not found:
            continue
        stating += 1
        spans = [by_n[e.n].text[e.start : e.end] for e in claim.evidence if e.n in by_n]
        if any(keyword_found(k, span) for k in found for span in spans):
            grounded += 1
    return stating, grounded


def score(
    question: EvalQuestion, sources: list[Source], answer: Answer | None
) -> dict[str, Any]:
    page_rank = _rank(sources, question, by_page=True)
    doc_rank = _rank(sources, question, by_page=False)
    result: dict[str, Any] = {
        "id": question.id,
        "kind": question.group,
        "language": question.language,
        "answerable": bool(question.gold),
        "retrieved": [
            {"doc": Path(s.path).name, "page": s.page, "score": round(s.score, 4)}
            for s in sources
        ],
        "page_rank": page_rank,
        "doc_rank": doc_rank,
    }
    if answer is not None:
        result["answer"] = answer.text
        result["cited"] = answer.cited
        result["keywords_ok"] = (
            all(keyword_found(k, answer.text) for k in question.keywords)
            if question.keywords
            else None
        )
        result["gold_in_sources"] = _rank(answer.sources, question, True) is not None
        result["declined"] = answer.declined or declined(answer.text)
        result["degenerate"] = is_degenerate(answer.withheld or answer.text)
        result["sources"] = [s.to_json() for s in answer.sources]
        result["claims"] = [c.to_json() for c in answer.claims]
        result["keyword_claims"], result["keyword_claims_grounded"] = (
            _grounded_keywords(question, answer)
        )
        result["ttft_ms"] = round(answer.timings.get("ttft_ms", 0.0), 1)
        result["first_token_ms"] = round(
            answer.timings.get("first_token_ms", answer.timings.get("ttft_ms", 0.0)), 1
        )
        result["verify_ms"] = round(answer.timings.get("verify_ms", 0.0), 1)
        result["tokens_per_s"] = round(answer.timings.get("tokens_per_s", 0.0), 2)
        if answer.withheld:
            result["withheld"] = answer.withheld
    return result


def summarize(results: Iterable[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """Per kind (or language), for all answerable questions and for all."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for result in results:
        groups.setdefault("all", []).append(result)
        groups.setdefault(result.get("kind") or result["language"], []).append(result)
        if result["answerable"]:
            groups.setdefault("answerable", []).append(result)
    summary = {}
    for name, rows in sorted(groups.items()):
        answerable = [r for r in rows if r["answerable"]]
        entry: dict[str, float] = {"questions": len(rows)}
        if answerable:
            for key, prefix in (("page_rank", ""), ("doc_rank", "doc_")):
                ranks = [r[key] for r in answerable]
                entry[f"{prefix}hit@1"] = _share(r == 1 for r in ranks)
                entry[f"{prefix}hit@5"] = _share(bool(r and r <= 5) for r in ranks)
                entry[f"{prefix}mrr"] = sum(1 / r for r in ranks if r) / len(ranks)
        answered = [r for r in rows if "answer" in r]
        if answered:
            keyword_rows = [r for r in answered if r["keywords_ok"] is not None]
            if keyword_rows:
                entry["keyword_accuracy"] = _share(
                    r["keywords_ok"] for r in keyword_rows
                )
                converted = [r for r in keyword_rows if r["gold_in_sources"]]
                entry["conversion_n"] = len(converted)
                if converted:
                    entry["conversion"] = _share(r["keywords_ok"] for r in converted)
                entry["wrong_refusals"] = _share(r["declined"] for r in keyword_rows)
            unanswerable = [r for r in answered if not r["answerable"]]
            if unanswerable:
                entry["abstention"] = _share(r["declined"] for r in unanswerable)
            entry["degenerate"] = sum(r["degenerate"] for r in answered)
            stating = sum(r["keyword_claims"] for r in answered)
            if stating:
                entry["fact_claims_grounded"] = (
                    sum(r["keyword_claims_grounded"] for r in answered) / stating
                )
            claims = [c for r in answered for c in r["claims"]]
            if claims:
                entry["claims_supported"] = _share(c["supported"] for c in claims)
            entry["ttft_s"] = sum(r["ttft_ms"] for r in answered) / len(answered) / 1000
            # checking the claims after the last token (claim_verifier.py)
            entry["verify_s"] = (
                sum(r.get("verify_ms", 0.0) for r in answered) / len(answered) / 1000
            )
            # from the question: search (and translation) included
            entry["first_token_s"] = (
                sum(r.get("first_token_ms", r["ttft_ms"]) for r in answered)
                / len(answered)
                / 1000
            )
            decoded = [r["tokens_per_s"] for r in answered if r.get("tokens_per_s")]
            if decoded:  # the answers' decoding speed (an adapter costs some)
                entry["decode_tok_s"] = sum(decoded) / len(decoded)
        summary[name] = {k: round(v, 3) for k, v in entry.items()}
    return summary


def _share(flags: Iterable[bool]) -> float:
    values = list(flags)
    return sum(values) / len(values) if values else 0.0


def run_eval(
    questions: list[EvalQuestion],
    search: Callable[[str], list[Source]],
    answer: Callable[[str], Answer] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> list[dict[str, Any]]:
    results = []
    for index, question in enumerate(questions, 1):
        reply = answer(question.question) if answer is not None else None
        results.append(score(question, search(question.question), reply))
        if progress is not None:
            progress(index, len(questions))
    return results
