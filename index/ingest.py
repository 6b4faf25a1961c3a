"""Reading what an admin asks to index: files, directories (recursively) and URLs, as articles or as
IngestErrors saying why an item can't be read. The CLI, the bot and feeds share it."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import replace
from pathlib import Path

from common.errors import IngestError
from index.articles import Article, is_url
from index.fetch import check_web_url
from index.readers import SUPPORTED_SUFFIXES, read_path

FetchArticle = Callable[[str], Article]  # a URL's article, or an IngestError raised


def expand_sources(items: Iterable[str]) -> list[str]:
    """URLs as given; directories replaced by the supported files under them."""
    sources: list[str] = []
    for item in items:
        path = Path(item)
        if not is_url(item) and path.is_dir():
            files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in SUPPORTED_SUFFIXES)
            sources.extend(str(p) for p in files)
        else:
            sources.append(item)
    return sources


def read_sources(
    items: Iterable[str], fetch_article: FetchArticle, max_file_bytes: int
) -> Iterator[Article | IngestError]:
    """Every article of `items` (paths or URLs), read lazily, in order."""
    for source in expand_sources(items):
        if is_url(source):
            yield from read_urls([source], fetch_article)
        else:
            yield from read_path(Path(source), max_file_bytes)


def read_urls(urls: Iterable[str], fetch_article: FetchArticle) -> Iterator[Article | IngestError]:
    """The article of each web link; anything else (a path, `file:`, `javascript:`) is refused, never read:
    links from chats and feeds are hostile until checked."""
    for url in urls:
        try:
            yield replace(fetch_article(check_web_url(url)), origin=url)  # reported as the link given
        except IngestError as error:
            yield IngestError(url, error.reason)
