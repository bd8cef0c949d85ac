"""The library of documents: add, list, remove, search (a handle on one index)."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from assistant.core.cancel import CancelToken
from assistant.core.config import (
    Settings,
    library_location,
    shared_state_dir,
)
from assistant.core.embed.embedding import (
    Embedder,
)
from assistant.core.fsutil import is_remote
from assistant.core.index.scopes import Scope, resolve_scope
from assistant.core.index.store import ChunkStore
from assistant.core.index.swap import recover
from assistant.core.ingest.pipeline import (
    IngestOptions,
    ProgressCallback,
    doc_id_for,
    run_ingest,
)
from assistant.core.ingest.staged_index import (
    CompletionProgress,
    CompletionReport,
    complete_index,
)
from assistant.core.model_files import (
    BUILTIN_EMBEDDERS,
)
from assistant.core.retrieve.named_terms import missing_names
from assistant.core.retrieve.retrieval import (
    Reranker,
    RetrievalConfig,
    Retriever,
    load_reranker,
)
from assistant.core.search_text import to_search_text
from assistant.core.services import components
from assistant.core.types import (
    DocumentInfo,
    IngestReport,
    Source,
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
            recover(Path(directory))  # a re-index a crash interrupted mid-swap
        indexed = ChunkStore.indexed_embedder(directory, settings.library_options)
        wanted = components.embedder_name(settings, indexed)
        if indexed in BUILTIN_EMBEDDERS and wanted != indexed:
            embedder = components.embedder_named(indexed or "", settings.threads)
            library = cls(settings, embedder, directory=directory)
            library.awaiting_embedder = wanted
            return library
        return cls(
            settings, components.load_embedder(settings, indexed), directory=directory
        )

    def reader(self, settings: Settings) -> Library:
        """The library as another thread searches it: its own handle on the index
        (``ChunkStore.reader``: own connection and caches, never writes), its own
        retriever and settings; the embedder and re-ranker are shared (their
        models are locked per call). The chat thread gets one from the library
        thread, which keeps writing through its own."""
        reader = self.with_settings(settings)
        reader.store = self.store.reader()
        reader.retriever = Retriever(
            reader.store, self.embedder, self.retriever.reranker
        )
        return reader

    def with_settings(self, settings: Settings) -> Library:
        """The same handle with other settings (for the thread that owns it)."""
        changed = copy.copy(self)
        changed.settings = settings
        return changed

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

    def complete_index(
        self,
        progress: Callable[[CompletionProgress], None] | None = None,
        cancel: CancelToken | None = None,
    ) -> CompletionReport:
        """A staged index's second stage: the chunks whose vector was pooled from
        their sentences, encoded whole (staged_index.py); nothing when none is."""
        return complete_index(self.store, self.embedder, progress, cancel)

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
