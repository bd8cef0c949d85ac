"""Saved conversations: one JSON file each, written atomically."""

from __future__ import annotations

import json
import logging
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from assistant.core.answer.prompt import Turn
from assistant.core.fsutil import atomic_write_text, private_dir
from assistant.core.types import Answer, Claim, Source, shorten

log = logging.getLogger(__name__)


@dataclass
class Message:
    role: str  # "user" | "assistant"
    text: str
    sources: list[Source] = field(default_factory=list)
    cited: list[int] = field(default_factory=list)
    stopped: bool = False
    unsupported: list[str] = field(default_factory=list)
    mode: str = "rag"
    claims: list[Claim] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    """Of the answer: first_token_ms, tokens_per_s (shown under it)."""
    interrupted: str = ""
    """Why the answer ended early other than Stop (the server was lost)."""
    withheld: str = ""
    """The model's reply when the answer was declined instead (shown folded)."""
    quotes: tuple[tuple[int, str], ...] = ()
    """While the model reads: the passages' lines closest to the question, each
    with its passage's number (shown until the answer is complete; not saved)."""

    @classmethod
    def from_answer(cls, answer: Answer) -> Message:
        return cls(
            "assistant",
            answer.text,
            list(answer.sources),
            list(answer.cited),
            answer.stopped,
            list(answer.unsupported),
            answer.mode,
            list(answer.claims),
            {
                k: round(v, 2)
                for k, v in answer.timings.items()
                if k in ("first_token_ms", "tokens_per_s")
            },
            answer.interrupted,
            answer.withheld,
        )

    def claim(self, index: int) -> Claim | None:
        return self.claims[index] if 0 <= index < len(self.claims) else None


@dataclass
class ConversationRecord:
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    title: str = "New conversation"
    created: float = field(default_factory=time.time)
    messages: list[Message] = field(default_factory=list)
    turns: list[Turn] = field(default_factory=list)
    """What the model saw, verbatim (for KV-cache reuse when continuing)."""

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        for message in data["messages"]:
            message.pop("quotes", None)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ConversationRecord:
        messages = [
            Message(
                m["role"],
                m["text"],
                [Source(**s) for s in m.get("sources", [])],
                list(m.get("cited", [])),
                bool(m.get("stopped", False)),
                list(m.get("unsupported", [])),
                str(m.get("mode", "rag")),
                [Claim.from_json(c) for c in m.get("claims", [])],
                {k: float(v) for k, v in m.get("timings", {}).items()},
                str(m.get("interrupted", "")),
                str(m.get("withheld", "")),
            )
            for m in data.get("messages", [])
        ]
        turns = [
            Turn(t["user"], t["assistant"], t.get("question", ""))
            for t in data.get("turns", [])
        ]
        return cls(
            data["id"],
            data.get("title", "Conversation"),
            float(data.get("created", 0)),
            messages,
            turns,
        )

    def to_markdown(self) -> str:
        lines = [f"# {self.title}", ""]
        for message in self.messages:
            who = "**You:**" if message.role == "user" else "**Assistant:**"
            lines += [f"{who} {message.text}", ""]
            lines += claim_flags(message)
            cited = [s for s in message.sources if s.n in message.cited]
            if cited:
                lines.append("Sources:")
                for s in cited:
                    quote = shorten(s.text, 160)
                    lines.append(f"- [{s.n}] {s.location()} \u2014 \u201c{quote}\u201d")
                lines.append("")
        return "\n".join(lines)


def claim_flags(message: Message) -> list[str]:
    """Markdown lines for what checking an answer found: claims a source
    contradicts (with its words), claims no source states, a withheld reply."""
    lines = []
    by_n = {s.n: s for s in message.sources}
    for claim in message.claims:
        if claim.verdict == "contradicted" and claim.evidence:
            e = claim.evidence[0]
            said = by_n[e.n].text[e.start : e.end] if e.n in by_n else ""
            lines.append(
                f"- \u26a0 Contradicted by [{e.n}]: \u201c{claim.text}\u201d \u2014 "
                f"the source says \u201c{shorten(said, 200)}\u201d"
            )
        elif not claim.supported:
            lines.append(f"- \u26a0 Stated by no source: \u201c{claim.text}\u201d")
    if message.withheld:
        lines.append(
            "- Not supported by your documents; the model wrote: "
            f"\u201c{shorten(message.withheld, 600)}\u201d"
        )
    return [*lines, ""] if lines else []


MAX_FILE_MB = 64
"""A conversation file larger than this is not read (a thousand long answers
with their passages are ~20 MB; a 500 MB file would take gigabytes to load)."""


def _read(path: Path) -> ConversationRecord | None:
    """A conversation file, or None (with a warning naming it) when it cannot be
    one: damaged (even `[1, 2]`), or too large to be a conversation."""
    try:
        size = path.stat().st_size
        if size > MAX_FILE_MB * 2**20:
            log.warning(
                "%s is %d MB, too large to be a conversation (over %d MB); skipped",
                path,
                size // 2**20,
                MAX_FILE_MB,
            )
            return None
        return ConversationRecord.from_json(json.loads(path.read_text()))
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        log.warning("%s is not a readable conversation (%s); skipped", path, exc)
        return None


class ConversationStore:
    def __init__(self, directory: Path) -> None:
        self.directory = private_dir(directory)

    def _path(self, conversation_id: str) -> Path:
        return self.directory / f"{conversation_id}.json"

    def list(self) -> list[ConversationRecord]:
        records = []
        for path in self.directory.glob("*.json"):
            record = _read(path)
            if record is not None:
                records.append(record)
        return sorted(records, key=lambda r: r.created, reverse=True)

    def last_saved(self) -> str | None:
        """The id of the conversation saved last (the one to reopen at start)."""
        newest: tuple[float, str] | None = None
        for path in self.directory.glob("*.json"):
            try:
                saved = (path.stat().st_mtime, path.stem)
            except OSError:  # deleted meanwhile
                continue
            newest = saved if newest is None else max(newest, saved)
        return newest[1] if newest else None

    def load(self, conversation_id: str) -> ConversationRecord | None:
        """One conversation; None if it is gone, damaged or too large."""
        return _read(self._path(conversation_id))

    def save(self, record: ConversationRecord) -> None:
        atomic_write_text(
            self._path(record.id),
            json.dumps(record.to_json(), ensure_ascii=False, indent=1),
        )

    def delete(self, conversation_id: str) -> None:
        self._path(conversation_id).unlink(missing_ok=True)
