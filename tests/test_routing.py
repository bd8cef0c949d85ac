"""Language routing: each chunk in its language's model, and Chinese questions
searched together with their English translation."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from fakes import FakeEmbedder, FakeGenerator

from assistant.core.config import Settings
from assistant.core.embed.embedding import query_views
from assistant.core.embed.routed_embedding import RoutedEmbedder
from assistant.core.retrieve.query_translation import english_query
from assistant.core.search_text import is_cjk_text
from assistant.core.services.library import Library
from assistant.core.services.question_search import search_question


def _routed() -> RoutedEmbedder:
    multilingual = FakeEmbedder(dim=16, name="multi")
    multilingual.similarity_floor = 0.2  # type: ignore[attr-defined]
    english = FakeEmbedder(dim=8, name="english")
    english.similarity_floor = 0.3  # type: ignore[attr-defined]
    return RoutedEmbedder(multilingual, english)


def test_each_text_lands_in_its_language_model_s_half() -> None:
    routed = _routed()
    vectors = routed.embed(
        ["The gate closes at nine.", "大门九点关闭。", "运行 ls -l 命令"]
    )
    assert vectors.shape == (3, 24)
    assert np.abs(vectors[0, :16]).max() == 0 and np.abs(vectors[0, 16:]).max() > 0
    assert np.abs(vectors[1, 16:]).max() == 0 and np.abs(vectors[1, :16]).max() > 0
    assert np.abs(vectors[2, 16:]).max() == 0  # Chinese with a command is Chinese
    english_views = query_views(routed, "When does the gate close?")
    assert [(v.model, v.floor) for v in english_views] == [
        ("english", 0.3),
        ("multi", 0.2),
    ]
    assert [v.model for v in query_views(routed, "大门几点关？")] == ["multi"]
    assert is_cjk_text("用 gnuplot 画图") and not is_cjk_text("plot sin(x) 图")


HARBOUR = (
    "Harbour rules.\n\nThe harbour gate closes at 21:30 every night. "
    "Boats moor at the north pier."
)
LIBRARY_ZH = "图书馆周一至周五开放。逾期归还的图书每天罚款五角。"


def _library(tmp_path: Path, english: bool = True) -> Library:
    """A routed library (fake models) of a Chinese note, and an English one."""
    docs = tmp_path / "docs"
    docs.mkdir()
    if english:
        (docs / "harbour.txt").write_text(HARBOUR)
    (docs / "library.txt").write_text(LIBRARY_ZH)
    library = Library(Settings(chunk_tokens=40), _routed(), directory=tmp_path / "ix")
    assert library.ingest([docs]).ok
    return library


def test_a_chinese_question_reaches_english_text_through_its_translation(
    tmp_path: Path,
) -> None:
    library = _library(tmp_path)
    question = "港口大门每天晚上几点关闭？"
    generator = FakeGenerator()
    alone, _ = search_question(library, None, question)
    assert all(Path(s.path).name != "harbour.txt" for s in alone)
    generator.translations[question] = "When does the harbour gate close at night?"
    found, _ = search_question(library, generator, question)
    assert generator.translated == [question]
    harbour = [s for s in found if Path(s.path).name == "harbour.txt"]
    assert harbour and "21:30" in harbour[0].text


def test_only_cjk_questions_are_translated_and_bad_replies_are_dropped() -> None:
    generator = FakeGenerator()
    assert english_query(generator, "When does the gate close?") is None
    assert generator.translated == []
    generator.translations["大门几点关？"] = "港口大门几点关？"  # not English
    assert english_query(generator, "大门几点关？") is None
    generator.translations["大门几点关？"] = "\nWhen does the gate close?\nNote: ..."
    assert english_query(generator, "大门几点关？") == "When does the gate close?"


def test_the_translation_is_not_waited_for_past_its_first_line() -> None:
    generator = FakeGenerator()
    generator.translations["大门几点关？"] = (
        "When does the gate close?\nThe gate closes at nine, as the notice says."
    )
    assert english_query(generator, "大门几点关？") == "When does the gate close?"
    assert generator.translation_tokens == 6  # five words, then the newline's token


def test_a_library_built_before_the_default_changed_keeps_its_embedder(
    tmp_path: Path,
) -> None:
    import json

    from assistant.core.index.store import ChunkStore
    from assistant.core.services.components import load_embedder

    index = tmp_path / "index"
    index.mkdir()
    (index / "index.json").write_text(
        json.dumps({"embedder": "use-multilingual-v3", "dim": 512})
    )
    assert ChunkStore.indexed_embedder(index) == "use-multilingual-v3"
    assert (
        load_embedder(Settings(), "use-multilingual-v3").name == "use-multilingual-v3"
    )
    chosen = Settings.model_validate({"embedding_model": "use-minilm-routed-v1"})
    assert load_embedder(chosen, "use-multilingual-v3").name == "use-minilm-routed-v1"
    assert ChunkStore.indexed_embedder(tmp_path / "none") is None


def test_a_library_without_english_text_stops_translating_until_one_is_added(
    tmp_path: Path,
) -> None:
    library = _library(tmp_path, english=False)
    docs = tmp_path / "docs"
    generator = FakeGenerator()
    generator.translations = {"图书馆几点开门？": "When does the library open?"}
    for _ in range(3):
        search_question(library, generator, "图书馆几点开门？")
    assert len(generator.translated) == 1  # then known: no English chunks to reach
    (docs / "harbour.txt").write_text(HARBOUR)
    assert library.ingest([docs]).ok
    search_question(library, generator, "图书馆几点开门？")
    assert len(generator.translated) == 2


def test_only_english_sentences_get_vectors_of_their_own(tmp_path: Path) -> None:
    from assistant.core.index.store import SENTENCE_ROWS

    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "harbour.txt").write_text(HARBOUR)
    (docs / "library.txt").write_text(LIBRARY_ZH)
    english = [
        "Run the backup tool every night before you leave the office.",
        "Check the log file for errors the next morning and fix them.",
        "Keep three copies of every backup on two different disks.",
        "Test a restore from the oldest copy once a month at least.",
    ]
    # an English chunk with one Chinese sentence in it (below the CJK share)
    (docs / "mixed.txt").write_text(
        " ".join(english[:2] + ["备份完成后请检查日志。"] + english[2:])
    )
    routed = RoutedEmbedder(
        FakeEmbedder(dim=16, max_tokens=400, name="multi"),
        # dimensions enough for its bag of words to mean something (at 8 every
        # word collides and its lists are noise, which score fusion does not mute)
        FakeEmbedder(dim=48, max_tokens=400, name="english"),
    )
    library = Library(Settings(chunk_tokens=300), routed, directory=tmp_path / "ix")
    assert library.ingest([docs]).ok
    rows = library.store.scan(["path", "text"], rows=SENTENCE_ROWS).to_pylist()
    by_file: dict[str, list[str]] = {}
    for row in rows:
        by_file.setdefault(Path(row["path"]).name, []).append(row["text"])
    assert sorted(by_file) == ["harbour.txt", "mixed.txt"]  # not the Chinese file
    assert len(by_file["harbour.txt"]) == 3
    assert sorted(by_file["mixed.txt"]) == sorted(english)  # nor the Chinese line
    top = library.search("When does the harbour gate close?", top_k=1)[0]
    assert "21:30" in top.text


def test_an_approximate_search_that_misses_a_model_does_not_hide_it(
    tmp_path: Path,
) -> None:
    """Only an exact search may conclude that a model has no rows here (an ANN
    index once missed the few Chinese rows and hid them until the next write)."""
    library = _library(tmp_path)
    store = library.store
    real_search = store.vector_search

    def approximate_misses(
        vector: np.ndarray,
        limit: int,
        rows: str = "chunks",
        exact: bool = False,
        within: object = None,
    ) -> list[dict[str, object]]:
        hits = real_search(vector, limit, rows, exact, within)  # type: ignore[arg-type]
        return hits if exact else [h for h in hits if h["_distance"] >= 1.0 - 1e-6]

    store.vector_search = approximate_misses  # type: ignore[method-assign]
    library.search("图书馆什么时候开门？")
    assert not library.retriever.lacks_model("multi")
    store.vector_search = real_search  # type: ignore[method-assign]
    found = library.search("图书馆什么时候开门？")
    assert any(Path(s.path).name == "library.txt" for s in found)


def test_the_model_s_terms_for_a_question_are_searched_with_it(
    tmp_path: Path,
) -> None:
    library = _library(tmp_path)
    library.settings = library.settings.model_copy(update={"question_terms": True})
    docs = tmp_path / "docs"
    (docs / "club.txt").write_text("Sailors of the club walk to their vessels daily.")
    assert library.ingest([docs]).ok
    question = "Until what hour may sailors walk back to their vessels?"
    alone, _ = search_question(library, None, question)
    assert alone and Path(alone[0].path).name == "club.txt"
    generator = FakeGenerator()
    generator.terms[question] = "harbour gate closes every night, north pier, moor"
    found, _ = search_question(library, generator, question)
    assert generator.terms_asked == [question]
    assert found and Path(found[0].path).name == "harbour.txt"
    assert "21:30" in found[0].text
    # a Chinese question: the terms are asked of its translation, searched with both
    zh = "水手晚上最晚几点要回到船上？"
    generator.translations[zh] = "When must sailors be back on board at night?"
    generator.terms[generator.translations[zh]] = "harbour gate closes"
    found, _ = search_question(library, generator, zh)
    assert generator.terms_asked[-1] == generator.translations[zh]
    assert any(Path(s.path).name == "harbour.txt" for s in found)
    # off in the settings: not asked
    library.settings = library.settings.model_copy(update={"question_terms": False})
    search_question(library, generator, question)
    assert len(generator.terms_asked) == 2


def test_the_window_s_tokenizer_loads_happen_before_it_shows_and_once() -> None:
    """Each load holds the GIL ~65 ms: warmed on the GUI thread before the event
    loop runs, the embedders and the claim encoder built later in workers load
    none of their own."""
    from assistant.core.answer.claim_encoder import shipped_encoder
    from assistant.core.fast_tokenizer import shared_tokenizer
    from assistant.core.services.components import load_embedder, warm_tokenizers

    warm_tokenizers(Settings())
    warmed = shared_tokenizer.cache_info()
    assert warmed.currsize >= 3  # counting, embedding batches, claim pairs
    embedder = load_embedder(Settings())
    shipped_encoder()
    assert shared_tokenizer.cache_info().misses == warmed.misses
    assert embedder.count_tokens(["three short words"]) == [3]
