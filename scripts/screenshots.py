"""Start the real app (real models), add the samples, ask, open a citation, and
save screenshots to docs/screenshots/. Run under Xvfb or offscreen:

    QT_QPA_PLATFORM=offscreen .venv/bin/python scripts/screenshots.py [--answers-only]
    QT_QPA_PLATFORM=offscreen .venv/bin/python scripts/screenshots.py --ocr

``--staged FOLDER`` makes only improving-search.png (the folder searchable by
meaning, its passages being encoded whole) and index-complete.png.
``--long-pdf PATH`` makes only long-pdf-indexing.png (every page of a long PDF
searchable by words while its vectors are made) and long-pdf-stopped.png (after
Stop: the document partly indexed, Resume offered).
``--server`` makes only server-answer.png, answered by the OpenAI-compatible server
that ``ASSISTANT_CHAT_BASE_URL`` names (start one first, see the README).
``--trust`` makes only claim-contradicted.png (a reply whose words are given,
checked by the real verifier: one claim stated, one contradicted, its span shown
on hover; run under Xvfb so the tooltip is captured from the screen) and
declined-folded.png (a near-miss question answered by the real model, declined,
the reply unfolded under the decline).
``--ocr`` makes only ocr-passage.png: the sample manual printed, scanned (each page
rendered at 150 dpi, turned 1 degree, with grain) into an image-only PDF.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "screenshots"
QUESTION = "How often must the altimeter be recalibrated?"
UNANSWERABLE = "What is the maximum take-off weight of a Boeing 747-400?"
CROSSLINGUAL = "高度计多久需要重新校准一次？"  # answered from the English manual


def main() -> int:
    os.environ["ASSISTANT_HOME"] = tempfile.mkdtemp(prefix="assistant-shots-")
    sys.path.insert(0, str(ROOT / "scripts"))
    from make_sample_pdf import build
    from PySide6.QtCore import QEventLoop, QTimer
    from PySide6.QtWidgets import QApplication

    from assistant.core.config import Settings
    from assistant.ui.main_window import MainWindow

    app = QApplication(sys.argv)
    app.setApplicationName("Assistant")
    samples = Path(tempfile.mkdtemp(prefix="samples-"))
    pdf = build(samples / "heron-manual.pdf")
    if "--ocr" in sys.argv:
        pdf = scanned_copy(pdf, samples / "heron-manual-scanned.pdf")
    rules = samples / "club-rules.txt"
    rules.write_text((ROOT / "resources" / "samples" / "club-rules.txt").read_text())
    OUT.mkdir(parents=True, exist_ok=True)
    window = MainWindow(Settings())
    window.resize(1400, 860)
    window.show()

    def wait_for(signal: object, timeout_ms: int) -> None:
        loop = QEventLoop()
        signal.connect(loop.quit)  # type: ignore[attr-defined]
        QTimer.singleShot(timeout_ms, loop.quit)
        loop.exec()

    def settle(ms: int = 300) -> None:
        loop = QEventLoop()
        QTimer.singleShot(ms, loop.quit)
        loop.exec()

    def add(paths: list[str]) -> None:
        window.add_paths(paths)
        wait_for(window.library.worker.sig_ingest_finished, 300000)
        settle(500)

    def ask(question: str) -> None:
        window.chat_pane.input.setPlainText(question)
        window.chat_pane.submit()
        wait_for(window.chat.sig_answer_shown, 300000)
        settle()

    def add_ask_and_cite(paths: list[str], shot: str) -> None:
        """Index ``paths``, ask QUESTION, open the first claim's evidence, save."""
        add(paths)
        ask(QUESTION)
        window.chat_pane.sig_citation.emit(1, 1, 0)
        settle(500)
        window.grab().save(str(OUT / shot))

    wait_for(window.library.sig_documents_shown, 60000)
    settle()
    if "--staged" in sys.argv:
        staged_shots(window, sys.argv[sys.argv.index("--staged") + 1], settle)
        window.close()
        return 0
    if "--long-pdf" in sys.argv:
        long_pdf_shots(window, sys.argv[sys.argv.index("--long-pdf") + 1], settle)
        window.close()
        return 0
    if "--trust" in sys.argv:
        add([str(pdf), str(rules)])
        trust_shots(window, ask, settle)
        window.close()
        return 0
    if "--ocr" in sys.argv or "--server" in sys.argv:
        shot = "ocr-passage.png" if "--ocr" in sys.argv else "server-answer.png"
        add_ask_and_cite([str(pdf)], shot)
        window.close()
        return 0
    window.grab().save(str(OUT / "empty.png"))
    from assistant.ui.settings_dialog import SettingsDialog

    dialog = SettingsDialog(Settings(), window)
    dialog.show()
    settle()
    dialog.grab().save(str(OUT / "settings.png"))
    dialog.close()
    add_ask_and_cite([str(pdf), str(rules)], "answer-with-passage.png")
    ask(UNANSWERABLE)
    window.grab().save(str(OUT / "declined.png"))
    ask(CROSSLINGUAL)
    index = len(window.chat.messages.messages()) - 1
    answer = window.chat.messages.messages()[index]
    cited = [(k, c.evidence[0].n) for k, c in enumerate(answer.claims) if c.evidence]
    if cited:
        window.chat_pane.sig_citation.emit(index, cited[0][1], cited[0][0])
    settle(500)
    window.grab().save(str(OUT / "crosslingual.png"))
    window.dark_action.setChecked(True)  # the same window in the dark theme
    settle(500)
    window.grab().save(str(OUT / "dark.png"))
    window.dark_action.setChecked(False)
    if "--answers-only" in sys.argv:
        window.close()
        return 0

    # Teach: import the sample pairs and train a real adapter (about 2 minutes)
    teach = window.teach.open()
    teach.resize(1200, 720)
    teach.import_file(ROOT / "resources" / "samples" / "teach-pairs.jsonl")
    teach.name_edit.setText("club-facts")
    teach.epochs.setValue(10)
    teach.start()
    wait_for(window.teach.sig_trained, 900000)
    settle(500)
    teach.grab().save(str(OUT / "teach.png"))
    teach.close()

    # Compare the four answer modes on a question only the adapter knows
    window.chat_pane.set_mode("sft")
    window.chat_pane.input.setPlainText("Who is the chief flying instructor?")
    window.chat_pane.submit_compare()
    wait_for(window.chat.worker.sig_compare_finished, 300000)
    settle(500)
    assert window.chat.compare_dialog is not None
    window.chat.compare_dialog.grab().save(str(OUT / "compare.png"))
    window.grab().save(str(OUT / "modes.png"))
    window.close()
    print(f"screenshots in {OUT}")
    return 0


NEAR_MISS = "How much does a new altimeter for the Heron cost?"
GIVEN_REPLY = (
    "The altimeter must be recalibrated every 30 days by a certified technician. "
    "It must also be recalibrated after any hard landing."
)


class GivenReply:
    """The real generator, except that the next reply's words are given (to show
    how the real verifier flags a wrong number)."""

    def __init__(self, real: Any, reply: str) -> None:
        self._real = real
        self._reply = reply

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)

    def stream_chat(self, messages: Any, **kwargs: Any) -> Any:
        reply, self._reply = self._reply, ""
        if not reply:
            yield from self._real.stream_chat(messages, **kwargs)
            return
        for word in reply.split(" "):
            yield word + " "


def trust_shots(window: Any, ask: Any, settle: Any) -> None:
    import subprocess

    from PySide6.QtCore import QUrl

    ask(NEAR_MISS)
    declined = window.chat.messages.messages()[-1]
    print("near miss:", declined.text, "| withheld:", declined.withheld)
    if declined.withheld:
        index = len(window.chat.messages.messages()) - 1
        window.chat_pane.transcript.anchorClicked.emit(QUrl(f"unfold:{index}"))
    settle(500)
    window.grab().save(str(OUT / "declined-folded.png"))
    worker = window.chat.worker
    worker._generator = GivenReply(worker._generator, GIVEN_REPLY)
    ask(QUESTION)
    messages = window.chat.messages.messages()
    index = len(messages) - 1
    claims = messages[index].claims
    print("verdicts:", [(c.text, c.verdict) for c in claims])
    flagged = next((k for k, c in enumerate(claims) if c.verdict == "contradicted"), -1)
    if flagged >= 0:
        from PySide6.QtGui import QCursor
        from PySide6.QtWidgets import QToolTip

        tip = window.chat_pane.link_tooltip(QUrl(f"claim:{index}:{flagged}"))
        transcript = window.chat_pane.transcript
        point = transcript.mapToGlobal(transcript.rect().center())
        QCursor.setPos(point)
        QToolTip.showText(point, tip, transcript)
        settle(800)
    display = os.environ.get("DISPLAY")
    if display:
        subprocess.run(
            ["import", "-window", "root", str(OUT / "claim-contradicted.png")],
            check=True,
        )
    else:
        window.grab().save(str(OUT / "claim-contradicted.png"))


def staged_shots(window: Any, folder: str, settle: Any) -> None:
    """Add a folder; once it is searchable by meaning and the second stage is a
    third done, grab the window (improving-search.png); once the index is
    complete, grab it again (index-complete.png)."""
    from PySide6.QtCore import QEventLoop, QTimer

    worker = window.library.worker
    loop = QEventLoop()

    def on_completion(progress: Any) -> None:
        if progress.done * 3 >= progress.total:
            loop.quit()

    worker.sig_completion.connect(on_completion)
    window.add_paths([folder])
    QTimer.singleShot(1800000, loop.quit)
    loop.exec()
    worker.sig_completion.disconnect(on_completion)
    settle(1000)
    window.grab().save(str(OUT / "improving-search.png"))
    done = QEventLoop()
    worker.sig_completed.connect(lambda *_: done.quit())
    QTimer.singleShot(1800000, done.quit)
    done.exec()
    settle(1000)
    window.grab().save(str(OUT / "index-complete.png"))


def long_pdf_shots(window: Any, pdf: str, settle: Any) -> None:
    """Add a long PDF; once all its words are committed and some vectors made,
    grab the window, press Stop, grab it again."""
    from PySide6.QtCore import QEventLoop, QTimer

    worker = window.library.worker
    seen: list[Any] = []
    loop = QEventLoop()

    def on_progress(progress: Any) -> None:
        read = progress.pages_total and progress.pages_read >= progress.pages_total
        if read and progress.pages_done >= 100 and not seen:
            seen.append(progress)
            loop.quit()

    worker.sig_progress.connect(on_progress)
    window.add_paths([pdf])
    QTimer.singleShot(900000, loop.quit)
    loop.exec()
    settle(500)
    window.grab().save(str(OUT / "long-pdf-indexing.png"))
    finished = QEventLoop()
    worker.sig_ingest_finished.connect(finished.quit)
    window.library.pane.stop_button.click()
    QTimer.singleShot(120000, finished.quit)
    finished.exec()
    settle(2000)
    window.grab().save(str(OUT / "long-pdf-stopped.png"))


def scanned_copy(pdf: Path, out: Path) -> Path:
    import numpy as np
    import pypdfium2 as pdfium
    from PIL import Image

    document = pdfium.PdfDocument(str(pdf))
    scans = []
    rng = np.random.default_rng(1)
    for page in document:
        image = page.render(scale=150 / 72).to_pil().convert("RGB")
        image = image.rotate(1.0, expand=True, fillcolor=(255, 255, 255))
        pixels = np.asarray(image).astype(np.int16)
        pixels += rng.integers(-25, 26, size=pixels.shape, dtype=np.int16)
        scans.append(Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)))
    document.close()
    scans[0].save(out, "PDF", resolution=150, save_all=True, append_images=scans[1:])
    return out


if __name__ == "__main__":
    raise SystemExit(main())
