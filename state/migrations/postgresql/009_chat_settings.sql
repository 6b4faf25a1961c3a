-- What a chat's admins chose with /settings; NULL or '' where the chat keeps the bot's default.
CREATE TABLE chat_settings (
    chat_id BIGINT PRIMARY KEY, length TEXT, outlet TEXT, topic TEXT, time_zone TEXT,
    updated_by BIGINT NOT NULL, updated_at TEXT NOT NULL
);
