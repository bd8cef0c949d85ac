"""The claim verifier's rules with scripted judgements (the real model: see
test_real_models.py)."""

from __future__ import annotations

from collections.abc import Sequence

from assistant.core.answer.answer_check import check_answer
from assistant.core.answer.claim_verifier import (
    VerifierConfig,
    copied_share,
    cues,
    verify_claims,
)
from assistant.core.answer.grounding import ground
from assistant.core.types import Claim, Evidence, Source

PASSAGE = (
    "The pump runs at 300 rpm during tests. It is serviced by the night shift. "
    "Oil is changed every spring."
)


def _source(text: str = PASSAGE, n: int = 1) -> Source:
    return Source(n, f"/d/f{n}.txt", "F", None, None, 0, len(text), 1.0, text)


class Judge:
    """Answers the verifier's questions from a script: the "stated" question
    gets ``stated``, the "contradicts" one ``contradicts``; counts them."""

    def __init__(self, stated: float = -3.0, contradicts: float = -3.0) -> None:
        self.stated = stated
        self.contradicts = contradicts
        self.asked: list[str] = []

    def __call__(self, messages: Sequence[dict[str, str]]) -> float:
        text = messages[-1]["content"]
        self.asked.append(text)
        return self.contradicts if "contradict" in text else self.stated


def _verify(claims: list[Claim], judge: Judge, question: str = "") -> list[Claim]:
    return verify_claims(claims, [_source()], question, None, judge, VerifierConfig())


def _claim(text: str) -> Claim:
    start = PASSAGE.find(text)
    evidence = (Evidence(1, start, start + len(text), 0.9),) if start >= 0 else ()
    return Claim(text, 0, len(text), bool(evidence), evidence)


def test_a_quoted_claim_is_stated_without_asking_the_model() -> None:
    judge = Judge()
    [claim] = _verify([_claim("The pump runs at 300 rpm during tests.")], judge)
    assert claim.verdict == "stated" and claim.supported
    assert claim.evidence and judge.asked == []


def test_the_model_decides_a_reworded_claim() -> None:
    reworded = Claim("Tests run the pump at 300 rpm.", 0, 30, False)
    [yes] = _verify([reworded], Judge(stated=2.5))
    assert yes.verdict == "stated" and yes.evidence[0].n == 1
    [no] = _verify([reworded], Judge(stated=-2.5))
    assert no.verdict == "not_stated" and not no.supported and no.evidence == ()


def test_a_number_the_span_lacks_is_contradicted_or_not_stated_never_stated() -> None:
    judge = Judge(stated=9.0, contradicts=9.0)
    # the span says the same but for the number: contradicted, without asking
    wrong = Claim("The pump runs at 500 rpm during tests.", 0, 38, False)
    [flagged] = _verify([wrong], judge)
    assert flagged.verdict == "contradicted" and not flagged.supported
    span = flagged.evidence[0]  # the span that contradicts it, shown on hover
    assert "300 rpm" in PASSAGE[span.start : span.end]
    # a negation alone is not a cue: the span's sentence may be a condition
    conditional = _source("If no speed is set, the pump runs at 300 rpm during tests.")
    said = Claim("The pump runs at 300 rpm during tests.", 0, 38, False)
    [kept] = verify_claims([said], [conditional], "", None, Judge(stated=2.0), None)
    assert kept.verdict == "stated"
    # a number the passage never gives, about something it does not say
    added = Claim("The pump is replaced every 5 years.", 0, 35, False)
    assert _verify([added], judge)[0].verdict == "not_stated"
    assert judge.asked == []


class Encoder:
    """Scripted claim encoder: the chances it gives every pair; counts calls."""

    def __init__(self, stated: float, contradicted: float = 0.0) -> None:
        self.chances = {
            "stated": stated,
            "not_stated": 1 - stated - contradicted,
            "contradicted": contradicted,
        }
        self.pairs: list[tuple[str, str]] = []

    def __call__(self, pairs: Sequence[tuple[str, str]]) -> list[dict[str, float]]:
        self.pairs.extend(pairs)
        return [dict(self.chances) for _ in pairs]


def _encoded(claim: Claim, judge: Judge, encoder: Encoder) -> Claim:
    [judged] = verify_claims(
        [claim], [_source()], "", None, judge, VerifierConfig(), encode=encoder
    )
    return judged


def test_the_encoder_decides_what_it_is_sure_of_and_the_model_the_rest() -> None:
    reworded = Claim("Tests run the pump at 300 rpm.", 0, 30, False)
    judge = Judge(stated=-3.0)
    sure = _encoded(reworded, judge, Encoder(stated=0.97))
    assert sure.verdict == "stated" and judge.asked == []
    assert _encoded(reworded, judge, Encoder(stated=0.02)).verdict == "not_stated"
    assert judge.asked == []
    unsure = Encoder(stated=0.5)
    assert _encoded(reworded, Judge(stated=2.0), unsure).verdict == "stated"
    assert _encoded(reworded, judge, unsure).verdict == "not_stated"
    assert len(judge.asked) == 1
    # the encoder reads the claim beside each span grounding (or nearness) found
    assert unsure.pairs and all(c == reworded.text for c, _ in unsure.pairs)


def test_a_claim_in_another_language_than_its_passage_is_left_to_the_model() -> None:
    """The encoder learnt from English pairs: its "not stated" for a Chinese
    claim over an English passage is not taken (the model is asked)."""
    chinese = Claim("测试时泵以 300 rpm 运行。", 0, 17, False)
    judge = Judge(stated=2.0)
    encoder = Encoder(stated=0.02)
    assert _encoded(chinese, judge, encoder).verdict == "stated"
    assert len(judge.asked) == 1 and encoder.pairs == []
    assert _encoded(chinese, Judge(stated=-2.0), encoder).verdict == "not_stated"


def test_a_contradiction_the_encoder_finds_is_flagged_with_its_span() -> None:
    negated = Claim("The pump does not run at 300 rpm during tests.", 0, 46, False)
    judge = Judge(stated=9.0)
    flagged = _encoded(negated, judge, Encoder(stated=0.02, contradicted=0.96))
    assert flagged.verdict == "contradicted" and not flagged.supported
    span = flagged.evidence[0]
    assert "300 rpm" in PASSAGE[span.start : span.end] and judge.asked == []


def test_a_backend_without_log_probabilities_keeps_groundings_verdicts() -> None:
    def no_logprobs(messages: Sequence[dict[str, str]]) -> float:
        raise NotImplementedError

    claims = [Claim("Tests run the pump at 300 rpm.", 0, 30, True, ())]
    assert verify_claims(claims, [_source()], "", None, no_logprobs, None) == claims


def test_cues_read_numbers_code_quotation_and_negation() -> None:
    found = cues("Run `pump --fast` at 500 rpm.", [PASSAGE])
    assert found.numbers_missing == ("500",) and found.code_missing == ("pump --fast",)
    assert not cues("The pump does not run at 300 rpm.", [PASSAGE]).copied > 0.9
    assert cues("The pump does not run at 300 rpm.", [PASSAGE]).negation_differs
    assert copied_share("**The pump** runs at 300 rpm during tests", [PASSAGE]) == 1.0


def test_fences_headings_and_bold_labels_are_not_claims() -> None:
    answer = (
        "**Install the tool**:\n\n```bash\nsudo apt install pump-tools\n```\n\n"
        "## Next\n\nThe pump runs at 300 rpm during tests."
    )
    texts = [c.text for c in ground(answer, [_source()], None)]
    assert "```bash" not in texts and "**Install the tool**:" not in texts
    assert "## Next" not in texts
    assert "The pump runs at 300 rpm during tests." in texts


def test_only_stated_claims_get_markers_and_a_contradicted_one_stays_flagged() -> None:
    def verify(claims: list[Claim]) -> list[Claim]:
        return verify_claims(
            claims, [_source()], "", None, Judge(-3.0, -3.0), VerifierConfig()
        )

    checked = check_answer(
        "How fast does the pump run?",
        "It is serviced by the night shift. The pump runs at 500 rpm during tests.",
        [_source()],
        None,
        verify=verify,
    )
    verdicts = [c.verdict for c in checked.claims]
    assert verdicts == ["stated", "contradicted"]
    assert checked.text.count("[1]") == 1 and checked.text.endswith("tests.")
    assert not checked.declined


def test_a_reply_that_does_not_answer_is_declined_with_what_the_documents_say() -> None:
    from assistant.core.answer.answer_check import DECLINE_EN, HOLD_EN
    from assistant.core.answer.claim_verifier import answers_the_question

    asked: list[str] = []

    def judge(messages: Sequence[dict[str, str]]) -> float:
        asked.append(messages[-1]["content"])
        return -3.0  # "does it answer the question?" no

    question = "How many people work on the night shift?"
    checked = check_answer(
        question,
        "It is serviced by the night shift.",
        [_source()],
        None,
        verify=lambda claims: verify_claims(
            claims, [_source()], question, None, judge, VerifierConfig()
        ),
        answers=lambda stated: answers_the_question(stated, question, judge),
    )
    assert checked.declined and checked.withheld == "It is serviced by the night shift."
    assert checked.text.startswith(DECLINE_EN + " " + HOLD_EN)
    assert checked.text.endswith("It is serviced by the night shift. [1]")
    assert [c.verdict for c in checked.claims] == ["stated"]
    claim = checked.claims[0]
    assert checked.text[claim.start : claim.end] == claim.text
    assert len(asked) == 1 and question in asked[0]


def test_the_sources_windows_are_embedded_once_per_answer() -> None:
    import numpy as np

    embedded: list[str] = []

    def embed(texts: Sequence[str]) -> np.ndarray:
        embedded.extend(texts)
        return np.ones((len(texts), 4), dtype=np.float32) / 2

    unfound = [Claim(f"Claim {i} about valves.", 0, 20, False) for i in range(3)]
    verify_claims(unfound, [_source()], "", embed, Judge(), VerifierConfig())
    assert len(embedded) == len(set(embedded))  # each window once, each claim once


def test_the_shipped_claim_encoder_reads_a_claim_beside_its_passage() -> None:
    """The real encoder (resources/models/claim-encoder): a sentence the passage
    holds scores "stated" above the same sentence with another subject's fact
    added and above a passage about something else."""
    from assistant.core.answer.claim_encoder import shipped_encoder

    encoder = shipped_encoder()
    assert encoder is not None, "resources/models/claim-encoder is missing"
    passage = (
        "Ninja defaults to running commands in parallel. By default, it looks for "
        "a file named build.ninja in the current directory."
    )
    held, added, elsewhere = encoder.scores(
        [
            ("Ninja looks for a file named build.ninja by default.", passage),
            (
                "Ninja looks for a file named build.ninja, and it keeps a log in "
                "/var/log/ninja.",
                passage,
            ),
            (
                "Ninja looks for a file named build.ninja by default.",
                "The console pool has a depth of 1.",
            ),
        ]
    )
    assert held["stated"] > max(added["stated"], elsewhere["stated"])
    assert all(abs(sum(c.values()) - 1) < 1e-4 for c in (held, added, elsewhere))
