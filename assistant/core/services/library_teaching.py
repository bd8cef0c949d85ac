"""Teach from my library: reading examples made from the user's own documents
(finetune/reading_examples.py), then a reading adapter trained on them in the
training child (finetune/teach.py). The one use case behind ``assistant teach
--from-library`` and the Teach view's button.

Both halves resume: the examples are appended to ``adapters/.<name>.work/`` as
they are made, and the training run saves its state there every few minutes, so a
run stopped (Stop, a closed laptop, a crash) goes on where it was when it is
started again under the same name.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from assistant.core.answer.claim_encoder import shipped_encoder
from assistant.core.answer.prompt import PLAIN_RAG_SYSTEM
from assistant.core.cancel import CancelToken
from assistant.core.errors import AssistantError, Cancelled
from assistant.core.generate.llm import Generator
from assistant.core.services.conversation import Conversation
from assistant.core.services.library import Library
from assistant.core.services.question_search import search_question
from assistant.core.teach.adapters import (
    CHECKPOINT_FILE,
    EXAMPLES_FILE,
    AdapterRecord,
    AdapterStore,
    check_name,
)
from assistant.core.teach.examples import ChatTokenizer, Example, build_chat_example
from assistant.core.teach.reading_examples import (
    ExamplesProgress,
    ReadingExample,
    ReadingTools,
    make_examples,
)
from assistant.core.teach.teaching import Lesson, train_adapter
from assistant.core.teach.trainer import LoraSettings, TrainCallback
from assistant.core.types import Source

DEFAULT_LIMIT = 300


def reading_settings(threads: int = 0) -> LoraSettings:
    """One pass over examples at the app's real prompt length (about 1,100 tokens):
    one example a step, int8 frozen weights and checkpointing to stay under 4 GB.
    Rank 8 on every projection: a 37 MB adapter (rank 16 wrote 74 MB of float32,
    over the 40 MB a default adapter may weigh in the repository)."""
    return LoraSettings(
        rank=8,
        alpha=16.0,
        epochs=1,
        learning_rate=2e-4,
        batch_size=1,
        max_tokens=2048,
        checkpointing=True,
        quantised=True,
        threads=threads,
    )


@dataclass(frozen=True)
class LibraryLesson:
    """A request to teach the model to read this library."""

    name: str
    limit: int = DEFAULT_LIMIT
    seed: int = 0
    settings: LoraSettings = field(default_factory=reading_settings)


def library_tools(library: Library, generator: Generator) -> ReadingTools:
    """The app's own retrieval, prompt and claim verifier, over ``generator``
    (the chat model without an adapter)."""
    conversation = Conversation(library, generator)
    verifier = conversation.design.verifier
    encoder = (
        shipped_encoder() if verifier is not None and verifier.use_encoder else None
    )

    def write(
        messages: Sequence[dict[str, str]], tokens: int, cancel: CancelToken
    ) -> str:
        generator.use_adapter(None)
        return "".join(
            generator.stream_chat(
                list(messages), max_tokens=tokens, temperature=0.0, cancel=cancel
            )
        )

    def search(question: str) -> list[Source]:
        return search_question(library, generator, question)[0]

    def prompt(
        question: str, sources: list[Source]
    ) -> tuple[list[dict[str, str]], list[Source]]:
        conversation.reset()
        _, messages, included = conversation.prompt(question, sources)
        return messages, included

    return ReadingTools(
        write,
        search,
        prompt,
        generator.judge_odds,
        encoder.scores if encoder is not None else None,
    )


def reading_lesson(
    examples: Sequence[ReadingExample], max_tokens: int, data: Path
) -> Lesson:
    def tokenized(tokenizer: ChatTokenizer) -> list[Example]:
        out = []
        for example in examples:
            try:
                out.append(
                    build_chat_example(
                        tokenizer, example.messages, example.answer, max_tokens
                    )
                )
            except AssistantError:
                continue  # a prompt over the limit: left out
        if not out:
            raise AssistantError("Every training example is over the length limit.")
        return out

    return Lesson(
        len(examples),
        tokenized,
        list(examples[0].messages),
        lambda folder: _copy(data, folder / EXAMPLES_FILE),
        system_prompt=PLAIN_RAG_SYSTEM,
        reading=True,
    )


def _copy(source: Path, target: Path) -> None:
    shutil.copyfile(source, target)


def teach_from_library(
    library: Library,
    generator: Generator,
    model_path: Path,
    lesson: LibraryLesson,
    store: AdapterStore | None = None,
    on_examples: Callable[[ExamplesProgress], None] | None = None,
    progress: TrainCallback | None = None,
    cancel: CancelToken | None = None,
    before_training: Callable[[], None] | None = None,
) -> AdapterRecord:
    """Make (or finish making) ``lesson.limit`` examples from the library, then
    train (or resume training) the adapter and keep it. Raises ``Cancelled`` when
    stopped; what was done is kept for the next run of the same name.
    ``before_training``: called once the examples are made (a caller that loaded
    the chat model for them alone frees it for the training child)."""
    store = store or AdapterStore()
    cancel = cancel or CancelToken()
    name = check_name(lesson.name)
    work = store.work_dir(name)
    if library.store.count_chunks() == 0:
        raise AssistantError(
            "The library is empty: add documents first, then teach the model to "
            "read them."
        )
    examples = make_examples(
        library.store.chunk_rows(),
        library_tools(library, generator),
        work / EXAMPLES_FILE,
        lesson.limit,
        lesson.seed,
        on_examples,
        cancel,
    )
    if cancel.cancelled:
        raise Cancelled()
    if not examples:
        raise AssistantError(
            "No training example could be made from the library: the model's "
            "questions were not answered by their passages. Add longer documents "
            "with more text, or teach question/answer pairs instead."
        )
    if before_training is not None:
        before_training()
    record = train_adapter(
        model_path,
        reading_lesson(examples, lesson.settings.max_tokens, work / EXAMPLES_FILE),
        name,
        lesson.settings,
        store,
        progress,
        cancel,
        checkpoint=work / CHECKPOINT_FILE,
    )
    shutil.rmtree(work, ignore_errors=True)
    return record
