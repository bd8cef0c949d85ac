"""Whether a passage *states* a claim of an answer, not only shares its topic.

Grounding (grounding.py) finds each claim's closest spans by word overlap and
meaning; here the chat model reads the claim beside those spans and answers yes
or no (log-odds from its logits, no generation), and cheap cues catch what a
small model misses (a number or a command the span does not hold).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from assistant.core.answer.grounding import (
    EmbedTexts,
    nearest_windows,
    remembering,
    terms,
)
from assistant.core.cancel import CancelToken
from assistant.core.ingest.chunking import sentence_spans
from assistant.core.search_text import is_cjk_text
from assistant.core.types import Claim, Evidence, Source

Message = dict[str, str]

_QUOTE_CHARS = 300


def quote(text: str, near: str = "") -> str:
    """``text`` on one line; a long one cut to the stretch that holds the most
    terms of ``near`` (the claim), so the judge reads what matters."""
    text = " ".join(text.split())
    if len(text) <= _QUOTE_CHARS:
        return text
    wanted = set(terms(near))
    starts = range(0, len(text) - _QUOTE_CHARS + 50, 50)
    best = max(
        starts, key=lambda i: len(wanted & set(terms(text[i : i + _QUOTE_CHARS])))
    )
    cut = text[best : best + _QUOTE_CHARS]
    return (
        ("…" if best else "") + cut + ("…" if best + _QUOTE_CHARS < len(text) else "")
    )


def span_block(spans: Sequence[str], claim: str = "") -> str:
    return "\n".join(f'"{quote(s, claim)}"' for s in spans)


JUDGE_SYSTEM = (
    "You compare a sentence with a passage. The passage states the sentence only "
    "if it says the same thing about the same subject, with the same numbers, "
    "names and commands. The passage contradicts the sentence if it says "
    "something different about the same subject, such as another number, name "
    "or command, or the opposite."
)


_YES_OR_NO = "Reply with one word: yes or no."


def _judge(tail: str) -> Callable[[str, Sequence[str], str], list[Message]]:
    """The judge's messages: the same words up to the last line, so a second
    question about the same claim costs only its own tokens."""

    def build(claim: str, spans: Sequence[str], question: str) -> list[Message]:
        return [
            {"role": "system", "content": JUDGE_SYSTEM},
            {
                "role": "user",
                "content": f"Passage:\n{span_block(spans, claim)}\n\n"
                f'Sentence: "{quote(claim)}"\n\n{tail} {_YES_OR_NO}',
            },
        ]

    return build


SOLO_QUESTIONS: dict[str, Callable[[str, Sequence[str], str], list[Message]]] = {
    "solo_state": _judge("Does the passage state the sentence?"),
    "solo_contra": _judge("Does the passage contradict the sentence?"),
}
"""Asked afresh (on a context of their own): the claim beside its spans only."""

ANSWERS_SYSTEM = (
    "You check whether a sentence answers a question: it must give what the "
    "question asks for (a number, a name, a command, a place, a reason, a way to "
    "do it), not only say something about the same subject."
)


def answers_question(claim: str, spans: Sequence[str], question: str) -> list[Message]:
    """Does the claim give what the question asks for (near-miss questions get
    true sentences about their subject that do not answer them)?"""
    return [
        {"role": "system", "content": ANSWERS_SYSTEM},
        {
            "role": "user",
            "content": f'Question: "{quote(question)}"\n\nSentence: "{quote(claim)}"'
            f"\n\nDoes the sentence answer the question? {_YES_OR_NO}",
        },
    ]


SOLO_QUESTIONS["solo_answers"] = answers_question


def spans_to_check(
    claim: Claim,
    sources: Sequence[Source],
    embed: EmbedTexts | None,
    question: str = "",
) -> list[Evidence]:
    """The spans that grounding found for ``claim``, or else the one window
    closest to it (a claim the overlap rules missed may still be stated)."""
    if claim.evidence:
        return list(claim.evidence)
    return nearest_windows(claim.text, sources, embed, 1, question)


_NEGATION = re.compile(
    r"\b(not|no|never|none|cannot|can't|don't|doesn't|isn't|aren't|won't|without|"
    r"neither|nor)\b|[不没无未非]",
    re.IGNORECASE,
)
_CODE = re.compile(r"`([^`\n]+)`")
_NUMBER = re.compile(r"\d+(?:[.,:]\d+)*")


@dataclass(frozen=True)
class Cues:
    """Cheap signals of a claim against its spans."""

    copied: float
    """Share of the claim quoted in order from one span (``copied_share``)."""
    numbers_missing: tuple[str, ...]
    code_missing: tuple[str, ...]
    negation_differs: bool
    opposed: bool = False
    """One sentence of the spans says the same as the claim but for a number
    (another in its place): the classic contradiction. (A negation on one side
    is not enough: the span's sentence is often a condition, "if no file is
    given, the log is fit.log", around a true claim.)"""


def cues(claim: str, spans: Sequence[str], question: str = "") -> Cues:
    """Numbers and `code` of the claim the spans lack, how much of it is quoted,
    a negation on one side only, and the same sentence said otherwise."""
    joined = "\n".join(spans)
    numbers = {n.rstrip(".,:") for n in _NUMBER.findall(claim)} - {
        n.rstrip(".,:") for n in _NUMBER.findall(question)
    }
    code = {c.strip() for c in _CODE.findall(claim)}
    return Cues(
        copied=copied_share(claim, spans),
        numbers_missing=tuple(sorted(n for n in numbers if n not in joined)),
        code_missing=tuple(sorted(c for c in code if c not in joined)),
        negation_differs=bool(_NEGATION.search(claim))
        != bool(_NEGATION.search(joined)),
        opposed=_opposed(claim, spans),
    )


MIN_SAME_WORDS = 0.75


def _opposed(claim: str, spans: Sequence[str]) -> bool:
    claim_words = {t for t in terms(claim) if not t[0].isdigit()}
    claim_numbers = {n.rstrip(".,:") for n in _NUMBER.findall(claim)}
    if not claim_words:
        return False
    for span in spans:
        for start, end in sentence_spans(span):
            sentence = span[start:end]
            words = set(terms(sentence))
            if len(claim_words & words) < MIN_SAME_WORDS * len(claim_words):
                continue
            if len(words) > 2 * len(claim_words) + 2:
                continue  # a longer sentence that says more than the claim's one thing
            numbers = {n.rstrip(".,:") for n in _NUMBER.findall(sentence)}
            if claim_numbers - numbers and numbers - claim_numbers:
                return True
    return False


def copied_share(claim: str, spans: Sequence[str]) -> float:
    """The share of the claim's characters that stand, in order, in one span
    (1.0: the claim is a quotation; markup and spacing ignored)."""
    text = _plain(claim)
    if not text:
        return 0.0
    best = 0
    for span in spans:
        matcher = difflib.SequenceMatcher(None, text, _plain(span), autojunk=False)
        best = max(
            best, sum(b.size for b in matcher.get_matching_blocks() if b.size >= 4)
        )
    return best / len(text)


def _plain(text: str) -> str:
    return " ".join(re.sub(r"[`*_\"\u201c\u201d\u2019']", "", text).lower().split())


Judge = Callable[[list[Message]], float]
"""Log-odds of "yes" to a conversation of its own (``Generator.judge_odds``)."""

Encode = Callable[[Sequence[tuple[str, str]]], list[dict[str, float]]]
"""(claim, passage) pairs to the chance of each verdict (``ClaimEncoder.scores``)."""


@dataclass(frozen=True)
class VerifierConfig:
    """Which signals decide, and from what values (bench/claim_verifier.py
    measured the directions side by side on the labelled claim set)."""

    stated_question: str | None = "solo_state"
    """The chat model's question for the claims the cheaper signals leave open
    (None: the encoder alone decides them, at ``encoder_stated``)."""
    min_stated: float = 0.3
    contra_question: str | None = None
    """Off: on the labelled set the 1.5B judge's answer to "does it contradict"
    did not separate contradicted claims."""
    min_contradicted: float = 0.3
    min_copied: float = 0.9
    """A claim this much quoted from its span is stated without asking."""
    use_cues: bool = True
    use_encoder: bool = True
    encoder_stated: float = 0.8
    """The claim encoder's chance of "stated" from which a claim is stated
    without asking the chat model ...  (set on the dev set's labelled claims:
    with 0.8 and 0.05 the judge is asked about half as often, at the same tick
    precision)."""
    encoder_not_stated: float = 0.05
    """... and below which it is not stated without asking."""
    encoder_contradicted: float = 0.9
    min_answers: float | None = -1.5
    """A stated claim answers the question from these log-odds (None: not
    asked); when none does, the answer is declined (near-miss questions)."""
    most_asked: int = 3
    """Stated claims asked whether they answer, in order, at most."""


@dataclass(frozen=True)
class Reading:
    """What the cheap signals say of one claim: the cues, and the claim
    encoder's best chances over its spans (None: no encoder)."""

    cues: Cues
    stated: float | None = None
    contradicted: float | None = None
    contradicting: int = 0
    """The span the encoder found most contradicting."""


def across_languages(claim: str, spans: Sequence[str]) -> bool:
    """A Chinese claim over English passages or the other way round: the claim
    encoder learnt from English pairs, and such a pair is out of its reach (a
    correct Chinese claim over its English sentence scored "stated" 0.04 and was
    not stated without asking the judge)."""
    cjk = is_cjk_text(claim)
    return all(is_cjk_text(span) != cjk for span in spans)


def read_claim(
    claim: str, spans: Sequence[str], question: str, encode: Encode | None
) -> Reading:
    """The cues, and the encoder's chances unless the claim and its passages are
    in different languages (then the judge decides what the cues leave open)."""
    found = cues(claim, spans, question)
    if encode is None or not spans or across_languages(claim, spans):
        return Reading(found)
    chances = encode([(claim, quote(span, claim)) for span in spans])
    worst = max(range(len(spans)), key=lambda i: chances[i]["contradicted"])
    return Reading(
        found,
        max(c["stated"] for c in chances),
        chances[worst]["contradicted"],
        worst,
    )


def decide(reading: Reading, ask: Callable[[], float], config: VerifierConfig) -> str:
    """The verdict from the cheap signals, asking the chat model (``ask``: its
    log-odds that the passage states the claim) only when they leave it open."""
    found = reading.cues
    stated = reading.stated if config.use_encoder else None
    contradicted = reading.contradicted if config.use_encoder else None
    if config.use_cues and found.opposed:
        return "contradicted"
    if contradicted is not None and contradicted >= config.encoder_contradicted:
        return "contradicted"
    if config.use_cues and (found.numbers_missing or found.code_missing):
        return "not_stated"
    if not found.negation_differs and found.copied >= config.min_copied:
        return "stated"
    if stated is not None and stated >= config.encoder_stated:
        return "stated"
    if config.stated_question is None or (
        stated is not None and stated < config.encoder_not_stated
    ):
        return "not_stated"
    return "stated" if ask() >= config.min_stated else "not_stated"


def passage_verdict(
    claim: str,
    spans: Sequence[str],
    question: str,
    judge: Judge,
    config: VerifierConfig | None = None,
    encode: Encode | None = None,
) -> str:
    """The app's verdict on one claim against these texts (the rule ``decide``
    applies to an answer's claims), for text that is not an answer: a training
    example's target checked against its passage."""
    config = config or VerifierConfig()
    if not spans:
        return "not_stated"
    reading = read_claim(claim, spans, question, encode)
    asked = SOLO_QUESTIONS[config.stated_question or "solo_state"]
    return decide(reading, lambda: judge(asked(claim, spans, question)), config)


def verify_claims(
    claims: Sequence[Claim],
    sources: Sequence[Source],
    question: str,
    embed: EmbedTexts | None,
    judge: Judge,
    config: VerifierConfig | None = None,
    cancel: CancelToken | None = None,
    encode: Encode | None = None,
) -> list[Claim]:
    """Each claim with its verdict: stated (its spans say it), contradicted (a
    span says otherwise) or not stated. The cues and the claim encoder decide
    what they are sure of; the chat model is asked about the rest. A backend
    that cannot judge (no log-probabilities) leaves grounding's verdicts."""
    config = config or VerifierConfig()
    embed = remembering(embed)
    try:
        return [
            claim
            if cancel is not None and cancel.cancelled
            else _verdict(claim, sources, question, embed, judge, config, encode)
            for claim in claims
        ]
    except NotImplementedError:
        return list(claims)


def answers_the_question(
    stated: Sequence[Claim],
    question: str,
    judge: Judge,
    config: VerifierConfig | None = None,
) -> bool:
    """Whether one of the ``stated`` claims gives what ``question`` asks for (a
    backend that cannot judge: assumed so)."""
    config = config or VerifierConfig()
    if config.min_answers is None:
        return True
    try:
        return any(
            judge(answers_question(claim.text, (), question)) >= config.min_answers
            for claim in stated[: config.most_asked]
        )
    except NotImplementedError:
        return True


def _verdict(
    claim: Claim,
    sources: Sequence[Source],
    question: str,
    embed: EmbedTexts | None,
    judge: Judge,
    config: VerifierConfig,
    encode: Encode | None,
) -> Claim:
    by_n = {s.n: s for s in sources}
    spans = [e for e in spans_to_check(claim, sources, embed, question) if e.n in by_n]
    texts = [by_n[e.n].text[e.start : e.end] for e in spans]
    if not texts:
        return claim.judged("not_stated", ())
    reading = read_claim(claim.text, texts, question, encode)

    def ask() -> float:
        asked = SOLO_QUESTIONS[config.stated_question or "solo_state"]
        return judge(asked(claim.text, texts, question))

    verdict = decide(reading, ask, config)
    if verdict == "contradicted":
        return claim.judged(verdict, (spans[reading.contradicting],))
    if (
        verdict == "not_stated"
        and config.contra_question is not None
        and judge(SOLO_QUESTIONS[config.contra_question](claim.text, texts, question))
        >= config.min_contradicted
    ):
        return claim.judged("contradicted", tuple(spans[:1]))
    return claim.judged(verdict, tuple(spans) if verdict == "stated" else ())
