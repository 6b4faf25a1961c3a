"""Reading a feed: fetched with a timeout and a size limit, parsed by feedparser (RSS and Atom)."""

from __future__ import annotations

import io
from dataclasses import dataclass

import feedparser
import httpx

from feeds.store import Entry
from index.errors import IngestError, NewsbotError
from index.fetch import MAX_REDIRECTS, USER_AGENT, _read_limited


class FeedError(NewsbotError):
    """A feed that could not be fetched or is not a feed."""


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
        with (
            httpx.Client(
                follow_redirects=True, max_redirects=MAX_REDIRECTS, timeout=timeout, headers={"User-Agent": USER_AGENT}
            ) as client,
            client.stream("GET", url) as response,
        ):
            if response.status_code >= 400:
                raise FeedError(f"{url}: HTTP {response.status_code} {response.reason_phrase}".rstrip())
            body = _read_limited(url, response, max_bytes)
            return body, {
                "content-type": response.headers.get("content-type", ""),
                "content-location": str(response.url),
            }
    except IngestError as error:
        raise FeedError(str(error)) from error
    except httpx.TimeoutException as error:
        raise FeedError(f"{url}: timed out after {timeout:g} s (FETCH_TIMEOUT); the site may be down") from error
    except httpx.HTTPError as error:
        raise FeedError(f"{url}: could not fetch: {error or type(error).__name__}") from error
