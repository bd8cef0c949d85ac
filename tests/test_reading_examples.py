"""Reading examples made from a library's documents (RAFT-style): the app's own
retrieval and prompt around a question the chat model wrote, the gold passage
among the distractors or taken out for an honest decline, resumable."""

from __future__ import annotations

from pathlib import Path

import pytest
from fakes import FakeEmbedder, FakeGenerator

from assistant.core.answer.answer_check import DECLINE_EN
from assistant.core.answer.prompt import PLAIN_RAG_SYSTEM
from assistant.core.cancel import CancelToken
from assistant.core.config import Settings
from assistant.core.services.library import Library
from assistant.core.services.library_teaching import library_tools, reading_lesson
from assistant.core.teach.adapters import AdapterStore
from assistant.core.teach.examples import IGNORE_INDEX
from assistant.core.teach.reading_examples import (
    QUESTION_SYSTEM,
    ExamplesProgress,
    candidate_passages,
    make_examples,
    parse_question,
    read_examples,
    wants_decline,
)

SECTIONS = {
    "Backups": "The backup job runs every night at 02:00 and keeps fourteen "
    "archives. To start a backup by hand, run the command `backup --now`; it "
    "writes the archive to /var/backups and prints its size when it is done. "
    "Archives older than fourteen days are removed by the cleaner.",
    "Network": "The daemon listens on port 8080 by default. The option "
    "`--listen` changes the address and the port it binds to. Connections from "
    "other hosts are refused unless the allow list names them, one address a line "
    "in /etc/daemon/allow.",
    "Logging": "Log files are written to /var/log/daemon and rotated weekly. "
    "The option `--verbose` adds a line for every request the daemon serves, "
    "and `--quiet` leaves out everything but errors. Old logs are compressed "
    "with gzip after the first rotation.",
}


def _library(settings: Settings, embedder: FakeEmbedder, tmp_path: Path) -> Library:
    """One document a section, one chunk each (the fixture's embedder reads 60
    words at most): a widened excerpt of one never holds another."""
    settings = settings.model_copy(update={"chunk_tokens": 200, "chunk_overlap": 0})
    embedder = FakeEmbedder(max_tokens=400)
    library = Library(settings, embedder, directory=tmp_path / "index")
    docs = tmp_path / "docs"
    docs.mkdir()
    for title, body in SECTIONS.items():
        text = f"# Daemon manual\n\n## {title}\n\n{body}"
        (docs / f"{title.lower()}.md").write_text(text, encoding="utf-8")
    assert library.ingest([docs]).ok
    return library


def _reply_for(generator: FakeGenerator, library: Library, seed: int) -> None:
    """A question/answer reply for each passage, in the order they are tried."""
    replies = {
        "Backups": "Question: How do I start a backup right away?\n"
        "Answer: Run the command `backup --now`.",
        "Network": "Question: Which port does the daemon listen on by default?\n"
        "Answer: The daemon listens on port 8080 by default.",
        "Logging": "Question: What does the --quiet option of the daemon do?\n"
        "Answer: `--quiet` leaves out everything but errors.",
    }
    for row in candidate_passages(library.store.chunk_rows(), seed):
        heading = str(row["heading"]).split(" \u203a ")[-1]
        generator.queue(replies[heading])


def test_parse_question_takes_the_form_and_refuses_self_reference() -> None:
    assert parse_question("Question: How do I start it?\nAnswer: Run `go`.") == (
        "How do I start it?",
        "Run `go`.",
    )
    assert parse_question("**Question:** 如何启动备份？\n**答案：** 运行 backup。") == (
        "如何启动备份？",
        "运行 backup。",
    )
    assert parse_question("What does the passage say about ports?") is None
    assert (
        parse_question("Question: What does this passage say?\nAnswer: Ports.") is None
    )


def test_passages_are_taken_from_every_document_in_turn() -> None:
    rows = [
        {
            "chunk_id": f"{d}{i}",
            "doc_id": d,
            "ordinal": i,
            "text": "x" * 300,
            "text_hash": "h",
            "parent": None,
        }
        for d in "ab"
        for i in range(3)
    ]
    rows.append({**rows[0], "chunk_id": "short", "text": "too short"})
    order = [r["doc_id"] for r in candidate_passages(rows)]
    assert order == ["a", "b", "a", "b", "a", "b"]


def test_examples_hold_the_apps_prompt_with_the_gold_passage_or_decline(
    settings: Settings, embedder: FakeEmbedder, generator: FakeGenerator, tmp_path: Path
) -> None:
    library = _library(settings, embedder, tmp_path)
    seed = next(
        s
        for s in range(50)
        if [
            wants_decline(str(r["chunk_id"]), s)
            for r in candidate_passages(library.store.chunk_rows(), s)
        ].count(True)
        == 1
    )
    _reply_for(generator, library, seed)
    seen: list[ExamplesProgress] = []
    path = tmp_path / "work" / "examples.jsonl"
    kept = make_examples(
        library.store.chunk_rows(),
        library_tools(library, generator),
        path,
        limit=3,
        seed=seed,
        progress=seen.append,
    )
    assert len(kept) == 3 and [p.kept for p in seen] == [1, 2, 3]
    assert seen[-1].seconds_left == 0
    answers = [e for e in kept if e.kind == "answer"]
    declines = [e for e in kept if e.kind == "decline"]
    assert len(answers) == 2 and len(declines) == 1
    for example in kept:
        system, user = example.messages[0], example.messages[-1]
        assert system == {"role": "system", "content": PLAIN_RAG_SYSTEM}
        assert user["content"].startswith("Excerpts:")  # the app's own layout
        assert user["content"].rstrip().endswith(f"Question: {example.question}")

    def gold_text(chunk_id: str) -> str:
        return str(library.store.chunks_by_id([chunk_id])[0]["text"])

    for example in answers:
        assert gold_text(example.chunk_id)[:80] in example.messages[-1]["content"]
    decline = declines[0]
    assert decline.answer == DECLINE_EN
    assert gold_text(decline.chunk_id)[:80] not in decline.messages[-1]["content"]
    # every try is on disk: a new run reads them back
    assert [e.question for e in read_examples(path)] == [e.question for e in kept]


def test_a_stopped_run_goes_on_without_asking_a_passage_again(
    settings: Settings, embedder: FakeEmbedder, generator: FakeGenerator, tmp_path: Path
) -> None:
    library = _library(settings, embedder, tmp_path)
    _reply_for(generator, library, 0)
    path = tmp_path / "examples.jsonl"
    tools = library_tools(library, generator)
    first = make_examples(library.store.chunk_rows(), tools, path, limit=1)
    asked = [p for p in generator.prompts if p[0]["content"] == QUESTION_SYSTEM]
    assert len(first) == 1 and len(asked) == len(read_examples(path))
    both = make_examples(library.store.chunk_rows(), tools, path, limit=2)
    asked = [
        p[-1]["content"]
        for p in generator.prompts
        if p[0]["content"] == QUESTION_SYSTEM
    ]
    assert len(both) == 2 and both[0] == first[0]
    assert len(asked) == len(set(asked)) == len(read_examples(path))
    # a cancelled run adds nothing
    cancel = CancelToken()
    cancel.cancel()
    assert (
        make_examples(library.store.chunk_rows(), tools, path, 3, cancel=cancel) == both
    )


def test_an_answer_its_passage_does_not_state_is_rejected_with_the_reason(
    settings: Settings, embedder: FakeEmbedder, generator: FakeGenerator, tmp_path: Path
) -> None:
    library = _library(settings, embedder, tmp_path)
    for _ in SECTIONS:
        generator.queue(
            "Question: How many archives does the backup job keep?\n"
            "Answer: It keeps 30 archives."  # a number no passage has
        )
    path = tmp_path / "examples.jsonl"
    kept = make_examples(
        library.store.chunk_rows(), library_tools(library, generator), path, limit=1
    )
    assert kept == []
    tried = read_examples(path)
    assert len(tried) == 3
    assert {e.reason for e in tried} == {"answer not stated by its passage"}


def test_the_reading_lesson_learns_the_answer_after_the_apps_prompt(
    settings: Settings, embedder: FakeEmbedder, generator: FakeGenerator, tmp_path: Path
) -> None:
    from test_finetune import CharTokenizer

    library = _library(settings, embedder, tmp_path)
    _reply_for(generator, library, 0)
    path = tmp_path / "examples.jsonl"
    kept = make_examples(
        library.store.chunk_rows(), library_tools(library, generator), path, limit=2
    )
    lesson = reading_lesson(kept, 4096, path)
    examples = lesson.examples(CharTokenizer())
    assert lesson.reading and lesson.system_prompt == PLAIN_RAG_SYSTEM
    assert lesson.check_messages == kept[0].messages
    for example, source in zip(examples, kept, strict=True):
        learned = "".join(
            chr(t)
            for t, label in zip(example.input_ids, example.labels, strict=True)
            if label != IGNORE_INDEX
        )
        assert learned.startswith(source.answer)
    # a prompt over the limit is left out, not the whole lesson
    with pytest.raises(Exception, match="over the length limit"):
        reading_lesson(kept, 64, path).examples(CharTokenizer())
    store = AdapterStore(tmp_path / "adapters")
    assert store.work_dir("reader").name == ".reader.work"


def test_a_stated_answer_that_does_not_give_what_was_asked_is_rejected(
    settings: Settings,
    embedder: FakeEmbedder,
    generator: FakeGenerator,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from assistant.core.answer.claim_verifier import ANSWERS_SYSTEM

    library = _library(settings, embedder, tmp_path)
    _reply_for(generator, library, 0)
    asked: list[str] = []

    def judge(messages: list[dict[str, str]]) -> float:
        # the passage states each answer, but none gives what its question asks
        near_miss = messages[0]["content"] == ANSWERS_SYSTEM
        asked.append("answers" if near_miss else "states")
        return -5.0 if near_miss else 5.0

    monkeypatch.setattr(generator, "judge_odds", judge)
    path = tmp_path / "examples.jsonl"
    kept = make_examples(
        library.store.chunk_rows(), library_tools(library, generator), path, limit=1
    )
    assert kept == [] and asked.count("answers") == 3
    assert {e.reason for e in read_examples(path)} == {
        "the answer does not give what was asked"
    }
