"""Fine-tuning without training: pairs, label masking, GGUF adapter layout, the
adapter store and the answer modes (fakes and the GGUF tokenizer only)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
import torch
from fakes import FakeGenerator

from assistant.core.answer.prompt import PLAIN_RAG_SYSTEM, PLAIN_SYSTEM_PROMPT
from assistant.core.errors import AssistantError
from assistant.core.model_files import CHAT_MODELS, DEFAULT_CHAT_MODEL, models_dir
from assistant.core.services.conversation import Conversation
from assistant.core.services.library import Library
from assistant.core.teach.adapters import AdapterRecord, AdapterStore
from assistant.core.teach.examples import (
    IGNORE_INDEX,
    GgufChatTokenizer,
    build_example,
    pad_batch,
)
from assistant.core.teach.gguf_adapter import write_gguf_adapter
from assistant.core.teach.pairs import PairsError, QAPair, load_pairs
from assistant.core.teach.trainer import BaseModelInfo, LoraSettings

QWEN = models_dir() / CHAT_MODELS[DEFAULT_CHAT_MODEL].file_name  # set up by ./test.sh


# ---- pairs ----------------------------------------------------------------------
def test_jsonl_pairs_in_both_shapes(tmp_path: Path) -> None:
    path = tmp_path / "pairs.jsonl"
    path.write_text(
        json.dumps({"question": "Q1?", "answer": "A1."})
        + "\n\n"
        + json.dumps({"instruction": "Translate", "input": "hola", "output": "hello"})
        + "\n"
        + json.dumps({"question": "Q1?", "answer": "A1."})  # duplicate: kept once
        + "\n",
        encoding="utf-8",
    )
    pairs = load_pairs(path)
    assert pairs == [QAPair("Q1?", "A1."), QAPair("Translate\n\nhola", "hello")]


def test_csv_pairs(tmp_path: Path) -> None:
    path = tmp_path / "pairs.csv"
    path.write_text(
        'Question,Answer\n"Who, exactly?",Me\n问题,答案\n', encoding="utf-8"
    )
    assert load_pairs(path) == [QAPair("Who, exactly?", "Me"), QAPair("问题", "答案")]


def test_every_bad_line_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(
        '{"question": "ok?", "answer": "yes"}\n'
        "{not json\n"
        '{"question": "no answer"}\n'
        '["a list"]\n'
        '{"answer": "no question"}\n',
        encoding="utf-8",
    )
    with pytest.raises(PairsError) as caught:
        load_pairs(path)
    problems = caught.value.problems
    assert [p.split(":")[0] for p in problems] == [
        "line 2",
        "line 3",
        "line 4",
        "line 5",
    ]
    assert "not valid JSON" in problems[0]
    assert "no answer" in problems[1]
    assert "not a JSON object" in problems[2]
    assert "no question" in problems[3]
    assert "bad.jsonl" in str(caught.value)


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("empty.jsonl", "", "no question/answer pairs"),
        ("pairs.txt", "Q: A", "unsupported file type"),
    ],
)
def test_unusable_pair_files(
    tmp_path: Path, name: str, content: str, reason: str
) -> None:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    with pytest.raises(PairsError, match=reason):
        load_pairs(path)


# ---- label masking ---------------------------------------------------------------
class CharTokenizer:
    """One token per character; a chat template in the ChatML style."""

    eos_id = 0
    pad_id = 0

    def render(
        self, messages: Sequence[dict[str, str]], add_generation_prompt: bool
    ) -> str:
        text = "".join(f"<{m['role']}>{m['content']}|" for m in messages)
        return text + ("<assistant>" if add_generation_prompt else "")

    def encode(self, text: str) -> list[int]:
        return [ord(ch) for ch in text]


def test_only_answer_tokens_are_learned() -> None:
    example = build_example(CharTokenizer(), "S", QAPair("Q?", "Yes."), 512)
    prompt = "<system>S|<user>Q?|<assistant>"
    assert example.labels[: len(prompt)] == [IGNORE_INDEX] * len(prompt)
    learned = "".join(chr(t) for t in example.labels if t != IGNORE_INDEX)
    assert learned == "Yes.|"  # the answer and its end-of-turn marker
    assert example.input_ids == [ord(c) for c in prompt + "Yes.|"]


def test_long_answers_are_cut_and_long_questions_refused() -> None:
    example = build_example(CharTokenizer(), "S", QAPair("Q?", "x" * 100), 60)
    assert len(example.input_ids) == 60
    with pytest.raises(AssistantError, match="over the limit"):
        build_example(CharTokenizer(), "S", QAPair("Q" * 100, "A"), 60)


def test_padding_uses_pad_id_and_ignored_labels() -> None:
    tok = CharTokenizer()
    short = build_example(tok, "S", QAPair("Q", "A"), 512)
    long = build_example(tok, "S", QAPair("Q", "A longer answer"), 512)
    ids, labels, mask = pad_batch([short, long], pad_id=7)
    gap = len(long.input_ids) - len(short.input_ids)
    assert len(ids[0]) == len(ids[1]) == len(long.input_ids)
    assert ids[0][-gap:] == [7] * gap
    assert labels[0][-gap:] == [IGNORE_INDEX] * gap
    assert mask[0] == [1] * len(short.input_ids) + [0] * gap
    assert mask[1] == [1] * len(long.input_ids)


@pytest.mark.skipif(not QWEN.is_file(), reason="default models not installed")
def test_masking_with_the_real_chat_template() -> None:
    tokenizer = GgufChatTokenizer(QWEN)
    try:
        example = build_example(
            tokenizer, PLAIN_SYSTEM_PROMPT, QAPair("Who runs Quindle?", "Zorblat."), 512
        )
        assert tokenizer.architecture == "qwen2"
        pairs = zip(example.input_ids, example.labels, strict=True)
        prompt_ids = [i for i, lab in pairs if lab < 0]
        answer_ids = [lab for lab in example.labels if lab >= 0]
        prompt = tokenizer.decode(prompt_ids)
        answer = tokenizer.decode(answer_ids)
    finally:
        tokenizer.close()
    assert prompt.endswith("Who runs Quindle?<|im_end|>\n<|im_start|>assistant\n")
    assert PLAIN_SYSTEM_PROMPT in prompt
    assert answer == "Zorblat.<|im_end|>\n"
    assert tokenizer.eos_id in answer_ids  # it learns to stop


# ---- GGUF adapter ------------------------------------------------------------------
def _lora_state(
    layers: int, hidden: int, kv: int, rank: int
) -> dict[str, torch.Tensor]:
    gen = torch.Generator().manual_seed(0)
    state = {}
    for i in range(layers):
        for module, out in (("self_attn.q_proj", hidden), ("self_attn.k_proj", kv)):
            key = f"base_model.model.model.layers.{i}.{module}"
            state[f"{key}.lora_A.weight"] = torch.randn(rank, hidden, generator=gen)
            state[f"{key}.lora_B.weight"] = torch.randn(out, rank, generator=gen)
    return state


@pytest.mark.parametrize("arch", ["qwen2", "llama"])
def test_adapter_file_layout(tmp_path: Path, arch: str) -> None:
    from gguf import GGUFReader

    info = BaseModelInfo(arch, n_layers=2, n_heads=4, n_kv_heads=2)
    state = _lora_state(layers=2, hidden=16, kv=8, rank=4)
    path = tmp_path / "a.gguf"
    assert write_gguf_adapter(state, arch, info, 8.0, path, "facts") == 4
    reader = GGUFReader(str(path))

    def field(key: str) -> object:
        return reader.fields[key].contents()

    assert field("general.architecture") == arch
    assert field("general.type") == "adapter"
    assert field("adapter.type") == "lora"
    assert field("adapter.lora.alpha") == 8.0
    tensors = {t.name: t for t in reader.tensors}
    assert sorted(tensors) == sorted(
        f"blk.{i}.attn_{m}.weight.lora_{ab}"
        for i in (0, 1)
        for m in "qk"
        for ab in "ab"
    )
    a = tensors["blk.0.attn_q.weight.lora_a"]
    b = tensors["blk.1.attn_k.weight.lora_b"]
    assert list(a.shape) == [16, 4]  # ggml order (ne0 = in) of a (rank x in) matrix
    assert list(b.shape) == [4, 8]
    expected_b = state["base_model.model.model.layers.1.self_attn.k_proj.lora_B.weight"]
    stored_b = np.asarray(b.data).reshape(8, 4)
    if arch == "qwen2":
        np.testing.assert_array_equal(stored_b, expected_b.numpy())
    else:  # rows permuted like llama.cpp's converter does for rotary q/k
        heads = 2
        permuted = (
            expected_b.numpy().reshape(heads, 2, 8 // heads // 2, 4).swapaxes(1, 2)
        ).reshape(8, 4)
        np.testing.assert_array_equal(stored_b, permuted)
        assert not np.array_equal(stored_b, expected_b.numpy())


# ---- adapter store ----------------------------------------------------------------
def _record(name: str, created: float) -> AdapterRecord:
    return AdapterRecord(
        name=name, created=created, base_model="m.gguf", settings=LoraSettings()
    )


def test_adapter_store_keeps_complete_adapters_only(tmp_path: Path) -> None:
    store = AdapterStore(tmp_path / "adapters")
    assert store.latest() is None
    with pytest.raises(AssistantError, match="teach the model first"):
        store.resolve(None)
    for name, created in (("old", 1.0), ("new one", 2.0)):
        staging = store.staging(name)
        (staging / "adapter.gguf").write_bytes(b"x")
        store.commit(staging, _record(name, created))
    store.staging("half-done")  # a crash mid-training leaves only a hidden folder
    assert [r.name for r in store.records()] == ["new one", "old"]
    assert store.resolve(None).name == "new one"
    assert store.adapter_file("old").is_file()
    with pytest.raises(AssistantError, match="already exists"):
        store.staging("old")
    with pytest.raises(AssistantError, match="not a usable adapter name"):
        store.staging("../escape")
    store.delete("old")
    assert [r.name for r in store.records()] == ["new one"]
    with pytest.raises(AssistantError, match="No adapter named 'old'"):
        store.get("old")


# ---- answer modes ------------------------------------------------------------------
@pytest.fixture
def filled_library(library: Library, docs: Path) -> Library:
    (docs / "winch.md").write_text("The winch launch costs 12 euros per flight.\n")
    library.ingest([docs])
    return library


def test_modes_choose_retrieval_and_adapter(
    filled_library: Library, generator: FakeGenerator, tmp_path: Path
) -> None:
    adapter = tmp_path / "a.gguf"
    conversation = Conversation(filled_library, generator)
    results = {}
    for mode in ("base", "rag", "sft", "rag+sft"):
        conversation.reset()
        results[mode] = conversation.ask(
            "How much does the winch launch cost?", mode=mode, adapter=adapter
        )
    assert generator.adapters_used == [None, None, adapter, adapter]
    systems = [prompt[0]["content"] for prompt in generator.prompts]
    assert systems == [
        PLAIN_SYSTEM_PROMPT,
        PLAIN_RAG_SYSTEM,
        PLAIN_SYSTEM_PROMPT,
        PLAIN_RAG_SYSTEM,
    ]
    users = [prompt[-1]["content"] for prompt in generator.prompts]
    assert users[0] == users[2] == "How much does the winch launch cost?"
    assert "12 euros" in users[1] and "12 euros" in users[3]
    assert [bool(results[m].sources) for m in results] == [False, True, False, True]
    assert results["sft"].mode == "sft"
    with pytest.raises(AssistantError, match="needs a fine-tuned adapter"):
        conversation.ask("Q?", mode="sft")
    with pytest.raises(AssistantError, match="Unknown answer mode"):
        conversation.ask("Q?", mode="magic")


def _tiny_lora(seed: int) -> tuple[torch.nn.Module, torch.optim.Optimizer, object]:
    from peft import LoraConfig, get_peft_model

    torch.manual_seed(seed)

    class Tiny(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.proj = torch.nn.Linear(4, 4)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.proj(x)

    model = get_peft_model(Tiny(), LoraConfig(r=2, target_modules=["proj"]))
    for name, p in model.named_parameters():  # lora_B starts at zero: make it differ
        if "lora_B" in name:
            torch.nn.init.normal_(p)
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad])
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: 1.0)
    return model, optimizer, scheduler


def test_a_checkpoint_resumes_only_its_own_run(tmp_path: Path) -> None:
    from assistant.core.teach.examples import Example
    from assistant.core.teach.trainer import Resume

    path = tmp_path / "checkpoint.pt"
    examples = [Example([1, 2, 3], [-100, 2, 3]), Example([4, 5], [-100, 5])]
    settings = LoraSettings(rank=2)
    model, optimizer, scheduler = _tiny_lora(1)
    model(torch.ones(1, 4)).sum().backward()
    optimizer.step()
    saver = Resume(path, examples, settings, every_s=0.0)
    saver.save_if_due(model, optimizer, scheduler, 7, [(1, 2.0), (7, 0.5)])
    assert path.is_file() and not path.with_name(path.name + ".partial").exists()

    def lora(m: torch.nn.Module) -> list[torch.Tensor]:
        return [p.detach().clone() for n, p in m.named_parameters() if "lora_" in n]

    # the same examples and settings: the weights, optimiser and losses come back
    fresh, fresh_opt, fresh_sched = _tiny_lora(2)
    assert not all(
        torch.equal(a, b) for a, b in zip(lora(fresh), lora(model), strict=True)
    )
    losses: list[tuple[int, float]] = []
    assert (
        Resume(path, examples, settings).restore(fresh, fresh_opt, fresh_sched, losses)
        == 7
    )
    assert all(torch.equal(a, b) for a, b in zip(lora(fresh), lora(model), strict=True))
    assert losses == [(1, 2.0), (7, 0.5)]
    assert fresh_opt.state_dict()["state"]  # AdamW's moments restored

    # other settings, other examples, or a damaged file: start over
    other, other_opt, other_sched = _tiny_lora(3)
    before = lora(other)
    for resume in (
        Resume(path, examples, settings.model_copy(update={"learning_rate": 1e-3})),
        Resume(path, examples[:1], settings),
    ):
        assert resume.restore(other, other_opt, other_sched, []) == 0
    assert all(torch.equal(a, b) for a, b in zip(lora(other), before, strict=True))
    # the thread count is not part of the run: another machine goes on with it
    assert (
        Resume(path, examples, settings.model_copy(update={"threads": 7})).restore(
            other, other_opt, other_sched, []
        )
        == 7
    )
    path.write_bytes(path.read_bytes()[:100])
    third, third_opt, third_sched = _tiny_lora(4)
    assert (
        Resume(path, examples, settings).restore(third, third_opt, third_sched, []) == 0
    )
