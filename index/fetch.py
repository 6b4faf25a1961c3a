"""Web pages over http(s), with a timeout, a redirect limit and a size limit; articles from them."""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from index.articles import Article
from index.html import article_from_html
from newsbot.errors import IngestError

HTML_TYPES = ("text/html", "application/xhtml+xml")
USER_AGENT = "newsbot/0.1 (article indexer)"
MAX_REDIRECTS = 10


@dataclass(frozen=True)
class Page:
    url: str  # after redirects
    body: bytes
    content_type: str  # without parameters, lower-cased; "" when the server sent none
    encoding: str | None


def is_url(item: str) -> bool:
    return item.startswith(("http://", "https://"))


def fetch_article(url: str, timeout: float, max_bytes: int) -> Article:
    return article_from_html(fetch_html(url, timeout, max_bytes), url, url=url)


def fetch_html(url: str, timeout: float, max_bytes: int) -> str:
    page = fetch(url, timeout, max_bytes)
    if page.content_type and page.content_type not in HTML_TYPES:
        raise IngestError(
            url, f"not an HTML page (content type {page.content_type}); only web articles can be indexed from URLs"
        )
    return page.body.decode(page.encoding or "utf-8", errors="replace")


def fetch(url: str, timeout: float, max_bytes: int) -> Page:
    """The page at `url`; an IngestError that says why when it cannot be had."""
    headers = {"User-Agent": USER_AGENT}
    try:
        with (
            httpx.Client(
                follow_redirects=True, max_redirects=MAX_REDIRECTS, timeout=timeout, headers=headers
            ) as client,
            client.stream("GET", url) as response,
        ):
            if response.status_code >= 400:
                raise IngestError(url, f"HTTP {response.status_code} {response.reason_phrase}".rstrip())
            body = _read_limited(url, response, max_bytes)
            content_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
            return Page(str(response.url), body, content_type, response.encoding)
    except httpx.TooManyRedirects as error:
        raise IngestError(url, f"redirected more than {MAX_REDIRECTS} times (a redirect loop?)") from error
    except httpx.TimeoutException as error:
        raise IngestError(url, f"timed out after {timeout:g} s (FETCH_TIMEOUT); the site may be down") from error
    except httpx.HTTPError as error:
        raise IngestError(url, f"could not fetch: {error or type(error).__name__}") from error


def _read_limited(url: str, response: httpx.Response, max_bytes: int) -> bytes:
    chunks, size = [], 0
    for chunk in response.iter_bytes():
        size += len(chunk)
        if size > max_bytes:
            raise IngestError(url, f"page is larger than {max_bytes:,} bytes (FETCH_MAX_BYTES)")
        chunks.append(chunk)
    return b"".join(chunks)
