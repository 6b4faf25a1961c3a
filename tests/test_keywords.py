"""The BM25 keyword index: cached beside the index per generation, rebuilt when the index changes."""

from __future__ import annotations

import json

from answers.keywords import KeywordIndex
from answers.retrieve import Retriever
from index.ingest import add_to_index
from index.reader import IndexReader


def test_the_keyword_index_is_cached_per_generation(settings, embedder, tmp_path):
    (tmp_path / "a.jsonl").write_text(json.dumps({"title": "Budget", "text": "The council approved the budget."}) + "\n")
    add_to_index([str(tmp_path / "a.jsonl")], settings, embedder)
    reader = IndexReader(settings.index_dir, embedder.model_id)
    generation = reader.snapshot().generation
    first = Retriever(reader, embedder).keyword_index(generation)
    (cache,) = settings.index_dir.glob("keywords-*")

    def no_rebuild():
        raise AssertionError("the cached keyword index was rebuilt")

    loaded = KeywordIndex.cached(settings.index_dir, generation, no_rebuild)
    assert loaded.search("council budget", 5) == first.search("council budget", 5) != []

    (tmp_path / "b.jsonl").write_text(json.dumps({"title": "Flood", "text": "The river flooded the valley."}) + "\n")
    add_to_index([str(tmp_path / "b.jsonl")], settings, embedder)
    newer = Retriever(reader, embedder).keyword_index(reader.snapshot().generation)
    assert newer.search("river flooded", 5) and not cache.exists()
    assert len(list(settings.index_dir.glob("keywords-*"))) == 1
