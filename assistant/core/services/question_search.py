"""The passages for a question: searched as asked, with its translation for a
CJK question, and with the previous question for a short follow-up."""

from __future__ import annotations

import time

from assistant.core.answer.prompt import Turn
from assistant.core.cancel import CancelToken
from assistant.core.embed.routed_embedding import english_half
from assistant.core.generate.llm import Generator
from assistant.core.index.scopes import Scope
from assistant.core.retrieve.query_translation import (
    document_terms,
    english_query,
    with_terms,
)
from assistant.core.services.library import Library
from assistant.core.types import Source


def search_question(
    library: Library,
    generator: Generator | None,
    question: str,
    top_k: int | None = None,
    cancel: CancelToken | None = None,
    within: Scope | None = None,
) -> tuple[list[Source], float]:
    """The passages for a question: a CJK question is searched together with its
    English translation by ``generator``, and with ``question_terms`` on both are
    searched with the model's guess at the documentation's terms appended
    (query_translation.py; ``generator`` None: the question alone). Returns the
    passages and the milliseconds the model spent on the question."""
    started = time.perf_counter()
    english = english_half(library.embedder)
    pointless = english is not None and library.retriever.lacks_model(english.name)
    translation = (
        english_query(generator, question, cancel)
        if generator is not None and not pointless  # no English text to reach
        else None
    )
    query = question
    if generator is not None and library.settings.question_terms:
        terms = document_terms(generator, translation or question, cancel)
        query, translation = with_terms(question, translation, terms)
    rewritten_ms = (time.perf_counter() - started) * 1000
    return library.search(query, top_k, translation, within), rewritten_ms


FOLLOW_UP_WORDS = 6


def retrieval_query(question: str, history: list[Turn]) -> str:
    """Short follow-ups ("In what year?") often retrieve nothing on their own; the
    previous question gives them their topic. Used only when the question alone
    found no passage, so a short new question is not dragged back to the old topic."""
    if not history or not history[-1].question:
        return question
    cjk = sum(1 for ch in question if "\u3400" <= ch <= "\u9fff")
    short = len(question.split()) <= FOLLOW_UP_WORDS if cjk == 0 else cjk <= 12
    return f"{history[-1].question} {question}" if short else question
