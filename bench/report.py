"""How every benchmark reports: an aligned table, then one ``BENCH {json}`` line."""

from __future__ import annotations

import json
from collections.abc import Mapping


def print_result(result: Mapping[str, object]) -> None:
    width = max(len(key) for key in result)
    for key, value in result.items():
        print(f"{key:<{width}}  {value}")
    print("BENCH " + json.dumps(result))
