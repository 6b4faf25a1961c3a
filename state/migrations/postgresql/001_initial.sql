-- Conversations, answers and feedback (the PostgreSQL twin of sqlite/001_initial.sql). Telegram ids need 64 bits.
CREATE TABLE IF NOT EXISTS turns (
    chat_id BIGINT NOT NULL, user_id BIGINT NOT NULL, question TEXT NOT NULL, answer TEXT NOT NULL, at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS turns_by_conversation ON turns(chat_id, user_id);
CREATE TABLE IF NOT EXISTS answers (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, chat_id BIGINT NOT NULL, user_id BIGINT NOT NULL,
    question TEXT NOT NULL, answer TEXT NOT NULL, abstained INTEGER NOT NULL, citations TEXT NOT NULL,
    answerer TEXT NOT NULL, at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS feedback (
    answer_id BIGINT NOT NULL REFERENCES answers(id), user_id BIGINT NOT NULL, vote TEXT NOT NULL, at TEXT NOT NULL,
    PRIMARY KEY (answer_id, user_id)
);
-- Scheduled briefings; last_mark is the index's added mark when the last briefing went out.
CREATE TABLE IF NOT EXISTS schedules (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, chat_id BIGINT NOT NULL, chat_name TEXT NOT NULL,
    frequency TEXT NOT NULL, at TEXT NOT NULL, topic TEXT NOT NULL, created_by BIGINT NOT NULL, last_mark BIGINT
);
-- Feed subscriptions and the entries taken in.
CREATE TABLE IF NOT EXISTS feeds (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, url TEXT NOT NULL UNIQUE, title TEXT NOT NULL,
    added_at TEXT NOT NULL, failures INTEGER NOT NULL DEFAULT 0, retry_at TEXT, last_error TEXT
);
CREATE TABLE IF NOT EXISTS entries (
    key TEXT PRIMARY KEY, link TEXT NOT NULL, feed_id BIGINT NOT NULL, status TEXT NOT NULL,
    attempts INTEGER NOT NULL, error TEXT, at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS entries_link ON entries(link);
