"""Adding files, directories and URLs to the index: the one path the CLI, the bot and feeds share."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

from tqdm import tqdm

from index.articles import Article
from index.embeddings import Embedder
from index.errors import IngestError
from index.fetch import FetchPolicy, fetch_article, is_url
from index.readers import SUPPORTED_SUFFIXES, read_path
from index.writer import IndexWriter, IngestReport
from newsbot.settings import Settings


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


def read_source(source: str, settings: Settings) -> Iterator[Article | IngestError]:
    if is_url(source):
        try:
            yield fetch_article(source, fetch_policy(settings))
        except IngestError as error:
            yield error
    else:
        yield from read_path(Path(source), settings.max_file_bytes)


def fetch_policy(settings: Settings) -> FetchPolicy:
    """How links are fetched, for the CLI, /add and feeds alike."""
    return FetchPolicy(
        timeout=settings.fetch_timeout,
        deadline=settings.fetch_deadline,
        max_bytes=settings.fetch_max_bytes,
        allowed_networks=settings.allow_private_networks,
    )


def add_to_index(
    items: Iterable[str], settings: Settings, embedder: Embedder | None = None, progress: bool = False
) -> IngestReport:
    """Index every article in `items` (paths or URLs); never raises for a bad item, reports it."""
    sources = expand_sources(items)
    writer = IndexWriter.for_settings(settings, embedder)
    with writer, tqdm(unit=" articles", disable=None if progress else True, leave=False) as bar:
        return writer.add(_counted((item for source in sources for item in read_source(source, settings)), bar))


def _counted(items: Iterable[Article | IngestError], bar: tqdm) -> Iterator[Article | IngestError]:
    for item in items:
        bar.update(1)
        yield item
