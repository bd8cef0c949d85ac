"""``python -m assistant.core.services.model_setup [ALIAS ...]``: install the
chat models (default: the default one) and, on plain set-up, export the ONNX
form of the English alternative embedder."""

from __future__ import annotations

import sys

from assistant.core.embed.onnx_embedding import exported_embedder
from assistant.core.model_files import DEFAULT_CHAT_MODEL, install_chat_model


def main(argv: list[str] | None = None) -> int:
    aliases = (argv if argv is not None else sys.argv[1:]) or [DEFAULT_CHAT_MODEL]
    for alias in aliases:
        install_chat_model(alias)
    if argv is None and len(sys.argv) == 1:  # plain setup: the English alternative
        exported_embedder("all-MiniLM-L6-v2-int8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
