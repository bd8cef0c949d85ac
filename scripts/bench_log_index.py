"""Write docs/bench/README.md, the index of the benchmark logs, from the logs in
that folder (``--check``: exit 1 if the index on disk is not what it would write;
tests/test_architecture.py runs it, so a log added without the index fails)."""

from __future__ import annotations

import re
import sys
from collections import defaultdict
from pathlib import Path

FOLDER = Path(__file__).resolve().parents[1] / "docs" / "bench"
HEADER = """# Benchmark logs

The full output of each benchmark run that `docs/benchmarks.md` quotes (the
latest run of each area is the one its section reports; the others are kept for
the record), by benchmark (`bench/NAME.py`, or `assistant eval` for `eval-devset`)
and date. Written by `scripts/bench_log_index.py`.
"""
DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


GROUPS = ("eval-devset", "before-after")
"""Logs of runs that are not a bench/ script (``assistant eval`` on the dev set)."""


def entry(stem: str, scripts: set[str]) -> tuple[str, str, str]:
    """(benchmark, date, label) of a log's name ``BENCH[-LABEL]-DATE[-LABEL]``:
    BENCH is the longest bench/ script name or group it starts with, else its
    first word."""
    names = [n for n in (*scripts, *GROUPS) if stem.startswith(n + "-")]
    bench = max(names, key=len) if names else stem.split("-")[0]
    rest = stem[len(bench) :].strip("-")
    date = DATE.search(rest)
    when = date.group(0) if date else ""
    label = "-".join(p for p in rest.replace(when, "").split("-") if p)
    return bench, when, label


def index(folder: Path = FOLDER) -> str:
    scripts = {p.stem for p in (folder.parents[1] / "bench").glob("*.py")}
    groups: dict[str, list[tuple[str, str, str]]] = defaultdict(list)
    for log in sorted(folder.glob("*.log")):
        bench, when, label = entry(log.stem, scripts)
        groups[bench].append((when, label, log.name))
    lines = [HEADER]
    for bench in sorted(groups):
        lines.append(f"## {bench}\n")
        for when, label, name in sorted(groups[bench]):
            text = f"{when} {label}".strip()
            lines.append(f"- [{text}]({name})")
        lines.append("")
    return "\n".join(lines)


def main() -> int:
    wanted = index()
    readme = FOLDER / "README.md"
    if "--check" in sys.argv:
        return 0 if readme.read_text(encoding="utf-8") == wanted else 1
    readme.write_text(wanted, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
