"""LlamaIndex's default query pipeline up to the prompt, for the answer bench (run in
bench/.venv-llamaindex by bench/answer_designs.py --llamaindex).

    python bench/llamaindex_retrieve.py DOCS_DIR EMBEDDER_DIR QUESTIONS_JSONL OUT_JSONL

Defaults throughout: SimpleDirectoryReader, SentenceSplitter (1024 tokens), the
in-memory vector index, ``as_query_engine()``'s top 2, and each node's text as the
LLM sees it (``MetadataMode.LLM``). The embedder is MiniLM (the usual local choice).
Writes one line per question: id, retrieved (doc, page) and the context texts.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path


def main() -> None:
    docs, embedder_dir, questions_file, out = (Path(a) for a in sys.argv[1:5])
    from llama_index.core import Settings, SimpleDirectoryReader, VectorStoreIndex
    from llama_index.core.schema import MetadataMode
    from llama_index.embeddings.huggingface import HuggingFaceEmbedding

    Settings.embed_model = HuggingFaceEmbedding(
        model_name=str(embedder_dir), device="cpu"
    )
    started = time.perf_counter()
    documents = SimpleDirectoryReader(str(docs)).load_data()
    index = VectorStoreIndex.from_documents(documents)
    retriever = index.as_retriever(similarity_top_k=2)  # as_query_engine's default
    print(f"indexed in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    with out.open("w", encoding="utf-8") as sink:
        for line in questions_file.read_text(encoding="utf-8").splitlines():
            question = json.loads(line)
            nodes = retriever.retrieve(question["question"])
            sink.write(
                json.dumps(
                    {
                        "id": question["id"],
                        "retrieved": [
                            {
                                "doc": Path(n.node.metadata.get("file_name", "")).name,
                                "page": int(n.node.metadata["page_label"])
                                if str(n.node.metadata.get("page_label", "")).isdigit()
                                else None,
                            }
                            for n in nodes
                        ],
                        "contexts": [
                            n.node.get_content(metadata_mode=MetadataMode.LLM)
                            for n in nodes
                        ],
                    },
                    ensure_ascii=False,
                )
                + "\n"
            )


if __name__ == "__main__":
    main()
