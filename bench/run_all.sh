#!/usr/bin/env bash
# Run every benchmark on this machine; each prints a table and a `BENCH {json}` line.
# Takes ~2.5 hours on 2 cores (the answer designs on the dev set ~75 min of it).
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
