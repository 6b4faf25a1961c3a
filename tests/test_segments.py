"""The embedded index in segments: keyword search identical to bm25s built from scratch and search results
identical to the derived files made again from the database, however the index was written (adds, replacements,
removals, flushes, merges); a write that touches nothing of the other articles; `kill -9` at every step of a
flush, a merge and an approximate-index build leaving a searchable index; and approximate dense search that finds
what exact search finds."""

from __future__ import annotations

import os
import random
import shutil
import subprocess
import sys
import textwrap
from dataclasses import replace
from pathlib import Path

import bm25s
import numpy as np
import pytest

from common.crash import VARIABLE as CRASH_AT
from index.sqlite import SQLiteStore
from index.sqlite.schema import connect
from index.terms import terms
from index.types import ArticleWrite, Filters, Layout, PassageWrite

REPO = Path(__file__).resolve().parent.parent
DIMENSION = 24
WORDS = [f"w{number}" for number in range(600)]
ZIPF = [1 / (rank + 1) for rank in range(len(WORDS))]
OUTLETS = ["Harbour News", "The Daily", "Metro"]
TOPICS = 40
SMALL = Layout(segment_passages=60, merge_factor=3, approximate_above=10**9)


def topic_centres(seed: int = 3) -> np.ndarray:
    centres = np.random.default_rng(seed).normal(size=(TOPICS, DIMENSION)).astype(np.float32)
    return centres / np.linalg.norm(centres, axis=1, keepdims=True)


CENTRES = topic_centres()


def unit(vector: np.ndarray) -> np.ndarray:
    return (vector / np.linalg.norm(vector)).astype(np.float32)


def article(number: int, version: int = 0) -> ArticleWrite:
    """A deterministic article: 1-6 passages of Zipf-distributed words, vectors near its topic's centre (as real
    embeddings cluster)."""
    rng = random.Random(number * 31 + version)
    vectors = np.random.default_rng(number * 7 + version)
    sentences = [" ".join(rng.choices(WORDS, ZIPF, k=rng.randint(4, 30))) + "." for _ in range(rng.randint(1, 6))]
    text, spans = "", []
    for sentence in sentences:
        spans.append((len(text), len(text) + len(sentence)))
        text += sentence + " "
    topic = CENTRES[number % TOPICS]
    passages = [PassageWrite(s, e, unit(topic + 0.7 * vectors.normal(size=DIMENSION) / DIMENSION**0.5)) for s, e in spans]
    return ArticleWrite(
        id=f"a{number:05d}",
        identity=f"https://news.example/{number}",
        title=f"{rng.choice(WORDS)} {rng.choice(WORDS)}",
        source=OUTLETS[number % 3],
        url=f"https://news.example/{number}",
        published=f"2024-{1 + number % 12:02d}-{1 + number % 28:02d}",
        content_hash=f"{number}-{version}",
        text=text.strip(),
        extra={},
        passages=passages,
    )


def questions(count: int, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    return [" ".join(rng.choices(WORDS, ZIPF, k=rng.randint(1, 12))) for _ in range(count)]


def written_in_many_steps(directory: Path, layout: Layout = SMALL, articles: int = 240) -> tuple[SQLiteStore, dict]:
    """An index written as a bot's feeds write one: batches, replacements and removals, flushed and merged."""
    store = SQLiteStore(directory, create=True, layout=layout)
    live: dict[str, ArticleWrite] = {}
    rng = random.Random(11)
    for start in range(0, articles, 12):
        batch = [article(number) for number in range(start, start + 12)]
        with store.writer() as writer:
            if store.model() is None:
                writer.set_model("test-model", DIMENSION)
            assert writer.put(batch) == []
        live.update((a.id, a) for a in batch)
        with store.writer() as writer:
            for victim in rng.sample(sorted(live), 2):
                writer.remove(victim)
                del live[victim]
            changed = replace(article(int(sorted(live)[0][1:]), version=start), id=sorted(live)[0])
            writer.put([changed])
            live[changed.id] = changed
    return store, live


def from_scratch_bm25(store: SQLiteStore) -> tuple[bm25s.BM25, np.ndarray, np.ndarray]:
    """bm25s over every passage the index holds (title and text, as newsbot tokenises them), built at once;
    with each passage's id and outlet."""
    rows = store.db.execute(
        'SELECT p.id, a.title, substr(a.text, p.start + 1, p."end" - p.start), lower(a.source) FROM passages p'
        " JOIN articles a ON a.id = p.article_id ORDER BY p.id"
    ).fetchall()
    bm25 = bm25s.BM25()
    bm25.index([terms(f"{title}\n{text}") for _, title, text, _ in rows], show_progress=False)
    return bm25, np.array([row[0] for row in rows]), np.array([row[3] for row in rows])


def bm25_best(bm25: bm25s.BM25, ids: np.ndarray, query: str, k: int, mask: np.ndarray | None = None) -> list[tuple[int, float]]:
    tokens = [term for term in terms(query) if term in bm25.vocab_dict]
    if not tokens:
        return []
    scores = bm25.get_scores(tokens, weight_mask=None if mask is None else mask.astype(np.float32))
    rows = np.flatnonzero(scores > 0)
    rows = rows[np.lexsort((ids[rows], -scores[rows]))][:k]  # equal scores by passage id
    return [(int(ids[row]), float(scores[row])) for row in rows]


def test_keyword_search_is_bm25s_built_from_scratch_however_the_index_was_written(tmp_path):
    store, _ = written_in_many_steps(tmp_path / "index")
    levels = {row[0] for row in store.db.execute("SELECT level FROM segments")}
    removed = store.db.execute("SELECT count(*) FROM removed_passages").fetchone()[0]
    assert len(levels) >= 2 and removed > 0  # merged, and passages removed from segments as they were searched
    bm25, ids, outlets = from_scratch_bm25(store)
    for query in questions(60):
        expected = bm25_best(bm25, ids, query, 40)
        found = [(hit.passage_id, hit.score) for hit in store.keyword_search(query, 40)]
        assert found == expected, query  # the same passages, bitwise the same scores, ties in id order
        metro = bm25_best(bm25, ids, query, 10, outlets == "metro")
        assert [(h.passage_id, h.score) for h in store.keyword_search(query, 10, Filters(sources=("Metro",)))] == metro


def test_search_results_equal_the_derived_files_made_again_from_the_database(tmp_path):
    store, live = written_in_many_steps(tmp_path / "index")
    vectors = [unit(CENTRES[seed % TOPICS] + np.random.default_rng(seed).normal(size=DIMENSION) / 3) for seed in range(20)]
    asked = questions(30, seed=5)
    filters = [None, Filters(sources=("the daily",)), Filters(added_after=store.mark() - 30)]

    def results(searched: SQLiteStore) -> list:
        dense = [[(h.passage_id, h.score, h.day, h.ordinal) for h in searched.dense_search(v, 25, f)] for v in vectors for f in filters]
        words = [[(h.passage_id, h.score, h.article_id) for h in searched.keyword_search(q, 25, f)] for q in asked for f in filters]
        return dense + words

    before = results(store)
    store.close()
    shutil.rmtree(tmp_path / "index" / "segments")
    shutil.rmtree(tmp_path / "index" / "dense")
    rebuilt = SQLiteStore(tmp_path / "index", layout=SMALL)
    assert rebuilt.check()  # the missing files are named
    with rebuilt.writer() as writer:
        assert any(line.startswith("rewrote segment") for line in writer.optimize())
    assert rebuilt.check() == [] and results(SQLiteStore(tmp_path / "index", layout=SMALL)) == before
    truth = {(a.id, ordinal): p.vector for a in live.values() for ordinal, p in enumerate(a.passages)}
    hits = rebuilt.dense_search(vectors[0], 5)
    by_passage = rebuilt.passages([h.passage_id for h in hits])
    best = max(truth, key=lambda key: float(np.float16(truth[key]).astype(np.float32) @ vectors[0]))
    assert (by_passage[hits[0].passage_id].article.id, by_passage[hits[0].passage_id].ordinal) == best


def test_a_write_reads_nothing_of_the_other_articles_and_rewrites_no_segment(tmp_path, monkeypatch):
    """Would fail if a write (or the first search after it) rebuilt the keyword index of the articles already
    there: every text tokenised is counted, and the segments' files must be the very same files."""
    store, _ = written_in_many_steps(tmp_path / "index", Layout(segment_passages=100_000, merge_factor=3, approximate_above=10**9))
    with store.writer() as writer:
        writer.optimize()  # every passage in segments, none in the tail
    store.keyword_search("w1 w2", 5)
    before = store.snapshot()
    files = {path: (path.stat().st_ino, path.stat().st_mtime_ns) for path in (tmp_path / "index").rglob("*.npy")}
    tokenised: list[str] = []
    import index.sqlite.build
    import index.sqlite.writer
    from index.terms import passage_terms

    def counted(title: str, text: str):
        tokenised.append(text)
        return passage_terms(title, text)

    monkeypatch.setattr(index.sqlite.writer, "passage_terms", counted)
    monkeypatch.setattr(index.sqlite.build, "passage_terms", counted)
    new = article(9000)
    with store.writer() as writer:
        writer.put([new])
    hits = store.keyword_search(f"{new.title} w3", 10)
    assert hits[0].article_id == new.id
    assert sorted(tokenised) == sorted(new.text[p.start : p.end] for p in new.passages)  # its passages, no other
    assert {path: (path.stat().st_ino, path.stat().st_mtime_ns) for path in files} == files
    after = store.snapshot()
    assert after.generation > before.generation
    assert all(a.segment is b.segment for a, b in zip(after.parts[:-1], before.parts[:-1], strict=True))  # kept mapped


# -- kill -9 during a flush, a merge and an approximate-index build ----------------------------------------------

WRITER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from index.sqlite import SQLiteStore
    from index.types import Layout
    from tests.test_segments import article
    directory, start, approximate = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    store = SQLiteStore(directory, layout=Layout(segment_passages=60, merge_factor=3, approximate_above=approximate))
    with store.writer() as writer:
        writer.put([article(number) for number in range(start, start + 40)])
    """
)
CRASH_POINTS = [
    ("flush-files", 10**9),
    ("flush-before-commit", 10**9),
    ("merge-files", 10**9),
    ("merge-before-commit", 10**9),
    ("merge-after-commit", 10**9),
    ("dense-file", 10**9),
    ("approximate-trained", 1_000),
    ("approximate-segments", 1_000),
    ("approximate-before-commit", 1_000),
]


def write_until_killed(directory: Path, start: int, approximate: int, crash_at: str) -> int:
    env = {**os.environ, "PYTHONPATH": str(REPO), CRASH_AT: crash_at}
    run = subprocess.run(
        [sys.executable, "-c", WRITER, str(directory), str(start), str(approximate)], env=env, cwd=REPO, capture_output=True, timeout=300
    )
    return run.returncode


@pytest.mark.parametrize(("crash_at", "approximate"), CRASH_POINTS, ids=[point for point, _ in CRASH_POINTS])
def test_kill_9_at_each_step_of_a_flush_merge_or_approximate_build_leaves_a_searchable_index(tmp_path, crash_at, approximate):
    directory = tmp_path / "index"
    store = SQLiteStore(directory, create=True, layout=SMALL)
    with store.writer() as writer:
        writer.set_model("test-model", DIMENSION)
    killed, start = False, 0
    while not killed and start < 2000:
        killed = write_until_killed(directory, start, approximate, crash_at) == -9
        start += 40
    assert killed, f"never reached {crash_at}"
    reader = SQLiteStore(directory, layout=SMALL)
    committed = reader.stats()["passages"]
    assert committed > 0 and reader.check() == []  # what a crash leaves unlisted is no damage
    bm25, ids, _ = from_scratch_bm25(reader)
    for query in questions(15, seed=9):
        assert [(h.passage_id, h.score) for h in reader.keyword_search(query, 20)] == bm25_best(bm25, ids, query, 20)
    everything = reader.dense_search(CENTRES[0], committed)
    assert len(everything) == committed and len({h.passage_id for h in everything}) == committed  # each once
    with reader.writer():
        pass  # the next writer deletes what the crash left unlisted
    leftovers = [p.name for p in directory.rglob("*") if p.name.startswith(".") or p.name.endswith(".tmp")]
    assert leftovers == [] and SQLiteStore(directory, layout=SMALL).check() == []


# -- approximate dense search ----------------------------------------------------------------------------------


def test_approximate_search_finds_what_exact_search_finds(tmp_path):
    """IVF-PQ probing a third of its lists, candidates re-scored exactly: at least 95 % of the exact top 300 and the
    same best article for at least 98 of 100 questions."""
    exact_store, _ = written_in_many_steps(tmp_path / "exact", Layout(segment_passages=500, merge_factor=3, approximate_above=10**9), 1500)
    exact_store.close()
    shutil.copytree(tmp_path / "exact", tmp_path / "approximate")
    layout = Layout(segment_passages=500, merge_factor=3, approximate_above=1_000, approximate_scan=1_500)
    approximate = SQLiteStore(tmp_path / "approximate", layout=layout)
    with approximate.writer() as writer:
        assert "dense search: approximate" in writer.optimize()
    snapshot = approximate.snapshot()
    assert snapshot.trained is not None and snapshot.nprobe < snapshot.trained.nlist / 2  # it does not scan them all
    exact = SQLiteStore(tmp_path / "exact", layout=SMALL)
    rng = np.random.default_rng(42)
    overlaps, same_best = [], 0
    for number in range(100):
        question = unit(CENTRES[number % TOPICS] + rng.normal(size=DIMENSION) * 0.25)
        truth, found = exact.dense_search(question, 300), approximate.dense_search(question, 300)
        overlaps.append(len({h.passage_id for h in truth} & {h.passage_id for h in found}) / len(truth))
        same_best += truth[0].article_id == found[0].article_id
        assert [h.score for h in found] == sorted((h.score for h in found), reverse=True)
    assert np.mean(overlaps) >= 0.95 and same_best >= 98, (np.mean(overlaps), same_best)
    with approximate.writer() as writer:  # extended as it grows: new segments encoded with the trained index
        writer.put([article(number) for number in range(5000, 5200)])
    assert approximate.check() == [] and approximate.stats()["dense_search"] == "approximate"
    assert approximate.dense_search(unit(CENTRES[3]), 10)
    db = connect(tmp_path / "approximate")
    assert all(name.endswith(".faiss") and ".ivf" in name for (name,) in db.execute("SELECT dense FROM segments"))
