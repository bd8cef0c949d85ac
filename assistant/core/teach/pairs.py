"""Question/answer pairs: read from JSONL or CSV, validated line by line."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from assistant.core.errors import AssistantError
from assistant.core.fsutil import atomic_write_text

MAX_FIELD_CHARS = 8000
QUESTION_KEYS = ("question", "instruction", "prompt")
ANSWER_KEYS = ("answer", "output", "response")


@dataclass(frozen=True)
class QAPair:
    question: str
    answer: str
    source: str = ""
    """Where the pair came from (file and page) when generated from a document."""


class PairsError(AssistantError):
    """A pairs file has problems; ``problems`` lists them as "line N: reason"."""

    def __init__(self, path: Path, problems: list[str]) -> None:
        self.path = path
        self.problems = problems
        shown = "\n".join(f"  {p}" for p in problems[:10])
        more = f"\n  ... and {len(problems) - 10} more" if len(problems) > 10 else ""
        super().__init__(
            f"{path.name}: {len(problems)} problem(s) in the training pairs; "
            f"fix them and try again:\n{shown}{more}"
        )


def _text(row: Mapping[str, Any], keys: tuple[str, ...]) -> str | None:
    for key in keys:
        value = row.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None


def pair_from_row(row: Mapping[str, Any]) -> QAPair:
    """Accepts ``question/answer`` or ``instruction/input/output``; raises ValueError
    with the reason when a row is unusable."""
    question = _text(row, QUESTION_KEYS)
    extra = row.get("input")
    if question and isinstance(extra, str) and extra.strip():
        question = f"{question}\n\n{extra.strip()}"
    answer = _text(row, ANSWER_KEYS)
    if question is None:
        raise ValueError('no question (expected a "question" or "instruction" field)')
    if answer is None:
        raise ValueError('no answer (expected an "answer" or "output" field)')
    for name, value in (("question", question), ("answer", answer)):
        if len(value) > MAX_FIELD_CHARS:
            raise ValueError(
                f"the {name} is {len(value)} characters, over {MAX_FIELD_CHARS}"
            )
    source = row.get("source")
    return QAPair(question, answer, source if isinstance(source, str) else "")


def _rows(path: Path) -> Iterable[tuple[int, Mapping[str, Any] | str]]:
    """(line number, row or a parse error message)."""
    text = path.read_text(encoding="utf-8-sig")
    if path.suffix.lower() == ".csv":
        reader = csv.DictReader(text.splitlines())
        if not reader.fieldnames:
            return
        for row in reader:
            yield reader.line_num, {k.strip().lower(): v for k, v in row.items() if k}
        return
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as exc:
            yield number, f"not valid JSON ({exc.msg})"
            continue
        yield number, value if isinstance(value, dict) else "not a JSON object"


def load_pairs(path: Path | str) -> list[QAPair]:
    """All pairs of a ``.jsonl``/``.json`` or ``.csv`` file, or PairsError listing
    every bad line (nothing is half-loaded)."""
    path = Path(path)
    if path.suffix.lower() not in (".jsonl", ".json", ".csv"):
        raise PairsError(path, ["unsupported file type (use .jsonl or .csv)"])
    try:
        rows = list(_rows(path))
    except (OSError, UnicodeDecodeError) as exc:
        raise PairsError(path, [f"cannot read the file ({exc})"]) from exc
    pairs: list[QAPair] = []
    problems: list[str] = []
    seen: set[tuple[str, str]] = set()
    for number, row in rows:
        if isinstance(row, str):
            problems.append(f"line {number}: {row}")
            continue
        try:
            pair = pair_from_row(row)
        except ValueError as exc:
            problems.append(f"line {number}: {exc}")
            continue
        if (pair.question, pair.answer) not in seen:
            seen.add((pair.question, pair.answer))
            pairs.append(pair)
    if not pairs and not problems:
        problems.append("the file has no question/answer pairs")
    if problems:
        raise PairsError(path, problems)
    return pairs


def save_pairs(pairs: Iterable[QAPair], path: Path) -> None:
    lines = [json.dumps(asdict(p), ensure_ascii=False) for p in pairs]
    atomic_write_text(path, "\n".join(lines) + "\n")
