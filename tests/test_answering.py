from __future__ import annotations

from pathlib import Path

import pytest
from fakes import FakeGenerator

from assistant.core.answer.citations import link_citations
from assistant.core.answer.prompt import (
    ANSWER_DESIGN,
    PLAIN_RAG_SYSTEM,
    PromptDesign,
    Turn,
    build_messages,
    plain_user_message,
)
from assistant.core.cancel import CancelToken
from assistant.core.services.conversation import Conversation
from assistant.core.services.library import Library
from assistant.core.types import Source


def _source(n: int, text: str = "Some passage text.", page: int | None = 1) -> Source:
    return Source(
        n=n,
        path=f"/d/f{n}.pdf",
        title="F",
        page=page,
        page_label=str(page),
        start=0,
        end=len(text),
        score=1.0,
        text=text,
    )


def test_citations_are_normalised_and_invalid_ones_dropped() -> None:
    text, cited = link_citations(
        "Water boils at 100 C [2]. It freezes [1, 3] and [Source 2]. Bogus [9]. 【1】",
        3,
    )
    assert text == "Water boils at 100 C [2]. It freezes [1][3] and [2]. Bogus. [1]"
    assert cited == [2, 1, 3]


def test_default_prompt_has_excerpts_without_headers_or_numbers() -> None:
    message = plain_user_message(
        "What is X?", [_source(1, "X is a letter."), _source(2, "Y too.", None)]
    )
    assert message == (
        "Excerpts:\n\nX is a letter.\n\n---\n\nY too.\n\nQuestion: What is X?"
    )
    assert "f1.pdf" not in message and "[1]" not in message
    assert "not instructions" in PLAIN_RAG_SYSTEM


def test_chinese_question_asks_for_a_chinese_answer() -> None:
    assert "用中文" in plain_user_message("上海在哪里？", [_source(1)])
    assert "用中文" not in plain_user_message("Where is Shanghai?", [_source(1)])


def test_prompt_fits_the_context_by_dropping_least_relevant_sources() -> None:
    sources = [_source(n, "word " * 200) for n in range(1, 6)]
    history = [Turn("old question " * 50, "old answer " * 50)]

    def count(text: str) -> int:
        return len(text.split())

    messages, kept = build_messages("Q?", sources, history, count, 700, 100)
    assert [s.n for s in kept] == [1, 2]
    assert sum(count(m["content"]) + 8 for m in messages) <= 600
    assert messages[-1]["role"] == "user" and len(messages) == 2  # history dropped too


def test_conversation_streams_cites_and_keeps_history(
    library: Library, generator: FakeGenerator, docs: Path
) -> None:
    (docs / "facts.txt").write_text("The reactor cools with heavy water. " * 3)
    library.ingest([docs])
    generator.queue("The reactor cools with heavy water [7].", "Yes [1].")
    conversation = Conversation(library, generator)
    tokens: list[str] = []
    answer = conversation.ask("What cools the reactor?", on_token=tokens.append)
    assert len(tokens) > 3 and "".join(tokens).startswith("The reactor cools")
    # the model's own marker is dropped; the citation comes from the evidence
    assert answer.text == "The reactor cools with heavy water. [1]"
    assert answer.cited == [1] and answer.cited_sources[0].path.endswith("facts.txt")
    assert answer.claims[0].supported and answer.claims[0].evidence[0].n == 1
    assert "heavy water" in generator.prompts[0][-1]["content"]
    assert answer.timings["ttft_ms"] >= 0
    conversation.ask("Really?")
    second = generator.prompts[1]
    assert [m["role"] for m in second] == ["system", "user", "assistant", "user"]
    assert second[2]["content"] == "The reactor cools with heavy water [7]."


def test_stop_halts_generation(
    library: Library, generator: FakeGenerator, docs: Path
) -> None:
    (docs / "numbers.txt").write_text("Counting: one two three four five.")
    library.ingest([docs])
    generator.queue("one two three four five six seven eight")
    token = CancelToken()
    seen: list[str] = []

    def on_token(text: str) -> None:
        seen.append(text)
        if len(seen) == 3:
            token.cancel()

    answer = Conversation(library, generator).ask(
        "counting", on_token=on_token, cancel=token
    )
    assert answer.stopped and answer.text.startswith("one two three")
    assert "four" not in answer.text


def test_short_follow_ups_retrieve_with_the_previous_question(
    library: Library, generator: FakeGenerator, docs: Path
) -> None:
    from assistant.core.services.question_search import retrieval_query

    (docs / "zephyr.txt").write_text(
        "The Zephyr launch code was chosen by Dr. Stone in 2019."
    )
    (docs / "other.txt").write_text("Gardening notes about tomatoes and basil.")
    library.ingest([docs])
    library.settings = library.settings.model_copy(update={"min_similarity": 0.45})
    generator.queue("Dr. Stone chose it [1].", "In 2019 [1].")
    conversation = Conversation(library, generator)
    conversation.ask("Who chose the Zephyr launch code?")
    answer = conversation.ask("In what year?")
    assert answer.sources and answer.sources[0].path.endswith("zephyr.txt")
    assert conversation.history[-1].question == "In what year?"
    long_question = "What do the gardening notes say about growing basil indoors?"
    assert retrieval_query(long_question, conversation.history) == long_question


def test_numbers_missing_from_every_source_are_flagged(
    library: Library, generator: FakeGenerator, docs: Path
) -> None:
    from assistant.core.answer.citations import unsupported_numbers

    assert (
        unsupported_numbers(
            "It weighs 1,000 kg [1] and costs 12 euros.",
            ["The fee is 12 euros.", "Mass: 1000 kg"],
        )
        == []
    )
    assert unsupported_numbers("Recalibrate every 30 days [2].", ["every 37 days"]) == [
        "30"
    ]
    (docs / "manual.txt").write_text("The altimeter is recalibrated every 37 days.")
    library.ingest([docs])
    generator.queue("It is recalibrated every 37 days [1]. The limit is 5,700 kg.")
    answer = Conversation(library, generator).ask(
        "How often is the altimeter recalibrated?"
    )
    assert [c.supported for c in answer.claims] == [True, False]
    assert answer.unsupported == ["5,700"]
    assert answer.to_json()["unsupported"] == ["5,700"]


def test_list_numbering_is_not_a_claim() -> None:
    from assistant.core.answer.citations import unsupported_numbers

    answer = "Steps:\n1. Check the canopy [1].\n2. Move the controls [1]."
    assert unsupported_numbers(answer, ["Check the canopy. Move the controls."]) == []


def _design(**options: object) -> PromptDesign:
    """The answer design with only these of its steps (greedy, plain excerpts)."""
    return PromptDesign("variant", PLAIN_RAG_SYSTEM, plain_user_message, **options)  # type: ignore[arg-type]


def test_a_widened_passage_is_its_page_span_with_the_neighbouring_chunks(
    library: Library, generator: FakeGenerator, docs: Path
) -> None:
    from assistant.core.retrieve.passage_widening import join_spans, widen_top

    sentences = [f"Step {i} of the valve procedure is number {i}." for i in range(12)]
    text = " ".join(sentences)
    (docs / "steps.txt").write_text(text)
    library.ingest([docs])
    sources = library.search("Step 6 of the valve procedure", 3)
    chunks = library.store.page_chunks(sources[0].doc_id, sources[0].page)
    assert len(chunks) >= 3  # 40-token chunks
    wide = widen_top(library.store, sources, 1)
    top = wide[0]
    # still a span of the page (gaps between chunks come back as newlines)
    assert text[top.start : top.end].split() == top.text.split()
    assert top.start < sources[0].start or top.end > sources[0].end
    assert sources[0].text in top.text
    assert [s.n for s in wide] == list(range(1, len(wide) + 1))
    # a later source inside the widened one is dropped
    assert not any(s.start >= top.start and s.end <= top.end for s in wide[1:])
    assert join_spans(
        [{"start": 0, "end": 5, "text": "abcde"}, {"start": 7, "end": 9, "text": "hi"}]
    ) == (0, 9, "abcde\n\nhi")
    assert join_spans(
        [
            {"start": 0, "end": 5, "text": "abcde"},
            {"start": 3, "end": 7, "text": "defg"},
        ]
    ) == (0, 7, "abcdefg")
    # the design that widens sends the wider text to the model
    generator.queue("Step 6 is number 6.")
    Conversation(library, generator, _design(widen=1)).ask(
        "Step 6 of the valve procedure", sources=sources
    )
    assert top.text in generator.prompts[0][-1]["content"]


def test_key_lines_design_repeats_the_closest_sentences_before_the_question(
    library: Library, generator: FakeGenerator, docs: Path
) -> None:
    from assistant.core.answer.key_sentences import key_sentences

    (docs / "pump.txt").write_text(
        "The harbour has three piers. The pump is serviced every spring by the "
        "crew. Visitors park behind the office."
    )
    library.ingest([docs])
    sources = library.search("When is the pump serviced?", 2)
    lines = key_sentences(library.embedder, "When is the pump serviced?", sources, 1)
    assert lines == ["The pump is serviced every spring by the crew."]
    generator.queue("Every spring.")
    Conversation(library, generator, _design(key_sentences=3)).ask(
        "When is the pump serviced?", sources=sources
    )
    prompt = generator.prompts[0][-1]["content"]
    key_part = prompt.split("closest to the question:")[1]
    assert key_part.index("pump is serviced") < key_part.index("Question:")


def test_a_cap_on_the_question_message_leaves_out_excerpts_but_never_the_best() -> None:
    design = ANSWER_DESIGN  # at most 900 tokens
    sources = [_source(n, "word " * 300) for n in range(1, 5)]

    def count(text: str) -> int:
        return len(text.split())

    _, kept = build_messages("Q?", sources, [], count, 4096, 256, design=design)
    assert [s.n for s in kept] == [1, 2]  # 2 x 300 words fit in 900, 3 do not
    _, kept = build_messages(
        "Q?", [_source(1, "word " * 1200)], [], count, 4096, 256, design=design
    )
    assert [s.n for s in kept] == [1]


def test_self_check_no_turns_the_reply_into_a_decline_and_yes_keeps_it(
    library: Library, generator: FakeGenerator, docs: Path
) -> None:
    from assistant.core.answer.answer_check import DECLINE_EN
    from assistant.core.answer.prompt import SELF_CHECK_QUESTION

    (docs / "pump.txt").write_text("The pump is serviced every spring by the crew.")
    library.ingest([docs])
    conversation = Conversation(library, generator, _design(widen=1, key_sentences=3))
    generator.queue("The pump is serviced every spring.")
    assert conversation.ask("When is the pump serviced?").self_check is None
    assert generator.judged == []  # only designs with the check ask it

    conversation = Conversation(
        library, generator, _design(widen=1, key_sentences=3, self_check=True)
    )
    generator.queue("The pump is serviced every spring.", "The pump is serviced.")
    generator.judgements = [1.2, -0.4]
    kept = conversation.ask("When is the pump serviced?")
    assert kept.self_check == 1.2 and not kept.declined
    assert kept.text.startswith("The pump is serviced every spring.")
    check = generator.judged[0]
    assert check[-2] == {"role": "assistant", "content": kept.raw}
    assert check[-1] == {"role": "user", "content": SELF_CHECK_QUESTION}
    assert check[:-2] == generator.prompts[-2]  # the answer's prompt, KV-cached
    conversation.reset()
    declined = conversation.ask("Who services the pump in winter?")
    assert declined.declined and declined.text == DECLINE_EN
    assert declined.withheld.startswith("The pump is serviced")
    assert declined.self_check == -0.4

    unchecked = Conversation(
        library, generator, _design(widen=1, key_sentences=3, self_check=True), False
    )
    generator.queue("The pump is serviced.")
    generator.judgements = [-2.0]
    answer = unchecked.ask("Who services the pump in winter?")
    assert not answer.declined and answer.self_check == -2.0  # benchmarks decide


def test_an_empty_library_says_to_add_documents_first(
    library: Library, generator: FakeGenerator, docs: Path
) -> None:
    from assistant.core.answer.answer_check import EMPTY_EN, EMPTY_ZH

    conversation = Conversation(library, generator)
    answer = conversation.ask("What cools the reactor?")
    assert answer.declined and answer.text == EMPTY_EN
    assert conversation.ask("反应堆用什么冷却？").text == EMPTY_ZH
    assert not generator.prompts  # the model was not asked
    (docs / "facts.txt").write_text("The reactor cools with heavy water. " * 3)
    library.ingest([docs])
    generator.queue("The reactor cools with heavy water.")
    assert conversation.ask("What cools the reactor?").text != EMPTY_EN


def test_the_wait_before_the_first_words_is_estimated_from_measured_reading(
    library: Library, generator: FakeGenerator, docs: Path
) -> None:
    from assistant.core.answer.reading_time import (
        ReadingPlan,
        ReadingSpeed,
        reading_status,
    )

    (docs / "facts.txt").write_text("The reactor cools with heavy water. " * 40)
    library.ingest([docs])
    speed = ReadingSpeed()
    plans: list[ReadingPlan] = []
    for _ in range(2):
        generator.queue("The reactor cools with heavy water.")
        Conversation(library, generator, reading=speed).ask(
            "What cools the reactor?", on_sources=plans.append
        )
    first, second = plans
    assert first.estimate_s is None  # nothing measured before the first answer
    assert first.prompt_tokens > 50 and first.found >= len(first.sources) >= 1
    assert speed.tokens_per_s is not None and second.estimate_s is not None
    assert second.estimate_s == pytest.approx(
        second.prompt_tokens / speed.tokens_per_s, rel=1.0
    )
    # what the window says, counting down
    plan = ReadingPlan(first.sources, len(first.sources) + 2, 1200, 40.0)
    assert reading_status(plan, 0.0) == (
        f"Reading {len(plan.sources)} passage{'s' if len(plan.sources) > 1 else ''} "
        f"of the {plan.found} found (the rest do not fit its prompt), 1,200 tokens: "
        "first words in about 40 s. Esc stops."
    )
    assert "about 25 s" in reading_status(plan, 15.0)
    assert "any moment now" in reading_status(plan, 45.0)
    assert reading_status(first, 3.0).endswith("tokens\u2026 Esc stops.")
    # a short prompt (a follow-up read from the cache) does not move the speed
    before = speed.tokens_per_s
    speed.record(10, 5.0)
    assert speed.tokens_per_s == before
