"""How every benchmark reports: an aligned table, then one ``BENCH {json}`` line."""

from __future__ import annotations

import json
from collections.abc import Mapping


def print_result(result: Mapping[str, object]) -> None:
    width = max(len(key) for key in result)
    for key, value in result.items():
        print(f"{key:<{width}}  {value}")
    print("BENCH " + json.dumps(result))


def print_rows(rows: list[dict[str, object]]) -> None:
    """Runs side by side: one line each, under the widest row's columns."""
    columns = list(max(rows, key=len))
    print(" | ".join(columns))
    for row in rows:
        print(" | ".join(str(row.get(c, "")) for c in columns))
