"""Build the default reading adapter from a clean clone (issue 45).

    .venv/bin/python scripts/build_reading_adapter.py [--limit 200] [--work DIR]

1. Downloads public Debian documentation packages (pinned versions, `apt-get
   download`, cached in WORK/debs) and copies the chosen pages to WORK/docs.
   None of them is in the dev set (debian-reference, debian-handbook, gnuplot)
   or in the tests' samples:

   ==================  =====================================  ===============
   package             pages                                  licence
   ==================  =====================================  ===============
   sqlite3-doc         FAQ, when to use, WAL, data types,     public domain
                       quirks, locking, limits, atomic commit
   debian-faq          5 chapters (English)                   SPI permissive
                                                              (verbatim/modified
                                                              copies with notice)
   debian-faq-zh-cn    5 chapters (Simplified Chinese)        as debian-faq
   maint-guide-zh-cn   5 chapters (Simplified Chinese)        GPL-2+ or MIT
   ==================  =====================================  ===============

2. Indexes them into a library of its own (ASSISTANT_HOME=WORK/home) and runs
   ``assistant teach --from-library --name reading --limit N`` there: the chat
   model writes questions about passages, the app's own search and prompt build
   each example, the claim verifier keeps only answers their passage states, and
   the LoRA is trained in the training child. Both halves resume, so the script
   can be stopped and run again (on 2 cores: about half a minute a kept
   example, 80 from 168 passages tried in about 36 min on 2026-12-08, and 79 s
   a training step: 1 h 45 min for 80).
3. Copies the adapter to resources/models/reading-adapter/ with a manifest
   naming the documents, their licences and the run's figures, and the examples
   it was trained on (``examples.jsonl``: a later build starts from them, and a
   build stopped part-way can keep its examples there for the next one).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "resources" / "models" / "reading-adapter"
NAME = "reading"

# package, pinned version, licence
PACKAGES = [
    ("sqlite3-doc", "3.40.1-2+deb12u2", "public domain"),
    (
        "debian-faq",
        "11.1",
        "SPI permissive licence (copies and modified copies with the notice)",
    ),
    ("debian-faq-zh-cn", "11.1", "SPI permissive licence (as debian-faq)"),
    ("maint-guide-zh-cn", "1.2.53", "GPL-2+ or MIT"),
]
SQLITE = "usr/share/doc/sqlite3"
FAQ = "usr/share/doc/debian/FAQ"
MAINT = "usr/share/doc/maint-guide-zh-cn/html"
# name in docs/, package, path inside it
FILES = [
    *(
        (f"sqlite-{page}.html", "sqlite3-doc", f"{SQLITE}/{page}.html")
        for page in (
            "faq",
            "whentouse",
            "wal",
            "datatype3",
            "quirks",
            "lockingv3",
            "limits",
            "atomiccommit",
        )
    ),
    *(
        (f"debian-faq-{part}.en.html", "debian-faq", f"{FAQ}/{part}.en.html")
        for part in ("pkg-basics", "pkgtools", "customizing", "uptodate", "support")
    ),
    *(
        (
            f"debian-faq-{part}.zh-cn.html",
            "debian-faq-zh-cn",
            f"{FAQ}/zh-cn/{part}.zh-cn.html",
        )
        for part in ("pkg-basics", "pkgtools", "customizing", "uptodate", "support")
    ),
    *(
        (
            f"maint-guide-{part}.zh-cn.html",
            "maint-guide-zh-cn",
            f"{MAINT}/{part}.zh-cn.html",
        )
        for part in ("first", "dreq", "modify", "build", "upload")
    ),
]


def fetch_docs(work: Path) -> list[Path]:
    debs, unpacked, docs = work / "debs", work / "unpacked", work / "docs"
    for folder in (debs, unpacked, docs):
        folder.mkdir(parents=True, exist_ok=True)
    for package, version, _ in PACKAGES:
        if not list(debs.glob(f"{package}_*.deb")):
            subprocess.run(
                ["apt-get", "download", f"{package}={version}"], cwd=debs, check=True
            )
        deb = next(debs.glob(f"{package}_*.deb"))
        if not (unpacked / package).is_dir():
            subprocess.run(
                ["dpkg", "-x", str(deb), str(unpacked / package)], check=True
            )
    out = []
    for name, package, inside in FILES:
        target = docs / name
        shutil.copyfile(unpacked / package / inside, target)
        out.append(target)
    return out


def assistant(work: Path, *args: str) -> None:
    env = dict(os.environ, ASSISTANT_HOME=str(work / "home"))
    done = subprocess.run([sys.executable, "-u", "-m", "assistant", *args], env=env)
    if done.returncode != 0:
        sys.exit(
            f"`assistant {args[0]}` ended with status {done.returncode} (stopped or "
            "failed, see above); run this script again to go on from there."
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--limit", type=int, default=200, help="examples to make")
    parser.add_argument("--work", type=Path, default=ROOT / "build" / "reading-adapter")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    work = args.work.resolve()
    docs = fetch_docs(work)
    assistant(work, "ingest", *map(str, docs))
    made = work / "home" / "adapters" / f".{NAME}.work" / "examples.jsonl"
    kept = args.out / "examples.jsonl"
    if kept.is_file() and not made.is_file():  # an earlier build's examples go on
        made.parent.mkdir(parents=True, exist_ok=True)  # (delete it to make anew)
        shutil.copyfile(kept, made)
    assistant(
        work, "teach", "--from-library", "--name", NAME, "--limit", str(args.limit)
    )

    folder = work / "home" / "adapters" / NAME
    record = json.loads((folder / "adapter.json").read_text(encoding="utf-8"))
    args.out.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(folder / "adapter.gguf", args.out / "adapter.gguf")
    shutil.copyfile(folder / "examples.jsonl", args.out / "examples.jsonl")
    digest = hashlib.sha256((args.out / "adapter.gguf").read_bytes()).hexdigest()
    manifest = {
        "adapter": "adapter.gguf",
        "sha256": digest,
        "base_model": record.get("base_model"),
        "examples": record.get("pairs"),
        "train_s": record.get("total_s"),
        "final_loss": (record.get("losses") or [[0, None]])[-1][1],
        "documents": [
            {"file": name, "package": package, "path": inside}
            for name, package, inside in FILES
        ],
        "packages": [
            {"package": p, "version": v, "licence": lic} for p, v, lic in PACKAGES
        ],
        "built_by": "scripts/build_reading_adapter.py",
    }
    (args.out / "manifest.json").write_text(
        json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    print(f"reading adapter: {args.out / 'adapter.gguf'} ({digest[:12]})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
