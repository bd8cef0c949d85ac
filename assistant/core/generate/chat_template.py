"""A GGUF model's own chat template, rendered as llama-cpp-python renders it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from assistant.core.errors import AssistantError
from assistant.core.generate.llama_internals import token_text


def chat_tokens(llm: Any, text: str) -> list[int]:
    """Token ids of rendered chat text as llama-cpp-python tokenizes a chat prompt:
    special tokens parsed, BOS only where the template wrote it."""
    return list(llm.tokenize(text.encode("utf-8"), add_bos=False, special=True))


class ChatTemplate:
    """Renders messages with the template stored in a loaded ``Llama``'s metadata."""

    def __init__(self, llm: Any, model_name: str) -> None:
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        template = llm.metadata.get("tokenizer.chat_template")
        if not template:
            raise AssistantError(
                f"{model_name} has no chat template; pick an instruct model."
            )
        eos = token_text(llm, int(llm.token_eos()))
        bos_id = int(llm.token_bos())
        bos = token_text(llm, bos_id) if bos_id != -1 else ""
        self._formatters = {
            flag: Jinja2ChatFormatter(template, eos, bos, add_generation_prompt=flag)
            for flag in (True, False)
        }

    def render(
        self, messages: Sequence[dict[str, str]], add_generation_prompt: bool
    ) -> str:
        formatter = self._formatters[add_generation_prompt]
        return str(formatter(messages=list(messages)).prompt)  # type: ignore[arg-type]
