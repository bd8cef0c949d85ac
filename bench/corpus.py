"""Build a real-text PDF corpus for benchmarks: Python's own library reference
(pydoc text of standard modules) typeset as manuals with chapters and an outline.

    python bench/corpus.py OUT_DIR [--pages N]
"""

from __future__ import annotations

import argparse
import html
import pydoc
import re
from pathlib import Path

MODULES = [
    "json",
    "csv",
    "argparse",
    "logging",
    "pathlib",
    "sqlite3",
    "zipfile",
    "tarfile",
    "datetime",
    "collections",
    "itertools",
    "functools",
    "re",
    "subprocess",
    "threading",
    "shutil",
    "tempfile",
    "string",
    "textwrap",
    "difflib",
    "statistics",
    "fractions",
    "decimal",
    "heapq",
    "bisect",
    "queue",
    "sched",
    "socket",
    "selectors",
    "ssl",
    "hashlib",
    "hmac",
    "secrets",
    "uuid",
    "base64",
    "binascii",
    "struct",
    "codecs",
    "unicodedata",
    "locale",
    "gettext",
    "calendar",
    "time",
    "os",
    "io",
    "glob",
    "fnmatch",
    "filecmp",
    "configparser",
    "netrc",
    "plistlib",
    "email",
    "mailbox",
    "mimetypes",
    "http.client",
    "urllib.request",
    "urllib.parse",
    "ftplib",
    "smtplib",
    "xml.dom.minidom",
    "xml.etree.ElementTree",
    "html.parser",
    "unittest",
    "doctest",
    "pdb",
    "timeit",
    "trace",
    "tracemalloc",
    "gc",
    "inspect",
    "dis",
    "ast",
    "tokenize",
    "keyword",
    "pickle",
    "copy",
    "pprint",
    "reprlib",
    "enum",
    "graphlib",
    "numbers",
    "math",
    "cmath",
    "random",
    "array",
    "weakref",
    "types",
    "typing",
    "dataclasses",
    "contextlib",
    "abc",
    "atexit",
    "traceback",
    "warnings",
    "asyncio",
    "concurrent.futures",
    "multiprocessing",
    "signal",
    "mmap",
]
_BOLD = re.compile(r".\x08")


def module_text(name: str) -> str:
    module = pydoc.locate(name)
    if module is None:
        return ""
    return _BOLD.sub("", pydoc.render_doc(module, renderer=pydoc.plaintext))


def build_manual(path: Path, modules: list[str], title: str) -> int:
    """Write one PDF; returns its page count."""
    from pypdf import PdfReader
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.platypus import PageBreak, Paragraph, SimpleDocTemplate

    styles = getSampleStyleSheet()
    story: list[object] = []

    class _Doc(SimpleDocTemplate):
        def afterFlowable(self, flowable: object) -> None:  # noqa: N802 (reportlab API)
            if isinstance(flowable, Paragraph) and flowable.style.name == "Heading1":
                text = flowable.getPlainText()
                key = f"h{id(flowable)}"
                self.canv.bookmarkPage(key)
                self.canv.addOutlineEntry(text, key, level=0)

    for name in modules:
        text = module_text(name)
        if not text:
            continue
        story.append(Paragraph(html.escape(f"Module {name}"), styles["Heading1"]))
        for block in re.split(r"\n\s*\n", text):
            block = " ".join(block.split())
            if block:
                story.append(Paragraph(html.escape(block[:3000]), styles["BodyText"]))
        story.append(PageBreak())
    _Doc(str(path), pagesize=A4, title=title).build(story)
    return len(PdfReader(str(path)).pages)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("out", type=Path)
    parser.add_argument("--files", type=int, default=4)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    per_file = max(1, len(MODULES) // args.files)
    total = 0
    for i in range(args.files):
        group = MODULES[i * per_file : (i + 1) * per_file]
        pages = build_manual(
            args.out / f"python-library-{i + 1}.pdf",
            group,
            f"Python library reference, part {i + 1}",
        )
        total += pages
        print(f"python-library-{i + 1}.pdf: {pages} pages")
    print(f"total: {total} pages")


if __name__ == "__main__":
    main()
