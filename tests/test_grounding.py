"""Claim-level grounding and the answer check (no model: replies are given)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from fakes import FakeGenerator

from assistant.core.answer.answer_check import DECLINE_EN, DECLINE_ZH, check_answer
from assistant.core.answer.grounding import claim_spans, ground, terms, with_markers
from assistant.core.services.conversation import Conversation
from assistant.core.services.library import Library
from assistant.core.types import Claim, Evidence, Source

PUMP = (
    "Safety first. The pump must be primed before start-up. "
    "It runs at 300 rpm under normal load. Clean the filter every 40 hours."
)
VALVE = "The relief valve opens at 42 bar. Replace its seal yearly."


def _source(n: int, text: str) -> Source:
    return Source(n, f"/d/f{n}.txt", "F", None, None, 0, len(text), 1.0, text)


SOURCES = [_source(1, PUMP), _source(2, VALVE)]


def test_claims_are_sentences_and_list_items_cjk_aware() -> None:
    answer = "First do this. Then that!\n1. Prime the pump.\n- 清洁过滤器。然后启动。"
    pieces = [answer[s:e] for s, e in claim_spans(answer)]
    assert pieces == [
        "First do this.",
        "Then that!",
        "Prime the pump.",
        "清洁过滤器。",
        "然后启动。",
    ]
    assert "filter" in terms("Clean the filters") or "filter" in terms("filter")
    assert {"过滤", "滤器"} <= set(terms("清洁过滤器"))


def test_each_claim_gets_the_span_that_supports_it() -> None:
    answer = "Prime the pump before start-up. The relief valve opens at 42 bar."
    claims = ground(answer, SOURCES)
    assert [c.supported for c in claims] == [True, True]
    first, second = claims
    assert answer[first.start : first.end] == first.text
    evidence = first.evidence[0]
    assert evidence.n == 1
    assert PUMP[evidence.start : evidence.end] == (
        "The pump must be primed before start-up."
    )
    assert second.evidence[0].n == 2
    assert VALVE[second.evidence[0].start : second.evidence[0].end].startswith(
        "The relief valve opens at 42 bar."
    )


def test_a_wrong_number_is_not_supported_by_similar_words() -> None:
    claims = ground("The relief valve opens at 40 bar.", SOURCES)
    assert len(claims) == 1 and not claims[0].supported and not claims[0].evidence


def test_filler_sentences_are_not_claims() -> None:
    assert ground("Here is how:", SOURCES) == []


def test_meaning_match_across_languages_uses_the_embedder() -> None:
    """A Chinese claim about an English passage shares no words with it; the
    (multilingual) embedder decides. The fake embeds both as the same vector."""

    def embed(texts: Sequence[str]) -> np.ndarray:
        vectors = np.zeros((len(texts), 4), dtype=np.float32)
        for i, text in enumerate(texts):
            match = "300" in text or "转速" in text
            vectors[i] = [1, 0, 0, 0] if match else [0, 1, 0, 0]
        return vectors

    claims = ground("泵的转速为每分钟 300 转。", SOURCES, embed)
    assert claims[0].supported and claims[0].evidence[0].n == 1
    assert "300 rpm" in PUMP[claims[0].evidence[0].start : claims[0].evidence[0].end]
    assert not ground("泵的转速为每分钟 300 转。", SOURCES)[0].supported


def test_a_chinese_claim_is_supported_by_the_names_it_shares_with_english() -> None:
    """Names are written the same in both languages: a Chinese claim whose Latin
    names are all in an English window is supported by a modest similarity, which
    alone (0.4 < 0.55) would not do. Latin words stop where Chinese starts."""
    assert terms("需要装Postgrey软件") == ["postgrey", "需要", "要装", "软件"]
    mail = _source(
        1, "Install the postgrey package, then list it in the Postfix restrictions."
    )

    def embed(texts: Sequence[str]) -> np.ndarray:
        vectors = np.zeros((len(texts), 2), dtype=np.float32)
        for i, text in enumerate(texts):
            vectors[i] = [1, 0] if "Install" in text else [0.4, (1 - 0.16) ** 0.5]
        return vectors

    question = "想用灰名单挡垃圾邮件，Postfix 需要装什么软件？"
    claims = ground("需要装 Postgrey 软件。", [mail], embed, question=question)
    assert claims[0].supported
    other = ground("需要装 Greyfix 软件。", [mail], embed, question=question)
    assert not other[0].supported


def test_markers_are_written_from_evidence_and_offsets_follow() -> None:
    answer = "Prime it. Opens at 42 bar."
    claims = [
        Claim("Prime it.", 0, 9, True, (Evidence(1, 0, 5, 0.9),)),
        Claim("Opens at 42 bar.", 10, 26, True, (Evidence(2, 0, 5, 0.8),)),
    ]
    text, moved = with_markers(answer, claims)
    assert text == "Prime it. [1] Opens at 42 bar. [2]"
    assert [text[c.start : c.end] for c in moved] == ["Prime it.", "Opens at 42 bar."]


def test_check_writes_citations_and_drops_the_models_own_markers() -> None:
    checked = check_answer(
        "When does the relief valve open?",
        "[2] The relief valve opens at 42 bar [1].",
        SOURCES,
        None,
    )
    assert checked.text == "The relief valve opens at 42 bar. [2]"
    assert checked.cited == [2] and not checked.declined
    claim = checked.claims[0]
    assert checked.text[claim.start : claim.end] == "The relief valve opens at 42 bar."


def test_unsupported_reply_becomes_an_honest_decline_in_the_question_language() -> None:
    made_up = "The maximum take-off weight is 396,890 kg for the Boeing 747-400."
    english = check_answer("Max take-off weight of a 747?", made_up, SOURCES, None)
    assert english.declined and english.text == DECLINE_EN
    assert english.withheld == made_up and english.claims == []
    chinese = check_answer("波音747的最大起飞重量是多少？", made_up, SOURCES, None)
    assert chinese.text == DECLINE_ZH
    kept = check_answer(
        "Max take-off weight of a 747-400?",
        made_up,
        SOURCES,
        None,
        decline_unsupported=False,
    )
    assert kept.text == made_up and not kept.claims[0].supported
    assert kept.unsupported == ["396,890"]  # 747 and 400 come from the question


def test_degenerate_replies_never_reach_the_user() -> None:
    for reply in ("[2][3]", "", "[1] f1.txt, page 3 — Chapter 2"):
        checked = check_answer("What speed?", reply, SOURCES, None)
        assert checked.declined and checked.text == DECLINE_EN


def test_a_models_own_decline_is_kept() -> None:
    checked = check_answer(
        "Who wrote it?", "The documents do not say who wrote it.", SOURCES, None
    )
    assert checked.declined and checked.text.startswith("The documents do not say")


def test_guard_forbids_blank_starts_markers_and_spaced_markers() -> None:
    from assistant.core.generate.answer_guard import AnswerGuard, TokenClasses

    vocab = ["", " ", "[", " [", "2", " 2", "]", "The", " valve", "a", "0", "\n"]
    ids = {t: i for i, t in enumerate(vocab)}
    classes = TokenClasses(vocab)
    prompt = [ids["The"]] * 5

    def allowed(generated: list[str]) -> set[str]:
        guard = AnswerGuard(classes)
        guard(np.array(prompt), np.zeros(len(vocab), dtype=np.float32))
        scores = np.zeros(len(vocab), dtype=np.float32)
        guard(np.array(prompt + [ids[t] for t in generated]), scores)
        return {vocab[i] for i in range(len(vocab)) if scores[i] > -np.inf}

    first = allowed([])
    assert "[" not in first and " [" not in first and "" not in first
    assert " " not in first and "The" in first and "2" in first
    assert allowed([" "]) == first  # still nothing written
    after_bracket = allowed(["The", " valve", " ["])
    assert "2" not in after_bracket and " 2" not in after_bracket
    assert " " not in after_bracket and "]" in after_bracket
    assert "2" not in allowed(["The", " valve", " [", " "])  # "[ 2" neither
    assert "0" in allowed(["The", " valve", "a", "["])  # a[0] in code is fine


def test_names_the_library_never_mentions_are_found() -> None:
    from assistant.core.retrieve.named_terms import missing_names, named_terms

    assert named_terms(
        "What vm.swappiness should a PostgreSQL server on Debian use with CUDA?"
    ) == ["vm.swappiness", "PostgreSQL", "CUDA", "Debian"]
    assert named_terms("Which OS and CPU does it need?") == []
    assert named_terms("My terminal shows strange symbols. How do I fix it?") == []
    library_text = ["Debian ships Postgre SQL 15.", "Set vm.dirty_ratio to 10."]
    missing = missing_names(
        "What vm.swappiness should a PostgreSQL server on Debian use?",
        lambda term: library_text,
    )
    assert missing == ["vm.swappiness"]


def test_question_about_an_unknown_name_is_declined_without_the_model(
    library: Library, generator: FakeGenerator, docs: Path
) -> None:
    (docs / "cluster.txt").write_text("Our cluster runs Debian on twelve nodes.")
    library.ingest([docs])
    generator.queue("Run kubeadm init on the first node.")
    answer = Conversation(library, generator).ask(
        "How do I deploy Kubernetes on our Debian cluster?"
    )
    assert answer.declined and "\u201cKubernetes\u201d" in answer.text
    assert generator.prompts == []  # the model was not asked
    generator.answers.clear()
    generator.queue("The cluster runs Debian on twelve nodes.")
    assert (
        not Conversation(library, generator)
        .ask("What OS does the cluster run on Debian?")
        .declined
    )
