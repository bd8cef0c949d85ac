"""The use cases the window and the CLI call: a Library of documents and a
Conversation with the local model about them."""

from __future__ import annotations

import copy
import dataclasses
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from assistant.config import (
    Settings,
    chat_server,
    embedding_server_url,
    library_location,
    server_api_key,
    shared_state_dir,
)
from assistant.core.answer_check import (
    CheckedAnswer,
    check_answer,
    decline_text,
    fails_self_check,
)
from assistant.core.cancel import CancelToken
from assistant.core.citations import link_citations
from assistant.core.claim_encoder import shipped_encoder
from assistant.core.claim_verifier import answers_the_question, verify_claims
from assistant.core.embedding import (
    Embedder,
    SentenceTransformerEmbedder,
    multilingual_embed,
)
from assistant.core.errors import AssistantError
from assistant.core.fsutil import is_remote
from assistant.core.ingest_pipeline import (
    IngestOptions,
    ProgressCallback,
    doc_id_for,
    run_ingest,
)
from assistant.core.key_sentences import key_sentences
from assistant.core.llm import Generator, LlamaGenerator
from assistant.core.model_files import (
    BUILTIN_EMBEDDERS,
    ONNX_EMBEDDERS,
    ROUTED_EMBEDDER,
    ROUTED_ENGLISH,
    USE_EMBEDDER,
    models_dir,
    resolve_chat_model,
    resolve_embedder,
)
from assistant.core.named_terms import missing_names
from assistant.core.openai_chat import ServerLost
from assistant.core.openai_embedding import is_server_embedder, server_embedder_name
from assistant.core.passage_widening import widen_top
from assistant.core.prompt import (
    DEFAULT_DESIGN,
    DESIGNS,
    SELF_CHECK_QUESTION,
    PromptDesign,
    Turn,
    build_messages,
    key_lines_user_message,
)
from assistant.core.query_translation import (
    document_terms,
    english_query,
    with_terms,
)
from assistant.core.reading_time import ReadingPlan, ReadingSpeed, quoted_from
from assistant.core.retrieval import (
    Reranker,
    RetrievalConfig,
    Retriever,
    load_reranker,
)
from assistant.core.scopes import Scope, resolve_scope
from assistant.core.search_text import to_search_text
from assistant.core.section_questions import QuestionsProgress, add_questions
from assistant.core.store import ChunkStore
from assistant.core.types import (
    ANSWER_MODES,
    Answer,
    Claim,
    DocumentInfo,
    IngestReport,
    Source,
    mode_uses_adapter,
    mode_uses_retrieval,
)

TokenCallback = Callable[[str], None]


def _embedder_setting(settings: Settings, index_embedder: str | None) -> str:
    setting = settings.embedding_model
    chosen = bool(setting) and "embedding_model" in settings.model_fields_set
    if not chosen and index_embedder in BUILTIN_EMBEDDERS:
        setting = index_embedder or ""
    return setting


def load_embedder(settings: Settings, index_embedder: str | None = None) -> Embedder:
    """The configured embedder; when none was chosen (the setting is empty or left
    at its default), the built-in one the index was made with, so a library built
    before the default changed keeps working until it is re-indexed."""
    setting = _embedder_setting(settings, index_embedder)
    if is_server_embedder(setting):
        return _server_embedder(setting, settings)
    return _embedder_named(setting, settings.threads)


def _server_embedder(setting: str, settings: Settings) -> Embedder:
    from assistant.core.openai_embedding import OpenAIEmbedder

    path, _ = resolve_embedder(ROUTED_ENGLISH)  # MiniLM's tokenizer sizes chunks
    return OpenAIEmbedder(
        embedding_server_url(settings),
        setting.partition(":")[2],
        server_api_key(settings),
        path,
    )


def embedder_name(settings: Settings, index_embedder: str | None = None) -> str:
    """The name ``load_embedder`` would load, without loading it."""
    setting = _embedder_setting(settings, index_embedder)
    if is_server_embedder(setting):
        return server_embedder_name(setting, embedding_server_url(settings))
    return resolve_embedder(setting)[1]


def _embedder_named(setting: str, threads: int = 0) -> Embedder:
    path, name = resolve_embedder(setting)
    if name == ROUTED_EMBEDDER:
        from assistant.core.routed_embedding import RoutedEmbedder

        return RoutedEmbedder(
            _embedder_named(USE_EMBEDDER, threads),
            _embedder_named(ROUTED_ENGLISH, threads),
        )
    if name == USE_EMBEDDER:
        from assistant.core.use_embedding import UseEmbedder

        return UseEmbedder(path, threads)
    if name in ONNX_EMBEDDERS:
        from assistant.core.onnx_embedding import OnnxEmbedder, export_onnx

        onnx_file = export_onnx(
            path, models_dir() / f"{name}.onnx", ONNX_EMBEDDERS[name]
        )
        return OnnxEmbedder(path, onnx_file, name, threads=threads)
    return SentenceTransformerEmbedder(path, name=name, threads=threads)


def load_generator(settings: Settings, adapter: Path | None = None) -> Generator:
    """The local GGUF model, or the OpenAI-compatible server the settings (or
    ``ASSISTANT_CHAT_BASE_URL``) name."""
    server = chat_server(settings)
    if server is not None:
        from assistant.core.openai_chat import OpenAIGenerator

        if adapter is not None:
            raise AssistantError(
                "A fine-tuned adapter needs the local model; answers come from "
                f"the server {server.base_url} (set chat_backend to local)."
            )
        return OpenAIGenerator(server, settings.context_length)
    return LlamaGenerator(
        resolve_chat_model(settings.chat_model),
        settings.context_length,
        settings.threads,
        adapter=adapter,
    )


class Library:
    """Documents in the index: add, list, remove, search."""

    def __init__(
        self,
        settings: Settings,
        embedder: Embedder,
        store: ChunkStore | None = None,
        reranker: Reranker | None = None,
        directory: Path | str | None = None,
    ) -> None:
        self.settings = settings
        self.embedder = embedder
        self.store = store or _open_store(
            directory or library_location(settings), embedder, settings
        )
        if reranker is None and settings.reranker_model:
            reranker = load_reranker(settings.reranker_model, settings.threads)
        self.retriever = Retriever(self.store, embedder, reranker)
        self.awaiting_embedder = ""
        """The embedder the settings chose, when the index was made with another
        built-in one and still searches with it until re-indexed."""

    @classmethod
    def open(cls, settings: Settings, directory: Path | str | None = None) -> Library:
        """The library (on disk or shared), searched with the embedder its index
        was made with when the settings have since chosen another built-in one
        (noted in ``awaiting_embedder`` until a re-index), so a changed setting
        never locks the user out of their library."""
        directory = directory or library_location(settings)
        if not is_remote(directory):
            from assistant.core.rebuild import recover

            recover(Path(directory))  # a re-index a crash interrupted mid-swap
        indexed = ChunkStore.indexed_embedder(directory, settings.library_options)
        wanted = embedder_name(settings, indexed)
        if indexed in BUILTIN_EMBEDDERS and wanted != indexed:
            embedder = _embedder_named(indexed or "", settings.threads)
            library = cls(settings, embedder, directory=directory)
            library.awaiting_embedder = wanted
            return library
        return cls(settings, load_embedder(settings, indexed), directory=directory)

    def with_settings(self, settings: Settings) -> Library:
        """Another handle on the same index and embedder with its own settings:
        what a second thread searches with, so neither writes the other's
        settings (the index itself is safe to read while another thread writes)."""
        reader = copy.copy(self)
        reader.settings = settings
        return reader

    def ingest(
        self,
        paths: Iterable[Path | str],
        progress: ProgressCallback | None = None,
        cancel: CancelToken | None = None,
        force: bool = False,
    ) -> IngestReport:
        options = IngestOptions(
            chunk_tokens=self.settings.chunk_tokens,
            chunk_overlap=self.settings.chunk_overlap,
            max_file_bytes=self.settings.max_file_mb * 2**20,
            force=force,
            sentence_vectors=self.settings.sentence_vectors,
            chunk_vectors=self.settings.chunk_vectors,
        )
        return run_ingest(paths, self.store, self.embedder, options, progress, cancel)

    def documents(self) -> list[DocumentInfo]:
        return self.store.documents()

    def remove(self, path: Path | str) -> bool:
        return self.remove_id(doc_id_for(Path(path)))

    def remove_id(self, doc_id: str) -> bool:
        """By the stored id: a path that now resolves elsewhere (through a link
        put in its place) no longer names its document."""
        if self.store.document(doc_id) is None:
            return False
        self.store.remove_document(doc_id)
        return True

    def retrieval_config(
        self, top_k: int | None = None, within: Scope | None = None
    ) -> RetrievalConfig:
        s = self.settings
        return RetrievalConfig(
            top_k=top_k or s.top_k,
            candidates=max(s.candidates, top_k or 0),
            mode=s.retrieval_mode,
            min_similarity=s.min_similarity,
            within=None if within is None else within.doc_ids,
        )

    def add_questions(
        self,
        generator: Generator,
        progress: Callable[[QuestionsProgress], None] | None = None,
        cancel: CancelToken | None = None,
        limit: int | None = None,
    ) -> QuestionsProgress:
        """Have the chat model write the questions each section answers, searched
        like sentences (section_questions.py); resumable."""
        return add_questions(
            self.store, self.embedder, generator, progress, cancel, limit
        )

    def search(
        self,
        query: str,
        top_k: int | None = None,
        translation: str | None = None,
        within: Scope | None = None,
    ) -> list[Source]:
        """``translation``: the query in the documents' other language (see
        query_translation.py), searched beside it; ``within``: only the documents
        of this scope."""
        return self.retriever.search(
            query, self.retrieval_config(top_k, within), translation
        )

    def scope(self, patterns: Sequence[str]) -> Scope | None:
        """The documents that ``patterns`` (files, folders, globs) name; None for
        no pattern. Raises AssistantError naming a pattern that matches none."""
        return resolve_scope(self.store.documents(), patterns) if patterns else None

    def unknown_names(self, question: str) -> list[str]:
        """Names in the question that no document mentions (see named_terms)."""
        if not self.store.has_text_index():
            return []  # cannot tell yet (the index is built after ingest)

        def passages_for(term: str) -> list[str]:
            hits = self.store.text_search(to_search_text(term), 10)
            return [str(h["text"]) for h in hits]

        return missing_names(question, passages_for)


def _open_store(
    location: Path | str, embedder: Embedder, settings: Settings
) -> ChunkStore:
    remote = is_remote(location)
    return ChunkStore(
        location,
        embedder.name,
        embedder.dim,
        settings.ann_min_rows,
        storage_options=settings.library_options,
        state_dir=shared_state_dir(str(location)) if remote else None,
    )


def search_question(
    library: Library,
    generator: Generator | None,
    question: str,
    top_k: int | None = None,
    cancel: CancelToken | None = None,
    within: Scope | None = None,
) -> tuple[list[Source], float]:
    """The passages for a question: a CJK question is searched together with its
    English translation by ``generator``, and with ``question_terms`` on both are
    searched with the model's guess at the documentation's terms appended
    (query_translation.py; ``generator`` None: the question alone). Returns the
    passages and the milliseconds the model spent on the question."""
    started = time.perf_counter()
    english = getattr(library.embedder, "english", None)  # routed: its English model
    pointless = english is not None and library.retriever.lacks_model(english.name)
    translation = (
        english_query(generator, question, cancel)
        if generator is not None and not pointless  # no English text to reach
        else None
    )
    query = question
    if generator is not None and library.settings.question_terms:
        terms = document_terms(generator, translation or question, cancel)
        query, translation = with_terms(question, translation, terms)
    rewritten_ms = (time.perf_counter() - started) * 1000
    return library.search(query, top_k, translation, within), rewritten_ms


FOLLOW_UP_WORDS = 6


def retrieval_query(question: str, history: list[Turn]) -> str:
    """Short follow-ups ("In what year?") often retrieve nothing on their own; the
    previous question gives them their topic. Used only when the question alone
    found no passage, so a short new question is not dragged back to the old topic."""
    if not history or not history[-1].question:
        return question
    cjk = sum(1 for ch in question if "\u3400" <= ch <= "\u9fff")
    short = len(question.split()) <= FOLLOW_UP_WORDS if cjk == 0 else cjk <= 12
    return f"{history[-1].question} {question}" if short else question


class Conversation:
    """A multi-turn chat grounded in the library; call from the model's owner thread."""

    def __init__(
        self,
        library: Library,
        generator: Generator,
        design: PromptDesign | None = None,
        decline_unsupported: bool = True,
        reading: ReadingSpeed | None = None,
    ) -> None:
        """``reading``: the chat model's measured reading speed, kept by the
        caller across conversations (it estimates the wait in ``on_sources``)."""
        self.library = library
        self.generator = generator
        self.design = design or DESIGNS[DEFAULT_DESIGN]
        self.decline_unsupported = decline_unsupported
        self.reading = reading or ReadingSpeed()
        self.history: list[Turn] = []

    def reset(self) -> None:
        self.history.clear()

    def ask_alone(self, question: str, adapter: Path | None = None) -> Answer:
        """``question`` with the earlier turns forgotten, as the evaluations ask:
        in rag, or in rag+sft when an adapter is given."""
        self.reset()
        if adapter is None:
            return self.ask(question)
        return self.ask(question, mode="rag+sft", adapter=adapter)

    QUESTION_SHARE = 0.5
    """Of the context left after the answer: the rest is for the passages."""

    def _check_length(self, question: str) -> None:
        """Refuse, with the numbers, a question the model cannot read whole (it
        would fail inside llama.cpp, or push every passage out)."""
        limit = int(
            (self.generator.context_length - self.library.settings.max_answer_tokens)
            * self.QUESTION_SHARE
        )
        if len(question) <= limit:  # fewer characters than tokens allowed: fine
            return
        tokens = self.generator.count_tokens(question)
        if tokens > limit:
            raise AssistantError(
                f"The question is too long for the model: {tokens} tokens, and it "
                f"can read about {limit} beside the passages. Shorten it, or add the "
                "text as a document and ask about it."
            )

    def _self_check(
        self,
        design: PromptDesign,
        messages: list[dict[str, str]],
        raw: str,
        checked: CheckedAnswer,
        cancel: CancelToken,
    ) -> float | None:
        """The model's own judgement of whether the excerpts answer the question
        with its reply (``PromptDesign.self_check``); None when not asked."""
        if not design.self_check or checked.declined or cancel.cancelled:
            return None
        check = [
            *messages,
            {"role": "assistant", "content": raw},
            {"role": "user", "content": SELF_CHECK_QUESTION},
        ]
        try:
            return self.generator.yes_odds(check)
        except NotImplementedError:  # a server without log-probabilities
            return None

    def prompt(
        self, question: str, sources: list[Source], grounded: bool = True
    ) -> tuple[PromptDesign, list[dict[str, str]], list[Source]]:
        """The design, the messages the model reads for ``question`` beside
        ``sources`` and this conversation's history, and the sources that fit."""
        design = self.design
        if grounded and design.widen:
            sources = widen_top(self.library.store, sources, design.widen)
        if grounded and design.key_sentences:
            lines = key_sentences(
                self.library.embedder, question, sources, design.key_sentences
            )
            design = dataclasses.replace(
                design,
                user_message=lambda q, s: key_lines_user_message(q, s, lines),
                key_lines=tuple(lines),
            )
        messages, included = build_messages(
            question,
            sources,
            self.history,
            self.generator.count_tokens,
            self.generator.context_length,
            self.library.settings.max_answer_tokens,
            grounded=grounded,
            design=design,
        )
        return design, messages, included

    def ask(
        self,
        question: str,
        on_token: TokenCallback | None = None,
        cancel: CancelToken | None = None,
        top_k: int | None = None,
        mode: str = "rag",
        adapter: Path | None = None,
        sources: list[Source] | None = None,
        on_sources: Callable[[ReadingPlan], None] | None = None,
        within: Scope | None = None,
    ) -> Answer:
        """Answer in one of ``ANSWER_MODES``; the sft modes need ``adapter``.
        ``sources``: answer from these passages instead of searching (benchmarks).
        ``on_sources``: called with the passages the model will read and how
        long it should take, before it starts (so a window can show them during
        the wait for the first token). ``within``: search only these documents."""
        if mode not in ANSWER_MODES:
            raise AssistantError(
                f"Unknown answer mode '{mode}' (use {', '.join(ANSWER_MODES)})."
            )
        if mode_uses_adapter(mode) and adapter is None:
            raise AssistantError(
                f"The '{mode}' mode needs a fine-tuned adapter; teach the model first "
                "(Teach view, or `assistant teach`)."
            )
        self._check_length(question)
        use_retrieval = mode_uses_retrieval(mode)
        self.generator.use_adapter(adapter if mode_uses_adapter(mode) else None)
        cancel = cancel or CancelToken()
        settings = self.library.settings
        started = time.perf_counter()
        translated_ms = 0.0
        if sources is None and use_retrieval:
            sources, translated_ms = search_question(
                self.library, self.generator, question, top_k, cancel, within
            )
        sources = sources or []
        if use_retrieval and not sources and self.history:
            sources = self.library.search(
                retrieval_query(question, self.history), top_k, within=within
            )
        retrieved = time.perf_counter()
        unknown = (
            self.library.unknown_names(question)
            if use_retrieval and self.decline_unsupported
            else []
        )
        if use_retrieval and (not sources or unknown):
            # nothing in the library is about this, or it never names what the
            # question asks about: say so without asking the model
            empty = not sources and self.library.store.count_chunks() == 0
            text = decline_text(question, unknown, empty)
            if on_token is not None:
                on_token(text)
            return Answer(
                text=text,
                sources=sources,
                cited=[],
                timings={
                    "retrieval_ms": (retrieved - started) * 1000,
                    "translate_ms": translated_ms,
                },
                mode=mode,
                declined=True,
            )
        design, messages, included = self.prompt(
            question, sources, grounded=use_retrieval
        )
        prompt_tokens = self.generator.count_tokens(
            "\n".join(m["content"] for m in messages)
        )
        if on_sources is not None and use_retrieval:
            on_sources(
                ReadingPlan(
                    included,
                    len(sources),
                    prompt_tokens,
                    self.reading.estimate_s(prompt_tokens),
                    quoted_from(design.key_lines, included),
                )
            )
        temperature = self.design.temperature if use_retrieval else None
        pieces: list[str] = []
        first_token_at: float | None = None
        interrupted = ""
        try:
            for token in self.generator.stream_chat(
                messages,
                max_tokens=settings.max_answer_tokens,
                temperature=settings.temperature
                if temperature is None
                else temperature,
                cancel=cancel,
            ):
                if first_token_at is None:
                    first_token_at = time.perf_counter()
                pieces.append(token)
                if on_token is not None:
                    on_token(token)
        except ServerLost as exc:
            if not pieces:
                raise
            interrupted = str(exc)  # the partial answer is kept, marked stopped
        finished = time.perf_counter()
        if first_token_at is not None:
            self.reading.record(prompt_tokens, first_token_at - retrieved)
        raw = "".join(pieces)
        verify_s = [0.0]
        if use_retrieval:
            embed = multilingual_embed(self.library.embedder)

            def verify(claims: list[Claim]) -> list[Claim]:
                if design.verifier is None or cancel.cancelled or interrupted:
                    return claims
                began = time.perf_counter()
                encoder = shipped_encoder() if design.verifier.use_encoder else None
                judged = verify_claims(
                    claims,
                    included,
                    question,
                    embed,
                    self.generator.judge_odds,
                    design.verifier,
                    cancel,
                    encoder.scores if encoder is not None else None,
                )
                verify_s[0] = time.perf_counter() - began
                return judged

            def answers(stated: list[Claim]) -> bool:
                if design.verifier is None:
                    return True
                began = time.perf_counter()
                found = answers_the_question(
                    stated, question, self.generator.judge_odds, design.verifier
                )
                verify_s[0] += time.perf_counter() - began
                return found

            checked = check_answer(
                question,
                raw,
                included,
                embed,
                decline_unsupported=self.decline_unsupported
                and not cancel.cancelled
                and not interrupted,
                verify=verify,
                answers=answers,
            )
            self_check = (
                None
                if interrupted
                else self._self_check(design, messages, raw, checked, cancel)
            )
            if self.decline_unsupported and fails_self_check(self_check):
                checked = CheckedAnswer(
                    decline_text(question), declined=True, withheld=checked.text
                )
        else:
            self_check = None
            checked = CheckedAnswer(link_citations(raw, 0)[0].strip())
        grounded_at = time.perf_counter()
        self.history.append(Turn(messages[-1]["content"], raw, question))
        generated = self.generator.count_tokens(raw) if raw else 0
        decode_s = finished - (first_token_at or finished)
        timings = {
            "retrieval_ms": (retrieved - started) * 1000,
            "translate_ms": translated_ms,
            "ttft_ms": ((first_token_at or finished) - retrieved) * 1000,
            "first_token_ms": ((first_token_at or finished) - started) * 1000,
            "grounding_ms": (grounded_at - finished) * 1000,
            "verify_ms": verify_s[0] * 1000,
            "total_ms": (grounded_at - started) * 1000,
            "tokens": float(generated),
            "tokens_per_s": (generated - 1) / decode_s
            if generated > 1 and decode_s > 0
            else 0.0,
        }
        return Answer(
            text=checked.text,
            sources=included,
            cited=checked.cited,
            unsupported=checked.unsupported,
            timings=timings,
            stopped=cancel.cancelled or bool(interrupted),
            interrupted=interrupted,
            mode=mode,
            claims=checked.claims,
            declined=checked.declined,
            withheld=checked.withheld,
            raw=raw,
            self_check=self_check,
        )
