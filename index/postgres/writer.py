"""Changes to the PostgreSQL index, on the connection that holds the writer's advisory lock. Each call is one
transaction: readers see all of it or none of it, and a writer killed midway leaves the last commit."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime

import numpy as np
import psycopg

from common.postgres import one, scalar
from index import sentence_vectors
from index.postgres.schema import ARTICLE_COLUMNS, article_from_row, set_dimension, set_meta
from index.terms import PassageTerms, passage_terms
from index.types import ArticleWrite, PassageWrite, StoredArticle, iso_day

PRUNE_BATCH = 500


class PostgresWriter:
    """Used by `PostgresStore.writer()`, which holds the lock on `connection` around it. The vocabulary's
    counts change once per transaction, by the sum of its articles' changes: updating a word's row for each
    article would leave a dead row version per article that later updates of the same word wade through."""

    def __init__(self, connection: psycopg.Connection):
        self.db = connection

    def set_model(self, model_id: str, dimension: int) -> None:
        with self.db.transaction():
            self._set_model(model_id, dimension)

    def put(self, articles: Sequence[ArticleWrite], added_at: datetime | None = None) -> list[tuple[str, str]]:
        now = (added_at or datetime.now(UTC)).astimezone(UTC).isoformat(timespec="seconds")
        return self.copy((article, now, None) for article in articles)

    def copy(self, articles: Iterable[tuple[ArticleWrite, str, int | None]]) -> list[tuple[str, str]]:
        """`put`, keeping when each article was added and its added mark (None: the next one): how
        `newsbot index migrate` brings an index over without changing what is new to a briefing."""
        failed: list[tuple[str, str]] = []
        words: Counter[str] = Counter()
        with self.db.transaction():
            mark = self._mark()
            for article, added_at, added_seq in articles:
                mark = max(mark + 1, added_seq or 0)
                try:
                    with self.db.transaction():  # a savepoint: one bad article does not lose the others
                        change = self._delete(article.id)  # (Counter's + would drop the negatives)
                        change.update(self._insert(article, added_at, mark))
                except psycopg.IntegrityError as error:  # e.g. another article already has its identity
                    failed.append((article.id, f"could not be stored ({error.diag.message_primary})"))
                    continue
                words.update(change)
            self._count_words(words)
        return failed

    def remove(self, article_id: str) -> None:
        with self.db.transaction():
            self._count_words(self._delete(article_id))

    def prune(self, before: date, dry_run: bool = False) -> list[StoredArticle]:
        """Removes the articles whose day is before `before`, PRUNE_BATCH a transaction. The space is PostgreSQL's
        to reuse (autovacuum; the file shrinks only with VACUUM FULL, which an administrator runs)."""
        rows = self.db.execute(
            f"SELECT {ARTICLE_COLUMNS} FROM articles a WHERE a.day < %s ORDER BY a.day, a.added_seq", (before,)
        ).fetchall()
        self.db.commit()
        pruned = [article_from_row(row) for row in rows]
        if dry_run:
            return pruned
        for start in range(0, len(pruned), PRUNE_BATCH):
            with self.db.transaction():
                change: Counter[str] = Counter()
                for article in pruned[start : start + PRUNE_BATCH]:
                    change.update(self._delete(article.id))
                self._count_words(change)
        return pruned

    def optimize(self) -> list[str]:
        """Nothing to bring up to date: the HNSW index and the postings change with every write."""
        return []

    def rebuild(self, model_id: str, dimension: int, passages: Iterable[tuple[str, list[PassageWrite]]]) -> int:
        count, words = 0, Counter[str]()
        with self.db.transaction():
            self.db.execute("DELETE FROM passages")
            self.db.execute("DELETE FROM words")
            self._set_model(model_id, dimension)
            for article_id, article_passages in passages:
                title, text = one(self.db, "SELECT title, text FROM articles WHERE id = %s", (article_id,))
                counted = _counted(title, text, article_passages)
                self._insert_passages(article_id, article_passages, counted)
                self.db.execute(
                    "UPDATE articles SET passage_count = %s, term_count = %s WHERE id = %s",
                    (len(article_passages), sum(terms.length for terms in counted), article_id),
                )
                words.update(_words(counted))
                count += 1
            self._count_words(words)
        return count

    # -- rows ------------------------------------------------------------------------------------

    def _set_model(self, model_id: str, dimension: int) -> None:
        set_dimension(self.db, dimension)
        set_meta(self.db, "model", model_id)
        set_meta(self.db, "dimension", dimension)

    def _mark(self) -> int:
        return int(scalar(self.db, "SELECT coalesce(max(added_seq), 0) FROM articles"))

    def _insert(self, article: ArticleWrite, added_at: str, mark: int) -> Counter[str]:
        """Inserts the article and its passages; returns the change to the vocabulary."""
        counted = _counted(article.title, article.text, article.passages)
        published_day = iso_day(article.published)
        self.db.execute(
            "INSERT INTO articles (id, identity, title, source, url, published, added_at, content_hash, text, extra,"
            " added_seq, source_key, published_day, day, passage_count, term_count)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            (
                article.id,
                article.identity,
                article.title,
                article.source,
                article.url,
                article.published,
                added_at,
                article.content_hash,
                article.text,
                json.dumps(article.extra, ensure_ascii=False, default=str),
                mark,
                article.source.lower(),
                published_day,
                published_day or iso_day(added_at),
                len(article.passages),
                sum(terms.length for terms in counted),
            ),
        )
        self._insert_passages(article.id, article.passages, counted)
        return _words(counted)

    def _insert_passages(self, article_id: str, passages: list[PassageWrite], counted: list[PassageTerms]) -> None:
        """Inserts the passages with their filter columns (copied from the article), their postings and their
        sentence vectors."""
        with self.db.cursor() as cursor:
            cursor.executemany(
                'INSERT INTO passages (article_id, ordinal, start, "end", embedding, term_count, source_key,'
                " published_day, day, added_seq)"
                " SELECT %s, %s, %s, %s, %s, %s, source_key, published_day, day, added_seq FROM articles WHERE id = %s",
                [
                    (
                        article_id,
                        ordinal,
                        p.start,
                        p.end,
                        np.asarray(p.vector, dtype=np.float32),
                        terms.length,
                        article_id,
                    )
                    for ordinal, (p, terms) in enumerate(zip(passages, counted, strict=True))
                ],
            )
        postings = [
            (term, ordinal, frequency)
            for ordinal, terms in enumerate(counted)
            for term, frequency in terms.frequencies.items()
        ]
        if postings:
            terms_, ordinals, frequencies = (list(column) for column in zip(*postings, strict=True))
            self.db.execute(
                "INSERT INTO postings (term, passage_id, frequency, passage_terms)"
                " SELECT t.term, p.id, t.frequency, p.term_count"
                " FROM unnest(%s::text[], %s::int[], %s::int[]) AS t(term, ordinal, frequency)"
                " JOIN passages p ON p.article_id = %s AND p.ordinal = t.ordinal",
                (terms_, ordinals, frequencies, article_id),
            )
        self._insert_sentence_vectors(article_id, passages)

    def _insert_sentence_vectors(self, article_id: str, passages: list[PassageWrite]) -> None:
        """The sentence vectors of the passages that have them, joined to the passages by ordinal."""
        packed = [
            (ordinal, sentence_vectors.pack(p.sentences))
            for ordinal, p in enumerate(passages)
            if p.sentences is not None and len(p.sentences)
        ]
        if packed:
            ordinals, blobs = (list(column) for column in zip(*packed, strict=True))
            self.db.execute(
                "INSERT INTO sentence_vectors (passage_id, vectors)"
                " SELECT p.id, t.vectors FROM unnest(%s::int[], %s::bytea[]) AS t(ordinal, vectors)"
                " JOIN passages p ON p.article_id = %s AND p.ordinal = t.ordinal",
                (ordinals, blobs, article_id),
            )

    def _delete(self, article_id: str) -> Counter[str]:
        """Deletes the article (its passages, postings and sentence vectors with it); returns the change to the
        vocabulary."""
        rows = self.db.execute(
            'SELECT a.title, substr(a.text, p.start + 1, p."end" - p.start) FROM passages p'
            " JOIN articles a ON a.id = p.article_id WHERE p.article_id = %s",
            (article_id,),
        ).fetchall()
        self.db.execute("DELETE FROM articles WHERE id = %s", (article_id,))
        removed = _words([passage_terms(title, text) for title, text in rows])
        return Counter({word: -count for word, count in removed.items()})

    def _count_words(self, change: Counter[str]) -> None:
        """Applies a change to the vocabulary: passages per word up or down, words no passage holds dropped."""
        change = Counter({word: count for word, count in change.items() if count})
        if not change:
            return
        self.db.execute(
            "INSERT INTO words (word, passages) SELECT * FROM unnest(%s::text[], %s::int[])"
            " ON CONFLICT (word) DO UPDATE SET passages = words.passages + excluded.passages",
            (list(change), list(change.values())),
        )
        self.db.execute("DELETE FROM words WHERE word = ANY(%s) AND passages <= 0", (list(change),))


def _counted(title: str, text: str, passages: list[PassageWrite]) -> list[PassageTerms]:
    return [passage_terms(title, text[passage.start : passage.end]) for passage in passages]


def _words(counted: list[PassageTerms]) -> Counter[str]:
    """Passages per word."""
    return Counter(word for terms in counted for word in terms.words)
