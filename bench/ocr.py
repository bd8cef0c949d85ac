"""OCR of scanned pages through the ingest path: real PDF pages printed to images
(at 300 dpi, as a scanner would), turned and given grain, wrapped in an image-only
PDF and read back with ``parse_file``; compared with the page's own text layer.

    python bench/ocr.py [--pages 4] [--dpis 150,200,300]

Sets: the sample manual (9 pt type), the R reference manual (``r-doc-pdf``), the
dev set's Chinese Debian Reference (``../shared/devset``, fetched into
/tmp/devset). Figures: characters read (the share of the reference's characters,
whitespace aside, matched in order by the OCR text), words read (English: the
share of the reference's words found), words right (the share of the words
read that are the page's: a word split or run together is not), and seconds a
page, per render DPI and scan condition. Prints a table and one JSON line
(prefix ``BENCH``).
"""

from __future__ import annotations

import argparse
import difflib
import re
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from report import print_result

ROOT = Path(__file__).resolve().parent.parent
R_MANUAL = Path("/usr/share/R/doc/manual/fullrefman.pdf")
ZH_REFERENCE = Path("/tmp/devset/docs/debian-reference.zh-cn.pdf")
CONDITIONS = {"clean": (0.0, 0), "scanned": (1.5, 30), "poor": (3.0, 60)}
"""Scan conditions: (rotation in degrees, +- grain in grey levels)."""


def sample_manual(folder: Path) -> Path:
    sys.path.insert(0, str(ROOT / "scripts"))
    from make_sample_pdf import build

    return build(folder / "heron-manual.pdf")


def text_pages(pdf: Path, count: int, min_chars: int = 800) -> list[int]:
    """Up to ``count`` pages spread over the document with real text on them."""
    import pypdfium2 as pdfium

    document = pdfium.PdfDocument(str(pdf))
    try:
        total = len(document)
        picks = []
        for index in np.linspace(total * 0.2, total * 0.8, count * 3).astype(int):
            text = document[int(index)].get_textpage().get_text_bounded()
            if len(text.strip()) >= min_chars and int(index) not in picks:
                picks.append(int(index))
            if len(picks) == count:
                break
        return picks or list(range(min(count, total)))
    finally:
        document.close()


def scan(pdf: Path, pages: list[int], angle: float, grain: int, out: Path) -> list[str]:
    """Write ``pages`` of ``pdf`` as a 300-dpi image-only PDF at ``out``; return
    each page's own text (the reference)."""
    import pypdfium2 as pdfium
    from PIL import Image

    document = pdfium.PdfDocument(str(pdf))
    rng = np.random.default_rng(11)
    images, references = [], []
    for index in pages:
        page = document[index]
        references.append(page.get_textpage().get_text_bounded())
        image = page.render(scale=300 / 72).to_pil().convert("RGB")
        if angle:
            image = image.rotate(angle, expand=True, fillcolor=(255, 255, 255))
        if grain:
            pixels = np.asarray(image).astype(np.int16)
            pixels += rng.integers(-grain, grain + 1, pixels.shape, dtype=np.int16)
            image = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))
        images.append(image)
    document.close()
    images[0].save(out, "PDF", resolution=300, save_all=True, append_images=images[1:])
    return references


def characters_read(reference: str, found: str) -> float:
    ref = "".join(reference.split())
    hyp = "".join(found.split())
    if not ref:
        return 1.0
    matcher = difflib.SequenceMatcher(None, ref, hyp, autojunk=False)
    return sum(block.size for block in matcher.get_matching_blocks()) / len(ref)


def words_read(reference: str, found: str) -> float:
    words = re.findall(r"[A-Za-z]{2,}", reference.lower())
    seen = set(re.findall(r"[A-Za-z]{2,}", found.lower()))
    return sum(w in seen for w in words) / max(len(words), 1)


def words_right(reference: str, found: str) -> float:
    """The other way round: the share of the OCR text's English words that are
    words of the page (a word split in two, or two run together, is not)."""
    words = set(re.findall(r"[A-Za-z]{2,}", reference.lower()))
    read = re.findall(r"[A-Za-z]{2,}", found.lower())
    return sum(w in words for w in read) / max(len(read), 1)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pages", type=int, default=4)
    parser.add_argument("--dpis", default="150,200,300")
    parser.add_argument(
        "--spaces",
        default="on",
        help="on,off: with and without the spaces put back from the image",
    )
    args = parser.parse_args()

    from assistant.core.ingest import ocr, parse_file, pdf

    folder = Path(tempfile.mkdtemp(prefix="ocr-bench-"))
    sets = {"sample-9pt": sample_manual(folder)}
    for name, path in (("R-refman", R_MANUAL), ("zh-debian-ref", ZH_REFERENCE)):
        if path.exists():
            sets[name] = path
        else:
            print(f"({name}: {path} not found, skipped)")
    result: dict[str, object] = {}
    rows = []
    for name, source in sets.items():
        pages = (
            list(range(6)) if name == "sample-9pt" else text_pages(source, args.pages)
        )
        for condition, (angle, grain) in CONDITIONS.items():
            scanned = folder / f"{name}-{condition}.pdf"
            references = scan(source, pages, angle, grain, scanned)
            runs = [
                (int(dpi), spaces)
                for dpi in args.dpis.split(",")
                for spaces in args.spaces.split(",")
            ]
            for dpi, spaces in runs:
                pdf.OCR_DPI = dpi
                ocr.RESTORE_SPACES = spaces == "on"
                started = time.perf_counter()
                document = parse_file(scanned, 2**31)
                seconds = (time.perf_counter() - started) / len(pages)
                texts = [page.text for page in document.pages]
                chars = float(
                    np.mean(
                        [
                            characters_read(r, t)
                            for r, t in zip(references, texts, strict=True)
                        ]
                    )
                )
                pairs = list(zip(references, texts, strict=True))
                english = not name.startswith("zh")
                words = (
                    float(np.mean([words_read(r, t) for r, t in pairs]))
                    if english
                    else None
                )
                right = (
                    float(np.mean([words_right(r, t) for r, t in pairs]))
                    if english
                    else None
                )
                key = f"{name}/{condition}/{dpi}dpi/spaces-{spaces}"
                result[key] = {
                    "chars_read": round(chars, 3),
                    "words_read": None if words is None else round(words, 3),
                    "words_right": None if right is None else round(right, 3),
                    "s_per_page": round(seconds, 2),
                }
                rows.append(
                    f"| {name} | {condition} | {dpi} | {spaces} | {chars:.3f} | "
                    f"{'—' if words is None else f'{words:.3f}'} | "
                    f"{'—' if right is None else f'{right:.3f}'} | {seconds:.2f} |"
                )
                print(rows[-1], flush=True)
    print()
    print(
        "| set | scan | dpi | spaces put back | characters read | words read "
        "| words right | s / page |"
    )
    print("|---|---|---|---|---|---|---|---|")
    print("\n".join(rows))
    print()
    print_result({"benchmark": "ocr", "pages_per_set": args.pages, **result})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
