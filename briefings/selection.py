"""Which articles a briefing considers, and what it reads of them: vectors and lead passages from the index."""

from __future__ import annotations

import numpy as np

from answers.retrieve import Retriever
from answers.timeframes import Timeframe
from answers.topics import on_topic
from index.database import ARTICLE_COLUMNS, Passage, StoredArticle
from index.reader import IndexReader


def newest_articles(
    reader: IndexReader, limit: int, timeframe: Timeframe | None = None, indexed_after: int | None = None
) -> list[StoredArticle]:
    """The newest articles (by publication, else indexing time), published within `timeframe` and indexed
    after the `index_mark` `indexed_after` when given."""
    conditions, values = [], []
    if timeframe and timeframe.start:
        conditions.append("substr(published, 1, 10) >= ?")
        values.append(timeframe.start.isoformat())
    if timeframe and timeframe.end:
        conditions.append("substr(published, 1, 10) <= ?")
        values.append(timeframe.end.isoformat())
    if indexed_after is not None:
        conditions.append("rowid > ?")
        values.append(indexed_after)
    rows = reader.db.execute(
        f"SELECT {ARTICLE_COLUMNS} FROM articles WHERE {' AND '.join(conditions) or '1'}"
        " ORDER BY coalesce(published, added_at) DESC, added_at DESC LIMIT ?",
        [*values, limit],
    )
    return [StoredArticle.from_row(row) for row in rows]


def topic_articles(
    retriever: Retriever,
    topic: str,
    limit: int,
    min_coverage: float,
    timeframe: Timeframe | None = None,
    indexed_after: int | None = None,
) -> list[StoredArticle]:
    """The articles most about `topic` (best first), with the same conditions as `newest_articles`."""
    hits = retriever.search(topic, limit, timeframe.filters() if timeframe else None, per_article=1)
    articles = {hit.passage.article.id: hit.passage.article for hit in on_topic(hits, topic, min_coverage)}
    if indexed_after is not None:
        ids = list(articles)
        rows = retriever.reader.db.execute(
            f"SELECT id FROM articles WHERE rowid > ? AND id IN ({','.join('?' * len(ids))})", [indexed_after, *ids]
        )
        newer = {row[0] for row in rows}
        articles = {article_id: article for article_id, article in articles.items() if article_id in newer}
    return list(articles.values())


def article_vectors(reader: IndexReader, articles: list[StoredArticle]) -> np.ndarray:
    """One unit vector per article: the mean of its passages' vectors."""
    index = {article.id: row for row, article in enumerate(articles)}
    sums = np.zeros((len(articles), reader.dimension), dtype=np.float32)
    placeholders = ",".join("?" * len(index))
    for article_id, vector in reader.db.execute(
        f"SELECT article_id, vector FROM passages WHERE article_id IN ({placeholders})", list(index)
    ):
        sums[index[article_id]] += np.frombuffer(vector, dtype=np.float32)
    norms = np.linalg.norm(sums, axis=1, keepdims=True)
    return sums / np.maximum(norms, 1e-12)


def lead_passages(reader: IndexReader, articles: list[StoredArticle], per_article: int) -> list[list[Passage]]:
    """The first `per_article` passages of each article, in article order."""
    ids = [article.id for article in articles]
    rows = reader.db.execute(
        f"SELECT id, article_id FROM passages WHERE article_id IN ({','.join('?' * len(ids))}) AND ordinal < ?"
        " ORDER BY ordinal",
        [*ids, per_article],
    ).fetchall()
    passages = reader.passages([row[0] for row in rows])
    by_article: dict[str, list[Passage]] = {article_id: [] for article_id in ids}
    for passage_id, article_id in rows:
        by_article[article_id].append(passages[passage_id])
    return [by_article[article_id] for article_id in ids]


def index_mark(reader: IndexReader) -> int:
    """A mark of what the index holds now: articles indexed (or changed) later are "indexed after" it."""
    return reader.db.execute("SELECT coalesce(max(rowid), 0) FROM articles").fetchone()[0]
