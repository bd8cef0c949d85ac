"""Second hostile probe, cases 12, 13, 17, 18 and 19: inputs that gave a
traceback, an empty reason or a garbled line now get one clear message naming
the file and what to do."""

from __future__ import annotations

import json
import os
import zlib
from pathlib import Path

import pytest
from fakes import FakeEmbedder, FakeGenerator

from assistant import cli
from assistant.core.errors import AssistantError, IndexWriteError, LibraryUnreachable
from assistant.core.fsutil import shown_name
from assistant.core.generate.llm import LlamaGenerator
from assistant.core.ingest import discover
from assistant.core.services import components
from assistant.core.services.library import Library
from assistant.core.teach.adapters import AdapterStore, adapters_dir


def test_a_text_file_named_gguf_is_refused_by_name(tmp_path: Path) -> None:
    fake = tmp_path / "model.gguf"
    fake.write_text("not a model at all\n" * 100)
    with pytest.raises(AssistantError, match="model.gguf is not a GGUF model file"):
        LlamaGenerator(fake)


def test_a_damaged_adapter_record_names_the_adapter_and_the_fix(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = adapters_dir() / "X"
    folder.mkdir(parents=True)
    (folder / "adapter.json").write_text('{"name": "X", "settings": 7}')
    with pytest.raises(AssistantError, match="adapter 'X' is damaged"):
        AdapterStore().get("X")
    monkeypatch.setattr(components, "load_embedder", lambda *_: FakeEmbedder())
    monkeypatch.setattr(components, "load_generator", lambda *_: FakeGenerator())
    code = cli.main(["ask", "What?", "--mode", "sft", "--adapter", "X"])
    _, err = capsys.readouterr()
    assert code == 1 and "Traceback" not in err
    assert "adapter 'X' is damaged" in err and len(err.strip().splitlines()) == 1


def _png(path: Path, width: int, height: int) -> Path:
    """A valid PNG header and one tiny compressed row: it declares the size."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return len(data).to_bytes(4, "big") + body + zlib.crc32(body).to_bytes(4, "big")

    header = (
        width.to_bytes(4, "big") + height.to_bytes(4, "big") + b"\x08\x00\x00\x00\x00"
    )
    rows = zlib.compress(b"\x00" + b"\xff" * width) * 1
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", rows)
        + chunk(b"IEND", b"")
    )
    return path


def test_images_that_ocr_cannot_take_get_a_reason(
    library: Library, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    from PIL import Image

    thin = tmp_path / "thin.png"
    Image.new("L", (20_000, 12), 255).save(thin)
    webp = tmp_path / "cut.webp"
    Image.new("RGB", (400, 300), (200, 10, 10)).save(webp, quality=90)
    webp.write_bytes(webp.read_bytes()[:60])
    bomb = _png(tmp_path / "big.png", 10_000, 10_000)
    report = library.ingest([thin, webp, bomb])
    reasons = {Path(f.path).name: f.reason for f in report.failed}
    assert "too long and thin" in reasons["thin.png"]
    assert "damaged or cut short" in reasons["cut.webp"]
    assert "decompression bomb" in reasons["big.png"]
    assert all(len(r) > 30 for r in reasons.values())
    assert "DecompressionBombWarning" not in capfd.readouterr().err


def test_a_huge_pdf_page_is_rendered_within_the_pixel_budget() -> None:
    from assistant.core.ingest.pdf import OCR_MAX_PIXELS, ocr_scale

    assert ocr_scale(595, 842) == pytest.approx(200 / 72)  # A4 at 200 dpi
    for side in (7_200.0, 14_400.0, 200_000.0):
        scale = ocr_scale(side, side)
        assert (side * scale) ** 2 <= OCR_MAX_PIXELS * 1.0001


def test_file_names_that_are_not_utf8_or_hold_controls_stay_one_clear_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "names"
    folder.mkdir()
    bad = os.fsencode(folder) + b"/caf\xe9.txt"
    with open(bad, "w") as handle:
        handle.write("Text about the harbour gate. " * 3)
    (folder / "two\nlines.txt").write_text("Text about the ferry. " * 3)
    (folder / "evil\u202etxt.exe.txt").write_text("Text about the pier. " * 3)
    files, failures = discover([folder])
    assert [f.reason for f in failures] == [
        "the file name is not valid UTF-8 text; rename the file to index it"
    ]
    assert str(failures[0]).startswith("caf\\xe9.txt: ")
    assert shown_name("two\nlines.txt") == "two\\x0alines.txt"
    assert shown_name("evil\u202etxt.exe.txt") == "evil\\u202etxt.exe.txt"
    monkeypatch.setattr(components, "load_embedder", lambda *_: FakeEmbedder())
    code = cli.main(["ingest", str(folder)])
    out, err = capsys.readouterr()
    assert code == 1 and "Traceback" not in err and "caf\\xe9.txt" in err
    assert "2 added" in out
    cli.main(["docs"])
    listed = capsys.readouterr().out.strip().splitlines()
    assert len(listed) == 2 and not any("\u202e" in line for line in listed)
    cli.main(["docs", "--json"])
    assert len(json.loads(capsys.readouterr().out)) == 2


def test_a_store_s_error_is_one_short_line_without_source_paths() -> None:
    """Probe 2, case 19: the S3 server killed mid-ingest printed one huge line of
    raw Lance error with a cargo registry source path."""
    raw = OSError(
        "LanceError(IO): Generic S3 error: "
        + "request failed, after 0 retries in 1ms: " * 40
        + ", /root/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/"
        "lance-io-0.38.2/src/object_store.rs:172:20"
    )
    for error in (
        IndexWriteError("s3://library/prefix", raw),
        LibraryUnreachable("s3://library/prefix", raw),
    ):
        text = str(error)
        assert ".cargo" not in text and ".rs:" not in text
        assert len(text) < 600 and "\n" not in text
