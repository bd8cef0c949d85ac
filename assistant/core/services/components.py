"""Which embedder and which chat model the settings name, and loading them:
one table of embedder kinds instead of a chain of ifs."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from assistant.core.answer import claim_encoder
from assistant.core.config import (
    Settings,
    chat_server,
    embedding_server_url,
    server_api_key,
)
from assistant.core.embed.embedding import (
    Embedder,
    SentenceTransformerEmbedder,
)
from assistant.core.embed.openai_embedding import (
    is_server_embedder,
    server_embedder_name,
)
from assistant.core.errors import AssistantError
from assistant.core.fast_tokenizer import shared_tokenizer
from assistant.core.generate.llm import Generator, LlamaGenerator
from assistant.core.model_files import (
    BUILTIN_EMBEDDERS,
    ONNX_EMBEDDERS,
    ROUTED_EMBEDDER,
    ROUTED_ENGLISH,
    USE_EMBEDDER,
    resolve_chat_model,
    resolve_embedder,
)


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
    return embedder_named(setting, settings.threads)


def _server_embedder(setting: str, settings: Settings) -> Embedder:
    from assistant.core.embed.openai_embedding import OpenAIEmbedder

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


EmbedderFactory = Callable[[Path, str, int], Embedder]
"""(the model's folder, its name, threads) -> the embedder."""


def _routed(path: Path, name: str, threads: int) -> Embedder:
    from assistant.core.embed.routed_embedding import RoutedEmbedder

    return RoutedEmbedder(
        embedder_named(USE_EMBEDDER, threads), embedder_named(ROUTED_ENGLISH, threads)
    )


def _use(path: Path, name: str, threads: int) -> Embedder:
    from assistant.core.embed.use_embedding import UseEmbedder

    return UseEmbedder(path, threads)


def _onnx(path: Path, name: str, threads: int) -> Embedder:
    from assistant.core.embed.onnx_embedding import OnnxEmbedder, exported_embedder

    return OnnxEmbedder(path, exported_embedder(name), name, threads=threads)


def _sentence_transformer(path: Path, name: str, threads: int) -> Embedder:
    return SentenceTransformerEmbedder(path, name=name, threads=threads)


EMBEDDER_KINDS: dict[str, EmbedderFactory] = {
    ROUTED_EMBEDDER: _routed,
    USE_EMBEDDER: _use,
    **dict.fromkeys(ONNX_EMBEDDERS, _onnx),
}
"""Built-in embedders by name (their modules are imported only when chosen); any
other model folder is read with sentence-transformers."""


def embedder_named(setting: str, threads: int = 0) -> Embedder:
    """The embedder a setting (built-in name or model folder) names."""
    path, name = resolve_embedder(setting)
    return EMBEDDER_KINDS.get(name, _sentence_transformer)(path, name, threads)


def warm_tokenizers(settings: Settings) -> None:
    """Load the configured embedder's and the claim encoder's tokenizers on the
    calling thread, as the app
    does before its window shows (why: ``fast_tokenizer.shared_tokenizer``). A
    best guess: a library made with another embedder loads its own later, and a
    problem is reported by the real load, not here."""
    from assistant.core.embed.onnx_embedding import max_sequence

    setting = _embedder_setting(settings, None)
    try:
        if is_server_embedder(setting):
            names = [ROUTED_ENGLISH]
        else:
            name = resolve_embedder(setting)[1]
            routed = name == ROUTED_EMBEDDER
            names = [USE_EMBEDDER, ROUTED_ENGLISH] if routed else [name]
        for name in names:
            path, name = resolve_embedder(name)
            shared_tokenizer(path)  # counting chunks' tokens
            if name in ONNX_EMBEDDERS:
                shared_tokenizer(path, max_sequence(path))
    except (AssistantError, OSError, ValueError):
        pass
    tokenizer = claim_encoder.default_folder() / "tokenizer.json"
    if tokenizer.exists():
        claim_encoder.pair_tokenizer(tokenizer.parent)


def load_generator(settings: Settings, adapter: Path | None = None) -> Generator:
    """The local GGUF model, or the OpenAI-compatible server the settings (or
    ``ASSISTANT_CHAT_BASE_URL``) name."""
    server = chat_server(settings)
    if server is not None:
        from assistant.core.generate.openai_chat import OpenAIGenerator

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
