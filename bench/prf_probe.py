"""Offline probe: pseudo-relevance feedback (RM3-like) on the default search.

The top pages' most distinctive words (tf x idf over the library's chunks) are added
to the question (its English translation for Chinese ones) and searched as one more
full-text list, which re-ranks the default's top 10. Needs a library built with the
defaults from the dev set and translations cached by a variants run:

    ASSISTANT_HOME=DIR python bench/prf_probe.py TRANSLATIONS.json
"""

import collections
import json
import math
import re
import sys
from pathlib import Path

from assistant.core.answer.evaluation import load_questions, score, summarize
from assistant.core.config import load_settings
from assistant.core.search_text import to_search_text
from assistant.core.services.library import Library

lib = Library.open(load_settings())
qs = [q for q in load_questions(Path("/work/shared/devset/questions.jsonl")) if q.gold]
tr = json.loads(Path(sys.argv[1]).read_text())
texts = lib.store._scan(["search_text"]).column("search_text").to_pylist()
WORD = re.compile(r"[a-z][a-z0-9_\-]{2,}")
df = collections.Counter()
for t in texts:
    df.update(set(WORD.findall((t or "").lower())))
N = len(texts)
STOP = set(
    [
        "the",
        "and",
        "for",
        "with",
        "that",
        "this",
        "from",
        "are",
        "you",
        "your",
        "can",
        "not",
        "use",
        "used",
        "using",
        "which",
        "when",
        "what",
        "how",
        "into",
        "will",
        "all",
        "any",
        "has",
        "have",
        "was",
        "were",
        "its",
        "also",
        "may",
        "one",
        "two",
        "more",
        "than",
        "then",
        "there",
        "their",
        "them",
        "these",
        "those",
        "such",
        "only",
        "other",
        "each",
        "some",
        "most",
        "many",
        "much",
        "very",
        "about",
        "over",
        "under",
    ]
)


def expansion(query, top_texts, n):
    qwords = set(WORD.findall(query.lower()))
    w = collections.Counter()
    for t in top_texts:
        tf = collections.Counter(WORD.findall(t.lower()))
        total = sum(tf.values()) or 1
        for word, c in tf.items():
            if word in STOP or word in qwords or df[word] < 2:
                continue
            w[word] += (c / total) * math.log(N / df[word])
    return [x for x, _ in w.most_common(n)]


base = lib.retrieval_config(10)
for fb_docs, n_terms, weight in [
    (0, 0, 0),
    (3, 8, 1.0),
    (3, 8, 0.5),
    (5, 10, 0.5),
    (2, 5, 0.5),
]:
    res = []
    for q in qs:
        src = lib.retriever.search(q.question, base, tr.get(q.id))
        if fb_docs:
            english = tr.get(q.id) or q.question
            terms = expansion(english, [s.text for s in src[:fb_docs]], n_terms)
            if terms:
                hits = lib.store.text_search(
                    to_search_text(english + " " + " ".join(terms)), 30
                )
                # the default order by rank, plus the feedback list at its weight
                scores = collections.defaultdict(float)
                for r, s in enumerate(src):
                    scores[(s.path, s.page, s.start)] += 1 / (60 + r + 1)
                bykey = {(s.path, s.page, s.start): s for s in src}
                seen = set()
                for r, h in enumerate(hits):
                    key = (h["path"], h["page"])
                    # map to page-level: match existing sources by page
                    for k in list(bykey):
                        if (k[0], k[1]) == key and k not in seen:
                            scores[k] += weight / (60 + r + 1)
                            seen.add(k)
                src = [bykey[k] for k in sorted(bykey, key=lambda k: -scores[k])]
        res.append(score(q, src, None))
    sm = summarize(res)
    print(
        fb_docs,
        n_terms,
        weight,
        " ".join(
            f"{k[:5]} {sm[k]['hit@1']:.2f}/{sm[k]['hit@5']:.2f}"
            for k in ("paraphrase", "zh", "crosslingual", "answerable")
            if k in sm
        ),
        flush=True,
    )
