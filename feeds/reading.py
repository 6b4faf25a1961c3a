"""Reading a feed: fetched as any link is (index/fetch.py: public addresses, deadline, size limit), parsed by
feedparser (RSS and Atom)."""

from __future__ import annotations

import io
from dataclasses import dataclass

import feedparser

from index.fetch import FetchPolicy, fetch, is_url
from newsbot.errors import FeedError, IngestError
from state.feeds import Entry


@dataclass(frozen=True)
class FeedContent:
    title: str
    entries: list[Entry]  # as the feed lists them, usually newest first; only those with an http(s) link


def read_feed(url: str, policy: FetchPolicy) -> FeedContent:
    body, headers = _fetch(url, policy)
    parsed = feedparser.parse(io.BytesIO(body), response_headers=headers)
    if not parsed.version:
        reason = parsed.get("bozo_exception") or "no RSS or Atom elements"
        raise FeedError(f"{url}: not an RSS or Atom feed ({reason}); check the feed's address")
    entries = [
        Entry(guid=item.get("id") or None, link=item.link, title=item.get("title") or item.link)
        for item in parsed.entries
        if is_url(item.get("link") or "")  # a file: or javascript: entry must never be read as a local path
    ]
    return FeedContent(parsed.feed.get("title") or url, entries)


def _fetch(url: str, policy: FetchPolicy) -> tuple[bytes, dict[str, str]]:
    try:
        page = fetch(url, policy)
    except IngestError as error:
        raise FeedError(f"{url}: {error.reason}") from error
    return page.body, {"content-type": page.content_type, "content-location": page.url}
