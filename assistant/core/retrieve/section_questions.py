"""Questions a user might ask of each section, written by the chat model when it is
idle and searched like sentences (doc2query).

Users ask in their own words ("the tick labels must read 3,5 instead of 3.5"),
manuals answer in theirs (``set decimalsign``): no encoder or full-text trick here
bridges that (issue 14's remaining misses). The chat model, reading the start of a
section, writes the questions it answers, asked to use a user's words. (Measured on
the dev set, the 1.5B model mostly keeps the manual's: "How can I use the set
decimalsign command to change the decimal separator to a comma?", and no page moved
into the top 5; so this is off by default, README.) Each question is embedded by
the library's embedder and stored as a child row of the section's first chunk, id
``<chunk id>:q<n>`` (``store.parent_chunk`` reads it like a sentence row's), so every
search's sentence lists find it and rank that chunk by it; no other part of the
search changes. The rows belong to their document: a re-ingest replaces them (the
section is asked again), a removal removes them.

English (non-CJK) text only, as with sentence rows. ~5 s a section with the default
1.5B model on 2 cores, so this runs after ingest, section by section, resumable and
stopped whenever the model is needed.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from assistant.core.cancel import CancelToken
from assistant.core.embed.embedding import Embedder
from assistant.core.fsutil import sha256_text
from assistant.core.generate.llm import Generator
from assistant.core.index.store import ChunkStore, question_row_id
from assistant.core.search_text import is_cjk_text

QUESTION_SYSTEM = (
    "You read one passage of a manual. Write three different questions that a user "
    "of the software could ask whose answer is in this passage. Ask about the task or "
    "problem in everyday words, as someone who does not yet know the names of the "
    "commands or options would. One question per line, nothing else."
)
MAX_TOKENS = 90
SECTION_CHARS = 700
"""How much of a section the model reads (its start: where a manual says what a
command is for). About 250 prompt tokens with the instructions."""
MIN_CHARS = 40
MAX_QUESTIONS = 4
_NUMBERING = re.compile(r"^\s*(?:\d+[.)]|[-*\u2022])\s*")


@dataclass(frozen=True)
class Section:
    """The start of one section of a document: its first chunk (the parent of its
    question rows) and the text the model reads."""

    chunk: dict[str, Any]
    text: str

    @property
    def chunk_id(self) -> str:
        return str(self.chunk["chunk_id"])

    @property
    def prompt_title(self) -> str:
        heading = (self.chunk.get("heading") or "").split(" \u203a ")[-1]
        title = self.chunk.get("title") or ""
        return f"{title} \u2014 {heading}" if heading else title


def pending_sections(store: ChunkStore) -> list[Section]:
    """The sections of English text whose first chunk has no question rows yet, in
    document order: the text of the section's chunks on its first page (the first
    two chunks when that is only a page header)."""
    asked = store.question_parents()
    by_section: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for row in sorted(store.chunk_rows(), key=lambda r: (r["doc_id"], r["ordinal"])):
        if row["text_hash"] is None:  # words of a long document not yet embedded
            continue
        by_section.setdefault((row["doc_id"], row["heading"] or ""), []).append(row)
    out = []
    for rows in by_section.values():
        first = rows[0]
        if first["chunk_id"] in asked:
            continue
        on_page = [r for r in rows if r["page"] == first["page"]]
        text = " ".join(r["text"] for r in on_page).strip()
        if len(text) < 2 * MIN_CHARS and len(rows) > len(on_page):
            text = " ".join(r["text"] for r in rows[:2]).strip()
        if len(text) >= MIN_CHARS and not is_cjk_text(text):
            out.append(Section(first, text[:SECTION_CHARS]))
    return out


def ask_for_questions(
    generator: Generator, section: Section, cancel: CancelToken
) -> list[str]:
    """The model's questions for one section (none when cancelled part-way)."""
    messages = [
        {"role": "system", "content": QUESTION_SYSTEM},
        {"role": "user", "content": f"{section.prompt_title}\n\n{section.text}"},
    ]
    reply = "".join(
        generator.stream_chat(
            messages, max_tokens=MAX_TOKENS, temperature=0.0, cancel=cancel
        )
    )
    return [] if cancel.cancelled else parse_questions(reply)


def parse_questions(reply: str) -> list[str]:
    """One question a line, numbering and bullets dropped, repeats and scraps left
    out."""
    out: list[str] = []
    for line in reply.splitlines():
        question = _NUMBERING.sub("", line).strip().strip("`").strip()
        if len(question) >= 12 and question not in out:
            out.append(question)
    return out[:MAX_QUESTIONS]


def question_rows(
    section: Section, questions: Sequence[str], embedder: Embedder
) -> list[dict[str, Any]]:
    """Rows for the store: the section's first chunk's fields, the question's text
    and vector, an empty span (no text of the document)."""
    if not questions:
        return []
    vectors = embedder.embed(list(questions))
    chunk = section.chunk
    rows = []
    for n, (question, vector) in enumerate(zip(questions, vectors, strict=True)):
        rows.append(
            {
                **chunk,
                "chunk_id": question_row_id(section.chunk_id, n),
                "parent": section.chunk_id,
                "end": chunk["start"],
                "text": question,
                "text_hash": sha256_text(question),
                "search_text": None,
                "boxes": None,
                "vector": vector,
            }
        )
    return rows


def write_questions(
    store: ChunkStore, embedder: Embedder, section: Section, questions: Sequence[str]
) -> int:
    """Embed and store one section's questions (one commit); 0 when the section's
    chunk is gone since (its document removed or re-ingested meanwhile)."""
    if not questions or not store.chunks_by_id([section.chunk_id]):
        return 0
    rows = question_rows(section, questions, embedder)
    store.write_rows(rows, [])
    return len(rows)


@dataclass(frozen=True)
class QuestionsProgress:
    done: int
    """Sections asked so far (of ``total``)."""
    total: int
    questions: int
    """Question rows stored so far."""
    seconds: float

    @property
    def seconds_left(self) -> float | None:
        if not self.done:
            return None
        return self.seconds / self.done * (self.total - self.done)


def add_questions(
    store: ChunkStore,
    embedder: Embedder,
    generator: Generator,
    progress: Callable[[QuestionsProgress], None] | None = None,
    cancel: CancelToken | None = None,
    limit: int | None = None,
) -> QuestionsProgress:
    """Ask and store the questions of every pending section (the command line's
    way; the window asks section by section between answers)."""
    cancel = cancel or CancelToken()
    sections = pending_sections(store)[:limit]
    state = QuestionsProgress(0, len(sections), 0, 0.0)
    started = time.monotonic()
    for section, questions in asked_sections(generator, sections, cancel):
        state = QuestionsProgress(
            state.done + 1,
            state.total,
            state.questions + write_questions(store, embedder, section, questions),
            time.monotonic() - started,
        )
        if progress is not None:
            progress(state)
    if state.done:
        store.maintain()
    return state


def asked_sections(
    generator: Generator, sections: Sequence[Section], cancel: CancelToken
) -> Iterator[tuple[Section, list[str]]]:
    """Each section with the model's questions, until cancelled (a section cut
    short is not yielded: it stays pending)."""
    for section in sections:
        if cancel.cancelled:
            return
        questions = ask_for_questions(generator, section, cancel)
        if cancel.cancelled:
            return
        yield section, questions
