"""The two stores on RealTime QA: retrieval quality and query latency of SQLite + FAISS and PostgreSQL + pgvector,
and keyword search three ways (bm25s in the embedded store, BM25 in SQL in the PostgreSQL store, and
PostgreSQL's own full-text search ranked by ts_rank_cd).

    .venv/bin/python scripts/bench_backends.py [--limit N] [--out data/bench]

The SQLite index is built once under --out (kept for later runs) and copied into PostgreSQL by the code of
`newsbot index migrate` (no re-embedding). PostgreSQL is DATABASE_URL when set (its database must be empty),
else a private pgserver server for the run. Figures go to --out/backends-bench.json. Timings on a shared
machine are indicative.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from datetime import UTC
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench_support import run_script  # noqa: E402  (scripts/, beside this file)

from evaluation import realtimeqa  # noqa: E402
from evaluation.metrics import retrieval_metrics  # noqa: E402
from evaluation.realtimeqa import as_of  # noqa: E402
from evaluation.report import SETTINGS, newsbot_rankings  # noqa: E402
from wiring.parts import Wiring  # noqa: E402
from wiring.settings import Settings  # noqa: E402

CANDIDATES = 50  # what the retriever asks each search for


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--limit", type=int, default=None, help="index only the first N articles")
    parser.add_argument("--out", type=Path, default=Path("data/bench"))
    args = parser.parse_args()
    settings = Settings()
    realtimeqa.dataset_dir(settings.eval_dir)  # one line saying where it is expected, before any work
    sqlite_dir = args.out / ("backends-sqlite-index" + (f"-{args.limit}" if args.limit else ""))
    results: dict = {"command": " ".join(sys.argv)}
    results["sqlite_index"] = build_sqlite(settings, sqlite_dir, args.limit)
    with postgres_url(settings) as url:
        results["copy_to_postgresql"] = copy(sqlite_dir, url)
        questions = realtimeqa.questions(settings.eval_dir)
        backends = {
            "sqlite": settings.model_copy(update={"index_dir": sqlite_dir, "database_url": None}),
            "postgresql": settings.model_copy(update={"database_url": url}),
        }
        for name, backend in backends.items():
            print(f"measuring {name} ...", file=sys.stderr, flush=True)
            results[name] = measure(Wiring(backend), questions)
        results["keyword_postgresql_full_text_ts_rank_cd"] = full_text_search(url, questions)
    for mode in ("live", "as_of_question_date"):
        hit5 = [results[name][f"retrieval_{mode}"]["hit@5"] for name in backends]
        results[f"hit@5_difference_{mode}"] = round(abs(hit5[0] - hit5[1]), 3)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "backends-bench.json").write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))


def build_sqlite(settings: Settings, target: Path, limit: int | None) -> dict:
    articles = realtimeqa.corpus(settings.eval_dir)[:limit]
    wiring = Wiring(settings.model_copy(update={"index_dir": target, "database_url": None}), creates_index=True)
    started = time.perf_counter()
    if not target.exists() or wiring.store.stats()["articles"] < len(articles):
        print(f"indexing {len(articles)} articles into {target} (once) ...", file=sys.stderr, flush=True)
        with tempfile.TemporaryDirectory() as scratch:
            corpus = Path(scratch) / "realtimeqa.jsonl"
            corpus.write_text("".join(json.dumps(article) + "\n" for article in articles))
            report = wiring.indexer.add(wiring.read_sources([str(corpus)]))
        assert not report.failed, report.failed[:3]
    return {**wiring.store.stats(), "seconds": round(time.perf_counter() - started, 1)}


class postgres_url:
    """DATABASE_URL, else a pgserver server of its own for the run."""

    def __init__(self, settings: Settings):
        self.url, self.server = settings.database_url, None

    def __enter__(self) -> str:
        if self.url:
            return self.url
        from tests.postgres_server import LocalPostgres

        self.server = LocalPostgres().__enter__()
        return self.server.new_database()

    def __exit__(self, *exc_info) -> None:
        if self.server:
            self.server.__exit__(*exc_info)


def copy(sqlite_dir: Path, url: str) -> dict:
    from index.postgres import PostgresStore
    from index.postgres.copy import copy_index

    store = PostgresStore(url, create=True)
    started = time.perf_counter()
    report = copy_index(sqlite_dir, store)
    seconds = time.perf_counter() - started
    with store._read() as db:  # the planner's statistics for the fresh tables
        db.execute("ANALYZE")
    stats = store.stats()
    store.close()
    return {**report, "seconds": round(seconds, 1), "bytes": stats["bytes"]}


def measure(wiring: Wiring, questions: list[realtimeqa.Question]) -> dict:
    gold = [q.gold_urls for q in questions]
    service, store = wiring.answers, wiring.store
    report = {}
    for mode, setting in (
        ("live", "live"),
        ("no_time_context", "question_only"),
        ("as_of_question_date", "window_14_days"),
    ):
        rankings = newsbot_rankings(service, questions, SETTINGS[setting], UTC)
        report[f"retrieval_{mode}"] = retrieval_metrics(rankings, gold)
    vectors = wiring.embedder.embed([q.sentence for q in questions])
    for mode, time_aware in (("no_time_context", False), ("as_of_question_date", True)):
        filters = [as_of(q) if time_aware else None for q in questions]
        report[f"dense_search_ms_{mode}"] = timed(
            lambda i, filters=filters: store.dense_search(vectors[i], CANDIDATES, filters[i]), len(questions)
        )
        report[f"keyword_search_ms_{mode}"] = timed(
            lambda i, filters=filters: store.keyword_search(questions[i].sentence, CANDIDATES, filters[i]),
            len(questions),
        )
    keyword_rankings = [article_ranking(store, store.keyword_search(q.sentence, CANDIDATES)) for q in questions]
    report["keyword_only_retrieval_no_time_context"] = retrieval_metrics(keyword_rankings, gold)
    return report


def timed(search, count: int, rounds: int = 2) -> dict:
    for i in range(count):  # warm caches
        search(i)
    times = []
    for _ in range(rounds):
        for i in range(count):
            started = time.perf_counter()
            search(i)
            times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return {"p50": round(statistics.median(times), 2), "p95": round(times[int(0.95 * (len(times) - 1))], 2)}


def article_ranking(store, hits) -> list[str]:
    passages = store.passages([hit.passage_id for hit in hits])
    ranking: list[str] = []
    for hit in hits:
        url = realtimeqa.protocol_url(passages[hit.passage_id].article.url or "")
        if url not in ranking:
            ranking.append(url)
    return ranking


def full_text_search(url: str, questions: list[realtimeqa.Question]) -> dict:
    """PostgreSQL's built-in full-text search for comparison: english to_tsvector of each passage (title
    included) with a GIN index, the question's words OR-ed (websearch_to_tsquery would AND them, which finds
    next to nothing for a whole question), ranked by ts_rank_cd."""
    import psycopg

    with psycopg.connect(url) as db:
        started = time.perf_counter()
        db.execute("DROP TABLE IF EXISTS bench_fts")
        db.execute(
            "CREATE TABLE bench_fts AS SELECT p.id, a.url, to_tsvector('english', a.title || ' '"
            ' || substr(a.text, p.start + 1, p."end" - p.start)) AS document'
            " FROM passages p JOIN articles a ON a.id = p.article_id"
        )
        db.execute("CREATE INDEX ON bench_fts USING gin (document)")
        db.execute("ANALYZE bench_fts")
        build_seconds = time.perf_counter() - started
        sql = (
            "WITH q AS (SELECT replace(plainto_tsquery('english', %s)::text, '&', '|')::tsquery AS query)"
            " SELECT f.url FROM bench_fts f, q WHERE f.document @@ q.query"
            " ORDER BY ts_rank_cd(f.document, q.query, 1) DESC LIMIT %s"
        )
        rankings, times = [], []
        for question in questions:
            begun = time.perf_counter()
            rows = db.execute(sql, (question.sentence, CANDIDATES)).fetchall()
            times.append((time.perf_counter() - begun) * 1000)
            ranking: list[str] = []
            for (article_url,) in rows:
                if realtimeqa.protocol_url(article_url or "") not in ranking:
                    ranking.append(realtimeqa.protocol_url(article_url or ""))
            rankings.append(ranking)
        db.execute("DROP TABLE bench_fts")
        db.commit()
    times.sort()
    return {
        "keyword_only_retrieval_no_time_context": retrieval_metrics(rankings, [q.gold_urls for q in questions]),
        "search_ms": {"p50": round(statistics.median(times), 2), "p95": round(times[int(0.95 * (len(times) - 1))], 2)},
        "build_seconds": round(build_seconds, 1),
    }


if __name__ == "__main__":
    run_script(main)
