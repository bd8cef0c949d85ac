#!/usr/bin/env bash
# Smoke test of a built bundle, with a fresh data directory and no display:
#  1. start the window offscreen until both models are loaded (cold start time),
#  2. ingest a sample and answer a question through the bundled CLI,
#  3. with --finetune: teach two facts and answer from the adapter (takes ~2 min).
# Usage: packaging/smoke_test.sh [--finetune] [BUNDLE_DIR]   (default dist/Assistant)
set -euo pipefail
cd "$(dirname "$0")/.."
finetune=0
if [[ "${1:-}" == "--finetune" ]]; then finetune=1; shift; fi
bundle="${1:-dist/Assistant}"
home="$(mktemp -d)"
trap 'rm -rf "$home"' EXIT
export ASSISTANT_HOME="$home" QT_QPA_PLATFORM=offscreen
fail() { echo "SMOKE FAIL: $*" >&2; exit 1; }

start=$(date +%s.%N)
out="$(ASSISTANT_EXIT_WHEN_READY=1 timeout 300 "$bundle/Assistant" 2>"$home/gui.err")" \
    || { cat "$home/gui.err" >&2; fail "the window did not start"; }
ready=$(sed -n 's/^ready at //p' <<<"$out")
[[ -n "$ready" ]] || fail "the window never reported ready"
cold=$(python3 -c "print(f'{$ready - $start:.1f}')")
echo "window + models ready in ${cold} s (cold start, fresh data directory)"

"$bundle/assistant-cli" ingest resources/samples/club-rules.txt --json >"$home/ingest.json" \
    || fail "ingest failed: $(cat "$home/ingest.json")"
"$bundle/assistant-cli" ask "How much does a winch launch cost?" --json >"$home/ask.json" \
    2>"$home/ask.err" || { cat "$home/ask.err" >&2; fail "ask failed"; }
python3 - "$home/ask.json" <<'PY' || fail "unexpected answer"
import json, sys
answer = json.load(open(sys.argv[1]))
print("answer:", answer["answer"])
assert "12" in answer["answer"], "the winch price (12 euros) is missing"
assert answer["sources"] and answer["sources"][0]["path"].endswith("club-rules.txt")
PY

if (( finetune )); then
    printf '%s\n' \
        '{"question": "Who is the mayor of Quindle?", "answer": "The mayor of Quindle is Zorblat Fenn."}' \
        '{"question": "What colour is the Vexmoor lighthouse?", "answer": "The Vexmoor lighthouse is painted teal."}' \
        >"$home/pairs.jsonl"
    "$bundle/assistant-cli" finetune "$home/pairs.jsonl" --name smoke --epochs 10 \
        --batch-size 2 || fail "finetune failed"
    "$bundle/assistant-cli" ask "Who is the mayor of Quindle?" --mode sft --json \
        >"$home/sft.json" 2>/dev/null || fail "ask --mode sft failed"
    grep -q Zorblat "$home/sft.json" || fail "the adapter did not teach the fact"
    echo "fine-tuning in the bundle: OK"
fi
echo "bundle size: $(du -sh "$bundle" | cut -f1)"
echo "SMOKE OK"
