"""A conversation with the chat model about the library. ``Conversation.ask`` is
the answering pipeline every caller goes through (window, command line, server,
evaluation, benchmarks): retrieve -> decline gate -> prompt -> generate -> check
-> record, one method per step over an ``Asking`` that carries the question."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from assistant.core.answer.answer_check import (
    CheckedAnswer,
    decline_text,
    fails_self_check,
)
from assistant.core.answer.checked_reply import ReplyCheck
from assistant.core.answer.citations import link_citations
from assistant.core.answer.key_sentences import key_sentences
from assistant.core.answer.prompt import (
    ANSWER_DESIGN,
    SELF_CHECK_QUESTION,
    PromptDesign,
    Turn,
    build_messages,
    key_lines_user_message,
)
from assistant.core.answer.reading_time import ReadingPlan, ReadingSpeed, quoted_from
from assistant.core.cancel import CancelToken
from assistant.core.embed.embedding import multilingual_embed
from assistant.core.errors import AssistantError
from assistant.core.generate.llm import Generator
from assistant.core.generate.openai_chat import ServerLost
from assistant.core.index.scopes import Scope
from assistant.core.retrieve.passage_widening import widen_top
from assistant.core.services.library import Library
from assistant.core.services.question_search import retrieval_query, search_question
from assistant.core.types import (
    ANSWER_MODES,
    Answer,
    Source,
    mode_uses_adapter,
    mode_uses_retrieval,
)

TokenCallback = Callable[[str], None]


@dataclass
class Asking:
    """One question on its way through ``Conversation.ask``: what was asked,
    and what each step found (passages, prompt, reply, its check, clock times)."""

    question: str
    mode: str
    cancel: CancelToken
    on_token: TokenCallback | None
    grounded: bool
    """Answered from the library's passages (rag modes), not from the model alone."""
    design: PromptDesign
    started: float = field(default_factory=time.perf_counter)
    sources: list[Source] = field(default_factory=list)
    translate_ms: float = 0.0
    retrieved: float = 0.0
    messages: list[dict[str, str]] = field(default_factory=list)
    included: list[Source] = field(default_factory=list)
    prompt_tokens: int = 0
    """Of the prompt, the tokens the model reads (not held by its cache)."""
    raw: str = ""
    first_token_at: float | None = None
    finished: float = 0.0
    interrupted: str = ""
    checked: CheckedAnswer = field(default_factory=lambda: CheckedAnswer(""))
    self_check: float | None = None
    verify_s: float = 0.0
    checked_at: float = 0.0

    def say(self, text: str) -> None:
        if self.on_token is not None:
            self.on_token(text)

    def timings(self, generated: int) -> dict[str, float]:
        first = self.first_token_at or self.finished
        decode_s = self.finished - first
        return {
            "retrieval_ms": (self.retrieved - self.started) * 1000,
            "translate_ms": self.translate_ms,
            "ttft_ms": (first - self.retrieved) * 1000,
            "first_token_ms": (first - self.started) * 1000,
            "grounding_ms": (self.checked_at - self.finished) * 1000,
            "verify_ms": self.verify_s * 1000,
            "total_ms": (self.checked_at - self.started) * 1000,
            "tokens": float(generated),
            "read_tokens": float(self.prompt_tokens),
            "tokens_per_s": (generated - 1) / decode_s
            if generated > 1 and decode_s > 0
            else 0.0,
        }


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
        self.design = design or ANSWER_DESIGN
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
        asking = self._begin(question, mode, adapter, cancel, on_token)
        self._retrieve(asking, sources, top_k, within)
        declined = self._decline_gate(asking)
        if declined is not None:
            return declined
        self._build_prompt(asking, on_sources)
        self._generate(asking)
        self._check(asking)
        return self._record(asking)

    def _begin(
        self,
        question: str,
        mode: str,
        adapter: Path | None,
        cancel: CancelToken | None,
        on_token: TokenCallback | None,
    ) -> Asking:
        """Refuse what cannot be answered as asked; load the adapter the mode needs."""
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
        self.generator.use_adapter(adapter if mode_uses_adapter(mode) else None)
        grounded = mode_uses_retrieval(mode)
        return Asking(
            question, mode, cancel or CancelToken(), on_token, grounded, self.design
        )

    def _retrieve(
        self,
        asking: Asking,
        sources: list[Source] | None,
        top_k: int | None,
        within: Scope | None,
    ) -> None:
        """The passages (none for the model alone); a short follow-up that finds
        nothing is searched again with the previous question."""
        if sources is None and asking.grounded:
            sources, asking.translate_ms = search_question(
                self.library,
                self.generator,
                asking.question,
                top_k,
                asking.cancel,
                within,
            )
        asking.sources = sources or []
        if asking.grounded and not asking.sources and self.history:
            follow_up = retrieval_query(asking.question, self.history)
            asking.sources = self.library.search(follow_up, top_k, within=within)
        asking.retrieved = time.perf_counter()

    def _decline_gate(self, asking: Asking) -> Answer | None:
        """The decline, without asking the model, when nothing in the library is
        about the question or the library never names what it asks about."""
        if not asking.grounded:
            return None
        unknown = (
            self.library.unknown_names(asking.question)
            if self.decline_unsupported
            else []
        )
        if asking.sources and not unknown:
            return None
        empty = not asking.sources and self.library.store.count_chunks() == 0
        text = decline_text(asking.question, unknown, empty)
        asking.say(text)
        return Answer(
            text=text,
            sources=asking.sources,
            cited=[],
            timings={
                "retrieval_ms": (asking.retrieved - asking.started) * 1000,
                "translate_ms": asking.translate_ms,
            },
            mode=asking.mode,
            declined=True,
        )

    def _build_prompt(
        self, asking: Asking, on_sources: Callable[[ReadingPlan], None] | None
    ) -> None:
        """The messages the model reads, and the wait they mean told beforehand."""
        asking.design, asking.messages, asking.included = self.prompt(
            asking.question, asking.sources, grounded=asking.grounded
        )
        asking.prompt_tokens = self.generator.tokens_to_read(asking.messages)
        if on_sources is not None and asking.grounded:
            on_sources(
                ReadingPlan(
                    asking.included,
                    len(asking.sources),
                    asking.prompt_tokens,
                    self.reading.estimate_s(asking.prompt_tokens),
                    quoted_from(asking.design.key_lines, asking.included),
                )
            )

    def _generate(self, asking: Asking) -> None:
        """The reply, streamed to ``on_token``; a server lost mid-reply keeps
        what came (marked interrupted)."""
        settings = self.library.settings
        temperature = self.design.temperature if asking.grounded else None
        pieces: list[str] = []
        try:
            for token in self.generator.stream_chat(
                asking.messages,
                max_tokens=settings.max_answer_tokens,
                temperature=settings.temperature
                if temperature is None
                else temperature,
                cancel=asking.cancel,
            ):
                if asking.first_token_at is None:
                    asking.first_token_at = time.perf_counter()
                pieces.append(token)
                asking.say(token)
        except ServerLost as exc:
            if not pieces:
                raise
            asking.interrupted = str(exc)
        asking.finished = time.perf_counter()
        asking.raw = "".join(pieces)
        if asking.first_token_at is not None:
            wait_s = asking.first_token_at - asking.retrieved
            self.reading.record(asking.prompt_tokens, wait_s)

    def _check(self, asking: Asking) -> None:
        """Each claim of a grounded reply judged against the passages, the reply
        declined when nothing in it is supported; the model alone as written."""
        if not asking.grounded:
            asking.checked = CheckedAnswer(link_citations(asking.raw, 0)[0].strip())
            asking.checked_at = time.perf_counter()
            return
        check = ReplyCheck(
            asking.question,
            asking.included,
            multilingual_embed(self.library.embedder),
            self.generator.judge_odds,
            asking.design.verifier,
            self.decline_unsupported,
            asking.cancel,
            interrupted=bool(asking.interrupted),
        )
        asking.checked = check.run(asking.raw)
        asking.verify_s = check.spent_s
        if not asking.interrupted:
            asking.self_check = self._self_check(asking)
        if self.decline_unsupported and fails_self_check(asking.self_check):
            asking.checked = CheckedAnswer(
                decline_text(asking.question),
                declined=True,
                withheld=asking.checked.text,
            )
        asking.checked_at = time.perf_counter()

    def _self_check(self, asking: Asking) -> float | None:
        """The model's own judgement of whether the excerpts answer the question
        with its reply (``PromptDesign.self_check``); None when not asked."""
        if not asking.design.self_check or asking.checked.declined:
            return None
        if asking.cancel.cancelled:
            return None
        check = [
            *asking.messages,
            {"role": "assistant", "content": asking.raw},
            {"role": "user", "content": SELF_CHECK_QUESTION},
        ]
        try:
            return self.generator.yes_odds(check)
        except NotImplementedError:  # a server without log-probabilities
            return None

    def _record(self, asking: Asking) -> Answer:
        """The turn kept for follow-ups, and the answer with its timings."""
        self.history.append(
            Turn(asking.messages[-1]["content"], asking.raw, asking.question)
        )
        generated = self.generator.count_tokens(asking.raw) if asking.raw else 0
        checked = asking.checked
        return Answer(
            text=checked.text,
            sources=asking.included,
            cited=checked.cited,
            unsupported=checked.unsupported,
            timings=asking.timings(generated),
            stopped=asking.cancel.cancelled or bool(asking.interrupted),
            interrupted=asking.interrupted,
            mode=asking.mode,
            claims=checked.claims,
            declined=checked.declined,
            withheld=checked.withheld,
            raw=asking.raw,
            self_check=asking.self_check,
        )
