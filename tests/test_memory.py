"""The memory budget's guarantees (bench/memory.py has the figures): the answer path
never imports torch, training loads one copy of the weights, Cancel gives the
training memory back, and a run the machine cannot hold is refused up front."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from assistant.core.errors import AssistantError
from assistant.core.model_files import models_dir

SMALL_MODEL = "SmolLM2-135M-Instruct.Q4_1.gguf"


def _run(code: str, home: Path) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "ASSISTANT_HOME": str(home)},
    )
    assert out.returncode == 0, out.stderr[-2000:]
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def test_answering_imports_neither_torch_nor_transformers(tmp_path: Path) -> None:
    doc = tmp_path / "notes.md"
    doc.write_text("# Kettles\n\nThe blue kettle boils water in ninety seconds.\n")
    result = _run(
        f"""
        import json, sys
        from assistant.core.config import Settings
        from assistant.core.services import conversation, library as services
        from assistant.core.generate import llm
        from assistant.core.answer import prompt
        from assistant.core.answer import grounding
        library = services.Library.open(Settings())
        library.ingest([{str(doc)!r}])
        hits = library.search("how fast does the kettle boil?")
        print(json.dumps({{"hits": len(hits),
                          "loaded": sorted(m for m in ("torch", "transformers",
                                           "sentence_transformers", "peft")
                                           if m in sys.modules)}}))
        """,
        tmp_path / "home",
    )
    assert result["hits"] >= 1
    assert result["loaded"] == []


def test_the_training_model_equals_transformers_own_gguf_loader() -> None:
    torch = pytest.importorskip("torch")
    from transformers import AutoModelForCausalLM

    from assistant.core.teach.gguf_weights import load_training_model
    from assistant.core.teach.trainer import answer_loss

    path = models_dir() / SMALL_MODEL
    mine = load_training_model(path, torch.float32)
    theirs = AutoModelForCausalLM.from_pretrained(
        str(path.parent), gguf_file=path.name, dtype=torch.float32
    )
    ours, reference = mine.state_dict(), theirs.state_dict()
    assert ours.keys() == reference.keys()
    assert [k for k in ours if not torch.equal(ours[k], reference[k])] == []

    ids = torch.tensor([[1, 2, 3, 4, 5, 6], [7, 8, 9, 10, 0, 0]])
    mask = torch.tensor([[1] * 6, [1] * 4 + [0, 0]])
    labels = torch.tensor(
        [[-100, -100, 3, 4, 5, 6], [-100, -100, -100, 10, -100, -100]]
    )
    full = theirs(input_ids=ids, attention_mask=mask, labels=labels).loss
    assert float(answer_loss(mine, ids, mask, labels)) == pytest.approx(float(full))


def test_cancel_gives_the_training_memory_back(tmp_path: Path) -> None:
    result = _run(
        f"""
        import json, sys
        sys.path.insert(0, {str(Path(__file__).parent.parent / "bench")!r})
        from memory import rollup
        import torch, transformers, peft  # their own memory is not the run's
        from pathlib import Path
        from assistant.core.cancel import CancelToken
        from assistant.core.errors import Cancelled
        from assistant.core.teach.examples import Example
        from assistant.core.teach.trainer import LoraSettings, train_lora
        from assistant.core.hardware import release_memory
        release_memory()
        before = rollup()["anon"]
        peak = [before]
        cancel = CancelToken()
        def progress(p):
            peak[0] = max(peak[0], rollup()["anon"])
            if p.step >= 2:
                cancel.cancel()
        examples = [Example(list(range(1, 120)), [-100] * 60 + list(range(61, 120)))
                    for _ in range(8)]
        try:
            train_lora(Path({str(models_dir() / SMALL_MODEL)!r}), examples, 0,
                       LoraSettings(epochs=3, batch_size=4), progress, cancel)
        except Cancelled:
            pass
        release_memory()
        print(json.dumps({{"before": before, "peak": peak[0],
                          "after": rollup()["anon"]}}))
        """,
        tmp_path,
    )
    print(result)
    assert result["peak"] - result["before"] > 200  # the run did hold its weights
    assert result["after"] - result["before"] < 100


def test_cancelled_teaching_leaves_no_process_and_no_torch(tmp_path: Path) -> None:
    result = _run(
        f"""
        import json, multiprocessing, sys, time
        from pathlib import Path
        from assistant.core.cancel import CancelToken
        from assistant.core.errors import Cancelled
        from assistant.core.teach.adapters import AdapterStore
        from assistant.core.teach.pairs import QAPair
        from assistant.core.teach.teaching import teach
        from assistant.core.teach.trainer import LoraSettings
        cancel = CancelToken()
        steps = []
        def progress(p):
            if p.phase == "training":
                steps.append(p.step)
                if p.step >= 2:
                    cancel.cancel()
        pairs = [QAPair(f"What is code {{i}}?", f"Code {{i}} is {{i * 7}}.")
                 for i in range(12)]
        store = AdapterStore(Path({str(tmp_path / "adapters")!r}))
        started = time.perf_counter()
        try:
            teach(Path({str(models_dir() / SMALL_MODEL)!r}), pairs, "stopped",
                  LoraSettings(epochs=5, batch_size=2), store, progress, cancel)
            outcome = "finished"
        except Cancelled:
            outcome = "cancelled"
        print(json.dumps({{"outcome": outcome, "steps": steps,
                          "children": len(multiprocessing.active_children()),
                          "torch": "torch" in sys.modules,
                          "adapters": [r.name for r in store.records()]}}))
        """,
        tmp_path,
    )
    assert result["outcome"] == "cancelled"
    assert 2 <= len(result["steps"]) < 30  # stopped early, not after all 30
    assert result["children"] == 0
    assert result["torch"] is False
    assert result["adapters"] == []


def test_teaching_is_refused_when_the_memory_is_not_there(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import psutil

    from assistant.core.teach.teaching import check_training_memory, training_memory_mb
    from assistant.core.teach.trainer import LoraSettings

    class Little:
        available = 300 * 2**20

    monkeypatch.setattr(psutil, "virtual_memory", lambda: Little())
    # The need depends on the CPU (float32 weights where bfloat16 is emulated).
    needed = training_memory_mb(models_dir() / SMALL_MODEL, LoraSettings()) / 1024
    with pytest.raises(
        AssistantError, match=rf"needs about {needed:.1f} GB of free memory and 0\.3 GB"
    ):
        check_training_memory(models_dir() / SMALL_MODEL, LoraSettings())


def test_without_native_bfloat16_training_holds_float32_weights(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Emulated bfloat16 is ~20x slower than float32 (hardware.native_bf16): on
    such a CPU the weights are float32, and the memory check counts 4 bytes each."""
    from assistant.core import hardware
    from assistant.core.teach.teaching import RUNTIME_MB, training_memory_mb
    from assistant.core.teach.trainer import LoraSettings

    unquantised = LoraSettings(quantised=False)
    real = hardware.native_bf16
    flags = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    assert real() == ("avx512_bf16" in flags or "amx_bf16" in flags)
    monkeypatch.setattr(hardware, "native_bf16", lambda: True)
    assert hardware.training_dtype_name() == "bfloat16"
    half = training_memory_mb(models_dir() / SMALL_MODEL, unquantised) - RUNTIME_MB
    monkeypatch.setattr(hardware, "native_bf16", lambda: False)
    assert hardware.training_dtype_name() == "float32"
    full = training_memory_mb(models_dir() / SMALL_MODEL, unquantised) - RUNTIME_MB
    assert full == pytest.approx(2 * half)


def test_lora_in_the_top_layers_only_trains_those_layers() -> None:
    """``LoraSettings.top_layers``: adapters in the last N layers alone."""
    pytest.importorskip("torch")
    import re

    from assistant.core.teach.examples import Example
    from assistant.core.teach.trainer import LoraSettings, train_lora

    ids = list(range(100, 164))
    example = Example(ids, [-100] * 56 + ids[56:])
    settings = LoraSettings(
        rank=2, epochs=1, batch_size=1, checkpointing=True, top_layers=2
    )
    result = train_lora(models_dir() / SMALL_MODEL, [example], 0, settings)
    layers = {
        int(m) for k in result.lora_state for m in re.findall(r"layers\.(\d+)\.", k)
    }
    n = result.model.n_layers
    assert layers == {n - 2, n - 1}
    assert result.losses and result.losses[0][1] > 0
