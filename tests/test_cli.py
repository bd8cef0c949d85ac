from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from docgen import FILLER, make_pdf
from fakes import FakeEmbedder, FakeGenerator

from assistant import cli
from assistant.core.services import components


@pytest.fixture(autouse=True)
def _fake_models(monkeypatch: pytest.MonkeyPatch) -> FakeGenerator:
    generator = FakeGenerator()
    generator.queue("The valve opens at 42 bar [1].", "At 42 bar [1].")
    monkeypatch.setattr(
        components, "load_embedder", lambda settings, *_: FakeEmbedder()
    )
    monkeypatch.setattr(components, "load_generator", lambda settings: generator)
    return generator


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_ingest_docs_search_ask_remove(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pdf = make_pdf(
        tmp_path / "valve.pdf", [FILLER, "The valve opens at 42 bar. " + FILLER]
    )
    bad = tmp_path / "bad.pdf"
    bad.write_bytes(b"not a pdf at all")
    code, out, err = _run(capsys, "ingest", str(pdf), str(bad))
    assert code == 1
    assert "1 added" in out and "1 failed" in out
    assert "error: bad.pdf: not a PDF file" in err

    code, out, _ = _run(capsys, "docs", "--json")
    assert code == 0 and [d["path"] for d in json.loads(out)] == [str(pdf.resolve())]

    code, out, _ = _run(capsys, "search", "valve bar", "--json")
    hit = json.loads(out)["sources"][0]
    assert hit["page"] == 2 and "42 bar" in hit["text"]

    code, out, _ = _run(capsys, "ask", "When does the valve open?", "--json")
    result = json.loads(out)
    assert result["answer"] == "The valve opens at 42 bar. [1]"
    assert result["cited"] == [1] and result["sources"][0]["page"] == 2
    claim = result["claims"][0]
    assert claim["supported"] and result["answer"][claim["start"] : claim["end"]] == (
        "The valve opens at 42 bar."
    )
    evidence = claim["evidence"][0]
    source_text = result["sources"][evidence["n"] - 1]["text"]
    assert "42 bar" in source_text[evidence["start"] : evidence["end"]]
    assert set(result["timings"]) >= {"retrieval_ms", "ttft_ms", "tokens_per_s"}

    code, out, _ = _run(capsys, "ask", "When does the valve open?")
    assert "Sources:" in out and "*[1] valve.pdf, page 2:" in out

    code, out, _ = _run(capsys, "remove", str(pdf))
    assert code == 0
    code, out, _ = _run(capsys, "docs")
    assert "library is empty" in out


def test_ingest_json_reports_per_file_failures(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "empty.txt").write_bytes(b"")
    code, out, _ = _run(capsys, "ingest", str(tmp_path), "--json")
    report = json.loads(out)
    assert code == 1
    assert report["failed"] == [
        {"path": str((tmp_path / "empty.txt").resolve()), "reason": "the file is empty"}
    ]


def test_core_imports_no_qt() -> None:
    code = (
        "import sys, assistant.core.services.library, assistant.cli;"
        "bad = [m for m in sys.modules if m.startswith(('PySide6', 'shiboken'))];"
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_chat_keeps_context_between_turns(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    _fake_models: FakeGenerator,
) -> None:
    (tmp_path / "valve.txt").write_text("The valve opens at 42 bar.")
    assert _run(capsys, "ingest", str(tmp_path / "valve.txt"))[0] == 0
    lines = iter(["When does the valve open?", "/reset", "Valve bar again?", "/quit"])
    monkeypatch.setattr("builtins.input", lambda prompt="": next(lines))
    code, out, _ = _run(capsys, "chat")
    assert code == 0
    assert "The valve opens at 42 bar" in out and "(conversation cleared)" in out
    # after /reset the second question is asked without the first turn
    assert [m["role"] for m in _fake_models.prompts[1]] == ["system", "user"]


def test_finetune_commands_explain_what_is_missing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], _fake_models: FakeGenerator
) -> None:
    code, out, _ = _run(capsys, "adapters")
    assert code == 0 and "No adapters yet" in out
    code, _, err = _run(capsys, "ask", "Who is the mayor?", "--mode", "sft")
    assert code == 1 and "No fine-tuned adapter yet" in err
    bad = tmp_path / "pairs.jsonl"
    bad.write_text('{"question": "Q?"}\n{"question": "Q2?", "answer": "A2"}\nnope\n')
    code, _, err = _run(capsys, "finetune", str(bad), "--name", "x")
    assert code == 1
    assert "line 1: no answer" in err and "line 3: not valid JSON" in err
    code, out, _ = _run(capsys, "ask", "What opens?", "--mode", "base", "--json")
    assert code == 0
    result = json.loads(out)
    assert result["mode"] == "base" and result["sources"] == []
    assert _fake_models.prompts[-1][-1]["content"] == "What opens?"


def test_every_subcommand_is_known_to_the_file_argument_check() -> None:
    parser = cli.build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    assert set(sub.choices) == cli.COMMANDS  # type: ignore[arg-type]


def test_hostile_command_lines_get_one_line_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for value in ("-1", "0", "many"):
        with pytest.raises(SystemExit) as refused:
            cli.main(["search", "valve", "--top-k", value])
        assert refused.value.code == 1
        assert "--top-k" in capsys.readouterr().err
    code, _, err = _run(capsys, "ingest", "")
    assert code == 1 and "empty path" in err
    code, _, err = _run(capsys, "eval", str(tmp_path / "missing.jsonl"))
    assert code == 1 and err.strip().endswith("No such file or directory")
    home = tmp_path / "home-file"
    home.write_text("")
    monkeypatch.setenv("ASSISTANT_HOME", str(home))
    code, _, err = _run(capsys, "docs")
    assert code == 1 and "is a file, not a folder" in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_a_damaged_index_json_says_to_reindex_and_reindex_recovers(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("The valve opens at 42 bar.")
    assert _run(capsys, "ingest", str(notes))[0] == 0
    meta = cli.index_dir() / "index.json"
    for garbage in ("{not json", '{"embedder": "fake"}', "[1, 2]"):
        meta.write_text(garbage)
        code, _, err = _run(capsys, "search", "valve")
        assert code == 1 and "damaged" in err and "assistant reindex" in err
    code, out, _ = _run(capsys, "reindex")
    assert code == 0 and "1 documents re-indexed" in out
    code, out, _ = _run(capsys, "search", "valve")
    assert code == 0 and "42 bar" in out


def test_a_question_longer_than_the_model_reads_is_refused_and_chat_goes_on(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import io

    notes = tmp_path / "notes.txt"
    notes.write_text("The valve opens at 42 bar.")
    _run(capsys, "ingest", str(notes))
    code, _, err = _run(capsys, "ask", "why " * 20000)
    assert code == 1 and "too long for the model" in err
    monkeypatch.setattr(
        sys, "stdin", io.StringIO("why " * 20000 + "\nWhen does the valve open?\n")
    )
    code, out, err = _run(capsys, "chat")
    assert code == 0 and "too long" in err and "42 bar" in out


def test_the_library_s_files_are_private(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import os
    import stat

    notes = tmp_path / "notes.txt"
    notes.write_text("The valve opens at 42 bar.")
    old = os.umask(0o022)
    try:
        assert _run(capsys, "ingest", str(notes))[0] == 0
    finally:
        os.umask(old)
    index = cli.index_dir()
    modes = {p: stat.S_IMODE(p.stat().st_mode) for p in [index, *index.rglob("*")]}
    assert modes and all(mode & 0o077 == 0 for mode in modes.values()), {
        str(p): oct(m) for p, m in modes.items() if m & 0o077
    }


def test_ask_search_and_chat_within_some_documents(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    valves, pumps = tmp_path / "valves", tmp_path / "pumps"
    for folder, text in (
        (valves, "The valve opens at 42 bar."),
        (pumps, "The pump runs at 300 rpm."),
    ):
        folder.mkdir()
        (folder / "notes.md").write_text(f"# Notes\n\n{text} " * 3)
    assert _run(capsys, "ingest", str(valves), str(pumps))[0] == 0
    code, out, _ = _run(capsys, "search", "valve pump", "--in", str(pumps), "--json")
    paths = {s["path"] for s in json.loads(out)["sources"]}
    assert code == 0 and paths == {str((pumps / "notes.md").resolve())}
    code, out, _ = _run(
        capsys, "ask", "When does the valve open?", "--in", str(pumps), "--json"
    )
    assert {s["path"] for s in json.loads(out)["sources"]} <= paths
    # a pattern that names nothing is an error, not a question to every document
    code, _, err = _run(capsys, "search", "valve", "--in", "*.docx")
    assert code != 0 and "No document in the library matches" in err
    lines = iter(["/quit"])
    monkeypatch.setattr("builtins.input", lambda prompt="": next(lines))
    code, out, _ = _run(capsys, "chat", "--in", str(valves))
    assert code == 0 and "Only in: notes.md" in out


def test_ingest_and_watch_end_with_the_index_complete(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The command line runs a staged index's second stage before it ends (no
    window will do it at idle) and says how long each stage took."""
    from assistant.core.config import load_settings
    from assistant.core.index.store import PENDING_ROWS

    docs = tmp_path / "manuals"
    docs.mkdir()
    text = " ".join(f"Step {i} of the pump's service is weekly." for i in range(40))
    (docs / "pump.txt").write_text(text)
    code, out, _ = _run(capsys, "ingest", str(docs / "pump.txt"), "--json")
    report = json.loads(out)
    assert code == 0 and report["completed_chunks"] > 1
    assert report["complete_s"] >= report["seconds"]
    code, out, _ = _run(capsys, "ingest", str(docs / "pump.txt"))
    assert "complete (passages" not in out  # unchanged: nothing left to do
    (docs / "fan.txt").write_text(text.replace("pump", "fan"))
    assert cli.main(["watch", "--once", str(docs)]) == 0
    assert "complete (passages encoded whole) in" in capsys.readouterr().out
    from assistant.cli_shared import open_library

    store = open_library(load_settings()).store
    assert store.count_chunks() > 2 and store.table.count_rows(PENDING_ROWS) == 0
