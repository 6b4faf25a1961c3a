"""Articles from web pages: fetch over http(s) with a timeout and a size limit, then extract."""

from __future__ import annotations

import httpx

from index.articles import Article
from index.errors import IngestError
from index.html import article_from_html

HTML_TYPES = ("text/html", "application/xhtml+xml")
USER_AGENT = "newsbot/0.1 (+https://github.com/newsbot; article indexer)"
MAX_REDIRECTS = 10


def is_url(item: str) -> bool:
    return item.startswith(("http://", "https://"))


def fetch_article(url: str, timeout: float, max_bytes: int) -> Article:
    html = fetch_html(url, timeout, max_bytes)
    return article_from_html(html, url, url=url)


def fetch_html(url: str, timeout: float, max_bytes: int) -> str:
    try:
        with (
            httpx.Client(
                follow_redirects=True, max_redirects=MAX_REDIRECTS, timeout=timeout, headers={"User-Agent": USER_AGENT}
            ) as client,
            client.stream("GET", url) as response,
        ):
            _check_response(url, response)
            body = _read_limited(url, response, max_bytes)
            return body.decode(response.encoding or "utf-8", errors="replace")
    except httpx.TooManyRedirects as error:
        raise IngestError(url, f"redirected more than {MAX_REDIRECTS} times (a redirect loop?)") from error
    except httpx.TimeoutException as error:
        raise IngestError(url, f"timed out after {timeout:g} s (FETCH_TIMEOUT); the site may be down") from error
    except httpx.HTTPError as error:
        raise IngestError(url, f"could not fetch: {error or type(error).__name__}") from error


def _check_response(url: str, response: httpx.Response) -> None:
    if response.status_code >= 400:
        raise IngestError(url, f"HTTP {response.status_code} {response.reason_phrase}".rstrip())
    content_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type and content_type not in HTML_TYPES:
        raise IngestError(
            url, f"not an HTML page (content type {content_type}); only web articles can be indexed from URLs"
        )


def _read_limited(url: str, response: httpx.Response, max_bytes: int) -> bytes:
    chunks, size = [], 0
    for chunk in response.iter_bytes():
        size += len(chunk)
        if size > max_bytes:
            raise IngestError(url, f"page is larger than {max_bytes:,} bytes (FETCH_MAX_BYTES)")
        chunks.append(chunk)
    return b"".join(chunks)
