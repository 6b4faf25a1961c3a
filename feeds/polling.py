"""Polling subscribed feeds: each new entry's article is fetched and indexed through the same indexer as
`/add`. A feed that fails never stops the others: it is retried with exponential back-off, reported when it
starts failing, and paused (until an admin resumes it) once it has failed for `pause_after`; it is reported
again when it works again or is paused, never at every poll.

Every worker of the bot runs the poll job: each feed's poll and each entry are claimed in the state database
first (state/feeds.py), so that a feed is polled about once per interval by one of them, and each new entry is
fetched, indexed and reported by one worker only."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from common.errors import FeedError, NewsbotError
from index.articles import Article, url_identity
from index.indexer import Indexer, Outcome
from index.ingest import FetchArticle, read_urls
from state.feeds import MAX_ENTRY_ATTEMPTS, Entry, Feed, FeedSubscriptions

if TYPE_CHECKING:
    from feeds.reading import FeedContent

MAX_BACKOFF = timedelta(hours=24)
PAUSE_AFTER = timedelta(hours=24)
POLL_REST = 0.9  # of the poll interval: a feed polled by any worker is not polled again before this has passed
ENTRY_LEASE = timedelta(hours=1)  # an entry's claim: longer than a poll can take; a dead worker's entries wait
ReadFeed = Callable[..., "FeedContent"]  # (url, etag=, last_modified=): a conditional GET when they are given
log = logging.getLogger("newsbot.feeds")


@dataclass
class PollReport:
    added: list[tuple[Feed, Entry]] = field(default_factory=list)  # articles added or updated in the index
    duplicates: list[tuple[Feed, Entry, str]] = field(default_factory=list)  # entry, which article it repeats
    failed_entries: list[tuple[Feed, Entry, str]] = field(default_factory=list)
    skipped: list[tuple[Feed, Entry, str]] = field(default_factory=list)  # entry, why (older than ARTICLE_DAYS)
    broken: list[tuple[Feed, str, datetime]] = field(default_factory=list)  # feed (before this poll), error, retry
    paused: list[tuple[Feed, str]] = field(default_factory=list)  # feed, its last error
    recovered: list[Feed] = field(default_factory=list)
    polled: int = 0  # feeds this poll claimed (the others are not due, or another worker polled them lately)

    def lines(self, every_failure: bool = False) -> list[str]:
        """One line per article added, duplicate, entry failed, and feed that started failing, was paused or works
        again (with `every_failure`, also feeds that were already failing); none when nothing happened."""
        lines = [f"added: {entry.title} ({feed.title})" for feed, entry in self.added]
        lines += [f"duplicate: {entry.link} {reason}" for _, entry, reason in self.duplicates]
        lines += [f"skipped: {entry.link} {reason}" for _, entry, reason in self.skipped]
        lines += [f"failed: {entry.link}: {error}" for _, entry, error in self.failed_entries]
        lines += [
            f"feed {feed.id} ({feed.title}) failed: {error}; next try at {retry_at:%Y-%m-%d %H:%M} UTC"
            + ("" if feed.failures else "; retried with growing pauses, you'll hear when it works again or is paused")
            for feed, error, retry_at in self.broken
            if every_failure or not feed.failures
        ]
        lines += [
            f"feed {feed.id} ({feed.title}) paused: it has kept failing ({error}); send /feed resume {feed.id} "
            f"(or `newsbot feed resume {feed.id}`) once it is fixed, or /feed remove {feed.id}"
            for feed, error in self.paused
        ]
        return lines + [f"feed {feed.id} ({feed.title}) works again" for feed in self.recovered]

    def as_json(self) -> dict[str, Any]:
        return {
            "added": [{"feed": feed.id, "title": entry.title, "url": entry.link} for feed, entry in self.added],
            "duplicates": [
                {"feed": feed.id, "url": entry.link, "reason": reason} for feed, entry, reason in self.duplicates
            ],
            "failed": [
                {"feed": feed.id, "url": entry.link, "error": error} for feed, entry, error in self.failed_entries
            ],
            "skipped": [{"feed": feed.id, "url": entry.link, "reason": reason} for feed, entry, reason in self.skipped],
            "broken_feeds": [
                {"feed": feed.id, "url": feed.url, "error": error, "retry_at": retry_at.isoformat()}
                for feed, error, retry_at in self.broken
            ],
            "paused_feeds": [{"feed": feed.id, "url": feed.url, "error": error} for feed, error in self.paused],
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
        pause_after: timedelta = PAUSE_AFTER,
        worker: str = "",
    ):
        self.subscriptions = subscriptions
        self.indexer = indexer
        self.read_feed = read_feed
        self.fetch_article = fetch_article
        self.poll_minutes = poll_minutes
        self.max_entries = max_entries  # new entries indexed per feed and poll
        self.pause_after = pause_after
        self.worker = worker  # whose claims these are

    def subscribe(self, url: str, now: datetime) -> tuple[Feed, FeedContent]:
        """Subscribes to the feed at `url` once it has been read as a feed; raises FeedError if it cannot be."""
        content = self.read_feed(url)
        return self.subscriptions.add(url, content.title, now), content

    def poll(self, now: datetime, due_only: bool = True) -> PollReport:
        """Reads every feed that is not paused (or only those due: not backing off, nor polled by any worker
        lately), and indexes the articles of their new entries, each article once however many entries link to
        it, and each entry by one worker only."""
        report = PollReport()
        new: dict[str, tuple[Feed, Entry]] = {}  # article identity -> the first entry that links to it
        rest = timedelta(minutes=self.poll_minutes) * POLL_REST if due_only else None
        feeds = self.subscriptions.claim_polls(now, rest)
        report.polled = len(feeds)
        for feed in feeds:
            try:
                content = self.read_feed(feed.url, etag=feed.etag, last_modified=feed.last_modified)
                entries = self.subscriptions.claim(
                    feed, content.entries, self.worker, now, ENTRY_LEASE, self.max_entries
                )
            except Exception as error:  # whatever one feed does (feedparser, the state) never stops the others
                if not isinstance(error, FeedError):
                    log.debug("feed %s failed", feed.url, exc_info=True)
                self._failed(
                    feed, str(error) if isinstance(error, FeedError) else f"{feed.url}: {error!r}", now, report
                )
                continue
            self.subscriptions.succeeded(feed, content.title, content.etag, content.last_modified)
            if feed.failures:
                report.recovered.append(feed)
            for entry in entries:
                first = new.setdefault(url_identity(entry.link), (feed, entry))
                if first[1] is not entry:
                    self.subscriptions.record(feed, entry, None, now)
                    report.duplicates.append((feed, entry, f"is the same article as {first[1].link}"))
        if new:
            self._index(new, now, report)
        return report

    def _failed(self, feed: Feed, error: str, now: datetime, report: PollReport) -> None:
        since = datetime.fromisoformat(feed.failing_since) if feed.failing_since else now
        retry_at = now + backoff(feed.failures + 1, self.poll_minutes)
        self.subscriptions.failed(feed, error, retry_at, now)
        if now - since >= self.pause_after:
            self.subscriptions.pause(feed, now)
            report.paused.append((feed, error))
        else:
            report.broken.append((feed, error, retry_at))

    def _index(self, new: dict[str, tuple[Feed, Entry]], now: datetime, report: PollReport) -> None:
        entries = list(new.values())
        feed_dates = {url_identity(entry.link): entry.published for _, entry in entries}

        def fetch_dated(url: str) -> Article:
            """The entry's article, dated by the feed when its page names no date."""
            article = self.fetch_article(url)
            return article if article.published else replace(article, published=feed_dates.get(url_identity(url)))

        try:
            ingested = self.indexer.add(read_urls([entry.link for _, entry in entries], fetch_dated))
        except NewsbotError as error:  # e.g. the index stayed busy: the entries wait for the next poll
            self.subscriptions.release([entry for _, entry in entries], self.worker, str(error))
            raise
        details = {detail.item: detail for detail in ingested.details}
        errors = {failure.item: failure.error for failure in ingested.failed}
        for feed, entry in entries:
            detail = details.get(entry.link)
            problem = errors.get(entry.link) or (None if detail else "not indexed")
            attempts = self.subscriptions.record(feed, entry, problem, now)
            if problem or detail is None:
                retry = "will retry" if attempts < MAX_ENTRY_ATTEMPTS else f"given up after {attempts} attempts"
                report.failed_entries.append((feed, entry, f"{problem} ({retry})"))
            elif detail.outcome in (Outcome.ADDED, Outcome.UPDATED):
                report.added.append((feed, entry))
            elif detail.outcome is Outcome.DUPLICATE:
                report.duplicates.append((feed, entry, detail.reason))
            elif detail.outcome is Outcome.SKIPPED:
                report.skipped.append((feed, entry, detail.reason))


def backoff(failures: int, poll_minutes: float) -> timedelta:
    """How long a feed rests after `failures` failed polls in a row: one poll interval, doubling each time."""
    return min(timedelta(minutes=poll_minutes) * 2.0 ** (failures - 1), MAX_BACKOFF)
