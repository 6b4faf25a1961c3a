"""Reading a feed: fetched as any link is (index/fetch.py: public addresses, deadline, size limit), parsed by
feedparser (RSS and Atom). A conditional GET (the validators of the last response: ETag, Last-Modified) lets
an unchanged feed answer 304 with no body."""

from __future__ import annotations

import calendar
import io
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import feedparser

from common.errors import FeedError, IngestError
from index.articles import is_url
from index.fetch import FetchPolicy, Page, fetch
from state.feeds import Entry


@dataclass(frozen=True)
class FeedContent:
    title: str
    entries: list[Entry]  # as the feed lists them, usually newest first; only those with an http(s) link
    etag: str | None = None  # the response's validators, for the next conditional GET
    last_modified: str | None = None
    not_modified: bool = False  # 304: nothing changed since the validators sent (no title, no entries)


def read_feed(url: str, policy: FetchPolicy, etag: str | None = None, last_modified: str | None = None) -> FeedContent:
    conditions = {"If-None-Match": etag, "If-Modified-Since": last_modified}
    page = _fetch(url, policy, {name: value for name, value in conditions.items() if value})
    if page.status == 304:
        return FeedContent("", [], etag, last_modified, not_modified=True)
    parsed = feedparser.parse(
        io.BytesIO(page.body), response_headers={"content-type": page.content_type, "content-location": page.url}
    )
    if not parsed.version:
        reason = parsed.get("bozo_exception") or "no RSS or Atom elements"
        raise FeedError(f"{url}: not an RSS or Atom feed ({reason}); check the feed's address")
    entries = [
        Entry(guid=item.get("id") or None, link=item.link, title=item.get("title") or item.link, published=dated(item))
        for item in parsed.entries
        if is_url(item.get("link") or "")  # a file: or javascript: entry must never be read as a local path
    ]
    return FeedContent(
        parsed.feed.get("title") or url, entries, page.headers.get("etag"), page.headers.get("last-modified")
    )


def dated(item: Mapping[str, Any]) -> str | None:
    """When the entry says it was published (RSS pubDate, Atom published), else last updated; ISO, UTC."""
    moment = item.get("published_parsed") or item.get("updated_parsed")
    return datetime.fromtimestamp(calendar.timegm(moment), UTC).isoformat() if moment else None


def _fetch(url: str, policy: FetchPolicy, headers: dict[str, str]) -> Page:
    try:
        return fetch(url, policy, headers)
    except IngestError as error:
        raise FeedError(f"{url}: {error.reason}") from error
