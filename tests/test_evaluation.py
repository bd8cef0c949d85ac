from __future__ import annotations

import json
from pathlib import Path

import pytest
from fakes import FakeGenerator

from assistant.core.answer.evaluation import (
    declined,
    load_questions,
    run_eval,
    summarize,
)
from assistant.core.errors import AssistantError
from assistant.core.services.conversation import Conversation
from assistant.core.services.library import Library


def _write(path: Path, rows: list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    return path


def test_retrieval_and_answer_metrics(
    library: Library, generator: FakeGenerator, docs: Path, tmp_path: Path
) -> None:
    (docs / "pumps.txt").write_text("The pump runs at 300 rpm.")
    (docs / "valves.txt").write_text("The valve opens at 42 bar.")
    (docs / "zh.txt").write_text("上海是一个重要的港口城市。")
    library.ingest([docs])
    questions = load_questions(
        _write(
            tmp_path / "q.jsonl",
            [
                {
                    "id": "1",
                    "kind": "paraphrase",
                    "question": "pump rpm",
                    "gold": [{"doc": "pumps.txt", "page": None}],
                    "answer_keywords": [["300", "three hundred"], "rpm"],
                },
                {
                    "id": "2",
                    "kind": "paraphrase",
                    "question": "valve bar",
                    "gold": [{"doc": "valves.txt", "page": None}],
                    "answer_keywords": ["42"],
                },
                {
                    "id": "3",
                    "kind": "zh",
                    "question": "港口城市",
                    "gold": [{"doc": "zh.txt", "page": None}],
                    "answer_keywords": ["上海"],
                },
                {
                    "id": "4",
                    "kind": "unanswerable",
                    "question": "zebra migration",
                    "gold": [],
                    "answer_keywords": [],
                },
            ],
        )
    )
    generator.queue(
        "The pump runs at 300 rpm [1].",
        "The valve opens at 40 bar.",  # wrong figure: supported by nothing
        "上海是一个港口城市 [1]。",
        "Zebras migrate in spring.",
    )
    conversation = Conversation(library, generator)
    results = run_eval(
        questions, lambda q: library.search(q, 5), lambda q: conversation.ask(q)
    )
    summary = summarize(results)
    assert summary["all"]["questions"] == 4 and summary["answerable"]["questions"] == 3
    assert summary["answerable"]["hit@1"] == 1.0
    assert summary["paraphrase"]["keyword_accuracy"] == 0.5
    assert summary["paraphrase"]["conversion"] == 0.5
    assert summary["paraphrase"]["wrong_refusals"] == 0.5  # the made-up 40 bar
    assert summary["zh"]["keyword_accuracy"] == 1.0
    assert summary["unanswerable"]["abstention"] == 1.0
    assert summary["all"]["degenerate"] == 0
    assert summary["answerable"]["fact_claims_grounded"] == 1.0
    assert results[0]["retrieved"][0]["doc"] == "pumps.txt"
    assert results[1]["withheld"] == "The valve opens at 40 bar."


def test_declines_are_recognised() -> None:
    assert declined("The documents do not say.")
    assert declined("文档中没有提到这个问题。")
    assert not declined("It opens at 42 bar [1].")


def test_bad_question_lines_name_the_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"id": "1", "question": "ok"}\n{"question": "no id"}\n')
    with pytest.raises(AssistantError, match="bad.jsonl, line 2"):
        load_questions(path)
