"""Claim-level grounding after generation: which passage span supports each sentence.

The model is not asked to write citation markers (a small model does that badly:
bare ``[2][3]`` answers, echoed headers). Instead the finished answer is split into
claims (sentences and list items, CJK aware), each claim is aligned to the
sentence windows of the included sources by word overlap and by embedding
similarity (which also works across languages), numbers must appear in the span,
and the ``[n]`` markers are written from that alignment.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from assistant.core.ingest.chunking import sentence_spans
from assistant.core.types import Claim, Evidence, Source

EmbedTexts = Callable[[Sequence[str]], np.ndarray]
"""Unit-length vectors for texts (the library's embedder)."""

_NON_CJK_WORD = (
    r"[^\W\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]"
)
_LATIN = re.compile(rf"[A-Za-z_](?:{_NON_CJK_WORD}|[./+-])*{_NON_CJK_WORD}|[A-Za-z]")
"""A Latin word or identifier; it ends where Chinese text starts ("装Postgrey软件")."""
_NUMBER = re.compile(r"\d+(?:[.,:]\d+)*")
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_BULLET = re.compile(r"\s*(?:[-*\u2022]|\d{1,2}[.)])\s+")  # at a line start (match)
_MARKER = re.compile(r"\s*\[\d{1,3}\]")
_CODE = re.compile(r"`([^`\n]+)`")
_NOT_A_CLAIM = re.compile(
    r"\s*(?:```|~~~|#{1,6}\s|(?:\*\*|__)[^*_\n]+(?:\*\*|__)\s*[:\uff1a]?\s*$)"
)
"""A code fence's own line, a Markdown heading, a line that is only a bold
label ("**Install the tool**:"): structure, not something a passage can state."""
# fmt: off
_STOP = frozenset((
    "a", "an", "and", "are", "as", "at", "be", "been", "but", "by", "can", "could",
    "do", "does", "did", "for", "from", "has", "have", "how", "if", "in", "into",
    "is", "it", "its", "may", "might", "more", "most", "must", "no", "not", "of",
    "on", "or", "our", "so", "such", "than", "that", "the", "their", "them",
    "then", "there", "these", "they", "this", "those", "to", "use", "used",
    "using", "was", "we", "were", "what", "when", "where", "which", "while", "who",
    "will", "with", "would", "you", "your", "also", "any", "all", "each", "other",
    "only", "just", "about", "above", "after", "again", "against", "below",
    "between", "both", "during", "few", "here", "his", "her", "him", "she", "he",
    "own", "same", "some", "too", "very", "should", "shall", "i", "me", "my",
    "get", "gets", "one", "two", "way", "make", "makes", "need", "needs", "want",
    "like", "allows", "allow", "following", "example", "e.g", "eg", "i.e", "ie",
    "etc",
))
# fmt: on
_CJK_STOP = frozenset("的了是在和与或及等中为以对可也就都而被把这那有个")
MAX_WINDOW_CHARS = 600


@dataclass(frozen=True)
class GroundingConfig:
    """Thresholds; calibrated on answers to dev-set questions (bench/answer_designs.py).

    A claim is supported by a window when every number in it occurs there and
    either enough of its words do (``min_overlap``) or the two are close in meaning
    (``min_similarity``, with at least ``min_overlap_with_similarity`` word overlap
    unless the claim and the window are in different scripts).
    """

    min_overlap: float = 0.6
    min_similarity: float = 0.55
    min_overlap_with_similarity: float = 0.25
    min_code_overlap: float = 0.5
    """Or: this share of its `code` (commands, options, paths) is in the window,
    with the word overlap that the similarity rule asks for."""
    min_terms: int = 2
    min_similarity_with_names: float = 0.35
    """Or, across scripts (a Chinese claim, an English window): every Latin name
    the claim adds (commands, packages, products are written the same in both
    languages) is in the window, and the two are at least this close in meaning."""


def terms(text: str) -> list[str]:
    """Content terms: Latin words (lower-cased, light suffix stripping, stop words
    out; identifiers like ``/etc/fstab`` kept whole), numbers, CJK character
    bigrams."""
    found: list[str] = []
    for match in _LATIN.finditer(text):
        word = match.group(0).lower()
        if word in _STOP or (len(word) < 3 and not any(c in word for c in "./-_")):
            continue
        found.append(_stem(word))
    found.extend(_NUMBER.findall(text))
    for run in _CJK.findall(text):
        chars = [c for c in run if c not in _CJK_STOP] if len(run) > 2 else list(run)
        if len(chars) == 1:
            found.append(chars[0])
        found.extend(a + b for a, b in zip(chars, chars[1:], strict=False))
    return found


def _stem(word: str) -> str:
    if any(c in word for c in "./_") or len(word) <= 4:
        return word
    for suffix in ("ing", "ed", "es", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            return word[: -len(suffix)]
    return word


def claim_spans(answer: str) -> list[tuple[int, int]]:
    """Sentences, with every line of a list or code block as its own claim."""
    spans: list[tuple[int, int]] = []
    for start, end in _lines(answer, 0, len(answer)):
        bullet = _BULLET.match(answer, start, end)
        spans.extend(sentence_spans(answer, bullet.end() if bullet else start, end))
    return spans


def source_windows(text: str) -> list[tuple[int, int]]:
    """Single sentences (long ones cut at line breaks) and adjacent pairs."""
    sentences: list[tuple[int, int]] = []
    for start, end in sentence_spans(text):
        if end - start <= MAX_WINDOW_CHARS:
            sentences.append((start, end))
            continue
        for line_start, line_end in _lines(text, start, end):
            sentences.extend(sentence_spans(text, line_start, line_end))
    pairs = [
        (a[0], b[1])
        for a, b in zip(sentences, sentences[1:], strict=False)
        if b[1] - a[0] <= MAX_WINDOW_CHARS
    ]
    return sentences + pairs


@dataclass
class _Window:
    n: int
    start: int
    end: int
    terms: frozenset[str]
    numbers: frozenset[str]
    cjk: bool


def _numbers(text: str) -> frozenset[str]:
    return frozenset(n.rstrip(".,:") for n in _NUMBER.findall(text))


def _overlap(claim_terms: list[str], window_terms: frozenset[str]) -> float:
    if not claim_terms:
        return 0.0
    unique = set(claim_terms)
    return sum(1 for t in unique if t in window_terms) / len(unique)


def ground(
    answer: str,
    sources: Sequence[Source],
    embed: EmbedTexts | None = None,
    config: GroundingConfig | None = None,
    question: str = "",
) -> list[Claim]:
    """Claims of ``answer`` with the source spans that support them (best first).

    Only what a sentence adds to the ``question`` needs support: its words and
    numbers that the question already has are left out of the check ("To run a
    job with the lowest priority, use `nice -n 19`" needs `nice` and 19 in a
    passage, not "lowest priority"). Sentences that add fewer than ``min_terms``
    terms, no number and no `code` ("Here is how:") are not claims, unless the
    answer is that one sentence ("In May.").
    """
    config = config or GroundingConfig()
    given_terms = set(terms(question))
    given_numbers = _numbers(question)
    candidates: list[tuple[int, int, list[str], frozenset[str], list[str]]] = []
    spans = claim_spans(answer)
    fences = fenced_blocks(answer)
    for start, end in spans:
        sentence = _MARKER.sub("", answer[start:end])
        if _NOT_A_CLAIM.match(sentence):
            continue
        claim_terms = [t for t in terms(sentence) if t not in given_terms]
        numbers = _numbers(sentence) - given_numbers
        in_fence = fence_end(fences, start) is not None
        code = terms(sentence if in_fence else " ".join(_CODE.findall(sentence)))
        if (
            len(set(claim_terms)) >= config.min_terms
            or numbers
            or (claim_terms and ("`" in sentence or len(spans) == 1))
        ):
            candidates.append((start, end, claim_terms, numbers, code))
    if not candidates:
        return []
    windows: list[_Window] = []
    window_texts: list[str] = []
    for source in sources:
        for start, end in source_windows(source.text):
            piece = source.text[start:end]
            window_texts.append(piece)
            windows.append(
                _Window(
                    source.n,
                    start,
                    end,
                    frozenset(terms(piece)),
                    _numbers(piece),
                    bool(_CJK.search(piece)),
                )
            )
    if not windows:
        return [Claim(answer[s:e], s, e, False) for s, e, *_ in candidates]
    similarity = _similarities(
        [answer[s:e] for s, e, *_ in candidates],
        window_texts,
        embed,
    )
    claims = []
    for i, (start, end, claim_terms, numbers, code) in enumerate(candidates):
        text = answer[start:end]
        claim_cjk = bool(_CJK.search(text))
        names = [t for t in claim_terms if t.isascii() and any(c.isalpha() for c in t)]
        scored: list[tuple[float, int]] = []
        for j, window in enumerate(windows):
            if not numbers <= window.numbers:
                continue
            overlap = _overlap(claim_terms, window.terms)
            sim = float(similarity[i, j]) if similarity is not None else 0.0
            needed = (
                0.0 if claim_cjk != window.cjk else config.min_overlap_with_similarity
            )
            code_ok = bool(code) and (
                _overlap(code, window.terms) >= config.min_code_overlap
                and overlap >= needed
            )
            names_ok = (
                claim_cjk != window.cjk
                and bool(names)
                and _overlap(names, window.terms) == 1.0
                and sim >= config.min_similarity_with_names
            )
            if (
                overlap >= config.min_overlap
                or code_ok
                or names_ok
                or (sim >= config.min_similarity and overlap >= needed)
            ):
                score = max(overlap, sim)
                # a shorter window with the same score is the more precise evidence
                scored.append((score - 1e-4 * (window.end - window.start) / 100, j))
        scored.sort(reverse=True)
        evidence: list[Evidence] = []
        for score, j in scored:
            window = windows[j]
            if any(e.n == window.n for e in evidence):
                continue
            if evidence and score < evidence[0].score - 0.1:
                break
            evidence.append(Evidence(window.n, window.start, window.end, score))
            if len(evidence) == 2:
                break
        claims.append(Claim(text, start, end, bool(evidence), tuple(evidence)))
    return claims


def nearest_windows(
    claim: str,
    sources: Sequence[Source],
    embed: EmbedTexts | None,
    k: int = 3,
    question: str = "",
) -> list[Evidence]:
    """The ``k`` source windows closest to ``claim`` (by the larger of meaning and
    word overlap, overlapping windows left out): where a claim no rule supports
    would have come from, for a verifier or a person to read."""
    found = [
        (source.n, start, end, source.text[start:end])
        for source in sources
        for start, end in source_windows(source.text)
    ]
    if not found:
        return []
    similarity = _similarities([claim], [w[3] for w in found], embed)
    given = set(terms(question))
    claim_terms = [t for t in terms(claim) if t not in given] or terms(claim)
    scored = []
    for j, (n, start, end, text) in enumerate(found):
        sim = float(similarity[0, j]) if similarity is not None else 0.0
        overlap = _overlap(claim_terms, frozenset(terms(text)))
        scored.append((max(sim, overlap), n, start, end))
    scored.sort(key=lambda item: (-item[0], item[3] - item[2]))
    picked: list[Evidence] = []
    for score, n, start, end in scored:
        if any(p.n == n and p.start < end and start < p.end for p in picked):
            continue
        picked.append(Evidence(n, start, end, score))
        if len(picked) == k:
            break
    return picked


def remembering(embed: EmbedTexts | None) -> EmbedTexts | None:
    """``embed`` that embeds each text once (a verifier looks for several
    claims' nearest windows among the same sources)."""
    if embed is None:
        return None
    known: dict[str, np.ndarray] = {}

    def embed_once(texts: Sequence[str]) -> np.ndarray:
        fresh = list(dict.fromkeys(t for t in texts if t not in known))
        if fresh:
            known.update(zip(fresh, np.asarray(embed(fresh)), strict=True))
        return np.stack([known[t] for t in texts])

    return embed_once


def _similarities(
    claims: list[str], windows: list[str], embed: EmbedTexts | None
) -> np.ndarray | None:
    if embed is None:
        return None
    vectors = np.asarray(embed(claims + windows), dtype=np.float32)
    return vectors[: len(claims)] @ vectors[len(claims) :].T


def with_markers(answer: str, claims: Sequence[Claim]) -> tuple[str, list[Claim]]:
    """Write ``[n]`` after each stated claim (its best evidence first) and move
    the claims' offsets to the new text. Claims inside a fenced code block get
    their markers after the closing fence, so commands stay copyable."""
    fences = fenced_blocks(answer)
    inserts: dict[int, list[int]] = {}
    for claim in claims:
        if not claim.supported:
            continue
        at = fence_end(fences, claim.start) or claim.end
        numbers = inserts.setdefault(at, [])
        numbers.extend(e.n for e in claim.evidence if e.n not in numbers)
    markers = {at: " " + "".join(f"[{n}]" for n in ns) for at, ns in inserts.items()}
    out: list[str] = []
    position = 0
    for at in sorted(markers):
        out.extend((answer[position:at], markers[at]))
        position = at
    out.append(answer[position:])

    def moved(offset: int) -> int:
        return offset + sum(len(m) for at, m in markers.items() if at < offset)

    shifted = [
        dataclasses.replace(c, start=moved(c.start), end=moved(c.end))
        for c in sorted(claims, key=lambda c: c.start)
    ]
    return "".join(out), shifted


def fenced_blocks(text: str) -> list[tuple[int, int]]:
    """(start, end) of each ``` fenced block, end just after the closing fence."""
    blocks = []
    for match in re.finditer(r"^[ \t]*```.*?^[ \t]*```[^\n]*", text, re.S | re.M):
        blocks.append((match.start(), match.end()))
    return blocks


def fence_end(fences: Sequence[tuple[int, int]], offset: int) -> int | None:
    """End of the fenced block holding ``offset`` (None: not inside one)."""
    return next((end for start, end in fences if start <= offset < end), None)


def _lines(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """(start, end) of each line of ``text[start:end]``, without the newline."""
    spans = []
    position = start
    for line in text[start:end].split("\n"):
        spans.append((position, position + len(line)))
        position += len(line) + 1
    return spans
