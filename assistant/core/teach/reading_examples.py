"""Training examples that teach the chat model to read excerpts, made from a
library's own documents (retrieval-augmented fine-tuning, after RAFT: Zhang et
al. 2024, "RAFT: Adapting Language Model to Domain Specific RAG").

For one passage of a document, the chat model writes a question that one of its
sentences answers and the short answer. The app's own retrieval then searches the
question, and the app's own prompt is built around what it found, so the model
learns from exactly what it reads at answer time: the passage that holds the
answer (the gold one) among the distractors retrieval returns with it. About a
quarter of the examples have the gold passage (and anything overlapping it) taken
out, with the honest decline as the target. An example is kept only when the
claim verifier finds its answer stated by the gold passage; a decline only when
no excerpt left states it.
"""

from __future__ import annotations

import json
import random
import re
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from assistant.core.answer.answer_check import decline_text
from assistant.core.answer.claim_verifier import (
    Encode,
    answers_the_question,
    passage_verdict,
    read_claim,
)
from assistant.core.cancel import CancelToken
from assistant.core.fsutil import atomic_write_text
from assistant.core.retrieve.retrieval import source_from_row
from assistant.core.search_text import has_cjk, is_cjk_text
from assistant.core.types import Claim, Source

QUESTION_SYSTEM = (
    "You write one question about a passage of a document, for a reading test. "
    "Choose one sentence of the passage that states a specific fact (a command, an "
    "option, a value, a name, a step or a reason). Write a question that a user of "
    "the document could ask and that this sentence answers. The question must make "
    "sense without the passage: name the program or topic it is about, and never "
    "mention the passage or the text. Then write the answer in one short sentence, "
    "using only what the passage says. Reply in exactly this form:\n"
    "Question: ...\nAnswer: ..."
)
QUESTION_SYSTEM_ZH = QUESTION_SYSTEM + "\nWrite the question and the answer in Chinese."
QUESTION_TOKENS = 120
PASSAGE_CHARS = 900
MIN_PASSAGE_CHARS = 200
DECLINE_SHARE = 0.25
MAX_ANSWER_CHARS = 300
GOLD_SLOTS = 3
"""An answer example's gold passage sits among the first three (the prompt's token
cap can leave out the last excerpts, never the first)."""
_LABEL = r"^\s*\**\s*(?:{})\s*\**\s*[:：]\s*\**\s*"
_FORM = re.compile(
    _LABEL.format("Question|问题")
    + r"(?P<q>.+?)\s*$\s*"
    + _LABEL.format("Answer|答案|回答")
    + r"(?P<a>.+?)\s*\Z",
    re.M | re.S,
)
_SELF_REFERENCE = re.compile(
    r"\b(?:the|this) (?:passage|text|excerpt|document|sentence)\b|这段|本段|文中|原文",
    re.I,
)

Kind = Literal["answer", "decline", "rejected"]


@dataclass(frozen=True)
class ReadingExample:
    """One passage tried: the question, the prompt the app built for it and the
    target; ``kind`` "rejected" (with ``reason``) keeps a failed try on record so
    that a resumed run does not ask the same passage again."""

    chunk_id: str
    kind: Kind
    question: str = ""
    answer: str = ""
    messages: list[dict[str, str]] = field(default_factory=list)
    reason: str = ""
    gold_found: bool = False
    """Whether the app's retrieval found the gold passage by itself."""
    title: str = ""

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False)

    @classmethod
    def from_json(cls, line: str) -> ReadingExample:
        return cls(**json.loads(line))


@dataclass(frozen=True)
class ExamplesProgress:
    kept: int
    """Examples kept so far, of ``wanted`` (counting those of an earlier run)."""
    wanted: int
    tried: int
    """Passages tried in this run."""
    kept_now: int
    """Examples kept in this run (what the time left is estimated from)."""
    seconds: float

    @property
    def seconds_left(self) -> float | None:
        if not self.kept_now:
            return None
        return self.seconds / self.kept_now * max(0, self.wanted - self.kept)


Write = Callable[[Sequence[dict[str, str]], int, CancelToken], str]
"""The chat model's greedy reply to ``messages`` in at most N tokens."""
Search = Callable[[str], list[Source]]
Prompt = Callable[[str, list[Source]], tuple[list[dict[str, str]], list[Source]]]
"""The app's messages for a question beside passages, and the passages kept."""
Judge = Callable[[Sequence[dict[str, str]]], float]


@dataclass(frozen=True)
class ReadingTools:
    """What making examples needs of the app (one owner of the model passes its
    own; tests pass fakes)."""

    write: Write
    search: Search
    prompt: Prompt
    judge: Judge
    encode: Encode | None = None


def candidate_passages(
    rows: Iterable[dict[str, Any]], seed: int = 0
) -> list[dict[str, Any]]:
    """Chunk rows worth a question (long enough, embedded), documents taken in
    turn so that a limit still covers every document, in a seeded order."""
    by_doc: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        if row.get("text_hash") is None or row.get("parent"):
            continue
        if len(str(row.get("text") or "").strip()) < MIN_PASSAGE_CHARS:
            continue
        by_doc.setdefault(str(row["doc_id"]), []).append(row)
    rng = random.Random(seed)
    queues = []
    for doc_id in sorted(by_doc):
        rows_of_doc = sorted(by_doc[doc_id], key=lambda r: int(r["ordinal"]))
        rng.shuffle(rows_of_doc)
        queues.append(rows_of_doc)
    out: list[dict[str, Any]] = []
    while any(queues):
        for queue in queues:
            if queue:
                out.append(queue.pop())
    return out


def parse_question(reply: str) -> tuple[str, str] | None:
    found = _FORM.search(reply.strip())
    if not found:
        return None
    question = found["q"].strip().strip('"“”')
    answer = found["a"].strip().strip('"“”')
    shortest = 4 if has_cjk(question) else 8
    if len(question) < shortest or not answer or len(answer) > MAX_ANSWER_CHARS:
        return None
    if _SELF_REFERENCE.search(question) or _SELF_REFERENCE.search(answer):
        return None
    return question, answer


def _overlaps(source: Source, gold: Source) -> bool:
    return (
        source.doc_id == gold.doc_id
        and source.page == gold.page
        and source.start < gold.end
        and gold.start < source.end
    )


def wants_decline(chunk_id: str, seed: int, share: float = DECLINE_SHARE) -> bool:
    """Whether this passage's example is a decline (fixed by the id and seed, so a
    resumed run decides the same)."""
    return random.Random(f"{seed}:{chunk_id}").random() < share


def make_example(
    row: dict[str, Any], tools: ReadingTools, seed: int, cancel: CancelToken
) -> ReadingExample:
    """One passage's example, or a rejected one saying why."""
    chunk_id = str(row["chunk_id"])
    title = str(row.get("title") or "")
    gold = source_from_row(1, row)

    def rejected(reason: str, question: str = "") -> ReadingExample:
        return ReadingExample(
            chunk_id, "rejected", question, reason=reason, title=title
        )

    chinese = is_cjk_text(gold.text)
    heading = f"{title} \u2014 {gold.heading}" if gold.heading else title
    reply = tools.write(
        [
            {
                "role": "system",
                "content": QUESTION_SYSTEM_ZH if chinese else QUESTION_SYSTEM,
            },
            {"role": "user", "content": f"{heading}\n\n{gold.text[:PASSAGE_CHARS]}"},
        ],
        QUESTION_TOKENS,
        cancel,
    )
    parsed = parse_question(reply)
    if parsed is None:
        said = " ".join(reply.split())[:160]  # kept to see what the model wrote
        return rejected(f"no question in the reply: {said}")
    question, answer = parsed
    if chinese != has_cjk(question):
        return rejected("question not in the passage's language", question)
    verdict = passage_verdict(
        answer, [gold.text], question, tools.judge, None, tools.encode
    )
    if verdict != "stated":
        return rejected(f"answer {verdict.replace('_', ' ')} by its passage", question)
    if not answers_the_question(
        [Claim(answer, 0, len(answer), True)], question, tools.judge
    ):  # stated, but not what was asked (the app's near-miss check)
        return rejected("the answer does not give what was asked", question)
    found = tools.search(question)
    gold_found = any(_overlaps(s, gold) for s in found)
    decline = wants_decline(chunk_id, seed)
    sources = [s for s in found if not _overlaps(s, gold)]
    if decline:
        if not sources:
            return rejected("nothing but the passage found", question)
    else:
        slot = random.Random(f"{seed}:{chunk_id}:slot").randrange(
            min(GOLD_SLOTS, len(sources) + 1)
        )
        sources.insert(slot, gold)
        sources = sources[: max(len(found), 1)]
    messages, included = tools.prompt(question, sources)
    holds_gold = any(_overlaps(s, gold) for s in included)
    if decline:
        if holds_gold:
            return rejected("a widened excerpt holds the passage", question)
        reading = read_claim(answer, [s.text for s in included], question, tools.encode)
        if reading.cues.copied >= 0.9 or (reading.stated or 0.0) >= 0.5:
            return rejected("another excerpt states the answer", question)
        target = decline_text(question)
    else:
        if not holds_gold:
            return rejected("the prompt left the passage out", question)
        target = answer
    return ReadingExample(
        chunk_id,
        "decline" if decline else "answer",
        question,
        target,
        messages,
        gold_found=gold_found,
        title=title,
    )


def read_examples(path: Path) -> list[ReadingExample]:
    if not path.is_file():
        return []
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            try:
                out.append(ReadingExample.from_json(line))
            except (ValueError, TypeError):
                continue  # a line cut short by a kill: that passage is tried again
    return out


def write_examples(path: Path, examples: Sequence[ReadingExample]) -> None:
    atomic_write_text(path, "".join(e.to_json() + "\n" for e in examples))


def make_examples(
    rows: Iterable[dict[str, Any]],
    tools: ReadingTools,
    path: Path,
    limit: int,
    seed: int = 0,
    progress: Callable[[ExamplesProgress], None] | None = None,
    cancel: CancelToken | None = None,
) -> list[ReadingExample]:
    """Examples until ``limit`` are kept, each appended to ``path`` as it is made;
    a run started again reads what is there and goes on (passages already tried
    are not asked again). Returns the kept examples."""
    cancel = cancel or CancelToken()
    done = read_examples(path)
    tried = {e.chunk_id for e in done}
    kept = [e for e in done if e.kind != "rejected"]
    todo = [r for r in candidate_passages(rows, seed) if r["chunk_id"] not in tried]
    started = time.monotonic()
    before = len(kept)
    attempts = 0
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as out:
        for example in _examples(todo, tools, seed, cancel, limit - len(kept)):
            out.write(example.to_json() + "\n")
            out.flush()
            attempts += 1
            if example.kind != "rejected":
                kept.append(example)
            if progress is not None:
                progress(
                    ExamplesProgress(
                        len(kept),
                        limit,
                        attempts,
                        len(kept) - before,
                        time.monotonic() - started,
                    )
                )
    return kept[:limit]


def _examples(
    rows: Sequence[dict[str, Any]],
    tools: ReadingTools,
    seed: int,
    cancel: CancelToken,
    wanted: int,
) -> Iterator[ReadingExample]:
    kept = 0
    for row in rows:
        if kept >= wanted or cancel.cancelled:
            return
        example = make_example(row, tools, seed, cancel)
        if cancel.cancelled:
            return  # a reply cut short: the passage is tried again next time
        kept += example.kind != "rejected"
        yield example
