"""Copying an embedded index (SQLite + FAISS) into PostgreSQL as it is: articles, passages, their vectors and
their sentence vectors (nothing is embedded again; sentence vectors unpacked pack again to the same bytes), when
each article was added and its added mark. One transaction: a copy that is interrupted leaves the target as it
was."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from common.errors import StoreError
from index import sentence_vectors
from index.postgres.store import PostgresStore
from index.sqlite.database import Connection, decode_vector, get_meta
from index.sqlite.schema import connect
from index.types import ArticleWrite, PassageWrite

LOCK_WAIT_SECONDS = 60.0


def copy_index(source: Path, target: PostgresStore) -> dict[str, Any]:
    """Copies the index in the folder `source` into the empty `target`. Returns {"articles", "passages",
    "skipped"}: skipped when the target already holds exactly these articles (a copy run before)."""
    db = connect(source)
    try:
        model, dimension = get_meta(db, "model"), get_meta(db, "dimension")
        held = dict(db.execute("SELECT id, content_hash FROM articles").fetchall())
        passages = int(db.execute("SELECT count(*) FROM passages").fetchone()[0])
        if _already_copied(held, target):
            return {"articles": len(held), "passages": passages, "skipped": True}
        with target.writer(wait=LOCK_WAIT_SECONDS) as writer:
            if model and dimension:
                writer.set_model(model, int(dimension))
            failed = writer.copy(_articles(db, int(dimension or 0)))
        if failed:
            raise StoreError(f"article {failed[0][0]} {failed[0][1]}; nothing was copied")
        return {"articles": len(held), "passages": passages, "skipped": False}
    finally:
        db.close()


def _already_copied(held: dict[str, str], target: PostgresStore) -> bool:
    count = target.stats()["articles"]
    if count == 0:
        return False
    if count == len(held) and all(target.content_hash(article_id) == digest for article_id, digest in held.items()):
        return True
    raise StoreError(
        f"the index at {target.location} already holds {count} articles, not the ones in this index; "
        "`index migrate` copies into an empty database only: use a new database, or empty this one first"
    )


def _articles(db: Connection, dimension: int) -> Iterator[tuple[ArticleWrite, str, int]]:
    rows = db.execute(
        "SELECT id, identity, title, source, url, published, content_hash, text, extra, added_at, added_seq"
        " FROM articles ORDER BY added_seq, id"
    )
    for row in rows:
        passages = [
            PassageWrite(
                start,
                end,
                decode_vector(vector, dimension),
                sentence_vectors.unpack(sentences, dimension) if sentences else None,
            )
            for start, end, vector, sentences in db.execute(
                'SELECT p.start, p."end", p.vector, s.vectors FROM passages p'
                " LEFT JOIN sentence_vectors s ON s.passage_id = p.id WHERE p.article_id = ? ORDER BY p.ordinal",
                (row["id"],),
            )
        ]
        article = ArticleWrite(
            id=row["id"],
            identity=row["identity"],
            title=row["title"],
            source=row["source"],
            url=row["url"],
            published=row["published"],
            content_hash=row["content_hash"],
            text=row["text"],
            extra=json.loads(row["extra"]),
            passages=passages,
        )
        yield article, row["added_at"], row["added_seq"]
