"""`newsbot feed ...`: subscribe to RSS/Atom feeds and poll them into the index."""

from __future__ import annotations

import argparse
from dataclasses import asdict

from newsbot.output import print_json
from wiring.parts import Wiring
from wiring.settings import Settings


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
    resume = sub.add_parser("resume", parents=[common], help="poll paused feed N again (see `feed list`)")
    resume.add_argument("number", type=int)
    resume.set_defaults(handler=resume_command)
    poll = sub.add_parser("poll", parents=[common], help="index the new entries of every feed now")
    poll.set_defaults(handler=poll_command)


def add_command(args: argparse.Namespace, settings: Settings) -> int:
    wiring = Wiring(settings, creates_index=True)  # its entries will be indexed
    feed, content = wiring.feed_poller.subscribe(args.url, wiring.clock())
    if args.json:
        print_json({**asdict(feed), "entries": len(content.entries)})
    else:
        count = len(content.entries)
        entries = "its entry" if count == 1 else f"its {count} entries"
        print(f"subscribed to feed {feed.id}: {feed.title}; `newsbot feed poll` indexes {entries}")
    return 0


def list_command(args: argparse.Namespace, settings: Settings) -> int:
    feeds = Wiring(settings).feed_subscriptions.feeds()
    if args.json:
        print_json([asdict(feed) for feed in feeds])
        return 0
    if not feeds:
        print("no feeds yet; `newsbot feed add URL` subscribes to an RSS or Atom feed")
    for feed in feeds:
        print(f"{feed.id:>3}  {feed.title}  {feed.url}")
        if feed.paused_at:
            print(
                f"     paused since {feed.paused_at} ({feed.last_error}); `newsbot feed resume {feed.id}` to try again"
            )
        elif feed.failures:
            print(f"     failing ({feed.failures}x): {feed.last_error}; next try {feed.retry_at}")
    return 0


def remove_command(args: argparse.Namespace, settings: Settings) -> int:
    feed = Wiring(settings).feed_subscriptions.remove(args.number)
    if args.json:
        print_json(asdict(feed))
    else:
        print(f"unsubscribed from feed {feed.id}: {feed.title}")
    return 0


def resume_command(args: argparse.Namespace, settings: Settings) -> int:
    feed = Wiring(settings).feed_subscriptions.resume(args.number)
    if args.json:
        print_json(asdict(feed))
    else:
        print(f"resumed feed {feed.id}: {feed.title}; it is polled again from the next poll")
    return 0


def poll_command(args: argparse.Namespace, settings: Settings) -> int:
    wiring = Wiring(settings, creates_index=True)
    report = wiring.feed_poller.poll(wiring.clock(), due_only=False)
    if args.json:
        print_json(report.as_json())
    else:
        print("\n".join(report.lines(every_failure=True)) or "no new entries")
    return 1 if report.failed_entries or report.broken or report.paused else 0
