"""How ranked lists are fused (retrieval.shares_of): by normalised score, or by rank."""

from __future__ import annotations

import pytest

from assistant.core.retrieve.retrieval import RetrievalConfig, shares_of

SCORES = RetrievalConfig()
RANKS = RetrievalConfig(fusion="rrf")


def fused(lists: list[dict[str, float]], config: RetrievalConfig) -> dict[str, float]:
    total: dict[str, float] = {}
    for ranked in lists:
        ids = sorted(ranked, key=ranked.__getitem__, reverse=True)
        shares = shares_of([ranked[c] for c in ids], config)
        for chunk, share in zip(ids, shares, strict=True):
            total[chunk] = total.get(chunk, 0.0) + share
    return total


def test_a_clear_lead_in_one_list_outweighs_a_near_tie_in_another() -> None:
    """By rank, one place behind is one place behind however close; by score, the
    chunk far ahead by its vector and a hair behind by its words comes first."""
    vectors = {"answer": 0.82, "neighbour": 0.55, "far": 0.40}
    words = {"neighbour": 14.0, "other": 13.95, "answer": 13.9, "far": 5.0}
    by_rank = fused([vectors, words], RANKS)
    by_score = fused([vectors, words], SCORES)
    assert max(by_rank, key=by_rank.__getitem__) == "neighbour"
    assert max(by_score, key=by_score.__getitem__) == "answer"


def test_a_list_whose_scores_barely_differ_adds_little() -> None:
    """Near-identical passages: a flat list's best is not worth a full share, so an
    exact match that leads another list by far decides."""
    assert shares_of([0.9, 0.6, 0.3], SCORES) == pytest.approx([1.0, 0.5, 0.0])
    assert shares_of([0.50, 0.49], SCORES) == pytest.approx([0.1, 0.0])
    flat = {f"valve {n}": 0.80 - n / 1000 for n in range(30)}
    words = {"valve 123": 9.0} | {f"valve {n}": 2.0 for n in range(30)}
    total = fused([flat, flat, words], SCORES)
    assert max(total, key=total.__getitem__) == "valve 123"
    assert shares_of([3.2], SCORES, lone=1.0) == [1.0]  # the one passage with the words
    assert shares_of([0.48], SCORES) == [0.0]  # a vector list cut short
    assert shares_of([0.0, 0.0], SCORES) == [1.0, 1.0]
    assert shares_of([], SCORES) == []


def test_reciprocal_rank_sees_only_places() -> None:
    assert shares_of([0.9, 0.1], RANKS) == pytest.approx([1 / 61, 1 / 62])
