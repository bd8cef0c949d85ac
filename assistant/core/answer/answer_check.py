"""What happens to the model's reply before the user sees it as final: markers it
wrote anyway are dropped, claims are grounded and cited, and a reply that no passage
supports is replaced by an honest "not in your documents"."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from assistant.core.answer.citations import (
    cited_numbers,
    link_citations,
    unsupported_numbers,
)
from assistant.core.answer.grounding import (
    EmbedTexts,
    GroundingConfig,
    ground,
    with_markers,
)
from assistant.core.search_text import has_cjk
from assistant.core.types import Claim, Source

DECLINE_EN = "Your documents don't seem to contain the answer to this question."
DECLINE_ZH = "在您的文档中没有找到这个问题的答案。"
EMPTY_EN = (
    "Your library is empty: add documents first (drop files on the window, or "
    "Add files), then ask again."
)
EMPTY_ZH = (
    "您的资料库还是空的：请先添加文档（把文件拖到窗口上，或点击“添加文件”），再提问。"
)

_DECLINES = re.compile(
    r"(do(es)?(n't| not) (say|contain|mention|include|provide|specify|cover)|"
    r"not mentioned|no (information|mention)|cannot find|can't find|could not find|"
    r"not (found|provided|specified|covered) in|"
    r"没有(提到|提及|说明|相关|答案|信息|找到)|未(提及|提到|说明|找到)|无法(找到|回答))",
    re.IGNORECASE,
)
_WORD = re.compile(r"[\u3400-\u9fff]|[^\W\d_\u3400-\u9fff]{2,}")
_HEADER_ECHO = re.compile(r"^\s*\[?\d{1,3}\]?\s*\S+\.\w{2,4}, page \d+", re.IGNORECASE)


def decline_text(
    question: str, unknown: Sequence[str] = (), empty: bool = False
) -> str:
    """The honest answer, in the question's language, naming what the documents
    never mention when that is the reason (``empty``: there are no documents)."""
    if empty:
        return EMPTY_ZH if has_cjk(question) else EMPTY_EN
    if not unknown:
        return DECLINE_ZH if has_cjk(question) else DECLINE_EN
    if has_cjk(question):
        names = "、".join(f"“{n}”" for n in unknown)
        return f"您的文档中没有提到{names}，所以没有找到这个问题的答案。"
    names = ", ".join(f"\u201c{n}\u201d" for n in unknown)
    return (
        f"Your documents don't mention {names}, so they don't seem to contain the "
        "answer to this question."
    )


def fails_self_check(odds: float | None) -> bool:
    """The model judged that the excerpts do not answer the question with its
    reply ("no" more likely than "yes"; None: it was not asked)."""
    return odds is not None and odds < 0.0


def says_not_found(text: str) -> bool:
    """The reply says the documents do not answer (a model's own decline)."""
    return bool(_DECLINES.search(text))


def is_degenerate(text: str) -> bool:
    """No words once markers are gone, or a copied source header."""
    bare = re.sub(r"\[\d{1,3}\]", "", text)
    return len(_WORD.findall(bare)) < 2 or bool(_HEADER_ECHO.match(text))


@dataclass
class CheckedAnswer:
    text: str
    claims: list[Claim] = field(default_factory=list)
    cited: list[int] = field(default_factory=list)
    unsupported: list[str] = field(default_factory=list)
    declined: bool = False
    withheld: str = ""


Verify = Callable[[list[Claim]], list[Claim]]
"""Gives each grounded claim its verdict (claim_verifier.verify_claims)."""
Answers = Callable[[list[Claim]], bool]
"""Whether any of these (stated) claims gives what the question asks for."""

HOLD_EN = "What they do say:"
HOLD_ZH = "文档中相关的内容："


def check_answer(
    question: str,
    reply: str,
    sources: Sequence[Source],
    embed: EmbedTexts | None,
    config: GroundingConfig | None = None,
    decline_unsupported: bool = True,
    verify: Verify | None = None,
    answers: Answers | None = None,
) -> CheckedAnswer:
    """Ground ``reply`` in ``sources``, let ``verify`` judge each claim, and
    write the citations of the stated ones.

    With ``decline_unsupported``, a reply none of whose claims shares a passage's
    words or meaning is replaced by :func:`decline_text` (kept in ``withheld``):
    the model answered from its own memory, or made something up. (That looser
    test decides declining, so that a strict verifier costs ticks, not answers.)
    When ``answers`` finds that those claims do not give what the question asks
    for (a true sentence about the place, for a question about its population),
    the decline says so and quotes what the documents do state, cited.
    """
    text, _ = link_citations(reply, 0)  # drops every marker: we cite from evidence
    text = text.strip()
    if not sources or is_degenerate(text):
        return CheckedAnswer(decline_text(question), declined=True, withheld=text)
    if says_not_found(text):
        return CheckedAnswer(text, declined=True)
    grounded = ground(text, sources, embed, config, question)
    if decline_unsupported and grounded and not any(c.supported for c in grounded):
        return CheckedAnswer(decline_text(question), declined=True, withheld=text)
    claims = verify(grounded) if verify is not None and grounded else grounded
    if (
        decline_unsupported
        and answers is not None
        and grounded
        and not answers([c for c in grounded if c.supported])
    ):
        stated = [c for c in claims if c.supported]
        held, held_claims = with_markers(*_what_they_say(question, stated))
        return CheckedAnswer(
            held, held_claims, cited_numbers(held), declined=True, withheld=text
        )
    text, claims = with_markers(text, claims)
    unsupported = unsupported_numbers(
        " ".join(c.text for c in claims if c.verdict == "not_stated"),
        [s.text for s in sources] + [question],
    )
    return CheckedAnswer(text, claims, cited_numbers(text), unsupported)


def _what_they_say(question: str, stated: Sequence[Claim]) -> tuple[str, list[Claim]]:
    """The decline followed by the stated claims (moved to their new offsets)."""
    zh = has_cjk(question)
    text = decline_text(question)
    if not stated:
        return text, []
    text += HOLD_ZH if zh else " " + HOLD_EN
    moved = []
    for claim in stated:
        text += "" if zh else " "
        moved.append(
            dataclasses.replace(claim, start=len(text), end=len(text) + len(claim.text))
        )
        text += claim.text
    return text, moved
