from __future__ import annotations

from pathlib import Path

import numpy as np

from assistant.core.index.store import ChunkStore


def _rows(
    doc: str, count: int, dim: int, rng: np.random.Generator
) -> list[dict[str, object]]:
    rows = []
    for i in range(count):
        vector = rng.standard_normal(dim).astype(np.float32)
        rows.append(
            {
                "chunk_id": f"{doc}:{i}",
                "doc_id": doc,
                "path": f"/docs/{doc}.txt",
                "title": doc,
                "kind": "txt",
                "content_hash": "h",
                "file_size": 1,
                "page_count": 0,
                "ingested_at": 0.0,
                "ordinal": i,
                "page": None,
                "page_label": None,
                "start": 0,
                "end": 1,
                "heading": "",
                "text": f"text {doc} {i}",
                "text_hash": f"{doc}{i}",
                "search_text": f"passage{i} of {doc}",
                "vector": vector / np.linalg.norm(vector),
            }
        )
    return rows


def test_large_tables_get_an_ann_index_and_still_find_exact_neighbours(
    tmp_path: Path,
) -> None:
    rng = np.random.default_rng(0)
    store = ChunkStore(tmp_path / "idx", "fake", 32, ann_min_rows=1000)
    all_rows = []
    for doc in range(12):
        rows = _rows(f"doc{doc}", 100, 32, rng)
        store.replace_document(f"doc{doc}", rows)
        all_rows.extend(rows)
    store.maintain()
    kinds = {index.index_type for index in store.table.list_indices()}
    assert "FTS" in kinds and any("Ivf" in k or "IVF" in k for k in kinds)
    target = all_rows[777]
    assert (
        store.vector_search(np.asarray(target["vector"]), 3)[0]["chunk_id"]
        == target["chunk_id"]
    )
    assert store.text_search("passage55", 20)[0]["text"].endswith(" 55")
    assert store.count_chunks() == 1200 and len(store.documents()) == 12


def test_an_ann_index_of_an_earlier_rule_is_built_again_by_the_current_one(
    tmp_path: Path,
) -> None:
    """Libraries indexed before 2026-12-06 had one partition per square root of
    their rows, which found 0.945 of exact search's top 10 on the dev set."""
    from assistant.core.index.store import ANN_INDEX_NAME

    rng = np.random.default_rng(2)
    store = ChunkStore(tmp_path / "idx", "fake", 32, ann_min_rows=1000)
    rows = [r for doc in range(12) for r in _rows(f"doc{doc}", 100, 32, rng)]
    store.replace_documents([f"doc{doc}" for doc in range(12)], rows)
    store.table.create_index(  # as maintenance built it before
        metric="cosine",
        vector_column_name="vector",
        index_type="IVF_HNSW_SQ",
        num_partitions=int(len(rows) ** 0.5),
        sample_rate=64,
    )
    assert [i.name for i in store.table.list_indices()] == ["vector_idx"]
    store.maintain()
    vector_indexes = [
        i.name for i in store.table.list_indices() if "vector" in i.columns
    ]
    assert vector_indexes == [ANN_INDEX_NAME]
    target = rows[321]
    hits = store.vector_search(np.asarray(target["vector"]), 3)
    assert hits[0]["chunk_id"] == target["chunk_id"]


def test_partitions_follow_the_rows_up_to_the_cap() -> None:
    from assistant.core.index.store import ann_partitions

    assert ann_partitions(100, None) == ann_partitions(100, 12) == 1
    assert ann_partitions(400_000, None) == 195
    assert ann_partitions(400_000, 12) == 12
    assert ann_partitions(20_000, 12) == 9


def test_a_store_with_another_partition_cap_builds_the_index_again(
    tmp_path: Path,
) -> None:
    rng = np.random.default_rng(3)
    rows = [r for doc in range(12) for r in _rows(f"doc{doc}", 100, 32, rng)]
    uncapped = ChunkStore(
        tmp_path / "idx", "fake", 32, ann_min_rows=1000, ann_max_partitions=None
    )
    uncapped.replace_documents([f"doc{doc}" for doc in range(12)], rows)
    uncapped.maintain()
    assert uncapped.indexes_on("vector") == ["vector_p2048"]
    capped = ChunkStore(
        tmp_path / "idx", "fake", 32, ann_min_rows=1000, ann_max_partitions=12
    )
    capped.maintain()
    assert capped.indexes_on("vector") == ["vector_p2048c12"]
    target = rows[555]
    hits = capped.vector_search(np.asarray(target["vector"]), 3)
    assert hits[0]["chunk_id"] == target["chunk_id"]


def test_small_tables_stay_flat(tmp_path: Path) -> None:
    store = ChunkStore(tmp_path / "idx", "fake", 8, ann_min_rows=1000)
    store.replace_document("a", _rows("a", 10, 8, np.random.default_rng(1)))
    store.maintain()
    kinds = {index.index_type for index in store.table.list_indices()}
    assert "FTS" in kinds and not any("Ivf" in k or "IVF" in k for k in kinds)


def test_reopening_after_a_crash_before_indexing_repairs_full_text_search(
    tmp_path: Path,
) -> None:
    store = ChunkStore(tmp_path / "idx", "fake", 8)
    store.replace_document("a", _rows("a", 5, 8, np.random.default_rng(2)))
    # the process died here, before maintain() built the full-text index
    reopened = ChunkStore(tmp_path / "idx", "fake", 8)
    assert reopened.text_search("passage3", 5)[0]["chunk_id"] == "a:3"
