"""Documents admins uploaded: where each is kept, the key its articles are indexed under, and which articles
it gave. Uploads are known by Telegram's file_unique_id; a file replaces an earlier one only on purpose."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from common.clock import utc_now
from state.database import Database, Row, stamp

COLUMNS = "file_unique_id, admin_id, file_name, path, article_key, articles, replaced_by"


@dataclass(frozen=True)
class Upload:
    file_unique_id: str
    admin_id: int
    file_name: str
    path: str
    article_key: str  # what its articles are known by (index.readers: the file's key)
    articles: list[str] = field(default_factory=list)
    replaced_by: str | None = None


class Uploads:
    def __init__(self, database: Database):
        self.database = database

    def get(self, file_unique_id: str) -> Upload | None:
        with self.database.transaction() as cursor:
            row = cursor.execute(
                f"SELECT {COLUMNS} FROM uploads WHERE file_unique_id = ?", (file_unique_id,)
            ).fetchone()
        return _upload(row) if row else None

    def current(self, admin_id: int, file_name: str) -> Upload | None:
        """The admin's latest upload of that name that no later upload has replaced."""
        with self.database.transaction() as cursor:
            row = cursor.execute(
                f"SELECT {COLUMNS} FROM uploads WHERE admin_id = ? AND file_name = ? AND replaced_by IS NULL"
                " ORDER BY at DESC, id DESC LIMIT 1",
                (admin_id, file_name),
            ).fetchone()
        return _upload(row) if row else None

    def record(self, upload: Upload, replaces: Upload | None = None) -> None:
        with self.database.transaction() as cursor:
            cursor.execute(
                "INSERT INTO uploads (file_unique_id, admin_id, file_name, path, article_key, articles, at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (file_unique_id) DO UPDATE SET articles = excluded.articles",
                (
                    upload.file_unique_id,
                    upload.admin_id,
                    upload.file_name,
                    upload.path,
                    upload.article_key,
                    json.dumps(upload.articles),
                    stamp(utc_now()),
                ),
            )
            if replaces is not None:
                cursor.execute(
                    "UPDATE uploads SET replaced_by = ? WHERE file_unique_id = ?",
                    (upload.file_unique_id, replaces.file_unique_id),
                )


def _upload(row: Row) -> Upload:
    return Upload(**{**row, "articles": json.loads(row["articles"])})
