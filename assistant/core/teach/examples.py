"""Training examples: a pair rendered with the model's own chat template and
tokenized so that only the answer is learned (prompt labels are -100)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from assistant.core.errors import AssistantError, ModelNotFound
from assistant.core.generate.chat_template import ChatTemplate, chat_tokens
from assistant.core.teach.pairs import QAPair

IGNORE_INDEX = -100
"""Label value PyTorch's cross-entropy skips."""


class ChatTokenizer(Protocol):
    eos_id: int
    pad_id: int

    def render(
        self, messages: Sequence[dict[str, str]], add_generation_prompt: bool
    ) -> str: ...

    def encode(self, text: str) -> list[int]: ...


@dataclass(frozen=True)
class Example:
    input_ids: list[int]
    labels: list[int]

    @property
    def answer_tokens(self) -> int:
        return sum(1 for label in self.labels if label != IGNORE_INDEX)


def chat_messages(system_prompt: str, question: str) -> list[dict[str, str]]:
    return [
        {"role": "system", "content": system_prompt},
        {"role": "user", "content": question},
    ]


def build_example(
    tokenizer: ChatTokenizer, system_prompt: str, pair: QAPair, max_tokens: int
) -> Example:
    """A pair asked without excerpts, as the sft mode asks it."""
    return build_chat_example(
        tokenizer, chat_messages(system_prompt, pair.question), pair.answer, max_tokens
    )


def build_chat_example(
    tokenizer: ChatTokenizer,
    messages: Sequence[dict[str, str]],
    answer: str,
    max_tokens: int,
) -> Example:
    """The prompt is tokenized on its own, exactly as llama.cpp will see it at
    answer time, and the answer (with the end-of-turn marker) after it."""
    prompt = tokenizer.render(messages, add_generation_prompt=True)
    full = tokenizer.render(
        [*messages, {"role": "assistant", "content": answer}],
        add_generation_prompt=False,
    )
    if not full.startswith(prompt):
        raise AssistantError(
            "The model's chat template renders the answer in a way the trainer "
            "cannot separate from the prompt; this model cannot be fine-tuned here."
        )
    prompt_ids = tokenizer.encode(prompt)
    answer_ids = tokenizer.encode(full[len(prompt) :])
    if len(prompt_ids) >= max_tokens - 1:
        question = messages[-1]["content"]
        raise AssistantError(
            f"The question \u201c{question[:60]}\u201d is "
            f"{len(prompt_ids)} tokens with the chat template, over the limit of "
            f"{max_tokens}; shorten it or raise the maximum length."
        )
    answer_ids = answer_ids[: max_tokens - len(prompt_ids)]
    return Example(
        prompt_ids + answer_ids, [IGNORE_INDEX] * len(prompt_ids) + answer_ids
    )


def pad_batch(
    examples: Sequence[Example], pad_id: int
) -> tuple[list[list[int]], list[list[int]], list[list[int]]]:
    """Right-pads to the longest example: input ids with ``pad_id`` (the eos token
    when the model has no pad token), labels with -100, attention mask 0."""
    width = max(len(e.input_ids) for e in examples)
    ids, labels, mask = [], [], []
    for e in examples:
        gap = width - len(e.input_ids)
        ids.append(e.input_ids + [pad_id] * gap)
        labels.append(e.labels + [IGNORE_INDEX] * gap)
        mask.append([1] * len(e.input_ids) + [0] * gap)
    return ids, labels, mask


class GgufChatTokenizer:
    """Tokenizer and chat template read from a GGUF file through llama.cpp, so the
    training text is byte-for-byte what the app sends at answer time."""

    def __init__(self, model_path: Path) -> None:
        from llama_cpp import Llama

        if not model_path.is_file():
            raise ModelNotFound(f"Chat model not found: {model_path}")
        self._llm: Any = Llama(str(model_path), vocab_only=True, verbose=False)
        self._template = ChatTemplate(self._llm, model_path.name)
        metadata: dict[str, str] = self._llm.metadata
        self.architecture = str(metadata.get("general.architecture", ""))
        self.eos_id = int(self._llm.token_eos())
        pad = metadata.get("tokenizer.ggml.padding_token_id")
        self.pad_id = int(pad) if pad is not None else self.eos_id

    def decode(self, ids: Sequence[int]) -> str:
        """The text of token ids, special tokens written out."""
        return str(self._llm.detokenize(list(ids), special=True).decode())

    def render(
        self, messages: Sequence[dict[str, str]], add_generation_prompt: bool
    ) -> str:
        return self._template.render(messages, add_generation_prompt)

    def encode(self, text: str) -> list[int]:
        return chat_tokens(self._llm, text)

    def close(self) -> None:
        self._llm.close()
