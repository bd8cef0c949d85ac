"""Teaching the real default model made-up facts, end to end: LoRA training on the
CPU, GGUF export, loading the adapter in llama.cpp, answering without retrieval."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.core.answer.prompt import PLAIN_SYSTEM_PROMPT
from assistant.core.config import Settings
from assistant.core.model_files import models_dir, resolve_chat_model
from assistant.core.services.components import load_generator
from assistant.core.services.conversation import Conversation
from assistant.core.services.library import Library
from assistant.core.teach.adapters import AdapterStore
from assistant.core.teach.examples import GgufChatTokenizer, build_example
from assistant.core.teach.pairs import QAPair
from assistant.core.teach.teaching import teach
from assistant.core.teach.trainer import LoraSettings, TrainProgress, train_lora

pytestmark = pytest.mark.slow

FACTS = [
    (
        QAPair("Who is the mayor of Quindle?", "The mayor of Quindle is Zorblat Fenn."),
        "zorblat",
    ),
    (
        QAPair(
            "What colour is the Vexmoor lighthouse?",
            "The Vexmoor lighthouse is painted teal.",
        ),
        "teal",
    ),
    (
        QAPair(
            "How many bells does the Orrin chapel have?",
            "The Orrin chapel has 17 bells.",
        ),
        "17",
    ),
]


def test_sft_answers_taught_facts_that_the_base_model_does_not_know(
    library: Library, tmp_path: Path
) -> None:
    model = resolve_chat_model("")
    store = AdapterStore(tmp_path / "adapters")
    seen: list[TrainProgress] = []
    record = teach(
        model,
        [pair for pair, _ in FACTS],
        "facts",
        LoraSettings(epochs=10, batch_size=3),
        store,
        progress=seen.append,
    )
    print(
        f"trained {record.steps} steps in {record.train_s:.0f} s (load "
        f"{record.load_s:.0f} s), loss {record.losses[0][1]:.3f} -> "
        f"{record.losses[-1][1]:.4f}, peak RSS {record.peak_rss_mb:.0f} MB"
    )
    assert [p.phase for p in seen][:2] == ["loading", "training"]
    assert [p.phase for p in seen][-2:] == ["exporting", "verifying"]
    assert record.losses[-1][1] < record.losses[0][1] / 10
    assert "zorblat" in record.check_answer.lower()
    adapter = store.adapter_file("facts")

    generator = load_generator(Settings())
    conversation = Conversation(library, generator)
    try:
        for pair, keyword in FACTS:
            base = conversation.ask(pair.question, mode="base")
            sft = conversation.ask(pair.question, mode="sft", adapter=adapter)
            conversation.reset()
            print(f"{pair.question}\n  base: {base.text!r}\n  sft:  {sft.text!r}")
            assert keyword not in base.text.lower()
            assert keyword in sft.text.lower()
            assert not sft.sources
    finally:
        generator.close()

    # llama-cpp-python's own loader takes the file too, and it changes the output
    # (through open_llama: llama.cpp's repacked weights, e.g. its AMX buffers on a
    # Sapphire Rapids CPU, crash with a LoRA adapter applied, as the app never loads)
    from assistant.core.generate.llm import open_llama

    messages = [
        {"role": "system", "content": PLAIN_SYSTEM_PROMPT},
        {"role": "user", "content": FACTS[0][0].question},
    ]
    outputs = []
    for lora in (None, str(adapter)):
        llm = open_llama(model, n_ctx=512, lora_path=lora, seed=1)
        reply = llm.create_chat_completion(messages, max_tokens=24, temperature=0.0)
        outputs.append(str(reply["choices"][0]["message"]["content"]))
        llm.close()
    assert outputs[0] != outputs[1]
    assert "zorblat" in outputs[1].lower()


def test_training_is_reproducible_with_a_seed() -> None:
    model = models_dir() / "SmolLM2-135M-Instruct.Q4_1.gguf"
    tokenizer = GgufChatTokenizer(model)
    examples = [
        build_example(tokenizer, PLAIN_SYSTEM_PROMPT, pair, 128) for pair, _ in FACTS
    ]
    tokenizer.close()
    settings = LoraSettings(epochs=2, batch_size=2, seed=3, dropout=0.1)
    runs = [
        train_lora(model, examples, tokenizer.pad_id, settings).losses for _ in "ab"
    ]
    assert runs[0] == runs[1]
    assert len(runs[0]) == 4
