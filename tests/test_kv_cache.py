"""The chat model's KV cache kept per conversation (llm.LlamaGenerator), with
the small real model: going back to a conversation reads its new turn only,
and answers exactly as if it had read the whole conversation again."""

from __future__ import annotations

import llama_cpp
import pytest

from assistant.core.cancel import CancelToken
from assistant.core.generate.llm import LlamaGenerator
from assistant.core.model_files import resolve_chat_model

pytestmark = pytest.mark.slow

FILLER = " ".join(f"Line {i}: valve {i} opens at {i * 3} bar." for i in range(60))
VALVES = [
    {"role": "system", "content": "Answer from the excerpt."},
    {
        "role": "user",
        "content": f"Excerpt: {FILLER}\nQuestion: When does valve 7 open?",
    },
]
PUMP = [
    {"role": "system", "content": "Answer from the excerpt."},
    {
        "role": "user",
        "content": "Excerpt: The pump runs at 300 rpm. "
        + FILLER[::-1][:1500]
        + "\nQuestion: How fast is the pump?",
    },
]


@pytest.fixture(scope="module")
def small() -> LlamaGenerator:
    return LlamaGenerator(resolve_chat_model("smollm2-135m"), 2048)  # ./test.sh


def _answer(generator: LlamaGenerator, messages: list[dict[str, str]]) -> str:
    return "".join(
        generator.stream_chat(
            messages, max_tokens=12, temperature=0.0, cancel=CancelToken()
        )
    )


def _evaluated(generator: LlamaGenerator) -> int:
    """Prompt tokens llama.cpp evaluated since its counters were last reset."""
    data = llama_cpp.llama_perf_context(generator.llama.ctx)
    return int(data.n_p_eval)


def test_going_back_to_a_conversation_reads_its_new_turn_only(
    small: LlamaGenerator,
) -> None:
    first = _answer(small, VALVES)
    _answer(small, PUMP)  # another conversation in between
    follow_up = [
        *VALVES,
        {"role": "assistant", "content": first},
        {"role": "user", "content": "And valve 9?"},
    ]
    assert small.tokens_to_read(follow_up) < 40
    llama_cpp.llama_perf_context_reset(small.llama.ctx)
    kept = _answer(small, follow_up)
    assert _evaluated(small) < 40  # not the ~1,100 of the whole conversation
    small.llama.reset()  # the same follow-up read from nothing
    assert small.tokens_to_read(follow_up) > 1000
    assert _answer(small, follow_up) == kept
