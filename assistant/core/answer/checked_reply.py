"""The model's reply checked against the passages it read: each claim grounded
and judged (stated, contradicted, not stated), and the whole declined when nothing
in it is supported or it does not answer what was asked."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from assistant.core.answer.answer_check import CheckedAnswer, check_answer
from assistant.core.answer.claim_encoder import shipped_encoder
from assistant.core.answer.claim_verifier import (
    VerifierConfig,
    answers_the_question,
    verify_claims,
)
from assistant.core.answer.grounding import EmbedTexts
from assistant.core.cancel import CancelToken
from assistant.core.types import Claim, Source

Judge = Callable[[Sequence[dict[str, str]]], float]


@dataclass
class ReplyCheck:
    """How to check one reply: who judges, and whether an unsupported reply is
    declined. A reply the user stopped, or cut short by a lost server
    (``interrupted``), is neither judged nor declined: it is shown as it came."""

    question: str
    sources: Sequence[Source]
    embed: EmbedTexts | None
    judge: Judge
    verifier: VerifierConfig | None
    decline_unsupported: bool
    cancel: CancelToken
    interrupted: bool = False
    spent_s: float = 0.0
    """Seconds spent judging claims (the timings' ``verify_ms``)."""

    def verify(self, claims: list[Claim]) -> list[Claim]:
        if self.verifier is None or self.cancel.cancelled or self.interrupted:
            return claims
        began = time.perf_counter()
        encoder = shipped_encoder() if self.verifier.use_encoder else None
        judged = verify_claims(
            claims,
            self.sources,
            self.question,
            self.embed,
            self.judge,
            self.verifier,
            self.cancel,
            encoder.scores if encoder is not None else None,
        )
        self.spent_s = time.perf_counter() - began
        return judged

    def answers(self, stated: list[Claim]) -> bool:
        if self.verifier is None:
            return True
        began = time.perf_counter()
        found = answers_the_question(stated, self.question, self.judge, self.verifier)
        self.spent_s += time.perf_counter() - began
        return found

    def run(self, reply: str) -> CheckedAnswer:
        return check_answer(
            self.question,
            reply,
            self.sources,
            self.embed,
            decline_unsupported=self.decline_unsupported
            and not self.cancel.cancelled
            and not self.interrupted,
            verify=self.verify,
            answers=self.answers,
        )
