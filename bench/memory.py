"""Memory of the app in each of its states, split into anonymous (heap: what the
app must budget) and file-backed (the mmapped GGUF and shared libraries: pages the
kernel can drop and re-read), from ``/proc/PID/smaps_rollup``.

    python bench/memory.py [--pdf BIG.pdf] [--pairs 50] [--only window,index]

Each scenario runs in a fresh child process; the parent samples the child's
smaps_rollup every 50 ms and attributes each sample to the phase the child last
announced. Scenarios:

- ``steps``: the answer path built step by step in core (import, library, embedder,
  chat model, first and second answer); the anonymous memory each step adds is the
  table of consumers, and the child says whether torch was imported.
- ``window``: the real window (offscreen) on a sample library: idle with both
  models loaded, then answering a question.
- ``index``: ``Library.ingest`` of a big PDF (the CLI's path).
- ``teach``: teaching N pairs for one epoch, then what is still held once it ended;
  ``teach-cancel``: the same run cancelled during training.
- ``teach-reading``: training a reading adapter on ``--reading-examples`` (made by
  ``teach --from-library`` from real documents: the app's real prompt length,
  about 1,100 tokens) with the library-teaching settings (int8 frozen weights,
  checkpointing); ``teach-reading-float``: the same with float32 weights.

Prints a table and one ``BENCH {json}`` line.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from report import print_result

HERE = Path(__file__).parent
QUESTION = "How do I parse a JSON document from a string?"


def rollup(pid: int | str = "self") -> dict[str, float]:
    """Rss, Anonymous and file-backed (Rss - Anonymous) in MB."""
    values: dict[str, float] = {}
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            parts = line.split()
            if len(parts) == 3 and parts[2] == "kB":
                values[parts[0].rstrip(":")] = int(parts[1]) / 1024
    rss, anon = values.get("Rss", 0.0), values.get("Anonymous", 0.0)
    return {"rss": rss, "anon": anon, "file": rss - anon}


# --- the child: announces phases and steps on stdout ------------------------------


def say(kind: str, name: str, **extra: Any) -> None:
    print(json.dumps({"kind": kind, "name": name, **rollup(), **extra}), flush=True)


def child_steps(args: argparse.Namespace) -> None:
    say("step", "python")
    from assistant.core.cancel import CancelToken
    from assistant.core.config import Settings
    from assistant.core.services import components, conversation
    from assistant.core.services import library as services

    say("step", "import core")
    settings = Settings()
    library = services.Library.open(settings)
    say("step", "open library")
    library.search(QUESTION)
    say("step", "embedder + first search")
    generator = components.load_generator(settings)
    say("step", f"chat model (n_ctx {settings.context_length})")
    conversation = conversation.Conversation(library, generator)
    say("phase", "answer")
    conversation.ask(QUESTION, cancel=CancelToken())
    say("step", "first answer")
    conversation.ask("And how do I write one back to a file?", cancel=CancelToken())
    say("step", "second answer", torch="torch" in sys.modules)


def child_window(args: argparse.Namespace) -> None:
    from PySide6.QtCore import QEventLoop, QTimer
    from PySide6.QtWidgets import QApplication

    from assistant.core.config import Settings
    from assistant.ui.app import share_the_interpreter
    from assistant.ui.main_window import MainWindow

    say("phase", "startup")
    share_the_interpreter()
    app = QApplication(sys.argv)
    window = MainWindow(Settings())
    window.show()
    app.processEvents()

    def wait_for(signal: Any, timeout_ms: int) -> None:
        loop = QEventLoop()
        signal.connect(loop.quit)
        QTimer.singleShot(timeout_ms, loop.quit)
        loop.exec()

    def settle(seconds: float) -> None:
        loop = QEventLoop()
        QTimer.singleShot(int(seconds * 1000), loop.quit)
        loop.exec()

    wait_for(window.library.sig_documents_shown, 120000)
    if window.loading_bar.isVisible():
        wait_for(window.chat.worker.sig_model_ready, 120000)
    say("phase", "idle")
    settle(5)
    say("step", "idle", torch="torch" in sys.modules)
    say("phase", "answer")
    window.chat.ask(QUESTION)
    wait_for(window.chat.sig_answer_shown, 600000)
    say("phase", "after answer")
    settle(5)
    say("step", "after answer", torch="torch" in sys.modules)
    window.close()


def child_index(args: argparse.Namespace) -> None:
    from assistant.core.config import Settings
    from assistant.core.services import library as services

    library = services.Library.open(Settings())
    say("phase", "index")
    report = library.ingest([Path(args.pdf)])
    library.complete_index()  # (a staged index's second stage)
    say("phase", "after index")
    time.sleep(2)
    say(
        "step",
        "after index",
        chunks=report.chunks_embedded,
        pages=report.pages,
        seconds=report.seconds,
        failed=len(report.failed),
    )


def _phases(
    seconds: list[float], cancel: Any = None, cancel_at: int | None = None
) -> Any:
    """A training progress callback that announces the phases and keeps each
    step's seconds (and cancels at step ``cancel_at``)."""
    last = [time.perf_counter()]

    def progress(p: Any) -> None:
        now = time.perf_counter()
        if p.phase == "training":
            if not seconds:
                say("phase", "training")
            seconds.append(now - last[0])
            if cancel_at is not None and p.step >= cancel_at:
                cancel.cancel()
        else:
            say("phase", p.phase)
        last[0] = now

    return progress


def child_teach(
    args: argparse.Namespace, cancel_at: int | None, checkpointing: bool = False
) -> None:
    from sft_bench import make_facts

    from assistant.core.cancel import CancelToken
    from assistant.core.config import Settings
    from assistant.core.errors import Cancelled
    from assistant.core.hardware import release_memory
    from assistant.core.model_files import resolve_chat_model
    from assistant.core.teach.adapters import AdapterStore
    from assistant.core.teach.pairs import QAPair
    from assistant.core.teach.teaching import teach
    from assistant.core.teach.trainer import LoraSettings

    pairs = [
        QAPair(question=f.question, answer=f.answer) for f in make_facts(args.pairs)
    ]
    model = resolve_chat_model(Settings().chat_model)
    say("step", "before teaching")
    cancel = CancelToken()
    seconds: list[float] = []
    progress = _phases(seconds, cancel, cancel_at)

    say("phase", "loading")
    with contextlib.suppress(Cancelled):
        teach(
            model,
            pairs,
            f"memory-bench-{args.child}",
            LoraSettings(epochs=1, checkpointing=checkpointing),
            AdapterStore(),
            progress,
            cancel,
        )
    say("phase", "ended")
    release_memory()
    time.sleep(2)
    steps = seconds[1:] or seconds  # the first step's time includes loading's tail
    say(
        "step",
        "after teaching",
        step_s=sum(steps) / max(1, len(steps)),
        steps=len(seconds),
    )


def child_teach_reading(args: argparse.Namespace, quantised: bool) -> None:
    from assistant.core.config import Settings
    from assistant.core.hardware import release_memory
    from assistant.core.model_files import resolve_chat_model
    from assistant.core.services.library_teaching import (
        reading_lesson,
        reading_settings,
    )
    from assistant.core.teach.adapters import AdapterStore
    from assistant.core.teach.reading_examples import read_examples
    from assistant.core.teach.teaching import train_adapter

    path = Path(args.reading_examples)
    examples = [e for e in read_examples(path) if e.kind != "rejected"][: args.pairs]
    settings = reading_settings().model_copy(update={"quantised": quantised})
    lesson = reading_lesson(examples, settings.max_tokens, path)
    model = resolve_chat_model(Settings().chat_model)
    say("step", "before teaching")
    seconds: list[float] = []
    progress = _phases(seconds)

    say("phase", "loading")
    record = train_adapter(
        model, lesson, f"memory-bench-{args.child}", settings, AdapterStore(), progress
    )
    say("phase", "ended")
    release_memory()
    time.sleep(2)
    tokens = [len(e.input_ids) for e in lesson.examples(_tokenizer(model))]
    say(
        "step",
        "after teaching",
        step_s=sum(seconds[1:] or seconds) / max(1, len(seconds[1:] or seconds)),
        steps=len(seconds),
        tokens=sum(tokens) / len(tokens),
        child_peak_mb=record.peak_rss_mb,
    )


def _tokenizer(model: Path) -> Any:
    from assistant.core.teach.examples import GgufChatTokenizer

    return GgufChatTokenizer(model)


LLM_CONFIGS = [  # n_ctx, n_batch, n_ubatch, repacked weights
    (4096, 512, 512, True),
    (4096, 512, 512, False),
    (2048, 512, 512, False),
    (4096, 512, 256, False),
    (4096, 256, 128, False),
]


def child_llm(args: argparse.Namespace) -> None:
    """The chat model alone under one configuration: heap added by loading and by
    one answer to an 800-token prompt, its time to first token and tokens/s."""
    from assistant.core.generate.llm import open_llama
    from assistant.core.model_files import resolve_chat_model

    n_ctx, n_batch, n_ubatch, repack = LLM_CONFIGS[args.config]
    before = rollup()
    started = time.perf_counter()
    llm = open_llama(
        resolve_chat_model(""),
        repack=repack,
        n_ctx=n_ctx,
        n_batch=n_batch,
        n_ubatch=n_ubatch,
        n_threads=2,
        n_threads_batch=2,
        flash_attn=True,
    )
    load_s = time.perf_counter() - started
    loaded = rollup()
    text = (HERE.parent / "README.md").read_text()[:4000]
    prompt = llm.tokenize(("Summarise:\n" + text).encode())[:800]
    started = time.perf_counter()
    first = 0.0
    for count, _ in enumerate(llm.generate(prompt, temp=0.0), 1):
        if count == 1:
            first = time.perf_counter()
        if count == 41:
            break
    say(
        "step",
        f"n_ctx {n_ctx}, n_batch {n_batch}, n_ubatch {n_ubatch}, "
        f"repack {'on' if repack else 'off'}",
        load_s=load_s,
        anon_loaded=loaded["anon"] - before["anon"],
        anon_answered=rollup()["anon"] - before["anon"],
        ttft_s=first - started,
        tokens_per_s=40 / (time.perf_counter() - first),
    )


# --- the parent: runs children, samples them -------------------------------------


@dataclass
class Run:
    scenario: str
    phases: dict[str, dict[str, float]] = field(default_factory=dict)
    steps: list[dict[str, Any]] = field(default_factory=list)
    error: str = ""


def run_child(scenario: str, argv: list[str], env: dict[str, str]) -> Run:
    run = Run(scenario)
    process = subprocess.Popen(
        [sys.executable, __file__, "--child", scenario, *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=HERE,
    )
    phase = ["start"]
    done = threading.Event()

    import psutil

    tree = psutil.Process(process.pid)

    def sample() -> None:
        while not done.is_set():
            try:
                now = rollup(process.pid)
                for descendant in tree.children(recursive=True):  # training's child
                    with contextlib.suppress(OSError, ValueError, psutil.Error):
                        for key, value in rollup(descendant.pid).items():
                            now[key] += value
            except (OSError, ValueError, psutil.Error):
                break
            peak = run.phases.setdefault(
                phase[0], {"rss": 0.0, "anon": 0.0, "file": 0.0}
            )
            for key in peak:
                peak[key] = max(peak[key], now[key])
            time.sleep(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    stderr: list[str] = []
    reader = threading.Thread(
        target=lambda: stderr.extend(process.stderr or []), daemon=True
    )
    reader.start()
    for line in process.stdout or []:
        if not line.startswith("{"):
            continue
        event = json.loads(line)
        if event["kind"] == "phase":
            phase[0] = event["name"]
        else:
            run.steps.append(event)
    process.wait()
    done.set()
    sampler.join()
    reader.join(timeout=5)
    if process.returncode:
        run.error = "".join(stderr[-5:]).strip()
    return run


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pdf", default="/usr/share/R/doc/manual/fullrefman.pdf")
    parser.add_argument(
        "--sample", default=str(HERE / "out/corpus/python-library-1.pdf")
    )
    parser.add_argument("--pairs", type=int, default=50)
    parser.add_argument(
        "--reading-examples",
        default=str(HERE / "reading" / "examples.jsonl"),
        help="reading examples for the teach-reading scenarios (first --pairs)",
    )
    parser.add_argument(
        "--only",
        default="llm,steps,window,index,teach,teach-checkpointing,teach-cancel",
    )
    parser.add_argument("--child", default="")
    parser.add_argument("--config", type=int, default=0)
    args = parser.parse_args()
    if args.child:
        {
            "steps": child_steps,
            "window": child_window,
            "index": child_index,
            "teach": lambda a: child_teach(a, None),
            "teach-cancel": lambda a: child_teach(a, 3),
            "teach-checkpointing": lambda a: child_teach(a, None, True),
            "teach-reading": lambda a: child_teach_reading(a, True),
            "teach-reading-float": lambda a: child_teach_reading(a, False),
            "llm": child_llm,
        }[args.child](args)
        return

    sample = Path(args.sample)
    if not sample.exists():
        sys.exit(f"{sample} missing: run `python bench/corpus.py bench/out/corpus`")
    home = Path(tempfile.mkdtemp(prefix="assistant-memory-"))
    env = {**os.environ, "ASSISTANT_HOME": str(home), "QT_QPA_PLATFORM": "offscreen"}
    subprocess.run(
        [sys.executable, "-m", "assistant.cli", "ingest", str(sample)],
        env=env,
        check=True,
        capture_output=True,
    )
    runs: list[Run] = []
    for scenario in args.only.split(","):
        child_env = env
        if scenario == "index":  # its own empty library
            child_env = {
                **env,
                "ASSISTANT_HOME": tempfile.mkdtemp(prefix="assistant-mem-ix-"),
            }
        if scenario == "llm":
            for number in range(len(LLM_CONFIGS)):
                run = run_child("llm", ["--config", str(number)], env)
                run.phases["wall_s"] = {"s": 0.0}
                runs.append(run)
            continue
        started = time.perf_counter()
        run = run_child(
            scenario,
            [
                "--pdf",
                args.pdf,
                "--pairs",
                str(args.pairs),
                "--reading-examples",
                args.reading_examples,
            ],
            child_env,
        )
        run.phases["wall_s"] = {"s": round(time.perf_counter() - started, 1)}
        runs.append(run)
        print(f"{scenario}: {run.error or 'ok'}", file=sys.stderr, flush=True)

    rows = []
    for run in runs:
        for name, peak in run.phases.items():
            if "rss" in peak:
                rows.append(
                    {
                        "scenario": run.scenario,
                        "row": f"peak: {name}",
                        **{k: round(v) for k, v in peak.items()},
                    }
                )
        previous = None
        for step in run.steps:
            row = {
                "scenario": run.scenario,
                "row": f"at: {step['name']}",
                "rss": round(step["rss"]),
                "anon": round(step["anon"]),
                "file": round(step["file"]),
            }
            if previous is not None and run.scenario == "steps":
                row["anon_added"] = round(step["anon"] - previous["anon"])
            extra = {
                k: v
                for k, v in step.items()
                if k not in {"kind", "name", "rss", "anon", "file"}
            }
            row.update(
                {
                    k: round(v, 2) if isinstance(v, float) else v
                    for k, v in extra.items()
                }
            )
            rows.append(row)
            previous = step
        if run.error:
            rows.append({"scenario": run.scenario, "row": "error: " + run.error[-200:]})
    columns = ["scenario", "row", "rss", "anon", "file", "anon_added"]
    print(" | ".join(columns) + " | other")
    for row in rows:
        other = {k: v for k, v in row.items() if k not in columns}
        print(" | ".join(str(row.get(c, "")) for c in columns) + f" | {other or ''}")
    print_result(
        {
            "memory_mb": rows,
            "wall_s": {r.scenario: r.phases["wall_s"]["s"] for r in runs},
        }
    )


if __name__ == "__main__":
    main()
