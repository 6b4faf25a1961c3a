"""Which articles a briefing considers: the newest, or those most about a topic."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from answers.retrieve import Retriever
from answers.timeframes import Timeframe
from answers.topics import on_topic
from index.store import Search
from index.types import Filters, StoredArticle


def briefing_filters(
    timeframe: Timeframe | None, added_after: int | None, sources: tuple[str, ...] = (), until: date | None = None
) -> Filters:
    filters = timeframe.filters() if timeframe else Filters()
    return replace(filters, added_after=added_after, sources=sources, until=until)


def newest_articles(store: Search, limit: int, filters: Filters) -> list[StoredArticle]:
    """The newest articles (by publication, else indexing time) that pass `filters`."""
    return store.articles(limit, filters)


def topic_articles(
    retriever: Retriever, topic: str, limit: int, min_coverage: float, filters: Filters
) -> list[StoredArticle]:
    """The articles most about `topic` (best first) that pass `filters`."""
    hits = retriever.search(topic, limit, filters or None, per_article=1)
    return list({hit.passage.article.id: hit.passage.article for hit in on_topic(hits, topic, min_coverage)}.values())
