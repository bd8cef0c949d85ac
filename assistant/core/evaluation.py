"""Answer-quality evaluation over a JSONL question set.

Input lines: ``{"id", "question", "gold": [{"doc", "page"}], "answer_keywords"}``
(``gold`` empty = the documents do not answer it). Retrieval is scored by page
(hit@1, hit@5, MRR) and by document; answers by keywords and by whether the model
answered although no relevant passage was retrieved.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from assistant.core.errors import AssistantError
from assistant.core.search_text import has_cjk
from assistant.core.types import Answer, Source

_DECLINE = re.compile(
    r"(do(es)? not (say|contain|mention|include|provide|specify)|not mentioned|"
    r"no (information|mention)|cannot find|can't find|not (found|provided) in|"
    r"没有(提到|提及|说明|相关|答案|信息)|未(提及|提到|说明)|无法(找到|回答))",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class EvalQuestion:
    id: str
    question: str
    gold: list[tuple[str, int | None]] = field(default_factory=list)
    keywords: list[str] = field(default_factory=list)

    @property
    def language(self) -> str:
        return "zh" if has_cjk(self.question) else "en"


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
                    list(data.get("answer_keywords", [])),
                )
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise AssistantError(
                f"{path.name}, line {number}: not a valid question "
                f"({type(exc).__name__}: {exc})"
            ) from exc
    return questions


def _matches(source: Source, gold: list[tuple[str, int | None]], by_page: bool) -> bool:
    name = Path(source.path).name
    return any(
        name == doc and (not by_page or page is None or source.page == page)
        for doc, page in gold
    )


def _rank(sources: list[Source], question: EvalQuestion, by_page: bool) -> int | None:
    for position, source in enumerate(sources, 1):
        if _matches(source, question.gold, by_page):
            return position
    return None


def declined(answer: str) -> bool:
    return bool(_DECLINE.search(answer))


def score(
    question: EvalQuestion, sources: list[Source], answer: Answer | None
) -> dict[str, Any]:
    page_rank = _rank(sources, question, by_page=True)
    doc_rank = _rank(sources, question, by_page=False)
    result: dict[str, Any] = {
        "id": question.id,
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
        text = answer.text.lower()
        result["answer"] = answer.text
        result["cited"] = answer.cited
        result["keywords_ok"] = (
            all(k.lower() in text for k in question.keywords)
            if question.keywords
            else None
        )
        relevant = page_rank is not None
        result["answered_from_nothing"] = (
            (not relevant and not declined(answer.text)) if not relevant else None
        )
    return result


def summarize(results: Iterable[dict[str, Any]]) -> dict[str, dict[str, float]]:
    groups: dict[str, list[dict[str, Any]]] = {}
    for result in results:
        groups.setdefault("all", []).append(result)
        groups.setdefault(result["language"], []).append(result)
    summary = {}
    for name, rows in sorted(groups.items()):
        answerable = [r for r in rows if r["answerable"]]
        entry: dict[str, float] = {
            "questions": len(rows),
            "answerable": len(answerable),
        }
        for key, prefix in (("page_rank", ""), ("doc_rank", "doc_")):
            ranks = [r[key] for r in answerable]
            n = max(len(ranks), 1)
            entry[f"{prefix}hit@1"] = sum(1 for r in ranks if r == 1) / n
            entry[f"{prefix}hit@5"] = sum(1 for r in ranks if r and r <= 5) / n
            entry[f"{prefix}mrr"] = sum(1 / r for r in ranks if r) / n
        keyword_rows = [r for r in answerable if r.get("keywords_ok") is not None]
        if keyword_rows:
            entry["keyword_accuracy"] = sum(
                r["keywords_ok"] for r in keyword_rows
            ) / len(keyword_rows)
        nothing = [r for r in rows if r.get("answered_from_nothing") is not None]
        if nothing:
            entry["answered_from_nothing"] = sum(
                r["answered_from_nothing"] for r in nothing
            ) / len(nothing)
        summary[name] = {k: round(v, 3) for k, v in entry.items()}
    return summary


def run_eval(
    questions: list[EvalQuestion],
    search: Callable[[str], list[Source]],
    answer: Callable[[str], Answer] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> list[dict[str, Any]]:
    results = []
    for index, question in enumerate(questions, 1):
        if answer is not None:
            reply = answer(question.question)
            results.append(score(question, reply.sources, reply))
        else:
            results.append(score(question, search(question.question), None))
        if progress is not None:
            progress(index, len(questions))
    return results
