#!/usr/bin/env bash
# Run every benchmark behind docs/benchmarks.md on this machine; each prints a
# table and a `BENCH {json}` line. Takes most of a day on 2 cores (the reading
# adapter's comparison ~2 h, the answer designs ~75 min, hostile cases ~20 min).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
scripts/bootstrap.sh                 # .venv and default models (quick when set up)
$PY -m assistant.core.services.model_setup qwen2.5-coder-0.5b >/dev/null  # compared as a re-ranker
export QT_QPA_PLATFORM=offscreen PYTHONUNBUFFERED=1
$PY bench/corpus.py bench/out/corpus
$PY bench/ingest_bench.py --embedding-model use-minilm-routed-v1  # app vs bare encode vs LlamaIndex
$PY bench/core_bench.py --questions 6 # answer path vs bare llama-cpp-python
$PY bench/retrieval_bench.py         # p50/p95 at 1k/10k/100k chunks
$PY bench/retrieval_quality.py       # hit@1/5, MRR: vector, text, hybrid weights, re-rank
bash ../shared/devset/get-devset.sh /tmp/devset >/dev/null
$PY bench/retrieval_directions.py /tmp/devset  # dev set: every retrieval direction tried
$PY bench/sentence_vectors.py /tmp/devset      # dev set: sentence vectors, each way of using them
$PY bench/index_passes.py            # encoder passes per page: default vs from sentences vs bare
$PY bench/big_pdf.py                 # a 2,400-page PDF: first pages searchable, kill and resume
$PY bench/ocr.py                     # scanned pages through the ingest path
$PY bench/folder_sync.py             # a saved file -> searchable, through the watcher
$PY bench/ann_scale.py               # ANN recall at 100k / 400k rows
$PY bench/beyond_laptop.py           # shared library on S3, served API
$PY bench/claim_verifier.py          # claim verifier directions on the labelled claims
ASSISTANT_HOME="${DEV_HOME:-$HOME/.local/share/assistant}" $PY bench/prompt_tokens.py  # prompt tokens by part
$PY bench/hostile_run.py             # hostile inputs and faults through the CLI
$PY bench/memory.py                  # memory of each state (anonymous vs file-backed)
$PY bench/gui_stall.py               # start-up, memory, event-loop stalls
$PY bench/sft_bench.py               # LoRA on 50 invented facts, four answer modes
home="$(mktemp -d)"; docs="$(mktemp -d)"
$PY scripts/make_sample_pdf.py "$docs/heron-manual.pdf"
cp resources/samples/club-rules.txt resources/samples/library-guide-zh.md "$docs/"
ASSISTANT_HOME="$home" .venv/bin/assistant ingest "$docs" >/dev/null
for mode in vector text hybrid; do
    echo "== eval, retrieval only, mode=$mode"
    ASSISTANT_HOME="$home" .venv/bin/assistant eval bench/eval/questions.jsonl \
        --no-generate --mode "$mode"
done
echo "== eval, retrieval only, hybrid + re-rank by qwen2.5-coder-1.5b"
ASSISTANT_HOME="$home" .venv/bin/assistant eval bench/eval/questions.jsonl \
    --no-generate --reranker qwen2.5-coder-1.5b
echo "== eval with answers, mode=hybrid"
ASSISTANT_HOME="$home" .venv/bin/assistant eval bench/eval/questions.jsonl
echo "== answer designs on the dev set (../shared/devset), LlamaIndex defaults beside"
$PY bench/answer_designs.py --devset /tmp/devset --limit 8
echo "== the reading adapter on the dev set (base model beside it)"
$PY bench/reading_adapter.py
