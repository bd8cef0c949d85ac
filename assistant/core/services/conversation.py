"""A conversation with the chat model about the library: the answering pipeline."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from pathlib import Path

from assistant.core.answer.answer_check import (
    CheckedAnswer,
    check_answer,
    decline_text,
    fails_self_check,
)
from assistant.core.answer.citations import link_citations
from assistant.core.answer.claim_encoder import shipped_encoder
from assistant.core.answer.claim_verifier import answers_the_question, verify_claims
from assistant.core.answer.key_sentences import key_sentences
from assistant.core.answer.prompt import (
    DEFAULT_DESIGN,
    DESIGNS,
    SELF_CHECK_QUESTION,
    PromptDesign,
    Turn,
    build_messages,
    key_lines_user_message,
)
from assistant.core.answer.reading_time import ReadingPlan, ReadingSpeed, quoted_from
from assistant.core.cancel import CancelToken
from assistant.core.embed.embedding import (
    multilingual_embed,
)
from assistant.core.errors import AssistantError
from assistant.core.generate.llm import Generator
from assistant.core.generate.openai_chat import ServerLost
from assistant.core.index.scopes import Scope
from assistant.core.retrieve.passage_widening import widen_top
from assistant.core.retrieve.query_translation import (
    document_terms,
    english_query,
    with_terms,
)
from assistant.core.services.library import Library
from assistant.core.types import (
    ANSWER_MODES,
    Answer,
    Claim,
    Source,
    mode_uses_adapter,
    mode_uses_retrieval,
)

TokenCallback = Callable[[str], None]


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
    english = getattr(library.embedder, "english", None)  # routed: its English model
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


class Conversation:
    """A multi-turn chat grounded in the library; call from the model's owner thread."""

    def __init__(
        self,
        library: Library,
        generator: Generator,
        design: PromptDesign | None = None,
        decline_unsupported: bool = True,
        reading: ReadingSpeed | None = None,
    ) -> None:
        """``reading``: the chat model's measured reading speed, kept by the
        caller across conversations (it estimates the wait in ``on_sources``)."""
        self.library = library
        self.generator = generator
        self.design = design or DESIGNS[DEFAULT_DESIGN]
        self.decline_unsupported = decline_unsupported
        self.reading = reading or ReadingSpeed()
        self.history: list[Turn] = []

    def reset(self) -> None:
        self.history.clear()

    def ask_alone(self, question: str, adapter: Path | None = None) -> Answer:
        """``question`` with the earlier turns forgotten, as the evaluations ask:
        in rag, or in rag+sft when an adapter is given."""
        self.reset()
        if adapter is None:
            return self.ask(question)
        return self.ask(question, mode="rag+sft", adapter=adapter)

    QUESTION_SHARE = 0.5
    """Of the context left after the answer: the rest is for the passages."""

    def _check_length(self, question: str) -> None:
        """Refuse, with the numbers, a question the model cannot read whole (it
        would fail inside llama.cpp, or push every passage out)."""
        limit = int(
            (self.generator.context_length - self.library.settings.max_answer_tokens)
            * self.QUESTION_SHARE
        )
        if len(question) <= limit:  # fewer characters than tokens allowed: fine
            return
        tokens = self.generator.count_tokens(question)
        if tokens > limit:
            raise AssistantError(
                f"The question is too long for the model: {tokens} tokens, and it "
                f"can read about {limit} beside the passages. Shorten it, or add the "
                "text as a document and ask about it."
            )

    def _self_check(
        self,
        design: PromptDesign,
        messages: list[dict[str, str]],
        raw: str,
        checked: CheckedAnswer,
        cancel: CancelToken,
    ) -> float | None:
        """The model's own judgement of whether the excerpts answer the question
        with its reply (``PromptDesign.self_check``); None when not asked."""
        if not design.self_check or checked.declined or cancel.cancelled:
            return None
        check = [
            *messages,
            {"role": "assistant", "content": raw},
            {"role": "user", "content": SELF_CHECK_QUESTION},
        ]
        try:
            return self.generator.yes_odds(check)
        except NotImplementedError:  # a server without log-probabilities
            return None

    def prompt(
        self, question: str, sources: list[Source], grounded: bool = True
    ) -> tuple[PromptDesign, list[dict[str, str]], list[Source]]:
        """The design, the messages the model reads for ``question`` beside
        ``sources`` and this conversation's history, and the sources that fit."""
        design = self.design
        if grounded and design.widen:
            sources = widen_top(self.library.store, sources, design.widen)
        if grounded and design.key_sentences:
            lines = key_sentences(
                self.library.embedder, question, sources, design.key_sentences
            )
            design = dataclasses.replace(
                design,
                user_message=lambda q, s: key_lines_user_message(q, s, lines),
                key_lines=tuple(lines),
            )
        messages, included = build_messages(
            question,
            sources,
            self.history,
            self.generator.count_tokens,
            self.generator.context_length,
            self.library.settings.max_answer_tokens,
            grounded=grounded,
            design=design,
        )
        return design, messages, included

    def ask(
        self,
        question: str,
        on_token: TokenCallback | None = None,
        cancel: CancelToken | None = None,
        top_k: int | None = None,
        mode: str = "rag",
        adapter: Path | None = None,
        sources: list[Source] | None = None,
        on_sources: Callable[[ReadingPlan], None] | None = None,
        within: Scope | None = None,
    ) -> Answer:
        """Answer in one of ``ANSWER_MODES``; the sft modes need ``adapter``.
        ``sources``: answer from these passages instead of searching (benchmarks).
        ``on_sources``: called with the passages the model will read and how
        long it should take, before it starts (so a window can show them during
        the wait for the first token). ``within``: search only these documents."""
        if mode not in ANSWER_MODES:
            raise AssistantError(
                f"Unknown answer mode '{mode}' (use {', '.join(ANSWER_MODES)})."
            )
        if mode_uses_adapter(mode) and adapter is None:
            raise AssistantError(
                f"The '{mode}' mode needs a fine-tuned adapter; teach the model first "
                "(Teach view, or `assistant teach`)."
            )
        self._check_length(question)
        use_retrieval = mode_uses_retrieval(mode)
        self.generator.use_adapter(adapter if mode_uses_adapter(mode) else None)
        cancel = cancel or CancelToken()
        settings = self.library.settings
        started = time.perf_counter()
        translated_ms = 0.0
        if sources is None and use_retrieval:
            sources, translated_ms = search_question(
                self.library, self.generator, question, top_k, cancel, within
            )
        sources = sources or []
        if use_retrieval and not sources and self.history:
            sources = self.library.search(
                retrieval_query(question, self.history), top_k, within=within
            )
        retrieved = time.perf_counter()
        unknown = (
            self.library.unknown_names(question)
            if use_retrieval and self.decline_unsupported
            else []
        )
        if use_retrieval and (not sources or unknown):
            # nothing in the library is about this, or it never names what the
            # question asks about: say so without asking the model
            empty = not sources and self.library.store.count_chunks() == 0
            text = decline_text(question, unknown, empty)
            if on_token is not None:
                on_token(text)
            return Answer(
                text=text,
                sources=sources,
                cited=[],
                timings={
                    "retrieval_ms": (retrieved - started) * 1000,
                    "translate_ms": translated_ms,
                },
                mode=mode,
                declined=True,
            )
        design, messages, included = self.prompt(
            question, sources, grounded=use_retrieval
        )
        prompt_tokens = self.generator.count_tokens(
            "\n".join(m["content"] for m in messages)
        )
        if on_sources is not None and use_retrieval:
            on_sources(
                ReadingPlan(
                    included,
                    len(sources),
                    prompt_tokens,
                    self.reading.estimate_s(prompt_tokens),
                    quoted_from(design.key_lines, included),
                )
            )
        temperature = self.design.temperature if use_retrieval else None
        pieces: list[str] = []
        first_token_at: float | None = None
        interrupted = ""
        try:
            for token in self.generator.stream_chat(
                messages,
                max_tokens=settings.max_answer_tokens,
                temperature=settings.temperature
                if temperature is None
                else temperature,
                cancel=cancel,
            ):
                if first_token_at is None:
                    first_token_at = time.perf_counter()
                pieces.append(token)
                if on_token is not None:
                    on_token(token)
        except ServerLost as exc:
            if not pieces:
                raise
            interrupted = str(exc)  # the partial answer is kept, marked stopped
        finished = time.perf_counter()
        if first_token_at is not None:
            self.reading.record(prompt_tokens, first_token_at - retrieved)
        raw = "".join(pieces)
        verify_s = [0.0]
        if use_retrieval:
            embed = multilingual_embed(self.library.embedder)

            def verify(claims: list[Claim]) -> list[Claim]:
                if design.verifier is None or cancel.cancelled or interrupted:
                    return claims
                began = time.perf_counter()
                encoder = shipped_encoder() if design.verifier.use_encoder else None
                judged = verify_claims(
                    claims,
                    included,
                    question,
                    embed,
                    self.generator.judge_odds,
                    design.verifier,
                    cancel,
                    encoder.scores if encoder is not None else None,
                )
                verify_s[0] = time.perf_counter() - began
                return judged

            def answers(stated: list[Claim]) -> bool:
                if design.verifier is None:
                    return True
                began = time.perf_counter()
                found = answers_the_question(
                    stated, question, self.generator.judge_odds, design.verifier
                )
                verify_s[0] += time.perf_counter() - began
                return found

            checked = check_answer(
                question,
                raw,
                included,
                embed,
                decline_unsupported=self.decline_unsupported
                and not cancel.cancelled
                and not interrupted,
                verify=verify,
                answers=answers,
            )
            self_check = (
                None
                if interrupted
                else self._self_check(design, messages, raw, checked, cancel)
            )
            if self.decline_unsupported and fails_self_check(self_check):
                checked = CheckedAnswer(
                    decline_text(question), declined=True, withheld=checked.text
                )
        else:
            self_check = None
            checked = CheckedAnswer(link_citations(raw, 0)[0].strip())
        grounded_at = time.perf_counter()
        self.history.append(Turn(messages[-1]["content"], raw, question))
        generated = self.generator.count_tokens(raw) if raw else 0
        decode_s = finished - (first_token_at or finished)
        timings = {
            "retrieval_ms": (retrieved - started) * 1000,
            "translate_ms": translated_ms,
            "ttft_ms": ((first_token_at or finished) - retrieved) * 1000,
            "first_token_ms": ((first_token_at or finished) - started) * 1000,
            "grounding_ms": (grounded_at - finished) * 1000,
            "verify_ms": verify_s[0] * 1000,
            "total_ms": (grounded_at - started) * 1000,
            "tokens": float(generated),
            "tokens_per_s": (generated - 1) / decode_s
            if generated > 1 and decode_s > 0
            else 0.0,
        }
        return Answer(
            text=checked.text,
            sources=included,
            cited=checked.cited,
            unsupported=checked.unsupported,
            timings=timings,
            stopped=cancel.cancelled or bool(interrupted),
            interrupted=interrupted,
            mode=mode,
            claims=checked.claims,
            declined=checked.declined,
            withheld=checked.withheld,
            raw=raw,
            self_check=self_check,
        )
