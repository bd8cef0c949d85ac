"""LlamaIndex's default pipeline over the same PDFs with the same embedder, for
comparison (run by bench/ingest_bench.py in its own venv, bench/.venv-llamaindex).

    python bench/llamaindex_ingest.py CORPUS_DIR EMBEDDER_DIR QUESTIONS_JSON

Prints one JSON line: seconds, chunks, truncated share, hit@5 by page.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path


def main() -> None:
    corpus, embedder_dir, questions_file = (Path(a) for a in sys.argv[1:4])
    from llama_index.core import (
        Settings,
        SimpleDirectoryReader,
        StorageContext,
        VectorStoreIndex,
    )
    from llama_index.embeddings.huggingface import HuggingFaceEmbedding
    from llama_index.vector_stores.lancedb import LanceDBVectorStore

    embed = HuggingFaceEmbedding(model_name=str(embedder_dir), device="cpu")
    Settings.embed_model = embed
    started = time.perf_counter()
    documents = SimpleDirectoryReader(str(corpus), required_exts=[".pdf"]).load_data()
    store = LanceDBVectorStore(uri=tempfile.mkdtemp(), table_name="chunks")
    index = VectorStoreIndex.from_documents(
        documents, storage_context=StorageContext.from_defaults(vector_store=store)
    )
    seconds = time.perf_counter() - started
    # the vector store keeps the nodes; split again (untimed) to count them
    nodes = Settings.node_parser.get_nodes_from_documents(documents)
    tokenizer = embed._model.tokenizer
    limit = embed._model.max_seq_length
    lengths = [
        len(tokenizer(n.get_content(metadata_mode="embed"))["input_ids"]) for n in nodes
    ]
    truncated = sum(1 for n in lengths if n > limit) / max(len(lengths), 1)
    questions = json.loads(questions_file.read_text())
    retriever = index.as_retriever(similarity_top_k=5)
    hits = 0
    for q in questions:
        results = retriever.retrieve(q["question"])
        pages = [
            (
                Path(r.node.metadata.get("file_name", "")).name,
                int(r.node.metadata.get("page_label", 0) or 0),
            )
            for r in results
        ]
        hits += any((g["doc"], g["page"]) in pages for g in q["gold"])
    print(
        json.dumps(
            {
                "seconds": round(seconds, 1),
                "chunks": len(nodes),
                "truncated_share": round(truncated, 3),
                "hit@5": round(hits / max(len(questions), 1), 3),
            }
        )
    )


if __name__ == "__main__":
    main()
