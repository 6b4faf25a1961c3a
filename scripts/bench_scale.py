"""The index at scale (issue 19): synthetic corpora of 10,000, 100,000 and 1,000,000 articles made of whole
passages of the RealTime QA index (scripts/synthetic_index.py), each figure measured as a user meets it.

    .venv/bin/python scripts/bench_scale.py [--sizes 10k,100k,1m] [--steps build,bot,parts,add,postgres,realtimeqa]
        [--work data/bench/scale] [--source data/bench/newsbot-index] [--out data/bench/scale.json]
        [--questions 60] [--keep] [--seed 77]

Steps, per size:
* build: 10k — the articles' texts as JSON lines and `newsbot index add` (real embeddings, the whole process);
  100k and 1m — scripts/synthetic_index.py writes the index straight (the source passages' vectors, perturbed to a
  cosine of 0.99), then the approximate index is built from scratch (`build_approximate`, the writer's own); the
  bytes on disk per part (`newsbot index stats --json`).
* bot: the real bot (`newsbot run`, scripts/bench_bot.py's driver, the Telegram emulator on 127.0.0.1): the
  RealTime QA questions asked one after another, reply latency p50/p95, PSS after answering.
* parts: in one process, warm: dense search, keyword search and the whole extractive answer, p50/p95.
* add (100k): with the bot running, `newsbot index add` of 1 article and of 50 (a feed poll's worth) as whole
  processes, and the bot's reply to the next question after each.
* postgres (10k, 100k): the index copied into PostgreSQL (pgserver) with COPY, the HNSW index built (timed), the
  answer latency, hnsw.ef_search against recall of the exact top 300 (the RealTime QA questions), 1 and 50 articles
  added.
* realtimeqa: RealTime QA live Hit@1/5/10 on the source index, exact, and with the approximate index forced on.

Every figure is stored with the load average when it began (the machine is shared). Large data goes to --work;
without --keep, each size's folder is deleted once measured."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from bench_bot import bench_process, find_reply, memory_mb, stop_process  # noqa: E402

from evaluation import realtimeqa  # noqa: E402
from tests.telegram_emulator import TelegramEmulator  # noqa: E402
from wiring.parts import Wiring  # noqa: E402
from wiring.settings import Settings  # noqa: E402

SIZES = {"10k": 10_000, "100k": 100_000, "1m": 1_000_000}
PYTHON = sys.executable
NEWSBOT = str(Path(sys.executable).parent / "newsbot")


def load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def progress(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')} load {load()}] {text}", file=sys.stderr, flush=True)


def summary(values_ms: list[float]) -> dict[str, float]:
    ordered = sorted(values_ms)
    return {
        "count": len(ordered),
        "p50_ms": round(statistics.median(ordered), 1),
        "p95_ms": round(ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))], 1),
    }


def env_for(index_dir: Path, **extra: str) -> dict[str, str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT), INDEX_DIR=str(index_dir), BOT_STATE_PATH=str(index_dir.parent / "bot.sqlite"))
    env.pop("DATABASE_URL", None)
    env.update(extra)
    return env


def timed_run(command: list[str], env: dict[str, str]) -> dict[str, Any]:
    """A whole process: its wall-clock seconds, the load when it began, its exit code and its output's last line."""
    began = load()
    started = time.perf_counter()
    run = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True)
    return {
        "seconds": round(time.perf_counter() - started, 2),
        "load_at_start": began,
        "exit_code": run.returncode,
        "output": (run.stdout.strip().splitlines() or [""])[-1][:2000],
        "errors": run.stderr.strip().splitlines()[-3:] if run.returncode else [],
    }


# -- build -----------------------------------------------------------------------------------------------------


def build(size: str, work: Path, source: Path) -> dict[str, Any]:
    folder = work / size
    folder.mkdir(parents=True, exist_ok=True)
    index_dir = folder / "index"
    result: dict[str, Any] = {}
    if size == "10k":
        corpus = folder / "articles.jsonl"
        if not corpus.exists():
            result["texts"] = timed_run(
                [PYTHON, "scripts/synthetic_index.py", "--articles", str(SIZES[size]), "--jsonl", str(corpus), "--source", str(source)],
                env_for(index_dir),
            )
        if not index_dir.exists():
            progress("10k: newsbot index add (real embeddings) ...")
            result["index_add"] = timed_run([NEWSBOT, "index", "add", str(corpus), "--json"], env_for(index_dir, MAX_FILE_BYTES="400000000"))
    elif not index_dir.exists():
        progress(f"{size}: writing the synthetic index ...")
        command = [PYTHON, "scripts/synthetic_index.py", "--articles", str(SIZES[size]), "--out", str(index_dir), "--source", str(source)]
        result["synthetic"] = timed_run(command, env_for(index_dir))
        progress(f"{size}: building the approximate index from scratch ...")
        result["approximate_build"] = timed_run([PYTHON, "-c", BUILD_APPROXIMATE, str(index_dir)], env_for(index_dir))
    result["stats"] = json.loads(timed_run([NEWSBOT, "index", "stats", "--json"], env_for(index_dir))["output"])
    return result


BUILD_APPROXIMATE = """
import sys
from pathlib import Path
from index.sqlite import SQLiteStore
store = SQLiteStore(Path(sys.argv[1]))
with store.writer() as writer:
    writer.build_approximate()
"""


# -- the bot ---------------------------------------------------------------------------------------------------


def bot(index_dir: Path, questions: list[str]) -> dict[str, Any]:
    began = load()
    result = bench_process(index_dir, questions, len(questions) - 1)
    return {"load_at_start": began, **result}


def parts(index_dir: Path, questions: list[str], database_url: str | None = None) -> dict[str, Any]:
    """Dense search, keyword search and whole extractive answers in this process, warm (one pass first)."""
    settings = Settings(_env_file=None, index_dir=index_dir, bot_state_path=index_dir.parent / "bot.sqlite", database_url=database_url)
    wiring = Wiring(settings)
    service, store, embedder = wiring.answers, wiring.store, wiring.embedder
    began = load()
    service.answer(questions[0])
    vectors = embedder.embed(questions)
    dense, keyword, answers = [], [], []
    for question, vector in zip(questions, vectors, strict=True):
        dense.append(_ms(lambda v=vector: store.dense_search(v, 300)))
        keyword.append(_ms(lambda q=question: store.keyword_search(q, 300)))
        answers.append(_ms(lambda q=question: service.answer(q)))
    result = {
        "load_at_start": began,
        "dense_search_300": summary(dense),
        "keyword_search_300": summary(keyword),
        "answer_extractive": summary(answers),
    }
    if database_url is None:
        result["pss_mb_this_process"] = memory_mb(os.getpid())["pss"]
    store.close()
    return result


def _ms(call: Callable[[], object]) -> float:
    started = time.perf_counter()
    call()
    return (time.perf_counter() - started) * 1000


# -- adding to a big index while the bot runs --------------------------------------------------------------------


def add_while_the_bot_runs(
    index_dir: Path, work: Path, source: Path, questions: list[str], seed: int
) -> dict[str, Any]:
    """`newsbot index add` of 1 and of 50 new articles (whole processes) into `index_dir` while the bot answers;
    the bot's reply latency to the question asked right after each add, and to questions before."""
    one, fifty = new_articles(work, source, seed)
    result: dict[str, Any] = {}
    with TelegramEmulator() as emu:
        env = env_for(
            index_dir,
            TELEGRAM_BOT_TOKEN=emu.token,
            TELEGRAM_BASE_URL=emu.base_url,
            TELEGRAM_BASE_FILE_URL=emu.base_file_url,
            ANSWERER="extractive",
            QUESTIONS_PER_MINUTE="0",
        )
        reader = emu.user("Reader", "reader")
        chat = emu.private_chat(reader)
        process = subprocess.Popen([NEWSBOT, "run"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            asked = iter(questions * 3)

            def ask() -> float:
                sent = emu.send(chat, reader, next(asked))
                queued = time.monotonic()
                emu.wait_until(lambda: find_reply(emu, chat, sent["message_id"]) is not None, 300, "a reply")
                return round((find_reply(emu, chat, sent["message_id"]).versions[0].at - queued) * 1000, 1)

            result["before"] = summary([ask() for _ in range(10)])
            for name, path in (("one_article", one), ("fifty_articles", fifty)):
                progress(f"add: {name} while the bot runs ...")
                added = timed_run([NEWSBOT, "index", "add", str(path), "--json"], env_for(index_dir))
                result[name] = {**added, "first_question_after_ms": ask(), "next_questions": summary([ask() for _ in range(5)])}
            result["pss_after_mb"] = memory_mb(process.pid)["pss"]
        finally:
            stop_process(process)
    return result


def new_articles(work: Path, source: Path, seed: int) -> tuple[Path, Path]:
    """Files of 1 and of 50 new synthetic articles (texts only: `index add` embeds them)."""
    feed = work / f"new-articles-{seed}.jsonl"
    if not feed.exists():
        command = [PYTHON, "scripts/synthetic_index.py", "--articles", "51", "--jsonl", str(feed), "--source", str(source)]
        subprocess.run([*command, "--seed", str(seed)], cwd=ROOT, check=True, env=dict(os.environ, PYTHONPATH=str(ROOT)))
    lines = feed.read_text().splitlines()
    one, fifty = work / f"one-{seed}.jsonl", work / f"fifty-{seed}.jsonl"
    one.write_text(lines[0] + "\n")
    fifty.write_text("\n".join(lines[1:51]) + "\n")
    return one, fifty


# -- PostgreSQL ------------------------------------------------------------------------------------------------


def postgres(
    index_dir: Path, work: Path, source: Path, questions: list[str], question_vectors: np.ndarray, seed: int
) -> dict[str, Any]:
    import pgserver
    import psycopg

    folder = work / "postgres"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    server = pgserver.get_server(folder / "data", cleanup_mode="delete")
    url = server.get_uri("postgres")
    try:
        with psycopg.connect(url, autocommit=True) as db:
            db.execute("CREATE EXTENSION IF NOT EXISTS vector")
        result: dict[str, Any] = {"load_at_start": load()}
        started = time.perf_counter()
        result["copy"] = copy_into_postgres(index_dir, url)
        result["copy"]["seconds"] = round(time.perf_counter() - started, 1)
        result["recall_by_ef_search"] = ef_search_recall(url, question_vectors)
        result["parts"] = parts(index_dir, questions, url)
        one, fifty = new_articles(work, source, seed + 1)  # not the ones the add step put in the SQLite index
        env = env_for(index_dir, DATABASE_URL=url)
        result["add_one_article"] = timed_run([NEWSBOT, "index", "add", str(one), "--json"], env)
        result["add_fifty_articles"] = timed_run([NEWSBOT, "index", "add", str(fifty), "--json"], env)
        with psycopg.connect(url) as db:
            result["bytes"] = dict(
                db.execute(
                    "SELECT relname, pg_total_relation_size(oid) FROM pg_class WHERE relname IN"
                    " ('articles', 'passages', 'postings', 'words', 'sentence_vectors', 'passages_embedding')"
                ).fetchall()
            )
        return result
    finally:
        server.cleanup()
        shutil.rmtree(folder, ignore_errors=True)


def copy_into_postgres(index_dir: Path, url: str) -> dict[str, Any]:
    """The SQLite index into the newsbot schema in PostgreSQL with COPY (the postings from its segments), then the
    indexes the schema has, built after the rows (the HNSW index timed apart)."""
    import psycopg
    from pgvector.psycopg import register_vector

    from index.postgres import PostgresStore
    from index.postgres.schema import HNSW_EF_CONSTRUCTION, HNSW_INDEX, HNSW_M
    from index.sqlite.database import decode_vector
    from index.sqlite.schema import connect
    from index.sqlite.segments import Segment

    sqlite = connect(index_dir)
    model, dimension = (sqlite.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()[0] for key in ("model", "dimension"))
    dimension = int(dimension)
    store = PostgresStore(url, create=True)
    with store.writer() as writer:
        writer.set_model(model, dimension)
    store.close()
    with psycopg.connect(url) as db:
        register_vector(db)
        db.execute(f"DROP INDEX {HNSW_INDEX}")
        db.execute("ALTER TABLE postings DROP CONSTRAINT postings_pkey")
        db.execute("DROP INDEX postings_passage")
        db.execute("ALTER TABLE passages ALTER COLUMN id SET GENERATED BY DEFAULT")
        articles = {}
        with db.cursor().copy(
            "COPY articles (id, identity, title, source, url, published, added_at, content_hash, text, extra, added_seq,"
            " source_key, published_day, day, passage_count, term_count) FROM STDIN"
        ) as copy:
            for row in sqlite.execute(
                "SELECT id, identity, title, source, url, published, added_at, content_hash, text, extra, added_seq, day,"
                " published_day, passage_count FROM articles"
            ):
                day = _date(row[11])
                articles[row[0]] = (row[3].lower(), _date(row[12]) if row[12] else None, day, row[10])
                copy.write_row((*row[:11], row[3].lower(), _date(row[12]) if row[12] else None, day, row[13], 0))
        lengths: dict[int, int] = {}
        terms = dict((term_id, term) for term, term_id in sqlite.execute("SELECT term, id FROM kw_terms"))
        segments = [Segment.open(index_dir, row[0]) for row in sqlite.execute("SELECT id FROM segments ORDER BY first_passage")]
        for segment in segments:
            lengths.update(zip(np.asarray(segment.passages.passage_ids).tolist(), np.asarray(segment.passages.lengths).tolist(), strict=True))
        with db.cursor().copy(
            'COPY passages (id, article_id, ordinal, start, "end", embedding, term_count, source_key, published_day, day,'
            " added_seq) FROM STDIN WITH (FORMAT BINARY)"
        ) as copy:
            copy.set_types(["int8", "text", "int4", "int4", "int4", "vector", "int4", "text", "date", "date", "int8"])
            for passage_id, article_id, ordinal, start, end, vector in sqlite.execute(
                'SELECT id, article_id, ordinal, start, "end", vector FROM passages'
            ):
                source_key, published_day, day, mark = articles[article_id]
                copy.write_row(
                    (passage_id, article_id, ordinal, start, end, decode_vector(vector, dimension), lengths.get(passage_id, 0),
                     source_key, published_day, day, mark)
                )
        with db.cursor().copy("COPY postings (term, passage_id, frequency, passage_terms) FROM STDIN") as copy:
            for segment in segments:
                term_ids, rows, tfs = segment.postings.triples()
                ids = np.asarray(segment.passages.passage_ids)
                lens = np.asarray(segment.passages.lengths)
                for start in range(0, len(rows), 1_000_000):
                    part = slice(start, start + 1_000_000)
                    copy.write(
                        "".join(
                            f"{terms[t]}\t{p}\t{f}\t{n}\n"
                            for t, p, f, n in zip(
                                term_ids[part].tolist(), ids[rows[part]].tolist(), tfs[part].tolist(), lens[rows[part]].tolist(), strict=True
                            )
                        )
                    )
        with db.cursor().copy("COPY sentence_vectors (passage_id, vectors) FROM STDIN WITH (FORMAT BINARY)") as copy:
            copy.set_types(["int8", "bytea"])
            for row in sqlite.execute("SELECT passage_id, vectors FROM sentence_vectors"):
                copy.write_row(row)
        with db.cursor().copy("COPY words (word, passages) FROM STDIN") as copy:
            for row in sqlite.execute("SELECT word, passages FROM words WHERE passages > 0"):
                copy.write_row(row)
        db.execute("UPDATE articles a SET term_count = t.total FROM (SELECT article_id, sum(term_count) AS total FROM passages GROUP BY article_id) t WHERE t.article_id = a.id")
        db.execute("ALTER TABLE passages ALTER COLUMN id SET GENERATED ALWAYS")
        db.execute("SELECT setval(pg_get_serial_sequence('passages', 'id'), (SELECT max(id) FROM passages))")
        db.commit()
        started = time.perf_counter()
        db.execute("ALTER TABLE postings ADD PRIMARY KEY (term, passage_id) INCLUDE (frequency, passage_terms)")
        db.execute("CREATE INDEX postings_passage ON postings (passage_id)")
        db.commit()
        postings_s = time.perf_counter() - started
        db.execute("SET maintenance_work_mem = '2GB'")
        started = time.perf_counter()
        db.execute(
            f"CREATE INDEX {HNSW_INDEX} ON passages USING hnsw (embedding vector_cosine_ops)"
            f" WITH (m = {HNSW_M}, ef_construction = {HNSW_EF_CONSTRUCTION})"
        )
        db.commit()
        hnsw_s = time.perf_counter() - started
        db.autocommit = True
        db.execute("VACUUM ANALYZE")
    sqlite.close()
    return {"postings_index_s": round(postings_s, 1), "hnsw_build_s": round(hnsw_s, 1), "hnsw": {"m": HNSW_M, "ef_construction": HNSW_EF_CONSTRUCTION}}


def _date(day_number: int) -> Any:
    from datetime import date

    return date.fromordinal(day_number)


def ef_search_recall(url: str, question_vectors: np.ndarray, k: int = 300) -> dict[str, Any]:
    """Recall of the exact top `k` (an exact scan, no index) at each hnsw.ef_search, and the latency."""
    import psycopg
    from pgvector.psycopg import register_vector

    sql = "SELECT id FROM passages ORDER BY embedding <=> %s LIMIT %s"
    result: dict[str, Any] = {}
    with psycopg.connect(url) as db:
        register_vector(db)
        db.execute("SET enable_indexscan = off")
        truth = [[row[0] for row in db.execute(sql, (vector, k)).fetchall()] for vector in question_vectors]
        db.execute("SET enable_indexscan = on")
        for ef in (300, 400, 600, 800, 1000):
            db.execute(f"SET hnsw.ef_search = {ef}")
            found, times = [], []
            for vector in question_vectors:
                started = time.perf_counter()
                found.append([row[0] for row in db.execute(sql, (vector, k)).fetchall()])
                times.append((time.perf_counter() - started) * 1000)
            result[str(ef)] = {
                "recall@300": round(float(np.mean([len(set(f) & set(t)) / k for f, t in zip(found, truth, strict=True)])), 4),
                "recall@10": round(float(np.mean([len(set(f[:10]) & set(t[:10])) / 10 for f, t in zip(found, truth, strict=True)])), 4),
                "latency": summary(times),
            }
            progress(f"ef_search {ef}: {result[str(ef)]}")
    return result


# -- RealTime QA -----------------------------------------------------------------------------------------------


def realtimeqa_hits(source: Path, work: Path) -> dict[str, Any]:
    """Live Hit@1/5/10 on a copy of the RealTime QA index, exact, then with the approximate index forced on."""
    from evaluation.metrics import retrieval_metrics
    from evaluation.report import SETTINGS, newsbot_rankings
    from index.sqlite import SQLiteStore
    from index.types import Layout

    copy = work / "realtimeqa"
    shutil.rmtree(copy, ignore_errors=True)
    shutil.copytree(source, copy)  # an index written before segments is upgraded when opened
    settings = Settings(index_dir=copy, bot_state_path=work / "rtqa-bot.sqlite")
    questions = realtimeqa.questions(settings.eval_dir)
    gold = [q.gold_urls for q in questions]
    result: dict[str, Any] = {}
    for mode in ("exact", "approximate"):
        if mode == "approximate":
            began, started = load(), time.perf_counter()
            with SQLiteStore(copy, layout=Layout(approximate_above=0)).writer() as writer:
                writer.build_approximate()
            result["approximate_build"] = {"seconds": round(time.perf_counter() - started, 1), "load_at_start": began}
        service = Wiring(settings).answers
        rankings = newsbot_rankings(service, questions, SETTINGS["live"], settings.zone)
        result[mode] = {**retrieval_metrics(rankings, gold), "dense_search": service.retriever.store.stats()["dense_search"]}
        progress(f"RealTime QA live, {mode}: {result[mode]}")
    shutil.rmtree(copy, ignore_errors=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10k,100k,1m")
    parser.add_argument("--steps", default="build,bot,parts,add,postgres,realtimeqa")
    parser.add_argument("--work", type=Path, default=ROOT / "data/bench/scale")
    parser.add_argument("--source", type=Path, default=ROOT / "data/bench/newsbot-index", help="the RealTime QA index")
    parser.add_argument("--out", type=Path, default=ROOT / "data/bench/scale.json")
    parser.add_argument("--questions", type=int, default=60, help="RealTime QA questions asked per measurement")
    parser.add_argument("--keep", action="store_true", help="keep each size's index once measured")
    parser.add_argument("--seed", type=int, default=77, help="of the added articles (PostgreSQL's: seed + 1)")
    args = parser.parse_args()
    steps = set(args.steps.split(","))
    results = json.loads(args.out.read_text()) if args.out.exists() else {}
    settings = Settings()
    questions = [q.sentence for q in realtimeqa.questions(settings.eval_dir)][: args.questions]

    def save() -> None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(results, indent=2))

    if "realtimeqa" in steps:
        results["realtimeqa_live"] = realtimeqa_hits(args.source, args.work)
        save()
    for size in args.sizes.split(","):
        index_dir = args.work / size / "index"
        entry = results.setdefault(size, {})
        if "build" in steps:
            entry["build"] = build(size, args.work, args.source)
            save()
        if "bot" in steps:
            progress(f"{size}: the bot ...")
            entry["bot"] = bot(index_dir, questions)
            save()
        if "parts" in steps:
            progress(f"{size}: searches and answers in one process ...")
            entry["parts"] = parts(index_dir, questions)
            save()
        if "add" in steps and size == "100k":
            entry["add"] = add_while_the_bot_runs(index_dir, args.work / size, args.source, questions, args.seed)
            save()
        if "postgres" in steps and size in ("10k", "100k"):
            progress(f"{size}: PostgreSQL ...")
            vectors = Wiring(settings).embedder.embed([q.sentence for q in realtimeqa.questions(settings.eval_dir)])
            entry["postgres"] = postgres(index_dir, args.work / size, args.source, questions, vectors, args.seed)
            save()
        if not args.keep:
            shutil.rmtree(args.work / size, ignore_errors=True)
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
