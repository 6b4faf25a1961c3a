"""Polling subscribed feeds: each new entry's article is fetched and indexed through the same indexer as
`/add`. A broken feed is retried with exponential back-off and never stops the others."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from index.articles import Article, normalize_url
from index.indexer import Indexer
from index.ingest import FetchArticle, read_urls
from newsbot.errors import FeedError
from state.feeds import MAX_ENTRY_ATTEMPTS, Entry, Feed, FeedSubscriptions

if TYPE_CHECKING:
    from feeds.reading import FeedContent

MAX_BACKOFF = timedelta(hours=24)
ReadFeed = Callable[..., "FeedContent"]  # (url, etag=, last_modified=): a conditional GET when they are given


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


class FeedPoller:
    def __init__(
        self,
        subscriptions: FeedSubscriptions,
        indexer: Indexer,
        read_feed: ReadFeed,
        fetch_article: FetchArticle,
        poll_minutes: float = 15.0,
        max_entries: int = 20,
    ):
        self.subscriptions = subscriptions
        self.indexer = indexer
        self.read_feed = read_feed
        self.fetch_article = fetch_article
        self.poll_minutes = poll_minutes
        self.max_entries = max_entries  # new entries indexed per feed and poll

    def subscribe(self, url: str, now: datetime) -> tuple[Feed, FeedContent]:
        """Subscribes to the feed at `url` once it has been read as a feed; raises FeedError if it cannot be."""
        content = self.read_feed(url)
        return self.subscriptions.add(url, content.title, now), content

    def poll(self, now: datetime, due_only: bool = True) -> PollReport:
        """Reads every feed (or only those not backing off), and indexes the articles of their new entries."""
        report = PollReport()
        new: dict[str, tuple[Feed, Entry]] = {}
        for feed in self.subscriptions.due(now) if due_only else self.subscriptions.feeds():
            try:
                content = self.read_feed(feed.url, etag=feed.etag, last_modified=feed.last_modified)
            except FeedError as error:
                retry_at = now + backoff(feed.failures + 1, self.poll_minutes)
                self.subscriptions.failed(feed, str(error), retry_at)
                report.broken.append((feed, str(error), retry_at))
                continue
            self.subscriptions.succeeded(feed, content.title, content.etag, content.last_modified)
            if feed.failures:
                report.recovered.append(feed)
            for entry in self.subscriptions.unseen(content.entries)[: self.max_entries]:
                new.setdefault(entry.link, (feed, entry))
        if new:
            self._index(new, now, report)
        return report

    def _index(self, new: dict[str, tuple[Feed, Entry]], now: datetime, report: PollReport) -> None:
        feed_dates = {normalize_url(link): entry.published for link, (_, entry) in new.items()}

        def fetch_dated(url: str) -> Article:
            """The entry's article, dated by the feed when its page names no date."""
            article = self.fetch_article(url)
            return article if article.published else replace(article, published=feed_dates.get(normalize_url(url)))

        ingested = self.indexer.add(read_urls(list(new), fetch_dated))
        statuses = {detail["item"]: detail["status"] for detail in ingested.details}
        errors = {failure["item"]: failure["error"] for failure in ingested.failed}
        for link, (feed, entry) in new.items():
            error = errors.get(link) or (None if link in statuses else "not indexed")
            attempts = self.subscriptions.record(feed, entry, error, now)
            if error:
                retry = "will retry" if attempts < MAX_ENTRY_ATTEMPTS else f"given up after {attempts} attempts"
                report.failed_entries.append((feed, entry, f"{error} ({retry})"))
            elif statuses[link] in ("added", "updated"):
                report.added.append((feed, entry))


def backoff(failures: int, poll_minutes: float) -> timedelta:
    """How long a feed rests after `failures` failed polls in a row: one poll interval, doubling each time."""
    return min(timedelta(minutes=poll_minutes) * 2 ** (failures - 1), MAX_BACKOFF)
