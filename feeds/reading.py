"""Reading a feed: fetched with a timeout and a size limit, parsed by feedparser (RSS and Atom)."""

from __future__ import annotations

import io
from dataclasses import dataclass

import feedparser

from index.fetch import fetch
from newsbot.errors import FeedError, IngestError
from state.feeds import Entry


@dataclass(frozen=True)
class FeedContent:
    title: str
    entries: list[Entry]  # as the feed lists them, usually newest first; only those with a link


def read_feed(url: str, timeout: float, max_bytes: int) -> FeedContent:
    body, headers = _fetch(url, timeout, max_bytes)
    parsed = feedparser.parse(io.BytesIO(body), response_headers=headers)
    if not parsed.version:
        reason = parsed.get("bozo_exception") or "no RSS or Atom elements"
        raise FeedError(f"{url}: not an RSS or Atom feed ({reason}); check the feed's address")
    entries = [
        Entry(guid=item.get("id") or None, link=item.link, title=item.get("title") or item.link)
        for item in parsed.entries
        if item.get("link")
    ]
    return FeedContent(parsed.feed.get("title") or url, entries)


def _fetch(url: str, timeout: float, max_bytes: int) -> tuple[bytes, dict[str, str]]:
    try:
        page = fetch(url, timeout, max_bytes)
    except IngestError as error:
        raise FeedError(f"{url}: {error.reason}") from error
    return page.body, {"content-type": page.content_type, "content-location": page.url}
