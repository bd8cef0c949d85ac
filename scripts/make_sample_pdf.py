"""Typeset resources/samples/heron-manual.md as a PDF, one section per page.

python scripts/make_sample_pdf.py OUT.pdf
"""

from __future__ import annotations

import html
import sys
from pathlib import Path

SAMPLE = (
    Path(__file__).resolve().parent.parent / "resources" / "samples" / "heron-manual.md"
)


def build(out: Path, source: Path = SAMPLE) -> Path:
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.platypus import PageBreak, Paragraph, SimpleDocTemplate

    styles = getSampleStyleSheet()
    story: list[object] = []
    for line in source.read_text(encoding="utf-8").splitlines():
        if line.startswith("# "):
            story.append(Paragraph(html.escape(line[2:]), styles["Title"]))
        elif line.startswith("## "):
            if len(story) > 1:
                story.append(PageBreak())
            story.append(Paragraph(html.escape(line[3:]), styles["Heading2"]))
        elif line.strip():
            story.append(Paragraph(html.escape(line), styles["BodyText"]))
    SimpleDocTemplate(
        str(out), pagesize=A4, title="Heron H-2 maintenance manual"
    ).build(story)
    return out


if __name__ == "__main__":
    build(Path(sys.argv[1]))
