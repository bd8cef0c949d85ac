"""Find the citation markers a model wrote and link them to the numbered sources."""

from __future__ import annotations

import re
from collections.abc import Sequence

# [1], [1, 2], [1][2], [Source 1], 【1】 ... as small models actually write them.
_MARKER = re.compile(
    r"\s?[\[\u3010]\s*(?:sources?|来源|source no\.?)?\s*"
    r"(\d{1,3}(?:\s*(?:,|;|\u3001|and|&)\s*\d{1,3})*)\s*[\]\u3011]",
    re.IGNORECASE,
)
_NUMBER = re.compile(r"\d{1,3}")


def link_citations(text: str, source_count: int) -> tuple[str, list[int]]:
    """Normalise markers to ``[n]``; drop numbers with no source behind them.

    Returns the cleaned text and the cited numbers in order of first appearance.
    """
    cited: list[int] = []

    def replace(match: re.Match[str]) -> str:
        numbers = [int(n) for n in _NUMBER.findall(match.group(1))]
        valid = [n for n in numbers if 1 <= n <= source_count]
        for n in valid:
            if n not in cited:
                cited.append(n)
        if not valid:
            return ""
        lead = " " if match.group(0)[0].isspace() else ""
        return lead + "".join(f"[{n}]" for n in dict.fromkeys(valid))

    return collapse_repeats(_MARKER.sub(replace, text)), cited


_REPEATED = re.compile(r"(\[\d+\])(?:\s*\1)+")
_HAS_MARKER = re.compile(r"\[\d+\]")


def collapse_repeats(text: str) -> str:
    """``[1] [1]`` -> ``[1]`` (small models stutter)."""
    return _REPEATED.sub(r"\1", text)


def cited_numbers(text: str) -> list[int]:
    return list(
        dict.fromkeys(int(m.group(0)[1:-1]) for m in _HAS_MARKER.finditer(text))
    )


_NUMBER_CLAIM = re.compile(r"\d[\d,.]*\d|\d")
_MARKER_TEXT = re.compile(
    r"\[\d+\]|^\s*\d+[.)]\s", re.MULTILINE
)  # citations, list items


def _normalise_number(value: str) -> str:
    return value.replace(",", "").rstrip(".")


def unsupported_numbers(text: str, passages: Sequence[str]) -> list[str]:
    """Numbers the answer states that no passage contains.

    A cheap, precise check for the most damaging kind of made-up claim (a wrong
    figure); words are not checked because paraphrase is legitimate.
    """
    known = {_normalise_number(n) for p in passages for n in _NUMBER_CLAIM.findall(p)}
    claims = _NUMBER_CLAIM.findall(_MARKER_TEXT.sub("", text))
    return list(dict.fromkeys(n for n in claims if _normalise_number(n) not in known))
