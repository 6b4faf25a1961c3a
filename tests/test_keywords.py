"""The BM25 keyword index: cached beside the index per generation, rebuilt when the index changes."""

from __future__ import annotations

import json

from index.sqlite.keywords import KeywordIndex
from tests.helpers import index_items, wire


def test_the_keyword_index_is_cached_per_generation(settings, tmp_path):
    (tmp_path / "a.jsonl").write_text(
        json.dumps({"title": "Budget", "text": "The council approved the budget."}) + "\n"
    )
    index_items(settings, [tmp_path / "a.jsonl"])
    store = wire(settings).store
    first = store.keyword_search("council budget", 5)
    (cache,) = settings.index_dir.glob("keywords-*")

    def no_rebuild():
        raise AssertionError("the cached keyword index was rebuilt")

    loaded = KeywordIndex.cached(settings.index_dir, store.snapshot().generation, no_rebuild)
    assert [pid for pid, _ in loaded.search("council budget", 5)] == [hit.passage_id for hit in first] != []

    (tmp_path / "b.jsonl").write_text(json.dumps({"title": "Flood", "text": "The river flooded the valley."}) + "\n")
    index_items(settings, [tmp_path / "b.jsonl"])
    assert store.keyword_search("river flooded", 5) and not cache.exists()
