"""Polling subscribed feeds: each new entry's article is fetched and indexed by `add_to_index`, as `/add` does.
A broken feed is retried with exponential backoff and never stops the others."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from feeds.reading import FeedContent, FeedError, read_feed
from feeds.store import MAX_ENTRY_ATTEMPTS, Entry, Feed, FeedStore
from index.embeddings import Embedder
from index.ingest import add_to_index, fetch_policy
from newsbot.settings import Settings

MAX_BACKOFF = timedelta(hours=24)


@dataclass
class PollReport:
    added: list[tuple[Feed, Entry]] = field(default_factory=list)  # articles added or updated in the index
    failed_entries: list[tuple[Feed, Entry, str]] = field(default_factory=list)
    broken: list[tuple[Feed, str, datetime]] = field(default_factory=list)  # feed, error, next attempt
    recovered: list[Feed] = field(default_factory=list)

    def lines(self) -> list[str]:
        """One line per article added, entry failed and feed broken or working again; none when nothing happened."""
        lines = [f"added: {entry.title} ({feed.title})" for feed, entry in self.added]
        lines += [f"failed: {entry.link}: {error}" for _, entry, error in self.failed_entries]
        lines += [
            f"feed {feed.id} ({feed.title}) failed: {error}; next try at {retry_at:%Y-%m-%d %H:%M} UTC"
            for feed, error, retry_at in self.broken
        ]
        return lines + [f"feed {feed.id} ({feed.title}) works again" for feed in self.recovered]

    def as_json(self) -> dict:
        return {
            "added": [{"feed": feed.id, "title": entry.title, "url": entry.link} for feed, entry in self.added],
            "failed": [
                {"feed": feed.id, "url": entry.link, "error": error} for feed, entry, error in self.failed_entries
            ],
            "broken_feeds": [
                {"feed": feed.id, "url": feed.url, "error": error, "retry_at": retry_at.isoformat()}
                for feed, error, retry_at in self.broken
            ],
            "recovered_feeds": [feed.id for feed in self.recovered],
        }


def subscribe(store: FeedStore, url: str, settings: Settings, now: datetime) -> tuple[Feed, FeedContent]:
    """Subscribes to the feed at `url` once it has been read as a feed; raises FeedError if it cannot be."""
    content = read_feed(url, fetch_policy(settings))
    return store.add(url, content.title, now), content


def poll_feeds(
    store: FeedStore, settings: Settings, embedder: Embedder, now: datetime, due_only: bool = True
) -> PollReport:
    """Reads every feed (or only those not backing off), and indexes the articles of their new entries."""
    report = PollReport()
    new: dict[str, tuple[Feed, Entry]] = {}
    for feed in store.due(now) if due_only else store.feeds():
        try:
            content = read_feed(feed.url, fetch_policy(settings))
        except FeedError as error:
            retry_at = now + backoff(feed.failures + 1, settings.feed_poll_minutes)
            store.failed(feed, str(error), retry_at)
            report.broken.append((feed, str(error), retry_at))
            continue
        store.succeeded(feed, content.title)
        if feed.failures:
            report.recovered.append(feed)
        for entry in store.unseen(content.entries)[: settings.feed_max_entries]:
            new.setdefault(entry.link, (feed, entry))
    if new:
        _index(new, store, settings, embedder, now, report)
    return report


def backoff(failures: int, poll_minutes: float) -> timedelta:
    """How long a feed rests after `failures` failed polls in a row: one poll interval, doubling each time."""
    return min(timedelta(minutes=poll_minutes) * 2 ** (failures - 1), MAX_BACKOFF)


def _index(
    new: dict[str, tuple[Feed, Entry]],
    store: FeedStore,
    settings: Settings,
    embedder: Embedder,
    now: datetime,
    report: PollReport,
) -> None:
    ingested = add_to_index(list(new), settings, embedder)
    statuses = {detail["item"]: detail["status"] for detail in ingested.details}
    errors = {failure["item"]: failure["error"] for failure in ingested.failed}
    for link, (feed, entry) in new.items():
        error = errors.get(link) or (None if link in statuses else "not indexed")
        attempts = store.record(feed, entry, error, now)
        if error:
            retry = "will retry" if attempts < MAX_ENTRY_ATTEMPTS else f"given up after {attempts} attempts"
            report.failed_entries.append((feed, entry, f"{error} ({retry})"))
        elif statuses[link] in ("added", "updated"):
            report.added.append((feed, entry))
