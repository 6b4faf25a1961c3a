"""`newsbot feed ...`: subscribe to RSS/Atom feeds and poll them into the index."""

from __future__ import annotations

import argparse
from dataclasses import asdict

from answers.core import utc_now
from feeds.polling import poll_feeds, subscribe
from feeds.store import feed_store
from index.embeddings import Embedder
from newsbot.output import print_json
from newsbot.settings import Settings


def register(commands, common: argparse.ArgumentParser) -> None:
    feed = commands.add_parser("feed", help="subscribe to news feeds and poll them into the index")
    sub = feed.add_subparsers(title="feed commands", required=True)
    add = sub.add_parser("add", parents=[common], help="subscribe to an RSS or Atom feed")
    add.add_argument("url")
    add.set_defaults(handler=add_command)
    sub.add_parser("list", parents=[common], help="the subscribed feeds").set_defaults(handler=list_command)
    remove = sub.add_parser("remove", parents=[common], help="unsubscribe from feed N (see `feed list`)")
    remove.add_argument("number", type=int)
    remove.set_defaults(handler=remove_command)
    poll = sub.add_parser("poll", parents=[common], help="index the new entries of every feed now")
    poll.set_defaults(handler=poll_command)


def add_command(args: argparse.Namespace, settings: Settings) -> int:
    feed, content = subscribe(feed_store(settings), args.url, settings, utc_now())
    if args.json:
        print_json({**asdict(feed), "entries": len(content.entries)})
    else:
        print(
            f"subscribed to feed {feed.id}: {feed.title}; `newsbot feed poll` indexes its {len(content.entries)} entries"
        )
    return 0


def list_command(args: argparse.Namespace, settings: Settings) -> int:
    feeds = feed_store(settings).feeds()
    if args.json:
        print_json([asdict(feed) for feed in feeds])
        return 0
    for feed in feeds:
        print(f"{feed.id:>3}  {feed.title}  {feed.url}")
        if feed.failures:
            print(f"     failing ({feed.failures}x): {feed.last_error}; next try {feed.retry_at}")
    return 0


def remove_command(args: argparse.Namespace, settings: Settings) -> int:
    feed = feed_store(settings).remove(args.number)
    if args.json:
        print_json(asdict(feed))
    else:
        print(f"unsubscribed from feed {feed.id}: {feed.title}")
    return 0


def poll_command(args: argparse.Namespace, settings: Settings) -> int:
    embedder = Embedder(
        settings.embedding_model, settings.embedding_backend, settings.embedding_batch_size, settings.model_cache_dir
    )
    report = poll_feeds(feed_store(settings), settings, embedder, utc_now(), due_only=False)
    if args.json:
        print_json(report.as_json())
    else:
        print("\n".join(report.lines()) or "no new entries")
    return 1 if report.failed_entries or report.broken else 0
