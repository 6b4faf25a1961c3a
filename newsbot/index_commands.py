"""`newsbot index ...`: add, remove, list, stats, rebuild, search, check and back up the article index."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable, Iterator
from dataclasses import asdict
from datetime import timedelta
from typing import TYPE_CHECKING

from common.errors import SettingsError
from index.backends import index_exists
from newsbot.clock import clock_of, clock_options
from newsbot.output import print_json
from newsbot.questions_input import STDIN_HELP, QuestionsInput
from wiring.parts import Wiring
from wiring.settings import Settings, checked_days

if TYPE_CHECKING:
    from answers.retrieve import RankedArticle


ADD_HELP = """Index files (.txt, .md, .html, .json, .jsonl), folders of them (recursively) and web pages.

What is read from a file:
  .json / .jsonl   one object per article (or a list of them). The body: text, body or content; the title:
                   title or headline; the link: url, link or permalink; the date: published, date,
                   published_at, pubDate, datePublished or created_at; the outlet: source, outlet, publisher
                   or site_name. Other fields are kept as metadata, never indexed, and named in a warning.
  .md / .txt       an optional front matter block (lines of `key: value` between two `---` lines, with the
                   same names as JSON), then a title line (a `# heading`, or a short first line and a blank
                   line), then a "Published 6 December 2026, Kyodo" line or a dateline ("FRANKFURT, 3 December
                   2026 — ...") at the start of the text.
  .html            the page's main text, title, site name, date and canonical link.
An article without a date counts as published when it is added (for "this week", `brief --since`, --now)."""


def register(commands, common: argparse.ArgumentParser) -> None:
    index = commands.add_parser("index", help="add, remove and inspect indexed articles")
    sub = index.add_subparsers(title="index commands", required=True)

    add = sub.add_parser(
        "add",
        parents=[common],
        help="index files, directories and URLs",
        description=ADD_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add.add_argument("items", nargs="+", metavar="PATH|URL")
    add.add_argument(
        "--if-new",
        action="store_true",
        help="add only when there is no index yet (how `make run` adds the sample article: once, to a new index)",
    )
    add.set_defaults(handler=add_command)

    remove = sub.add_parser("remove", parents=[common], help="remove an article by id or URL")
    remove.add_argument("article", metavar="ID|URL")
    remove.set_defaults(handler=remove_command)

    listing = sub.add_parser("list", parents=[common], help="list indexed articles, newest first")
    listing.add_argument("--limit", type=positive, default=None)
    listing.set_defaults(handler=list_command)

    sub.add_parser(
        "stats", parents=[common], help="counts, oldest and newest dates, model, size on disk per part"
    ).set_defaults(handler=stats_command)
    prune = sub.add_parser(
        "prune",
        parents=[common],
        help="remove articles published (undated: added) more than ARTICLE_DAYS days ago and give the space back",
    )
    prune.add_argument("--dry-run", action="store_true", help="only say which articles would go")
    prune.add_argument("--days", type=positive, help="keep this many days instead of ARTICLE_DAYS")
    prune.set_defaults(handler=prune_command)
    optimize = sub.add_parser(
        "optimize",
        parents=[common],
        help="bring the index's derived files up to date now: damaged ones made again from the database, "
        "new passages written as a segment, segments merged, dense search suited to the index's size",
    )
    optimize.set_defaults(handler=optimize_command)
    sub.add_parser("rebuild", parents=[common], help="re-embed everything (after a model change)").set_defaults(
        handler=rebuild_command
    )

    check = sub.add_parser("check", parents=[common], help="look for damage (exit 1: one line per problem)")
    check.add_argument(
        "--repair", action="store_true", help="first make derived files (segment and dense files) found damaged or missing again"
    )
    check.set_defaults(handler=check_command)
    backup = sub.add_parser("backup", parents=[common], help="copy the index safely, even while the bot runs")
    backup.add_argument("path", metavar="PATH", help="a new (or empty) folder; the copy opens as an index")
    backup.set_defaults(handler=backup_command)
    migrate = sub.add_parser(
        "migrate",
        parents=[common],
        help="copy the index (INDEX_DIR, vectors included) and the bot state (BOT_STATE_PATH) into the "
        "PostgreSQL of DATABASE_URL (from the environment or .env, never the command line)",
    )
    migrate.set_defaults(handler=migrate_command)

    search = sub.add_parser(
        "search", parents=[common, clock_options()], help="the articles answers would draw on, with their scores"
    )
    search.add_argument("query", help=f"the question, or - to read questions from stdin: {STDIN_HELP}")
    search.add_argument("-k", type=positive, default=5, help="how many articles (at least 1)")
    search.set_defaults(handler=search_command)


def positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is too small; give 1 or more")
    return value


def add_command(args: argparse.Namespace, settings: Settings) -> int:
    if args.if_new and index_exists(settings.index_location):
        skipped = f"not added ({' '.join(args.items)}): --if-new, and there is an index already"
        if args.json:
            print_json({"skipped": skipped})
        else:
            print(skipped)
        return 0
    wiring = Wiring(settings, creates_index=True)
    items = wiring.read_sources(args.items)
    report = wiring.indexer.add(items if args.json else _with_progress(items))
    if args.json:
        print_json(report.as_json())
    else:
        print(report.summary())
        for line in report.problem_lines():
            print(f"  {line}", file=sys.stderr if line.startswith("failed") else sys.stdout)
    return 1 if report.failed else 0


def _with_progress(items: Iterable) -> Iterator:
    from tqdm import tqdm

    with tqdm(unit=" articles", disable=None, leave=False) as bar:
        for item in items:
            bar.update(1)
            yield item


def remove_command(args: argparse.Namespace, settings: Settings) -> int:
    article = Wiring(settings).indexer.remove(args.article)
    if args.json:
        print_json({"removed": article.id, "title": article.title, "url": article.url})
    else:
        print(f"removed {article.id}: {article.title}")
    return 0


def list_command(args: argparse.Namespace, settings: Settings) -> int:
    articles = Wiring(settings).store.articles(limit=args.limit)
    if args.json:
        print_json([asdict(article) for article in articles])
        return 0
    for article in articles:
        print(f"{article.id}  {article.published or '          '}  {article.source or '-'}  {article.title}")
        if article.url:
            print(f"{'':14}{article.url}")
    return 0


def stats_command(args: argparse.Namespace, settings: Settings) -> int:
    stats = Wiring(settings).store.stats()
    if args.json:
        print_json(stats)
        return 0
    for name, value in stats.items():
        if name == "parts":
            for part, size in value.items():
                print(f"{'bytes, ' + part.replace('_', ' '):>26}: {size}")
        else:
            print(f"{name.replace('_', ' '):>26}: {value}")
    return 0


def prune_command(args: argparse.Namespace, settings: Settings) -> int:
    days = checked_days(args.days, "--days") if args.days else settings.article_days
    if not days:
        raise SettingsError(
            "ARTICLE_DAYS is 0 (keep every article); set it in .env, or give --days N to remove what is older"
        )
    wiring = Wiring(settings)
    before = wiring.clock().date() - timedelta(days=days)
    pruned = wiring.indexer.prune(before, args.dry_run)
    if args.json:
        print_json(
            {
                "before": before.isoformat(),
                "dry_run": args.dry_run,
                "pruned": len(pruned),
                "articles": [{"id": a.id, "title": a.title, "published": a.published} for a in pruned],
            }
        )
        return 0
    verb = "would remove" if args.dry_run else "removed"
    print(f"{verb} {len(pruned)} articles published (undated: added) before {before.isoformat()}")
    for article in pruned[:20] if not args.dry_run else pruned:
        print(f"  {article.id}  {article.published or '          '}  {article.title}")
    if len(pruned) > 20 and not args.dry_run:
        print(f"  ... and {len(pruned) - 20} more")
    return 0


def optimize_command(args: argparse.Namespace, settings: Settings) -> int:
    done = Wiring(settings).indexer.optimize()
    if args.json:
        print_json({"done": done})
    else:
        print("\n".join(done) if done else "nothing to do: the index is up to date")
    return 0


def rebuild_command(args: argparse.Namespace, settings: Settings) -> int:
    from tqdm import tqdm

    wiring = Wiring(settings, creates_index=True)
    total = wiring.store.stats()["articles"]
    with tqdm(total=total, unit="article", disable=True if args.json else None, leave=False) as bar:
        count = wiring.indexer.rebuild(on_progress=bar.update)
    if args.json:
        print_json({"rebuilt": count, "model": wiring.embedder.model_id})
    else:
        print(f"re-embedded {count} articles with {wiring.embedder.model_id}")
    return 0


def migrate_command(args: argparse.Namespace, settings: Settings) -> int:
    if not settings.database_url:
        raise SettingsError(
            "DATABASE_URL is not set; put postgresql://user:password@host/database in .env or the environment "
            "(not on the command line, where others could read the password)"
        )
    from index.postgres import PostgresStore
    from index.postgres.copy import copy_index
    from state.postgres import PostgresDatabase, copy_state
    from state.sqlite import SQLiteDatabase

    target = PostgresStore(settings.database_url, create=True)
    try:
        index = copy_index(settings.index_dir, target)
    finally:
        target.close()
    state = {}
    if settings.bot_state_path.exists():
        database = PostgresDatabase(settings.database_url)
        try:
            state = copy_state(SQLiteDatabase(settings.bot_state_path), database)
        finally:
            database.close()
    if args.json:
        print_json({"target": target.location, "index": index, "state": state})
        return 0
    done = "was copied before; left as it is" if index["skipped"] else "copied"
    print(
        f"index {settings.index_dir} ({index['articles']} articles, {index['passages']} passages) {done}: {target.location}"
    )
    if not settings.bot_state_path.exists():
        print(f"no bot state at {settings.bot_state_path}; nothing to copy")
    elif state:
        print(f"bot state {settings.bot_state_path} copied: " + ", ".join(f"{t} {n}" for t, n in state.items()))
    else:
        print(f"bot state {settings.bot_state_path} was copied before; left as it is")
    return 0


def search_command(args: argparse.Namespace, settings: Settings) -> int:
    """Per question, the articles ranked as answers rank them (time words, --now's cutoff, the date prior), each
    with its best passages; with --json, one JSON line per question."""
    service = Wiring(settings, clock=clock_of(args, settings.zone)).answers
    questions = QuestionsInput(args.query, settings.zone)
    for question, asking in questions.asked_of(service):
        ranked = asking.search(question, args.k)
        now = asking.today().isoformat() if asking.cutoff else None
        if args.json:
            print_json({"question": question, "now": now, "articles": [_article_json(a) for a in ranked]})
            sys.stdout.flush()
            continue
        if args.query == "-":
            print(f"? {question}" + (f"  (now: {now})" if now else ""))
        for article in ranked:
            print(
                f"{article.score:7.2f}  [{article.article.id}] {article.article.published or '-':10.10}  {article.article.title}"
            )
            for hit in article.passages:
                print(f"         {' '.join(hit.passage.text.split())[:300]}")
    return 1 if questions.failed else 0


def _article_json(ranked: RankedArticle) -> dict:
    article = ranked.article
    return {
        "article_id": article.id,
        "url": article.url,
        "title": article.title,
        "published": article.published,
        "score": round(ranked.score, 4),
        "passages": [
            {"text": hit.passage.text, "score": round(hit.score, 4), "similarity": round(hit.similarity, 4)}
            for hit in ranked.passages
        ],
    }


def check_command(args: argparse.Namespace, settings: Settings) -> int:
    store = Wiring(settings).store
    repaired = store.repair() if args.repair else []
    problems = store.check()
    if args.json:
        print_json({"index": store.location, "repaired": repaired, "problems": problems})
        return 1 if problems else 0
    for line in repaired:
        print(line)
    if problems:
        for problem in problems:
            print(problem, file=sys.stderr)
    else:
        stats = store.stats()
        print(f"{store.location}: no problems found ({stats['articles']} articles, {stats['passages']} passages)")
    return 1 if problems else 0


def backup_command(args: argparse.Namespace, settings: Settings) -> int:
    written = Wiring(settings).store.backup(args.path)
    if args.json:
        print_json({"backup": written})
    else:
        print(f"backed up the index to {written}; use it with --index-dir {args.path} or INDEX_DIR")
    return 0
