"""The core's layout is what docs/architecture.md draws: every module of
``assistant/core`` sits in one layer of the import contract that ``./test.sh``
checks with lint-imports (a module left out would escape the check)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CORE = ROOT / "assistant" / "core"


def _layers() -> list[str]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    contracts = config["tool"]["importlinter"]["contracts"]
    (stages,) = [c for c in contracts if c["type"] == "layers"]
    return [name for layer in stages["layers"] for name in re.split(r"[|:]", layer)]


def test_every_core_module_is_in_a_layer_of_the_contract() -> None:
    layered = {name.strip() for name in _layers()}
    present = {
        p.stem if p.is_file() else p.name
        for p in CORE.iterdir()
        if (p.suffix == ".py" and p.stem != "__init__") or (p / "__init__.py").exists()
    }
    assert present == layered, (present - layered, layered - present)


def test_stages_are_the_pipeline_a_newcomer_reads() -> None:
    stages = [p.name for p in CORE.iterdir() if (p / "__init__.py").exists()]
    assert sorted(stages) == sorted(
        [
            "ingest",
            "embed",
            "index",
            "retrieve",
            "generate",
            "answer",
            "teach",
            "services",
        ]
    )
    for stage in stages:  # each says what it holds
        assert (CORE / stage / "__init__.py").read_text().startswith('"""')
