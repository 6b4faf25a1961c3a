"""`newsbot index ...`: add, remove, list, stats, rebuild and search the article index."""

from __future__ import annotations

import argparse
import sys

from tqdm import tqdm

from index.embeddings import Embedder
from index.ingest import add_to_index
from index.reader import IndexReader
from index.writer import IndexWriter
from newsbot.output import print_json
from newsbot.settings import Settings


def register(commands, common: argparse.ArgumentParser) -> None:
    index = commands.add_parser("index", help="add, remove and inspect indexed articles")
    sub = index.add_subparsers(title="index commands", required=True)

    add = sub.add_parser("add", parents=[common], help="index files, directories and URLs")
    add.add_argument("items", nargs="+", metavar="PATH|URL")
    add.set_defaults(handler=add_command)

    remove = sub.add_parser("remove", parents=[common], help="remove an article by id or URL")
    remove.add_argument("article", metavar="ID|URL")
    remove.set_defaults(handler=remove_command)

    listing = sub.add_parser("list", parents=[common], help="list indexed articles, newest first")
    listing.add_argument("--limit", type=int, default=None)
    listing.set_defaults(handler=list_command)

    sub.add_parser("stats", parents=[common], help="counts, model and size").set_defaults(handler=stats_command)
    sub.add_parser("rebuild", parents=[common], help="re-embed everything (after a model change)").set_defaults(
        handler=rebuild_command
    )

    search = sub.add_parser("search", parents=[common], help="nearest passages with scores (for debugging)")
    search.add_argument("query")
    search.add_argument("-k", type=int, default=5)
    search.set_defaults(handler=search_command)


def add_command(args: argparse.Namespace, settings: Settings) -> int:
    report = add_to_index(args.items, settings, progress=not args.json)
    if args.json:
        print_json(report.as_json())
    else:
        print(report.summary())
        for line in report.problem_lines():
            print(f"  {line}", file=sys.stderr if line.startswith("failed") else sys.stdout)
    return 1 if report.failed else 0


def remove_command(args: argparse.Namespace, settings: Settings) -> int:
    with IndexWriter.for_settings(settings) as writer:
        article = writer.remove(args.article)
    if args.json:
        print_json({"removed": article.id, "title": article.title, "url": article.url})
    else:
        print(f"removed {article.id}: {article.title}")
    return 0


def list_command(args: argparse.Namespace, settings: Settings) -> int:
    reader = IndexReader(settings.index_dir)
    articles = reader.articles(limit=args.limit)
    if args.json:
        print_json([vars(article) for article in articles])
        return 0
    for article in articles:
        print(f"{article.id}  {article.published or '          '}  {article.source or '-'}  {article.title}")
        if article.url:
            print(f"{'':14}{article.url}")
    return 0


def stats_command(args: argparse.Namespace, settings: Settings) -> int:
    stats = IndexReader(settings.index_dir).stats()
    if args.json:
        print_json(stats)
    else:
        for name, value in stats.items():
            print(f"{name:>17}: {value}")
    return 0


def rebuild_command(args: argparse.Namespace, settings: Settings) -> int:
    with IndexWriter.for_settings(settings) as writer:
        total = writer.db.execute("SELECT count(*) FROM articles").fetchone()[0]
        with tqdm(total=total, unit="article", disable=True if args.json else None, leave=False) as bar:
            count = writer.rebuild(on_progress=bar.update)
    if args.json:
        print_json({"rebuilt": count, "model": writer.embedder.model_id})
    else:
        print(f"re-embedded {count} articles with {writer.embedder.model_id}")
    return 0


def search_command(args: argparse.Namespace, settings: Settings) -> int:
    embedder = Embedder(
        settings.embedding_model, settings.embedding_backend, settings.embedding_batch_size, settings.model_cache_dir
    )
    reader = IndexReader(settings.index_dir, embedder.model_id)
    hits = reader.search(embedder.embed([args.query])[0], args.k)
    if args.json:
        print_json(
            [
                {"score": round(score, 4), "article_id": p.article.id, "title": p.article.title, "passage": p.text}
                for p, score in hits
            ]
        )
        return 0
    for passage, score in hits:
        print(f"{score:.3f}  [{passage.article.id}] {passage.article.title}")
        print(f"       {passage.text[:300]}")
    return 0
