"""One contract, two stores: every test here runs against SQLite + FAISS (a folder) and PostgreSQL + pgvector
(a database of the pgserver test server). The parity tests build both from the same writes and compare."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import textwrap
import threading
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pytest

from common.errors import IndexBusyError, ModelMismatchError, StoreError
from index.backends import open_store
from index.postgres import PostgresStore
from index.types import ArticleWrite, Filters, Layout, PassageWrite
from tests.conftest import BACKENDS
from tests.postgres_server import PASSWORD

DIMENSION = 16
MODEL = "test-model"
STATS_KEYS = {
    "articles",
    "passages",
    "model",
    "dimension",
    "bytes",
    "newest_published",
    "oldest_published",
    "dense_search",
    "parts",
}
PER_STORE = {"bytes", "dense_search", "parts"}  # what each store reports its own way
TOPICS = ["council budget vote", "river flood warning", "court ruling appeal", "election result count"]
OUTLETS = ["Harbour News", "The Daily", "Metro"]


# The embedded store twice: as it runs (new passages gather in its tail) and with tiny segments, so that every test
# also goes through flushes, merges and compactions.
SEGMENTED = Layout(segment_passages=4, merge_factor=2)


@pytest.fixture(params=["sqlite", "sqlite-segments", *BACKENDS[1:]])
def location(request, tmp_path):
    """Where a new, empty index goes: a folder, or a database URL with a password in it."""
    if request.param.startswith("sqlite"):
        return str(tmp_path / request.param)
    return request.getfixturevalue("database_url")


@pytest.fixture
def opened(location):
    stores = []
    layout = SEGMENTED if location.endswith("sqlite-segments") else None

    def open_(expected_model: str | None = MODEL, create: bool = True):
        store = open_store(location, expected_model, create, layout)
        stores.append(store)
        return store

    yield open_
    for store in stores:
        store.close()


@pytest.fixture
def both(tmp_path, database_url):
    stores = [open_store(str(tmp_path / "index"), MODEL, True), open_store(database_url, MODEL, True)]
    yield stores
    for store in stores:
        store.close()


def unit(vector: np.ndarray) -> np.ndarray:
    return (vector / np.linalg.norm(vector)).astype(np.float32)


def article(
    number: int,
    passages: int = 3,
    published: str | None = "default",
    source: str | None = None,
    seed: int = 0,
    identity: str | None = "default",
    text: str | None = None,
) -> ArticleWrite:
    rng = np.random.default_rng(number * 1000 + seed)
    topic = TOPICS[number % len(TOPICS)]
    sentences = [f"Sentence {i} of story {number} about the {topic}, number {number * 7 + i}." for i in range(passages)]
    body = text or " ".join(sentences)
    spans, start = [], 0
    for sentence in sentences if text is None else [body]:
        spans.append((start, start + len(sentence)))
        start += len(sentence) + 1
    return ArticleWrite(
        id=f"id{number:04d}",
        identity=f"https://news.example/{number}" if identity == "default" else identity,
        title=f"Story {number}: {topic}",
        source=source or OUTLETS[number % len(OUTLETS)],
        url=f"https://news.example/{number}",
        published=f"2024-10-{1 + number % 28:02d}" if published == "default" else published,
        content_hash=f"hash{number}-{seed}",
        text=body,
        extra={"number": number},
        passages=[PassageWrite(s, e, unit(rng.normal(size=DIMENSION))) for s, e in spans],
    )


def with_sentences(written: ArticleWrite, seed: int = 0, skip: tuple[int, ...] = ()) -> ArticleWrite:
    """The article with sentence vectors (ordinal + 1 unit rows) for each passage but those at ordinals `skip`."""
    rng = np.random.default_rng(seed)
    passages = [
        p
        if ordinal in skip
        else replace(p, sentences=np.vstack([unit(rng.normal(size=DIMENSION)) for _ in range(ordinal + 1)]))
        for ordinal, p in enumerate(written.passages)
    ]
    return replace(written, passages=passages)


def passage_ids(store, article_id: str) -> list[int]:
    """The ids of the article's passages, in order."""
    return [p.id for p in store.lead_passages([article_id], 100)[article_id]]


def fill(store, articles: list[ArticleWrite]) -> None:
    with store.writer() as writer:
        if store.model() is None:
            writer.set_model(MODEL, DIMENSION)
        assert writer.put(articles) == []


def query_vector(seed: int) -> np.ndarray:
    return unit(np.random.default_rng(10_000 + seed).normal(size=DIMENSION))


def brute_force(articles: list[ArticleWrite], vector: np.ndarray, keep=lambda a: True) -> list[tuple[str, int]]:
    scored = [
        (float(p.vector @ vector), a.id, ordinal) for a in articles if keep(a) for ordinal, p in enumerate(a.passages)
    ]
    return [(article_id, ordinal) for _, article_id, ordinal in sorted(scored, reverse=True)]


def above_ties(store, hits) -> set[tuple[str, int]]:
    """The hits scored above the last one's score (tied hits at the cut may differ between stores)."""
    return {
        passage
        for passage, hit in zip(identified(store, hits), hits, strict=True)
        if hit.score > hits[-1].score * 1.0001
    }


def identified(store, hits) -> list[tuple[str, int]]:
    passages = store.passages([hit.passage_id for hit in hits])
    return [(passages[hit.passage_id].article.id, passages[hit.passage_id].ordinal) for hit in hits]


# -- writing and reading -------------------------------------------------------------------------


def test_add_replace_and_remove_keep_articles_passages_and_vectors(opened):
    store = opened()
    articles = [article(n) for n in range(6)]
    fill(store, articles)
    stats = store.stats()
    assert set(stats) == STATS_KEYS
    assert (stats["articles"], stats["passages"], stats["model"], stats["dimension"]) == (6, 18, MODEL, DIMENSION)
    assert stats["newest_published"] == "2024-10-06" and stats["oldest_published"] == "2024-10-01"
    assert stats["bytes"] > 0 and sum(stats["parts"].values()) > 0

    replaced = article(2, passages=5, seed=1)
    fill(store, [replaced])
    assert store.content_hash("id0002") == "hash2-1" and store.stats()["passages"] == 20
    top = store.dense_search(replaced.passages[4].vector, 1)
    # SQLite's FAISS copy holds float16 vectors: a cosine is within 1e-3
    assert identified(store, top) == [("id0002", 4)] and top[0].score == pytest.approx(1.0, abs=1e-3)

    with store.writer() as writer:
        writer.remove("id0002")
    assert store.find("id0002") is None and store.stats()["passages"] == 15
    assert all(hit.article_id != "id0002" for hit in store.dense_search(replaced.passages[0].vector, 20))
    assert all(hit.article_id != "id0002" for hit in store.keyword_search("story 2", 20))


def test_passages_lead_passages_and_article_vectors(opened):
    store = opened()
    articles = [article(n, passages=4) for n in range(3)]
    fill(store, articles)
    hits = store.dense_search(articles[1].passages[2].vector, 1)
    (passage,) = store.passages([hits[0].passage_id]).values()
    assert (passage.ordinal, passage.article.id, passage.article.extra) == (2, "id0001", {"number": 1})
    assert passage.text == articles[1].text[passage.start : passage.end] and passage.text.startswith("Sentence 2")
    assert store.passages([]) == {} and store.passages([987654]) == {}

    leads = store.lead_passages(["id0002", "id0000", "missing"], 2)
    assert [p.ordinal for p in leads["id0002"]] == [0, 1] and leads["missing"] == []
    assert leads["id0000"][0].text == articles[0].text[: leads["id0000"][0].end]

    vectors = store.article_vectors(["id0001", "missing", "id0000"])
    expected = unit(np.sum([p.vector for p in articles[1].passages], axis=0))
    assert vectors.shape == (3, DIMENSION)
    # SQLite keeps vectors as float16 (within 1e-3 of the float32 written), PostgreSQL as float32
    assert np.allclose(vectors[0], expected, atol=1e-3) and not vectors[1].any()


def test_sentence_vectors_come_back_with_their_passages_and_go_with_their_article(opened):
    store = opened()
    written = [with_sentences(article(1), seed=1, skip=(1,)), article(2), with_sentences(article(3), seed=3)]
    fill(store, written)
    first, second, third = (passage_ids(store, a.id) for a in written)
    stored = store.sentence_vectors([*first, *second, *third, 987654])
    assert sorted(stored) == sorted([first[0], first[2], *third])  # none for passages written without them
    for ids, source in ((first, written[0]), (third, written[2])):
        for passage_id, passage in zip(ids, source.passages, strict=True):
            if passage.sentences is None:
                continue
            found = stored[passage_id]
            assert found.shape == passage.sentences.shape and found.dtype == np.float32
            cosines = (found * passage.sentences).sum(axis=1) / np.linalg.norm(found, axis=1)
            assert cosines.min() > 0.98  # 4 bits a component lose little
    assert store.sentence_vectors([]) == {} and store.check() == []

    fill(store, [with_sentences(article(1, seed=1), seed=4)])  # replaced: its old passages go, vectors with them
    with store.writer() as writer:
        writer.remove("id0003")
    assert store.sentence_vectors([*first, *third]) == {}
    replaced = passage_ids(store, "id0001")
    assert [len(v) for _, v in sorted(store.sentence_vectors(replaced).items())] == [1, 2, 3]


def test_rebuild_keeps_the_sentence_vectors_it_is_given(opened):
    store = opened()
    fill(store, [with_sentences(article(n), seed=n) for n in range(3)])
    rng = np.random.default_rng(6)
    before = [i for n in range(3) for i in passage_ids(store, f"id{n:04d}")]

    def passages():
        for article_id, _, text in store.texts():
            sentences = None if article_id == "id0001" else np.vstack([unit(rng.normal(size=32))] * 2)
            yield article_id, [PassageWrite(0, len(text), unit(rng.normal(size=32)), sentences)]

    with store.writer() as writer:
        writer.rebuild("bigger-model", 32, passages())
    after = {n: passage_ids(store, f"id{n:04d}")[0] for n in range(3)}
    stored = store.sentence_vectors([*before, *after.values()])
    assert sorted(stored) == sorted([after[0], after[2]]) and stored[after[0]].shape == (2, 32)


def test_check_names_sentence_vectors_of_the_wrong_size(opened, location):
    store = opened()
    fill(store, [with_sentences(article(1))])
    damaged = passage_ids(store, "id0001")[1]
    if location.startswith("postgresql"):
        from common.postgres import connect

        with connect(location) as db:
            db.execute("UPDATE sentence_vectors SET vectors = %s WHERE passage_id = %s", (b"\x00" * 7, damaged))
    else:
        with sqlite3.connect(Path(location) / "index.sqlite") as db:
            db.execute("UPDATE sentence_vectors SET vectors = ? WHERE passage_id = ?", (b"\x00" * 7, damaged))
        db.close()
    problems = store.check()
    assert len(problems) == 1 and "sentence vectors of 1 passages" in problems[0] and "index rebuild" in problems[0]
    assert PASSWORD not in problems[0]


def test_articles_newest_first_and_the_added_mark(opened):
    store = opened()
    fill(store, [article(3), article(1), article(2, published=None)])
    # newest first; the undated article counts as published today, when it was added
    assert [a.id for a in store.articles()] == ["id0002", "id0003", "id0001"]
    assert [a.id for a in store.articles(limit=1, filters=Filters(sources=("the daily",)))] == ["id0001"]
    mark = store.mark()
    fill(store, [article(5), article(1, seed=1)])
    newer = store.articles(filters=Filters(added_after=mark))
    assert sorted(a.id for a in newer) == ["id0001", "id0005"] and store.mark() > mark
    assert {h.article_id for h in store.dense_search(query_vector(1), 50, Filters(added_after=mark))} == {
        "id0001",
        "id0005",
    }


def test_the_outlets_the_articles_name(opened):
    store = opened()
    fill(store, [article(1), article(2), article(3), article(4), article(5, source="THE DAILY")])
    assert sorted(store.sources(), key=str.lower) == ["Harbour News", "Metro", "THE DAILY"]


def test_find_content_hash_duplicates_and_texts(opened):
    store = opened()
    fill(store, [article(1), article(2)])
    assert store.find("id0001").title == "Story 1: river flood warning"
    assert store.find("nope", "https://news.example/2").id == "id0002"
    assert store.find("nope", None) is None
    assert store.content_hash("id0001") == "hash1-0" and store.content_hash("nope") is None
    assert store.duplicate_of("hash1-0", "id0009") == "id0001" and store.duplicate_of("hash1-0", "id0001") is None
    texts = list(store.texts())
    assert [(i, t) for i, t, _ in texts] == [
        ("id0001", "Story 1: river flood warning"),
        ("id0002", "Story 2: court ruling appeal"),
    ]
    assert texts[0][2].startswith("Sentence 0 of story 1")


def test_an_article_that_cannot_be_stored_fails_alone(opened):
    store = opened()
    fill(store, [article(1)])
    clash = replace(article(2), identity="https://news.example/1")  # another article already has this identity
    with store.writer() as writer:
        failed = writer.put([clash, article(3)])
    assert [article_id for article_id, _ in failed] == ["id0002"] and "could not be stored" in failed[0][1]
    assert store.find("id0003") is not None and store.find("id0002") is None
    assert store.stats()["passages"] == 6


# -- search --------------------------------------------------------------------------------------


def test_dense_search_ranks_by_cosine_and_applies_every_filter(opened):
    store = opened()
    articles = [article(n, passages=2) for n in range(24)]
    fill(store, articles)
    vector = query_vector(0)
    hits = store.dense_search(vector, 5)
    assert identified(store, hits) == brute_force(articles, vector)[:5]
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)

    cases = {
        Filters(sources=("METRO", "the daily")): lambda a: a.source in ("Metro", "The Daily"),
        Filters(published_from=date(2024, 10, 10)): lambda a: a.published >= "2024-10-10",
        Filters(published_to=date(2024, 10, 5)): lambda a: a.published <= "2024-10-05",
        Filters(until=date(2024, 10, 3)): lambda a: a.published <= "2024-10-03",
        Filters(sources=("metro",), published_from=date(2024, 10, 6), published_to=date(2024, 10, 20)): (
            lambda a: a.source == "Metro" and "2024-10-06" <= a.published <= "2024-10-20"
        ),
    }
    for filters, keep in cases.items():
        found = store.dense_search(vector, 4, filters)
        assert identified(store, found) == brute_force(articles, vector, keep)[:4], filters
    assert store.dense_search(vector, 5, Filters(sources=("nobody",))) == []
    assert store.dense_search(vector, 0) == []


def test_an_undated_article_counts_as_published_when_it_was_added(opened):
    store = opened()
    fill(store, [article(1, published=None), article(2)])
    vector = query_vector(2)
    assert {h.article_id for h in store.dense_search(vector, 10, Filters(until=date(2024, 12, 31)))} == {"id0002"}
    assert {h.article_id for h in store.dense_search(vector, 10, Filters(until=date.today()))} == {"id0001", "id0002"}
    for period, found in (
        (Filters(published_from=date(2000, 1, 1)), {"id0001", "id0002"}),  # for time words and `brief --since` too
        (Filters(published_from=date.today()), {"id0001"}),
        (Filters(published_to=date(2024, 12, 31)), {"id0002"}),
    ):
        assert {h.article_id for h in store.dense_search(vector, 10, period)} == found
        assert {h.article_id for h in store.keyword_search("story", 10, period)} == found
    (undated,) = [h for h in store.keyword_search("story 1", 10) if h.article_id == "id0001"][:1]
    assert undated.day == date.today()


def test_hits_carry_the_day_and_place_the_retrievers_date_prior_reads(opened):
    store = opened()
    vector, text = unit(np.ones(DIMENSION)), "Ferry strike ends after pay deal. Talks went on all night."
    for number, published in ((1, "2024-01-01"), (2, "2024-10-01T18:30:00+02:00")):
        base = article(number, published=published, text=text)
        lead, second = PassageWrite(0, 33, vector), PassageWrite(34, len(text), unit(np.arange(DIMENSION) + 1.0))
        fill(store, [replace(base, title="Ferry", passages=[lead, second])])
    for search, query in ((store.dense_search, vector), (store.keyword_search, "ferry strike")):
        hits = {(h.article_id, h.ordinal): h.day for h in search(query, 4)}
        assert hits[("id0001", 0)] == date(2024, 1, 1) and hits[("id0002", 0)] == date(2024, 10, 1)


def test_keyword_search_matches_words_and_applies_filters(opened):
    store = opened()
    fill(store, [article(n) for n in range(12)])
    hits = store.keyword_search("flooding rivers", 5)  # stemmed: flood, river
    assert hits and all("flood" in store.find(h.article_id).title for h in hits)
    filtered = store.keyword_search("flood", 20, Filters(sources=("metro",), published_to=date(2024, 10, 9)))
    assert {h.article_id for h in filtered} == {"id0005"}
    assert store.keyword_search("the of and", 5) == [] and store.keyword_search("zeppelin", 5) == []
    assert store.keyword_search("flood", 5, Filters(added_after=store.mark())) == []


def test_vocabulary_counts_passages_per_word(opened):
    store = opened()
    fill(store, [article(1), article(5)])  # both about the river flood warning, three passages each
    vocabulary = store.vocabulary()
    assert vocabulary["flood"] == 6 and vocabulary["sentence"] == 6 and vocabulary["story"] == 6
    assert "the" not in vocabulary and all(word == word.lower() for word in vocabulary)
    fill(
        store,
        [replace(article(5, seed=1), title="Ferry", text="Ferry strike ends.", passages=[article(5).passages[0]])],
    )
    replaced = store.vocabulary()
    assert (replaced["flood"], replaced["sentence"], replaced["ferry"]) == (3, 3, 1)
    with store.writer() as writer:
        writer.remove("id0005")
    assert "ferry" not in store.vocabulary() and store.vocabulary()["flood"] == 3


def test_prune_removes_the_articles_of_days_before_and_nothing_else(opened):
    store = opened()
    articles = [article(n) for n in range(12)]  # published 2024-10-01 .. 2024-10-12
    fill(store, [*articles, article(40, published=None)])  # undated: counts as published today
    vocabulary = dict(store.vocabulary())
    with store.writer() as writer:
        planned = writer.prune(date(2024, 10, 5), dry_run=True)
    assert [a.id for a in planned] == ["id0000", "id0001", "id0002", "id0003"] and store.stats()["articles"] == 13
    with store.writer() as writer:
        pruned = writer.prune(date(2024, 10, 5))
    assert [a.id for a in pruned] == [a.id for a in planned]
    stats = store.stats()
    assert (stats["articles"], stats["passages"], stats["oldest_published"]) == (9, 27, "2024-10-05")
    assert store.find("id0002") is None and store.find("id0004") is not None and store.check() == []
    for seed in range(3):
        assert not {h.article_id for h in store.dense_search(query_vector(seed), 50)} & {a.id for a in pruned}
    assert not {h.article_id for h in store.keyword_search("story sentence number", 50)} & {a.id for a in pruned}
    assert store.vocabulary()["sentence"] == vocabulary["sentence"] - 12
    with store.writer() as writer:
        assert writer.prune(date(2024, 10, 5)) == []
        assert [a.id for a in writer.prune(date.today() + timedelta(days=1))][-1] == "id0040"
    assert store.stats()["articles"] == 0 and store.dense_search(query_vector(0), 5) == []


# -- parity between the two stores ---------------------------------------------------------------


def test_both_stores_return_the_same_hits(both):
    articles = [article(n, passages=3) for n in range(40)]
    for store in both:
        fill(store, articles)
    sqlite, postgres = both
    filters = [
        None,
        Filters(sources=("metro",)),
        Filters(published_from=date(2024, 10, 20)),
        Filters(until=date(2024, 10, 2)),
    ]
    for seed, chosen in enumerate(filters):
        vector = query_vector(seed)
        dense = sqlite.dense_search(vector, 8, chosen), postgres.dense_search(vector, 8, chosen)
        assert identified(sqlite, dense[0]) == identified(postgres, dense[1])
        assert [(h.day, h.ordinal) for h in dense[0]] == [(h.day, h.ordinal) for h in dense[1]]
        for query in ("river flood warning", "court appeal story 7", "number 21"):
            expected, found = sqlite.keyword_search(query, 8, chosen), postgres.keyword_search(query, 8, chosen)
            assert [h.score for h in found] == pytest.approx([h.score for h in expected], rel=1e-4), query
            assert above_ties(sqlite, expected) == above_ties(postgres, found), query
    assert dict(sqlite.vocabulary()) == dict(postgres.vocabulary())
    assert [a.id for a in sqlite.articles()] == [a.id for a in postgres.articles()]
    assert {k: v for k, v in sqlite.stats().items() if k not in PER_STORE} == {
        k: v for k, v in postgres.stats().items() if k not in PER_STORE
    }


def test_selective_filters_on_hnsw_return_as_many_hits_as_an_exact_scan(both):
    """pgvector 0.6 has no iterative index scans: a filtered HNSW scan stops at hnsw.ef_search candidates. The
    store must notice a selective filter (or a short result) and scan exactly, as FAISS does."""
    articles = [article(n, passages=10, source="Rare" if n % 50 == 0 else None) for n in range(400)]
    for store in both:
        fill(store, articles)
    sqlite, postgres = both
    postgres.exact_below = 0  # the HNSW index even for this small table
    for seed, filters in enumerate([None, Filters(sources=("rare",)), Filters(published_from=date(2024, 10, 28))]):
        vector = query_vector(seed)
        expected = identified(sqlite, sqlite.dense_search(vector, 30, filters))
        found = identified(postgres, postgres.dense_search(vector, 30, filters))
        assert len(found) == len(expected) == 30
        overlap = len(set(found) & set(expected)) / 30
        assert overlap >= (0.9 if filters is None else 1.0), (filters, overlap)  # HNSW is approximate


# -- lifetime: model, lock, rebuild, errors ------------------------------------------------------


def test_the_model_is_recorded_and_another_model_is_refused(opened, location):
    fill(opened(), [article(1)])
    assert opened().model() == (MODEL, DIMENSION)
    other = opened(expected_model="another-model", create=False)
    with pytest.raises(ModelMismatchError, match="another-model") as refused:
        other.dense_search(query_vector(0), 3)
    with pytest.raises(ModelMismatchError):
        other.keyword_search("flood", 3)
    assert PASSWORD not in str(refused.value) and "index rebuild" in str(refused.value)


def test_rebuild_replaces_every_passage_and_the_model(opened):
    store = opened()
    fill(store, [article(n) for n in range(4)])
    rng = np.random.default_rng(5)

    def passages():
        for article_id, _, text in store.texts():
            yield article_id, [PassageWrite(0, len(text), unit(rng.normal(size=32)))]

    with store.writer() as writer:
        assert writer.rebuild("bigger-model", 32, passages()) == 4
    stats = store.stats()
    assert (stats["articles"], stats["passages"], stats["model"], stats["dimension"]) == (4, 4, "bigger-model", 32)
    reopened = opened(expected_model="bigger-model")
    assert len(reopened.dense_search(unit(rng.normal(size=32)), 10)) == 4
    assert {h.article_id for h in reopened.keyword_search("court ruling", 10)} == {"id0002"}
    assert reopened.vocabulary()["sentence"] == 4


def test_opening_a_missing_index_says_how_to_make_one(location):
    with pytest.raises(StoreError, match="add articles first") as missing:
        open_store(location, MODEL, create=False)
    assert PASSWORD not in str(missing.value)


def test_a_second_writer_is_told_the_index_is_busy_while_readers_go_on(opened, location):
    store = opened()
    fill(store, [article(1)])
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(
                """
                import os, sys
                from index.backends import open_store
                store = open_store(os.environ["INDEX_LOCATION"], create=True)
                with store.writer():
                    print("locked", flush=True)
                    sys.stdin.read()
                """
            ),
        ],
        env={**os.environ, "INDEX_LOCATION": location},  # not an argument: a password would show in `ps`
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(IndexBusyError, match="index is busy") as busy:
            with store.writer(wait=0.3):
                pass
        assert PASSWORD not in str(busy.value)
        assert store.dense_search(query_vector(0), 1) and store.stats()["articles"] == 1  # readers go on
    finally:
        holder.communicate("", timeout=30)
    with store.writer(wait=5) as writer:  # released when its holder is done
        writer.remove("id0001")


def test_the_location_never_shows_a_password(database_url):
    store = PostgresStore(database_url, MODEL, create=True)
    try:
        assert PASSWORD not in store.location and "***" in store.location
    finally:
        store.close()
    with pytest.raises(StoreError) as unreachable:
        PostgresStore(database_url.replace("host=", "host=/nonexistent"), MODEL)
    assert PASSWORD not in str(unreachable.value) and "DATABASE_URL" in str(unreachable.value)


def test_concurrent_first_opens_migrate_once(database_url):
    errors, stores = [], []

    def open_one():
        try:
            stores.append(PostgresStore(database_url, MODEL, create=True))
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=open_one) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [] and len(stores) == 4
    from common.postgres import connect

    with connect(database_url) as connection:
        versions = [row[0] for row in connection.execute("SELECT version FROM index_schema_version ORDER BY 1")]
    assert versions == list(range(1, len(versions) + 1))
    for store in stores:
        store.close()


def test_an_index_written_before_sentence_vectors_is_brought_up_to_date_when_opened(database_url):
    writer = PostgresStore(database_url, MODEL, create=True)
    fill(writer, [article(1)])
    writer.close()
    from common.postgres import connect

    with connect(database_url) as connection:  # as newsbot wrote it before migration 2
        connection.execute("DROP TABLE sentence_vectors")
        connection.execute("DELETE FROM index_schema_version WHERE version >= 2")
    reader = PostgresStore(database_url, MODEL)
    try:
        ids = passage_ids(reader, "id0001")
        assert reader.sentence_vectors(ids) == {} and reader.check() == []
        fill(reader, [with_sentences(article(2))])
        assert len(reader.sentence_vectors(passage_ids(reader, "id0002"))) == 3
    finally:
        reader.close()


def test_check_finds_a_sound_index_sound_and_backup_copies_or_says_what_to_use(opened, location, tmp_path):
    store = opened()
    fill(store, [article(n) for n in range(4)])
    assert store.check() == []
    if location.startswith("postgresql"):
        with pytest.raises(StoreError, match="pg_dump") as refused:
            store.backup(str(tmp_path / "copy"))
        assert PASSWORD not in str(refused.value)
        return
    copy = open_store(str(Path(store.backup(str(tmp_path / "copy"))).parent), MODEL)
    assert copy.stats()["passages"] == store.stats()["passages"] and copy.check() == []
    copy.close()


def test_probe_reads_a_sound_index_and_repair_leaves_it_alone(opened, location):
    """Issue 18, items 4 and 12: `probe` (what /healthz asks) passes on a sound index; `repair` finds nothing to
    rewrite there. On SQLite a damaged dense (FAISS) file of a segment is rewritten by `repair`, and `check` is
    clean again."""
    store = opened()
    fill(store, [article(n) for n in range(3)])
    store.probe()
    assert store.repair() == [] and store.check() == []
    if location.startswith("postgresql"):
        return
    from index.sqlite.dense import dense_folder

    with store.writer() as writer:
        writer.optimize()  # the tail written as a segment, with its dense file
    assert store.repair() == [] and store.check() == []
    faiss_file = sorted(dense_folder(Path(location)).glob("seg-*.faiss"))[0]
    faiss_file.write_bytes(b"GARB" * 64)
    assert len(store.check()) == 1
    (rewritten,) = store.repair()
    assert str(faiss_file) in rewritten and store.check() == [] and store.repair() == []


def test_probe_finds_an_overwritten_header(opened, location):
    """Issue 18, item 12: the index's file overwritten under an open store: `probe` reads past the store's cached
    connection and says the file is damaged. (PostgreSQL keeps no file of its own to overwrite.)"""
    if location.startswith("postgresql"):
        pytest.skip("a server's files are not the store's")
    store = opened()
    fill(store, [article(1)])
    store.stats()  # the store's connection is open, its pages cached
    with (Path(location) / "index.sqlite").open("r+b") as handle:
        handle.write(b"GARBAGE!" * 12)
    with pytest.raises(StoreError, match="is damaged"):
        store.probe()
