"""Child process for the crash test: ingest a folder slowly with the fake embedder.

python tests/ingest_child.py INDEX_DIR FOLDER [DELAY]  (INDEX_DIR may be an s3://
URI; DELAY: seconds each embedding call sleeps, 0.03 unless given)
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from fakes import FakeEmbedder  # noqa: E402

from assistant.core.config import Settings  # noqa: E402
from assistant.core.services.library import Library  # noqa: E402

SETTINGS = Settings(chunk_tokens=40, chunk_overlap=8, min_similarity=0.0)


class SlowEmbedder(FakeEmbedder):
    delay = 0.03

    def embed(self, texts):  # type: ignore[no-untyped-def]
        time.sleep(self.delay)
        return super().embed(texts)


def start(
    index: Path | str, folder: Path, delay: float = 0.03
) -> subprocess.Popen[str]:
    """This script as a child process, once it has opened the library."""
    child = subprocess.Popen(
        [sys.executable, __file__, str(index), str(folder), str(delay)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    assert child.stdout.readline().strip() == "started"
    return child


def main() -> None:
    where = sys.argv[1]
    embedder = SlowEmbedder()
    embedder.delay = float(sys.argv[3]) if len(sys.argv) > 3 else embedder.delay
    library = Library(
        SETTINGS, embedder, directory=where if "://" in where else Path(where)
    )
    print("started", flush=True)
    library.ingest([sys.argv[2]])
    print("finished", flush=True)


if __name__ == "__main__":
    main()
