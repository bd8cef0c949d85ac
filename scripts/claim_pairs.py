"""Training pairs for the claim encoder, made from documents: a sentence beside
the passage it stands in (stated), the same sentence perturbed — a number, a
negation, an option or a word swapped for its opposite — beside the same passage
(contradicted), and the sentence beside a passage on the same page that does not
hold it, or with a clause the passage lacks (not stated).

The documents are this machine's manual pages, English (``/usr/share/man``) and
Chinese (``/usr/share/man/zh_CN``, Debian's ``manpages-zh``: GPL/free-software
licences of each page's project). They are in neither the dev set nor the own
claim set (``bench/claims/own_questions.jsonl`` reads zlib, python-policy and
shared-mime-info documents, whose pages are left out here).

    python scripts/claim_pairs.py --out build/claim-pairs.jsonl
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assistant.core.answer.grounding import terms  # noqa: E402
from assistant.core.ingest.chunking import sentence_spans  # noqa: E402

LABELS = ("stated", "not_stated", "contradicted")
LEFT_OUT = ("zlib", "python", "mime", "update-mime-database", "gcloud", "bq.", "gsutil")
"""Pages about the own claim set's documents (kept unseen), and the Cloud SDK's
thousands of near-identical pages."""

_CJK = re.compile(r"[\u4e00-\u9fff]")
_NUMBER = re.compile(r"(?<![\w.])\d+(?:\.\d+)?(?![\w])")
_OPTION = re.compile(r"(?<![\w-])--?[A-Za-z][\w-]*|/[a-z][\w./-]+|\$?[A-Z][A-Z_]{2,}\b")
_AUX = re.compile(r"\b(is|are|was|were|will|should|must|may|does|do|has|have)\b")
_NEG_EN = [
    (re.compile(r"\bcannot\b"), "can"),
    (re.compile(r"\b(is|are|was|were|will|should|must|may|does|do) not\b"), r"\1"),
    (re.compile(r"\b(does|do)n't\b"), r"\1"),
    (re.compile(r"\bnever\b"), "always"),
]
_NEG_ZH = [
    ("不能", "能"),
    ("无法", "可以"),
    ("没有", "有"),
    ("不是", "是"),
    ("不会", "会"),
    ("不要", "要"),
    ("不", ""),
]
_ADD_NEG_ZH = ["可以", "能", "会", "是", "需要", "支持", "允许", "应该"]
_OPPOSITES = [
    ("enable", "disable"),
    ("before", "after"),
    ("first", "last"),
    ("more", "less"),
    ("minimum", "maximum"),
    ("increase", "decrease"),
    ("true", "false"),
    ("allow", "deny"),
    ("start", "stop"),
    ("read", "write"),
    ("input", "output"),
    ("upper", "lower"),
    ("always", "never"),
    ("local", "remote"),
    ("add", "remove"),
    ("show", "hide"),
    ("on", "off"),
    ("older", "newer"),
    ("larger", "smaller"),
    ("beginning", "end"),
    ("ignore", "use"),
    ("user", "group"),
    ("file", "directory"),
    ("启用", "禁用"),
    ("之前", "之后"),
    ("最大", "最小"),
    ("增加", "减少"),
    ("允许", "拒绝"),
    ("开始", "停止"),
    ("读", "写"),
    ("输入", "输出"),
    ("添加", "删除"),
    ("显示", "隐藏"),
    ("打开", "关闭"),
    ("用户", "组"),
    ("文件", "目录"),
    ("第一个", "最后一个"),
    ("大写", "小写"),
]


def render(page: Path) -> str:
    env = {
        **os.environ,
        "MANWIDTH": "4000",
        "LANG": "C.UTF-8",
        "MAN_KEEP_FORMATTING": "",
    }
    done = subprocess.run(
        ["man", "-P", "cat", "-l", str(page)],
        capture_output=True,
        text=True,
        env=env,
        timeout=30,
        check=False,
    )
    return done.stdout


def paragraphs(text: str) -> list[str]:
    """Blank-line paragraphs on one line each; an option's name line joined to
    its description (``-a, --all: use all the manuals``)."""
    found = []
    for block in re.split(r"\n\s*\n", text):
        lines = [  # a line not indented is a section title (NAME, 描述)
            " ".join(line.split())
            for line in block.splitlines()
            if line.strip() and line[0].isspace()
        ]
        if len(lines) < 1:
            continue
        if lines[0].startswith("-") and len(lines) > 1 and len(lines[0]) < 60:
            lines = [f"{lines[0]}: {lines[1]}", *lines[2:]]
        found.append(" ".join(lines))
    return found


def sentences(paragraph: str) -> list[str]:
    return [paragraph[a:b] for a, b in sentence_spans(paragraph)]


def usable(sentence: str) -> bool:
    """A sentence one could state in an answer (not a synopsis line)."""
    if not sentence.rstrip().endswith((".", "。", "!", "?", "！", "？")):
        return False
    if _CJK.search(sentence):
        return 12 <= len(sentence) <= 160 and len(_CJK.findall(sentence)) >= 6
    words = sentence.split()
    return 6 <= len(words) <= 45 and sum(w.isalpha() for w in words) >= 4


def window(sents: list[str], i: int, rng: random.Random) -> str:
    """The sentence with up to one neighbour on each side (a span as grounding
    finds them), at most 420 characters."""
    lo = i - rng.randint(0, 1)
    hi = i + rng.randint(0, 1)
    picked = sents[max(0, lo) : hi + 1]
    text = " ".join(picked)
    return text if len(text) <= 420 else sents[i]


def swap_number(s: str, rng: random.Random) -> str | None:
    found = list(_NUMBER.finditer(s))
    if not found:
        return None
    m = rng.choice(found)
    old = m.group(0)
    if "." in old:
        new = f"{float(old) * rng.choice((2, 0.5, 10)):g}"
    else:
        n = int(old)
        new = str(
            rng.choice((n + rng.randint(1, 9), n * 2, max(0, n - rng.randint(1, 9))))
        )
    return None if new == old else s[: m.start()] + new + s[m.end() :]


def negate(s: str, rng: random.Random) -> str | None:
    if _CJK.search(s):
        for old, new in _NEG_ZH:
            if old in s:
                return s.replace(old, new, 1)
        spots = [w for w in _ADD_NEG_ZH if w in s]
        return s.replace(spots[0], "不" + spots[0], 1) if spots else None
    for pattern, new in _NEG_EN:
        if pattern.search(s):
            return pattern.sub(new, s, count=1)
    if re.search(r"\bcan\b", s):
        return re.sub(r"\bcan\b", "cannot", s, count=1)
    m = _AUX.search(s)
    return s[: m.end()] + " not" + s[m.end() :] if m else None


def oppose(s: str, rng: random.Random) -> str | None:
    pairs = [(a, b) for a, b in _OPPOSITES] + [(b, a) for a, b in _OPPOSITES]
    rng.shuffle(pairs)
    for a, b in pairs:
        if _CJK.search(a):
            if a in s and b not in s:
                return s.replace(a, b, 1)
        elif re.search(rf"\b{a}\b", s, re.IGNORECASE) and not re.search(rf"\b{b}\b", s):
            return re.sub(rf"\b{a}\b", b, s, count=1, flags=re.IGNORECASE)
    return None


def swap_name(s: str, names: list[str], rng: random.Random) -> str | None:
    found = list(_OPTION.finditer(s))
    if not found:
        return None
    m = rng.choice(found)
    others = [n for n in names if n not in s and n[0] == m.group(0)[0]]
    if not others:
        return None
    return s[: m.start()] + rng.choice(others) + s[m.end() :]


def clause(s: str) -> str | None:
    """A part of the sentence that says one thing of it (a claim that quotes
    half a sentence is still stated)."""
    parts = [p.strip() for p in re.split(r"[,;] |[，；]", s) if p.strip()]
    long = [p for p in parts if len(p.split()) >= 5 or len(_CJK.findall(p)) >= 8]
    return long[0] if len(parts) > 1 and long else None


def restyle(s: str, rng: random.Random) -> str:
    """How the chat model writes what it read: code in backticks, an opening
    "The" dropped, bold on a term."""
    s = (
        _OPTION.sub(lambda m: f"`{m.group(0)}`", s, count=1)
        if rng.random() < 0.6
        else s
    )
    if s.startswith("The ") and rng.random() < 0.5:
        s = s[4].upper() + s[5:]
    return s


def added_clause(s: str, other: str) -> str:
    tail = (clause(other) or other).rstrip("。.")
    if _CJK.search(s):
        return s.rstrip("。.") + "，并且" + tail + "。"
    return s.rstrip(".") + ", and " + tail[0].lower() + tail[1:] + "."


def page_pairs(text: str, rng: random.Random, per_page: int) -> Iterator[dict]:
    sents = [s for p in paragraphs(text) for s in sentences(p)]
    names = sorted({m.group(0) for s in sents for m in _OPTION.finditer(s)})
    candidates = [i for i, s in enumerate(sents) if usable(s)]
    rng.shuffle(candidates)
    for i in candidates[:per_page]:
        s, span = sents[i], window(sents, i, rng)
        kind = rng.random()
        if kind < 0.4:
            claim = rng.choice([s, restyle(s, rng), clause(s) or s])
            yield {"claim": claim, "span": span, "label": "stated", "how": "copied"}
        elif kind < 0.7:
            makers = [
                ("number", swap_number),
                ("negation", negate),
                ("opposite", oppose),
                ("name", lambda x, r: swap_name(x, names, r)),
            ]
            rng.shuffle(makers)
            for how, make in makers:
                changed = make(s, rng)
                if changed and changed != s:
                    yield {
                        "claim": restyle(changed, rng),
                        "span": span,
                        "label": "contradicted",
                        "how": how,
                    }
                    break
        else:
            far = [j for j in candidates if abs(j - i) > 2 and sents[j] not in s]
            if not far:
                continue
            mine = set(terms(s))
            near = max(far[:60], key=lambda j: len(mine & set(terms(sents[j]))))
            other = window(sents, near, rng)
            if rng.random() < 0.5 and len(mine - set(terms(other))) >= 2:
                yield {
                    "claim": s,
                    "span": other,
                    "label": "not_stated",
                    "how": "other_span",
                }
            else:
                yield {
                    "claim": added_clause(s, sents[near]),
                    "span": span,
                    "label": "not_stated",
                    "how": "added_clause",
                }


PARAPHRASE = (
    "Rewrite each numbered sentence in other words, as you would state it in an "
    "answer. Keep every fact, number, name, option and command; add nothing. "
    "Reply with the same numbers, one sentence each."
)


def paraphrased(pairs: list[dict], count: int, rng: random.Random) -> Iterator[dict]:
    """The chat model's rewording of ``count`` stated sentences, beside their
    passage (stated), and the rewording perturbed (contradicted) or with a
    clause the passage lacks (not stated): a claim in the model's own words."""
    from assistant.core.cancel import CancelToken
    from assistant.core.config import load_settings
    from assistant.core.services.components import load_generator

    generator = load_generator(load_settings())
    stated = [p for p in pairs if p["label"] == "stated" and p["how"] == "copied"]
    rng.shuffle(stated)
    chosen = stated[:count]
    for start in range(0, len(chosen), 4):
        group = chosen[start : start + 4]
        listed = "\n".join(f"{i + 1}. {p['claim']}" for i, p in enumerate(group))
        messages = [{"role": "user", "content": f"{PARAPHRASE}\n\n{listed}"}]
        reply = "".join(
            generator.stream_chat(
                messages, max_tokens=400, temperature=0.3, cancel=CancelToken()
            )
        )
        lines = dict(re.findall(r"^\s*(\d+)[.)]\s*(.+)$", reply, re.MULTILINE))
        for i, pair in enumerate(group):
            new = lines.get(str(i + 1), "").strip()
            if (
                not new
                or new == pair["claim"]
                or len(new) > 2 * len(pair["claim"]) + 40
            ):
                continue
            base = {"span": pair["span"], "page": pair["page"]}
            kind = rng.random()
            if kind < 0.5:
                words = set(terms(new))
                if len(words - set(terms(pair["span"]))) <= 0.2 * len(words):
                    # a rewording that added nothing the passage lacks
                    yield {**base, "claim": new, "label": "stated", "how": "paraphrase"}
                continue
            changed = None
            if kind < 0.8:
                makers = [swap_number, negate, oppose]
                rng.shuffle(makers)
                changed = next((c for m in makers if (c := m(new, rng))), None)
            if changed:
                yield {
                    **base,
                    "claim": changed,
                    "label": "contradicted",
                    "how": "paraphrase_perturbed",
                }
            else:
                other = rng.choice(stated)["claim"]
                yield {
                    **base,
                    "claim": added_clause(new, other),
                    "label": "not_stated",
                    "how": "paraphrase_added",
                }


def man_pages(root: Path, rng: random.Random, count: int) -> list[Path]:
    pages = sorted(
        p
        for p in root.glob("man[1-8]/*")
        if p.is_file() and not any(p.name.startswith(x) for x in LEFT_OUT)
    )
    rng.shuffle(pages)
    return pages[:count]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default="build/claim-pairs.jsonl")
    parser.add_argument("--english-pages", type=int, default=700)
    parser.add_argument("--chinese-pages", type=int, default=500)
    parser.add_argument("--per-page", type=int, default=8)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--paraphrases",
        type=int,
        default=0,
        help="append the chat model's rewordings of this many stated pairs of --out",
    )
    args = parser.parse_args()
    rng = random.Random(args.seed)
    if args.paraphrases:
        out = Path(args.out)
        pairs = [json.loads(line) for line in out.read_text().splitlines()]
        with out.open("a", encoding="utf-8") as handle:
            for pair in paraphrased(pairs, args.paraphrases, rng):
                handle.write(json.dumps(pair, ensure_ascii=False) + "\n")
                handle.flush()
        return
    chinese = Path("/usr/share/man/zh_CN")
    if not chinese.is_dir():
        sys.exit("claim_pairs: no Chinese manual pages (apt-get install manpages-zh)")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    counts: dict[str, int] = {}
    with out.open("w", encoding="utf-8") as handle:
        for root, count in (
            (Path("/usr/share/man"), args.english_pages),
            (chinese, args.chinese_pages),
        ):
            for page in man_pages(root, rng, count):
                for pair in page_pairs(render(page), rng, args.per_page):
                    pair["page"] = page.name
                    counts[pair["label"]] = counts.get(pair["label"], 0) + 1
                    handle.write(json.dumps(pair, ensure_ascii=False) + "\n")
    print(json.dumps({"pairs": sum(counts.values()), **counts}))


if __name__ == "__main__":
    main()
