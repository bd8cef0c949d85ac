"""Text as the full-text index sees it: CJK runs segmented into words.

LanceDB's tokenizers split on whitespace and punctuation, so a Chinese sentence
(no spaces) would be one giant token and never match. We index a copy of each
chunk in which CJK runs are cut into words by jieba, and cut queries the same way.
"""

from __future__ import annotations

import functools
import logging
import re

_CJK_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u3040-\u30ff]+")


@functools.cache
def _jieba() -> object:
    import jieba

    jieba.setLogLevel(logging.WARNING)
    jieba.initialize()
    return jieba


def has_cjk(text: str) -> bool:
    return _CJK_RUN.search(text) is not None


def _segment(run: str) -> str:
    jieba = _jieba()
    words = jieba.cut_for_search(run)  # type: ignore[attr-defined]
    return " ".join(w for w in words if w.strip())


def to_search_text(text: str) -> str:
    """Return ``text`` with every CJK run replaced by its space-separated words."""
    if not has_cjk(text):
        return text
    return _CJK_RUN.sub(lambda m: f" {_segment(m.group(0))} ", text)


_CJK_CHAR = re.compile(
    r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]"
)
CJK_SHARE = 0.1
"""A text counts as CJK (and is read by USE) when at least this share of its non-blank
characters is CJK: a Chinese manual's lines full of commands still count as Chinese."""


def is_cjk_text(text: str) -> bool:
    """Mostly Chinese, Japanese or Korean (``has_cjk``: any at all)."""
    letters = sum(map(len, text.split()))  # the non-blank characters, counted in C
    return letters > 0 and len(_CJK_CHAR.findall(text)) >= CJK_SHARE * letters
