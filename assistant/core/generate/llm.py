"""Local generation through llama-cpp-python.

A ``Llama`` object is not thread-safe: whoever creates a :class:`LlamaGenerator`
must call it from one thread only (the UI gives it a dedicated worker thread).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from assistant.core.cancel import CancelToken
from assistant.core.errors import AssistantError, ModelNotFound
from assistant.core.generate.answer_guard import AnswerGuard, TokenClasses
from assistant.core.generate.chat_template import ChatTemplate, chat_tokens
from assistant.core.generate.llama_internals import (
    cached_tokens,
    context_pointer,
    free_on_close,
    last_logits,
    load_cache,
    model_pointer,
    native_output_silenced,
    repacking,
    save_cache,
    trained_context,
)
from assistant.core.generate.yes_no import (
    NO_WORDS,
    YES_WORDS,
    first_tokens,
    log_odds,
)
from assistant.core.hardware import physical_cores


class Generator(Protocol):
    name: str
    context_length: int

    def count_tokens(self, text: str) -> int: ...

    def stream_chat(
        self,
        messages: Sequence[dict[str, str]],
        *,
        max_tokens: int,
        temperature: float,
        cancel: CancelToken,
        aside: bool = False,
    ) -> Iterator[str]:
        """The reply, piece by piece. ``aside``: a short exchange of its own (a
        question's translation) that leaves the conversation's KV cache for the
        answer and its follow-ups, as ``judge_odds`` does."""
        ...

    def use_adapter(self, path: Path | None) -> None:
        """Apply a GGUF LoRA adapter to later answers (None: the base model)."""
        ...

    def tokens_to_read(self, messages: Sequence[dict[str, str]]) -> int:
        """The prompt tokens a reply to ``messages`` would read: those after the
        part the backend already holds (a follow-up reads its new turn)."""
        ...

    def yes_odds(self, messages: Sequence[dict[str, str]]) -> float:
        """How much more likely the next reply starts with "yes" than "no"
        (log-odds), read from the logits without generating;
        ``NotImplementedError`` where the backend cannot tell."""
        ...

    def judge_odds(self, messages: Sequence[dict[str, str]]) -> float:
        """``yes_odds`` for a conversation of its own, without disturbing the
        conversation whose KV cache a follow-up question will reuse."""
        ...

    def close(self) -> None: ...


@dataclass(frozen=True, eq=False)
class KeptCache:
    """A conversation's KV cache kept aside (``LlamaGenerator._cache_for``)."""

    adapter: Path | None
    tokens: list[int]
    data: bytes


def shared_prefix(cached: Sequence[int], ids: Sequence[int]) -> int:
    """How many of ``ids`` the cache holds already; at most all but the last, whose
    logits the next step needs."""
    common = 0
    for old, new in zip(cached, ids[:-1], strict=False):
        if old != new:
            break
        common += 1
    return common


def open_llama(path: Path, repack: bool = False, **params: Any) -> Any:
    """A ``llama_cpp.Llama`` for ``path``; ``repack`` lets llama.cpp's CPU backend
    copy the quantised weights into its interleaved layout.

    Off by default (``bench/memory.py``, the default 1.5B Q4_K_M on 2 AVX-512
    cores): the copy is ~600 MB of heap beside the mmapped file, and without it the
    prompt of an answer evaluated in 6.3 s instead of 9.6 s (generation 20 instead
    of 24 tokens/s); on some CPUs the repacked kernels crash in the first decode
    (seen 2026-12-05).
    """
    import llama_cpp.llama as llama_module

    with repacking(repack):
        return llama_module.Llama(model_path=str(path), verbose=False, **params)


def refuse_non_gguf(path: Path) -> None:
    """A file that does not start with GGUF's signature, named clearly (llama.cpp
    says only "Failed to load model from file")."""
    try:
        with path.open("rb") as handle:
            head = handle.read(4)
    except OSError as exc:
        raise AssistantError(
            f"The chat model {path} cannot be read ({exc.strerror or exc})."
        ) from exc
    if head != b"GGUF":
        raise AssistantError(
            f"{path} is not a GGUF model file (it does not start with the GGUF "
            "signature); choose a .gguf chat model in Settings › Chat model."
        )


class LlamaGenerator:
    """A GGUF model answering with its own chat template, streaming token by token.

    llama-cpp-python keeps the evaluated tokens of the previous call and only
    evaluates the part of a new prompt after the common prefix, so follow-up turns
    that extend the previous conversation reuse the KV cache.
    """

    def __init__(
        self,
        model_path: Path | str,
        context_length: int = 4096,
        threads: int = 0,
        adapter: Path | None = None,
        seed: int = 42,
    ) -> None:
        path = Path(model_path)
        if not path.is_file():
            raise ModelNotFound(f"Chat model not found: {path}")
        refuse_non_gguf(path)
        threads = threads or physical_cores()
        self.path = path
        self.name = path.stem
        try:
            self._llm: Any = open_llama(
                path,
                n_ctx=context_length,
                n_threads=threads,
                n_threads_batch=threads,
                n_batch=512,
                flash_attn=True,  # prompt evaluation ~10 % faster on CPU (bench)
                seed=seed,
            )
        except ValueError as exc:  # llama.cpp's "Failed to load model from file"
            raise AssistantError(
                f"The chat model {path} could not be loaded (a damaged or "
                "unsupported GGUF file); choose another in Settings › Chat model."
            ) from exc
        self.context_length = int(self._llm.n_ctx())
        self.trained_context_length = trained_context(self._llm)
        self.architecture = str(self._llm.metadata.get("general.architecture", ""))
        self._adapters: dict[Path, Any] = {}
        self._kept: list[KeptCache] = []
        self._token_classes: TokenClasses | None = None
        self._template: ChatTemplate | None = None
        self._yes_no: tuple[list[int], list[int]] | None = None
        self._judge: Any = None
        self._threads = threads
        self.guard_answers = True
        """Forbid replies that start with a marker or blank (answer_guard.py)."""
        self.adapter: Path | None = None
        if adapter is not None:
            self.use_adapter(adapter)

    def use_adapter(self, path: Path | None) -> None:
        """Switch adapters on the loaded model (no reload; each adapter is read
        once). The KV cache holds states computed with the old weights, so it is
        dropped when the adapter changes."""
        import ctypes

        import llama_cpp

        if path == self.adapter:
            return
        ctx = context_pointer(self._llm)
        if path is None:
            status = llama_cpp.llama_set_adapters_lora(ctx, None, 0, None)
        else:
            handle = self._adapters.get(path)
            if handle is None:
                if not path.is_file():
                    raise ModelNotFound(f"Adapter not found: {path}")
                with native_output_silenced():  # one line per tensor
                    handle = llama_cpp.llama_adapter_lora_init(
                        model_pointer(self._llm), str(path).encode("utf-8")
                    )
                if not handle:
                    raise AssistantError(
                        f"{path.name}: llama.cpp could not load this LoRA adapter "
                        f"(made for another model than {self.name}?)."
                    )
                free_on_close(self._llm, llama_cpp.llama_adapter_lora_free, handle)
                self._adapters[path] = handle
            adapters = (llama_cpp.llama_adapter_lora_p_ctypes * 1)(handle)
            scales = (ctypes.c_float * 1)(1.0)
            status = llama_cpp.llama_set_adapters_lora(ctx, adapters, 1, scales)
        if status:
            raise AssistantError(f"llama.cpp refused the adapter {path} ({status}).")
        self._llm.reset()
        self.adapter = path

    def count_tokens(self, text: str) -> int:
        return len(chat_tokens(self._llm, text))

    def tokens_to_read(self, messages: Sequence[dict[str, str]]) -> int:
        """After the common prefix with the KV cache (or a kept one): the system
        prompt a new conversation shares with the last one, a follow-up's
        earlier turns."""
        ids = self._prompt_ids(messages)
        if ids is None:
            return sum(self.count_tokens(m["content"]) for m in messages)
        kept = self._best_kept(ids)
        live = shared_prefix(cached_tokens(self._llm), ids)
        return max(1, len(ids) - max(live, kept[1] if kept else 0))

    KEPT_CACHES = 2
    """Conversations whose KV cache is kept aside while another is answered
    (~28 KB a token each for the default model): going back to one reads its
    new turn, not the whole conversation again."""
    KEPT_BYTES = 128 * 2**20
    """At most this much kept (the oldest goes first): idle memory has a budget."""
    KEEP_ABOVE = 256
    """Tokens an answer would overwrite before the cache is kept aside."""

    def _prompt_ids(self, messages: Sequence[dict[str, str]]) -> list[int] | None:
        """The prompt's tokens as llama-cpp-python builds them (None: the model
        has no chat template of its own, and llama-cpp-python uses a default)."""
        try:
            template = self._chat_template()
        except AssistantError:
            return None
        return chat_tokens(self._llm, template.render(messages, True))

    def _best_kept(self, ids: list[int]) -> tuple[KeptCache, int] | None:
        scored = [
            (kept, shared_prefix(kept.tokens, ids))
            for kept in self._kept
            if kept.adapter == self.adapter
        ]
        return max(scored, key=lambda pair: pair[1], default=None)

    def _cache_for(self, messages: Sequence[dict[str, str]]) -> None:
        """Before an answer: keep the live cache aside if the answer would
        overwrite much of it, and bring back a kept one that holds more of the
        prompt."""
        ids = self._prompt_ids(messages)
        if ids is None:
            return
        cached = cached_tokens(self._llm)
        live = shared_prefix(cached, ids)
        best = self._best_kept(ids)
        if len(cached) - live > self.KEEP_ABOVE:
            tokens, data = save_cache(self._llm)
            self._kept.append(KeptCache(self.adapter, tokens, data))
            self._kept = self._kept[-self.KEPT_CACHES :]
            while sum(len(k.data) for k in self._kept) > self.KEPT_BYTES:
                self._kept.pop(0)
        if best is not None and best[1] > live + self.KEEP_ABOVE // 8:
            if best[0] in self._kept:
                self._kept.remove(best[0])
            if not load_cache(self._llm, best[0].tokens, best[0].data):
                self._llm.reset()

    def stream_chat(
        self,
        messages: Sequence[dict[str, str]],
        *,
        max_tokens: int,
        temperature: float,
        cancel: CancelToken,
        aside: bool = False,
    ) -> Iterator[str]:
        from llama_cpp import LogitsProcessorList

        llm = self._llm
        if not aside:
            self._cache_for(messages)
        else:
            llm = self._side()
            prompt = sum(self.count_tokens(m["content"]) + 8 for m in messages)
            if prompt + max_tokens > self.SIDE_CONTEXT:
                llm = self._llm  # too long for the side context: the main one
        processors = None
        if self.guard_answers and not aside:
            if self._token_classes is None:
                self._token_classes = TokenClasses.of(self._llm)
            processors = LogitsProcessorList([AnswerGuard(self._token_classes)])
        stream = llm.create_chat_completion(
            messages=list(messages),
            stream=True,
            max_tokens=max_tokens,
            temperature=temperature,
            top_p=0.9,
            repeat_penalty=1.05,
            logits_processor=processors,
        )
        try:
            for part in stream:
                if cancel.cancelled:
                    break
                delta = part["choices"][0]["delta"].get("content")
                if delta:
                    yield delta
        finally:
            stream.close()

    def yes_odds(self, messages: Sequence[dict[str, str]]) -> float:
        """Reuses the KV cache of the prompt and reply just generated: only the
        tokens after the common prefix are evaluated (a follow-up question about
        the last answer costs tens of tokens, not the whole prompt)."""
        return self._odds(self._llm, messages)

    SIDE_CONTEXT = 1024
    """Tokens of the side context: a claim and its spans quoted short, or a
    question to translate."""

    def judge_odds(self, messages: Sequence[dict[str, str]]) -> float:
        """On the side context: the answer's KV cache stays for a follow-up
        question, and the judge's own instructions stay cached from one claim to
        the next."""
        return self._odds(self._side(), messages)

    def _side(self) -> Any:
        """A second, small context over the same (memory-mapped) weights, made on
        first use, for the judge and the question's translation. Always the base
        model (an adapter is taught to answer, not to judge)."""
        if self._judge is None:
            self._judge = open_llama(
                self.path,
                n_ctx=self.SIDE_CONTEXT,
                n_threads=self._threads,
                n_threads_batch=self._threads,
                n_batch=512,
                flash_attn=True,
            )
        return self._judge

    def _chat_template(self) -> ChatTemplate:
        if self._template is None:
            self._template = ChatTemplate(self._llm, self.name)
        return self._template

    def _odds(self, llm: Any, messages: Sequence[dict[str, str]]) -> float:
        if self._yes_no is None:
            self._yes_no = (
                first_tokens(self._llm, YES_WORDS),
                first_tokens(self._llm, NO_WORDS),
            )
        ids = chat_tokens(llm, self._chat_template().render(messages, True))
        if len(ids) > int(llm.n_ctx()):
            raise AssistantError("The check does not fit the model's context.")
        common = shared_prefix(cached_tokens(llm), ids)
        llm.n_tokens = common  # eval() drops the KV cache after this
        llm.eval(ids[common:])
        return log_odds(last_logits(llm), *self._yes_no)

    @property
    def llama(self) -> Any:
        """The ``llama_cpp.Llama`` itself, for benchmarks against bare llama.cpp."""
        return self._llm

    def close(self) -> None:
        if self._judge is not None:
            self._judge.close()
        self._llm.close()
