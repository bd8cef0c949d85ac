"""The chunk index: one LanceDB table holding text, vectors and document metadata.

Document metadata rides on every chunk row instead of living in a second table,
so replacing or removing a document is a single LanceDB commit: after a crash the
index holds either the old or the new version of a document, never half, and no
chunk can outlive its document.

The same table holds *sentence rows*: one vector per sentence of a chunk, with the
chunk's id in ``parent`` (NULL on chunk rows) and no full-text. A one-line answer
inside a 200-token chunk is then found by its own vector instead of being diluted
in the chunk's (bench/retrieval_directions.py). Living in the chunk table, they are
replaced in the same commit as their chunks, reuse vectors by text hash like them,
and share the ANN index.

A long document's chunk rows are first written by their words alone (*text rows*,
``ingest_pipeline``): full text, no ``text_hash``, a zero vector (a cosine search
returns no zero vector), then overwritten with their vectors.
"""

from __future__ import annotations

import copy
import json
import logging
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from assistant.core.errors import (
    EmbedderMismatch,
    IndexDamaged,
    LibraryBusy,
    LibraryUnreachable,
)
from assistant.core.fsutil import atomic_write_text, is_remote, private_dir
from assistant.core.types import DocumentInfo

log = logging.getLogger(__name__)

TABLE = "chunks"
META_FILE = "index.json"
META_KEY = b"assistant"
"""Schema metadata holding the index's ``IndexMeta`` (on object storage, where
there is no folder for ``index.json``)."""
REMOTE_REFRESH = timedelta(seconds=5)
"""How stale a shared library's view may be: each handle caches the table's
version and asks the store for a newer one at most this often (another desktop's
commits show within it; searches in between read no manifest)."""
SCHEMA_VERSION = 1
DOC_COLUMNS = [
    "doc_id",
    "path",
    "title",
    "kind",
    "content_hash",
    "file_size",
    "page_count",
    "ingested_at",
]
HIT_COLUMNS = [
    "chunk_id",
    "doc_id",
    "path",
    "title",
    "page",
    "page_label",
    "start",
    "end",
    "heading",
    "text",
    "vector",
    "boxes",
]
SEARCH_HIT_COLUMNS = ["chunk_id"]
"""What a search returns of each row: the fusion ranks chunk ids, and only the few
shown are read whole (``chunks_by_id``). At 400k rows a vector search selecting the
id took 8.1 ms against 15.7 with the hit columns (each column is a random read
per hit), a full-text search 5.3 against 12.7."""
RowKind = Literal["chunks", "sentences", "all"]
CHUNK_ROWS = "parent IS NULL"
SENTENCE_ROWS = "parent IS NOT NULL"
PENDING_VECTOR = "pooled:"
"""Before a chunk row's ``text_hash`` (its text's hash): its vector is its
sentences' mean, kept until it is encoded whole (a staged index's first stage,
``staged_index.py``)."""
PENDING_ROWS = f"{CHUNK_ROWS} AND text_hash LIKE '{PENDING_VECTOR}%'"


def final_hash(text_hash: str) -> str:
    """The hash of a chunk's text, whether or not its vector is still pending."""
    return text_hash.removeprefix(PENDING_VECTOR)


ANN_SAMPLE_RATE = 64
"""Vectors per IVF partition that train it (LanceDB's default is 256). On the R
manual's 48k rows: peak +450 MB and 18.8 s to build, against +840 MB and 26.2 s;
recall@30 of 20 questions against exact search 0.968 vs 0.965-0.99 at 256 (each
build's k-means differs as much as the rates do)."""
ANN_PARTITION_ROWS = 2048
"""Rows per IVF partition of the ANN index (each searched by its own HNSW graph).
A search probes ``ANN_PROBES``; its recall against exact search follows the share
of partitions probed, not their count. On the dev set's 18,745 rows (its 172
question vectors, recall@10 against exact search, two builds each): 136 partitions
(the square root of the rows, the rule before 2026-12-06) 0.946 / 0.945, 64
partitions 0.970 / 0.986, 16 partitions 0.996 / 0.996, 9 (this rule) 0.994 /
0.992, at the same 5-6 ms a search and 4-5 s to build. The square root had left
one library's answerable hit@1 three questions below another built from the same
files."""
ANN_PROBES = 24
"""IVF partitions a vector search probes (the nearest to the query)."""
ANN_MAX_PARTITIONS: int | None = 12
"""At most this many partitions, so a search probes every one, or ``None``: one
per ``ANN_PARTITION_ROWS`` however many. ``bench/ann_scale.py`` (the dev set's
vectors grown to 400k rows, its 142 query vectors, recall@10 against exact
search): 195 partitions, 24 probed, 0.942 (USE views 0.924, 6 queries below 0.5)
at 17.7 ms a search; 12 partitions 0.988 (0.983, none below 0.5) at 11.4 ms;
at 100k rows 0.979 against 0.999. The cost is the build: 134 s against 92 at
400k rows (once; later writes extend it)."""


def ann_partitions(
    rows: int, max_partitions: int | None, rows_per_partition: int = ANN_PARTITION_ROWS
) -> int:
    """IVF partitions of an index over ``rows`` vectors."""
    partitions = max(1, rows // rows_per_partition)
    return partitions if max_partitions is None else min(partitions, max_partitions)


def ann_index_name(max_partitions: int | None) -> str:
    """The ANN index's name says the rule it was built by: an index of another
    rule (``vector_idx``: the square root of the rows) is built again by this
    one..."""
    cap = "" if max_partitions is None else f"c{max_partitions}"
    return f"vector_p{ANN_PARTITION_ROWS}{cap}"


ANN_INDEX_NAME = ann_index_name(ANN_MAX_PARTITIONS)

ANN_REBUILD_MAX_ROWS = 100_000
"""...in the maintenance after a write, up to this many rows (~30 s; a larger
library keeps its index until it is re-indexed)."""


def chunk_schema(dim: int, meta: IndexMeta | None = None) -> pa.Schema:
    metadata = {META_KEY: json.dumps(meta.__dict__).encode()} if meta else None
    return pa.schema(
        [
            ("chunk_id", pa.string()),
            ("doc_id", pa.string()),
            ("path", pa.string()),
            ("title", pa.string()),
            ("kind", pa.string()),
            ("content_hash", pa.string()),
            ("file_size", pa.int64()),
            ("page_count", pa.int32()),
            ("ingested_at", pa.float64()),
            ("ordinal", pa.int32()),
            ("page", pa.int32()),
            ("page_label", pa.string()),
            ("start", pa.int32()),
            ("end", pa.int32()),
            ("heading", pa.string()),
            ("text", pa.string()),
            ("text_hash", pa.string()),
            ("search_text", pa.string()),
            ("vector", pa.list_(pa.float32(), dim)),
            ("parent", pa.string()),
            ("boxes", pa.string()),
        ],
        metadata=metadata,
    )


@dataclass(frozen=True)
class IndexMeta:
    embedder: str
    dim: int
    schema_version: int = SCHEMA_VERSION


def chunk_row_id(doc_id: str, ordinal: int) -> str:
    return f"{doc_id}:{ordinal}"


def sentence_row_id(chunk_id: str, n: int) -> str:
    """A sentence row's id: its chunk's id and its number (``parent_chunk``)."""
    return f"{chunk_id}:s{n}"


_CHILD_ROW = re.compile(r"^(.+):[sq]\d+$")


def parent_chunk(row_id: str) -> str | None:
    """The chunk a sentence row (or an earlier version's question row) belongs
    to, read from its id (a search need not fetch the ``parent`` column); None for
    a chunk row. Document ids are hex."""
    child = _CHILD_ROW.match(row_id)
    return child.group(1) if child else None


def import_lancedb() -> None:
    """Import LanceDB now: 2.5 s of Python, much of it building pydantic models
    while holding the interpreter. Whichever thread calls first imports; another
    waits for it (Python's per-module import lock). The window's chat worker
    calls this before loading the chat model so the two start-up loads take
    turns: on two cores, the import beside llama.cpp's load left the event
    loop waiting 120-145 ms for the GIL (bench/gui_stall.py)."""
    import lancedb  # noqa: F401


def connect(
    location: Path | str,
    storage_options: Mapping[str, str] | None,
    sees_every_commit: bool = False,
) -> Any:
    """A LanceDB connection; an object store's endpoint, region and credentials
    come from ``storage_options`` or, as LanceDB reads them itself, from the
    standard ``AWS_*`` variables and AWS config files. ``sees_every_commit``: a
    local table checks for a newer version at each read (a reader beside the
    process's writer; otherwise a handle sees only its own commits)."""
    import lancedb

    if not is_remote(location):
        interval = timedelta(0) if sees_every_commit else None
        return lancedb.connect(str(location), read_consistency_interval=interval)
    return lancedb.connect(
        str(location),
        storage_options=dict(storage_options or {}),
        read_consistency_interval=REMOTE_REFRESH,
    )


def _schema_meta(table: Any) -> tuple[str, int] | None:
    raw = (table.schema.metadata or {}).get(META_KEY)
    if raw is None:
        return None
    meta = json.loads(raw)
    return str(meta["embedder"]), int(meta["dim"])


class ChunkStore:
    """A LanceDB library, in a folder on disk or at an object-store URI; one
    instance per process.

    ``directory`` is always a local folder: the library itself when it is local,
    else ``state_dir``, where this desktop keeps what is its own (watched folders).
    """

    def __init__(
        self,
        location: Path | str,
        embedder: str,
        dim: int,
        ann_min_rows: int = 5_000,
        storage_options: Mapping[str, str] | None = None,
        state_dir: Path | None = None,
        ann_max_partitions: int | None = ANN_MAX_PARTITIONS,
    ) -> None:
        self.remote = is_remote(location)
        if self.remote:
            if state_dir is None:
                raise ValueError("a shared library needs a local state_dir")
            self.location = str(location).rstrip("/")
            self.directory = private_dir(state_dir)
        else:
            self.directory = private_dir(Path(location))
            self.location = str(self.directory)
        self.ann_min_rows = ann_min_rows
        self.ann_max_partitions = ann_max_partitions
        meta_path = self.directory / META_FILE
        if not self.remote and meta_path.exists():
            stored_embedder, stored_dim = _read_meta(meta_path)
            if (stored_embedder, stored_dim) != (embedder, dim):
                raise EmbedderMismatch(stored_embedder, stored_dim, embedder, dim)
        self.meta = IndexMeta(embedder, dim)
        self.read_only = False
        """A reader (``reader()``): another thread's handle, which never writes."""
        self._writes = 0
        self._storage_options = dict(storage_options or {})
        self._vector_index: tuple[int, float, bool] | None = None
        try:
            self._db: Any = connect(self.location, storage_options)
            tables = self._db.table_names()
        except Exception as exc:
            raise LibraryUnreachable(self.location, exc) from exc
        if TABLE in tables:
            try:
                self._table: Any = self._db.open_table(TABLE)
                stored = _schema_meta(self._table) if self.remote else None
                if not self.remote:  # (over a network: a read of the whole table)
                    # every data file's ids: a truncated or deleted one shows here
                    self._table.search().select(["chunk_id"]).limit(None).to_arrow()
            except Exception as exc:
                raise IndexDamaged(self.location, _first_line(exc)) from exc
            if stored is not None and stored != (embedder, dim):
                raise EmbedderMismatch(stored[0], stored[1], embedder, dim)
            missing = [
                c for c in ("parent", "boxes") if c not in self._table.schema.names
            ]
            if missing:
                # a library from before sentence rows (every row is a chunk) or
                # before OCR boxes
                _retry_conflicts(
                    lambda: self._table.add_columns(
                        {c: "CAST(NULL AS STRING)" for c in missing}
                    )
                )
        else:
            self._table = self._db.create_table(
                TABLE, schema=chunk_schema(dim, self.meta), exist_ok=self.remote
            )
        if not self.remote and not meta_path.exists():
            atomic_write_text(meta_path, json.dumps(self.meta.__dict__, indent=2))
        if self.count_chunks() and not self.has_text_index():
            self.maintain()  # a crash after a commit but before indexing: repair now

    @staticmethod
    def indexed_embedder(
        location: Path | str, storage_options: Mapping[str, str] | None = None
    ) -> str | None:
        """The embedder an existing index was built with (None: no readable index)."""
        if is_remote(location):
            try:
                table = connect(location, storage_options).open_table(TABLE)
                meta = _schema_meta(table)
            except Exception:  # no table yet, or unreachable: opening it says which
                return None
            return meta[0] if meta else None
        try:
            return _read_meta(Path(location) / META_FILE)[0]
        except IndexDamaged:  # missing or unreadable: opening it will say which
            return None

    @staticmethod
    def stored_paths(directory: Path | str) -> list[str]:
        """The file paths of the documents in an index, read without opening it
        for search (so whatever embedder made it). If the newest version of the
        table cannot be read (a truncated or deleted data file), the newest older
        version that can be read gives them; a newest manifest that cannot even be
        opened is moved into ``damaged-manifests/`` so the version before it opens."""
        import lancedb

        if is_remote(directory):
            try:
                table = connect(directory, None).open_table(TABLE)
            except Exception:
                return []
            column = table.search().select(["path"]).limit(None).to_arrow()["path"]
            return sorted(set(column.to_pylist()))
        directory = Path(directory)
        if not (directory / f"{TABLE}.lance").exists():
            return []
        while True:
            try:
                table = lancedb.connect(str(directory)).open_table(TABLE)
                versions = sorted(
                    (int(v["version"]) for v in table.list_versions()), reverse=True
                )
                break
            except Exception as exc:
                if not _set_newest_manifest_aside(directory):
                    raise IndexDamaged(
                        directory, f"the table cannot be opened: {_first_line(exc)}"
                    ) from exc
                log.warning("newest table version unreadable, set aside: %s", exc)
        for version in versions:
            try:
                table.checkout(version)
                column = table.search().select(["path"]).limit(None).to_arrow()["path"]
                return sorted(set(column.to_pylist()))
            except Exception as exc:
                log.warning("index version %d unreadable: %s", version, exc)
        raise IndexDamaged(directory, "no version of the table can be read")

    # ---- documents -------------------------------------------------------------
    def count_chunks(self) -> int:
        return int(self._table.count_rows(CHUNK_ROWS))

    def count_rows_without_vectors(self) -> int:
        """Text rows (a long document's words, committed before its vectors)."""
        return int(self._table.count_rows(f"{CHUNK_ROWS} AND text_hash IS NULL"))

    def count_sentences(self) -> int:
        """Sentence rows (and the question rows an earlier version could add)."""
        return int(self._table.count_rows(SENTENCE_ROWS))

    def count_pending_vectors(self) -> int:
        """Chunk rows whose vector is still their sentences' mean."""
        return int(self._table.count_rows(PENDING_ROWS))

    def pending_vector_rows(self, limit: int) -> list[dict[str, Any]]:
        """Up to ``limit`` whole chunk rows (every column) whose vector is still
        their sentences' mean, a document's together in reading order."""
        query = self._table.search().where(PENDING_ROWS).limit(limit)
        rows = query.to_arrow().to_pylist()
        return sorted(rows, key=lambda row: (row["doc_id"], row["ordinal"]))

    def update_rows(self, rows: list[dict[str, Any]]) -> None:
        """One commit: rows whose chunk id is stored replace it; the others are
        dropped (their document was removed or re-chunked since they were read)."""
        self._writing()
        data = _to_table(rows, chunk_schema(self.meta.dim))
        merge = self._table.merge_insert("chunk_id").when_matched_update_all()
        self._commit(lambda: merge.execute(data))

    def chunk_rows(self) -> list[dict[str, Any]]:
        """Every chunk row's columns but its vector and full text."""
        names = [
            n for n in self._table.schema.names if n not in ("vector", "search_text")
        ]
        return self.scan(names).to_pylist()

    def documents(self) -> list[DocumentInfo]:
        if self.count_chunks() == 0:
            return []
        table = self.scan([*DOC_COLUMNS, "page", "text_hash"])
        embedded = pc.is_valid(table["text_hash"])  # not a text-only row
        table = table.append_column(
            "embedded", pc.cast(embedded, pa.int32())
        ).append_column(
            "embedded_page",
            pc.if_else(embedded, table["page"], pa.scalar(None, pa.int32())),
        )
        grouped = table.group_by(DOC_COLUMNS).aggregate(
            [("embedded", "sum"), ("page", "max"), ("embedded_page", "max")]
        )
        docs = [
            DocumentInfo(
                doc_id=row["doc_id"],
                path=row["path"],
                title=row["title"],
                kind=row["kind"],
                content_hash=row["content_hash"],
                size=row["file_size"],
                pages=row["page_count"],
                chunks=row["embedded_sum"] or 0,
                ingested_at=row["ingested_at"],
                pages_indexed=row["embedded_page_max"] or 0,
                pages_by_words=row["page_max"] or 0,
            )
            for row in grouped.to_pylist()
        ]
        return sorted(docs, key=lambda d: d.path)

    def document(self, doc_id: str) -> DocumentInfo | None:
        return next((d for d in self.documents() if d.doc_id == doc_id), None)

    def page_chunks(self, doc_id: str, page: int | None) -> list[dict[str, Any]]:
        """The chunks of one page (of the whole document when it has no pages),
        in reading order: their ``start``, ``end``, ``text`` and OCR ``boxes``."""
        where = f"doc_id = '{_safe(doc_id)}' AND " + (
            "page IS NULL" if page is None else f"page = {int(page)}"
        )
        rows = self.scan(["start", "end", "text", "boxes"], where=where).to_pylist()
        return sorted(rows, key=lambda row: (row["start"], row["end"]))

    def vectors_by_text_hash(self, doc_id: str) -> dict[str, np.ndarray]:
        """Vectors already stored for a document (chunks and sentences), to reuse
        for unchanged text."""
        rows = self.scan(
            ["text_hash", "vector"],
            where=f"doc_id = '{_safe(doc_id)}' AND text_hash IS NOT NULL",
            rows=None,
        )
        hashes = rows.column("text_hash").to_pylist()
        vectors = rows.column("vector").to_numpy(zero_copy_only=False)
        return {
            h: np.asarray(v, dtype=np.float32)
            for h, v in zip(hashes, vectors, strict=True)
        }

    def replace_document(self, doc_id: str, rows: list[dict[str, Any]]) -> None:
        """Atomically swap a document's chunks for ``rows`` (one commit)."""
        self.replace_documents([doc_id], rows)

    def replace_documents(self, doc_ids: list[str], rows: list[dict[str, Any]]) -> None:
        """Atomically swap the chunks of several documents (one commit)."""
        self.write_rows(rows, replace=doc_ids)

    def write_rows(self, rows: list[dict[str, Any]], replace: list[str]) -> None:
        """One commit: insert or update ``rows`` by chunk id, and delete the other
        rows of the documents in ``replace`` (their new version is all in
        ``rows``, or starts there: a long document's first page batch)."""
        self._writing()
        data = _to_table(rows, chunk_schema(self.meta.dim))
        merge = (
            self._table.merge_insert("chunk_id")
            .when_matched_update_all()
            .when_not_matched_insert_all()
        )
        if replace:
            listed = ", ".join(f"'{_safe(d)}'" for d in replace)
            merge = merge.when_not_matched_by_source_delete(f"doc_id IN ({listed})")
        self._commit(lambda: merge.execute(data))

    def finish_document(self, doc_id: str, content_hash: str, chunks: int) -> None:
        """Mark a document indexed in page batches as complete: its file's hash on
        all its rows, in one commit, after dropping any rows numbered past its
        ``chunks`` (left by a copy chunked with other settings)."""
        self._writing()
        where = f"doc_id = '{_safe(doc_id)}'"
        if self._table.count_rows(f"{where} AND ordinal >= {int(chunks)}"):
            self._commit(
                lambda: self._table.delete(f"{where} AND ordinal >= {int(chunks)}")
            )
        self._commit(
            lambda: self._table.update(
                where=where, values={"content_hash": content_hash}
            )
        )

    def committed_chunks(self, doc_id: str) -> dict[str, str]:
        """Chunk id -> text hash of a document's chunk rows (a partly indexed
        document continues after these)."""
        rows = self.scan(["chunk_id", "text_hash"], where=f"doc_id = '{_safe(doc_id)}'")
        return dict(
            zip(
                rows.column("chunk_id").to_pylist(),
                rows.column("text_hash").to_pylist(),
                strict=True,
            )
        )

    def remove_document(self, doc_id: str) -> None:
        self._writing()
        self._commit(lambda: self._table.delete(f"doc_id = '{_safe(doc_id)}'"))

    def reader(self) -> ChunkStore:
        """A handle on this index for another thread: its own connection, which
        sees each commit as it lands, and its own caches; it never writes. (The
        chat thread searches with one while the library thread writes.)"""
        reader = copy.copy(self)
        reader.read_only = True
        reader._db = connect(self.location, self._storage_options, True)
        reader._table = reader._db.open_table(TABLE)
        reader._vector_index = None
        return reader

    @property
    def generation(self) -> int:
        """Changes with every commit this handle knows of: its own writes, or for
        a reader the table's version (anyone's commit). Caches key on it."""
        return int(self._table.version) if self.read_only else self._writes

    def _writing(self) -> None:
        if self.read_only:
            raise RuntimeError("a reader of the index never writes")
        self._writes += 1

    def _commit(self, action: Callable[[], object]) -> None:
        """A write, retried while other writers commit first; if they still do
        after every retry, :class:`LibraryBusy` (nothing of this write landed)."""
        try:
            _retry_conflicts(action)
        except Exception as exc:
            if _is_conflict(exc):
                raise LibraryBusy(self.location) from exc
            raise

    # ---- search ----------------------------------------------------------------
    def vector_search(
        self,
        vector: np.ndarray,
        limit: int,
        rows: RowKind = "chunks",
        exact: bool = False,
        within: Sequence[str] | None = None,
    ) -> list[dict[str, Any]]:
        """The ids and distances of the nearest rows of a kind: chunks, sentences
        (``parent_chunk`` of their id is the chunk they belong to) or both, in one
        search (no filter to evaluate: at 400k rows a filtered search took 44-50
        ms, an unfiltered one 19 ms); ``exact``: without the approximate index;
        ``within``: only rows of these documents (ids)."""
        query = (
            self._table.search(vector.astype(np.float32), vector_column_name="vector")
            .metric("cosine")
            .select([*SEARCH_HIT_COLUMNS, "_distance"])
            .limit(limit)
        )
        kind = (
            ""
            if rows == "all"
            else SENTENCE_ROWS
            if rows == "sentences"
            else CHUNK_ROWS
        )
        where = " AND ".join(f"({w})" for w in (kind, _documents(within)) if w)
        if where:
            query = query.where(where, prefilter=True)
        if exact:
            query = query.bypass_vector_index()
        elif self.has_vector_index():
            # refine 1: exact distances for the rows found (similarity floors
            # compare them); a larger factor cost 30-60 % more for recall@30 0.99
            query = query.nprobes(ANN_PROBES).refine_factor(1)
        return list(query.to_list())

    def chunks_by_id(self, chunk_ids: list[str]) -> list[dict[str, Any]]:
        """Chunk rows (the ``HIT_COLUMNS``) for these ids, in no particular order."""
        if not chunk_ids:
            return []
        listed = ", ".join(f"'{_safe(c)}'" for c in chunk_ids)
        query = (
            self._table.search()
            .where(f"chunk_id IN ({listed})")
            .select(HIT_COLUMNS)
            .limit(len(chunk_ids))  # (with the id index: 4 ms at 400k rows, not 56)
        )
        return list(query.to_list())

    def has_text_index(self) -> bool:
        return self.has_index("search_text")

    def text_search(
        self,
        search_text: str,
        limit: int,
        columns: Sequence[str] = HIT_COLUMNS,
        within: Sequence[str] | None = None,
    ) -> list[dict[str, Any]]:
        """The best chunk rows by BM25, with ``columns`` (``SEARCH_HIT_COLUMNS``
        where only the few shown will be read whole); ``within``: only rows of
        these documents (ids)."""
        if not search_text.strip() or not self.has_text_index():
            return []
        query = (
            self._table.search(search_text, query_type="fts", fts_columns="search_text")
            .select([*columns, "_score"])
            .limit(limit)
        )
        if within is not None:
            query = query.where(_documents(within), prefilter=True)
        try:
            return list(query.to_list())
        except Exception as exc:  # e.g. a query of nothing but stop words
            log.debug("full-text search failed for %r: %s", search_text, exc)
            return []

    # ---- maintenance -----------------------------------------------------------
    def maintain(self) -> None:
        """Bring indexes up to date after writes (FTS always; ANN once large).
        Another process writing the same library at the same time is retried; if
        it still conflicts, this maintenance is left to the next write (the data
        is committed already)."""
        self._writing()
        try:
            _retry_conflicts(self._maintain)
        except Exception as exc:
            if not _is_conflict(exc):
                raise
            log.warning("index maintenance skipped (another writer): %s", exc)

    def _maintain(self) -> None:
        rows = int(self._table.count_rows())
        if rows == 0:
            return
        # compact (and bring existing indexes up to date) before building new
        # ones: an index built first is rewritten for the compacted files, which
        # took 4.7 s of a fresh 20,000-row library's 10.5 s of maintenance
        self._table.optimize()
        from lancedb.index import FTS

        if not self.has_text_index():
            self._table.create_index(
                "search_text",
                config=FTS(
                    base_tokenizer="simple",
                    language="English",
                    stem=True,
                    remove_stop_words=True,
                    ascii_folding=True,
                ),
                replace=True,
            )
        if not self.has_index("chunk_id"):
            from lancedb.index import BTree

            self._table.create_index("chunk_id", config=BTree(), replace=True)
        ann = self.indexes_on("vector")
        stale = [name for name in ann if name != self.ann_index_name]
        # its partitions are trained on real vectors: not while a stopped long
        # document's text rows (zero vectors) wait for theirs (searched exactly)
        if (
            rows >= self.ann_min_rows
            and (not ann or (stale and rows <= ANN_REBUILD_MAX_ROWS))
            and not self.count_rows_without_vectors()
        ):
            self._table.create_index(
                metric="cosine",
                vector_column_name="vector",
                index_type="IVF_HNSW_SQ",
                num_partitions=ann_partitions(rows, self.ann_max_partitions),
                sample_rate=ANN_SAMPLE_RATE,
                name=self.ann_index_name,
                replace=True,
            )
            for name in stale:  # searches use the new one from here
                self._table.drop_index(name)

    @property
    def ann_index_name(self) -> str:
        """The name of the ANN index this store builds (its partition rule)."""
        return ann_index_name(self.ann_max_partitions)

    def has_vector_index(self) -> bool:
        """Whether the ANN index exists, asked again after a write here or after
        a few seconds (another process may have built it)."""
        now = time.monotonic()
        known = self._vector_index
        if known is None or known[0] != self.generation or now - known[1] > 5.0:
            known = self._vector_index = (
                self.generation,
                now,
                self.has_index("vector"),
            )
        return known[2]

    def has_index(self, column: str) -> bool:
        return bool(self.indexes_on(column))

    @property
    def table(self) -> Any:
        """The LanceDB table itself, for benchmarks and tests that build, drop or
        list its indexes directly; the app goes through the methods above."""
        return self._table

    def indexes_on(self, column: str) -> list[str]:
        """The names of the indexes on ``column``."""
        return [idx.name for idx in self._table.list_indices() if column in idx.columns]

    def scan(
        self,
        columns: list[str],
        where: str | None = None,
        rows: str | None = CHUNK_ROWS,
    ) -> pa.Table:
        """Columns of the chunk rows (``rows=None``: sentence rows too)."""
        query = self._table.search().select(columns).limit(None)
        condition = " AND ".join(f"({c})" for c in (where, rows) if c)
        if condition:
            query = query.where(condition)
        return query.to_arrow()


def _set_newest_manifest_aside(directory: Path) -> bool:
    """Move the newest version's manifest out of the table (kept for inspection)
    so LanceDB opens the version before it; False when none older is left."""
    manifests = sorted(
        (
            path
            for path in (directory / f"{TABLE}.lance" / "_versions").glob("*.manifest")
            if path.stem.isdigit()
        ),
        key=_manifest_version,
    )
    if len(manifests) < 2:
        return False
    aside = directory / "damaged-manifests"
    aside.mkdir(exist_ok=True)
    manifests[-1].rename(aside / manifests[-1].name)
    return True


def _manifest_version(path: Path) -> int:
    """Lance names manifests ``{version}.manifest`` or, in its newer scheme,
    ``{2**64 - 1 - version}.manifest`` so the newest sorts first."""
    number = int(path.stem)
    return 2**64 - 1 - number if number >= 2**63 else number


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:200] if text else type(exc).__name__


def _is_conflict(exc: Exception) -> bool:
    return "conflict" in str(exc).lower()


def _retry_conflicts(action: Callable[[], object], attempts: int = 6) -> None:
    """Run a LanceDB write, retrying commit conflicts (another process committed
    first) with a growing pause; other errors are raised at once."""
    for attempt in range(attempts):
        try:
            action()
            return
        except Exception as exc:
            if not _is_conflict(exc) or attempt == attempts - 1:
                raise
            time.sleep(0.05 * 2**attempt)


def _read_meta(path: Path) -> tuple[str, int]:
    """The embedder name and dimension an index was built with."""
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
        return str(meta["embedder"]), int(meta["dim"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise IndexDamaged(path.parent, f"{path.name} is unreadable: {exc}") from exc


def _to_table(rows: list[dict[str, Any]], schema: pa.Schema) -> pa.Table:
    """Column-wise conversion: vectors go in as one numpy block. (Row-wise
    ``from_pylist`` holds the GIL long enough to stall the window's event loop.)"""
    arrays = []
    for schema_field in schema:
        if schema_field.name in ("parent", "boxes"):  # only some rows have one
            values = [row.get(schema_field.name) for row in rows]
        else:
            values = [row[schema_field.name] for row in rows]
        if schema_field.name == "vector":
            dim = schema_field.type.list_size
            flat = np.asarray(values, dtype=np.float32).reshape(-1)
            arrays.append(pa.FixedSizeListArray.from_arrays(pa.array(flat), dim))
        else:
            arrays.append(pa.array(values, type=schema_field.type))
    return pa.Table.from_arrays(arrays, schema=schema)


def _documents(doc_ids: Sequence[str] | None) -> str:
    """A filter on these documents ("" for none given: every document)."""
    if doc_ids is None:
        return ""
    listed = ", ".join(f"'{_safe(d)}'" for d in doc_ids) or "''"
    return f"doc_id IN ({listed})"


def _safe(value: str) -> str:
    return value.replace("'", "''")
