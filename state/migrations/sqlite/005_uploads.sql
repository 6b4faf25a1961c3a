-- Documents admins uploaded, by Telegram's file_unique_id (the same file uploaded again is the same upload).
-- article_key: the identity its articles are indexed under (kept when a later file replaces it on purpose);
-- articles: the ids of its articles (JSON), so that a replacement removes the ones it no longer has.
CREATE TABLE uploads (
    id INTEGER PRIMARY KEY, file_unique_id TEXT NOT NULL UNIQUE, admin_id INTEGER NOT NULL, file_name TEXT NOT NULL, path TEXT NOT NULL,
    article_key TEXT NOT NULL, articles TEXT NOT NULL DEFAULT '[]', replaced_by TEXT, at TEXT NOT NULL
);
CREATE INDEX uploads_by_name ON uploads(admin_id, file_name);
