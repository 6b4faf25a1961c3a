-- Turns get an id, so that "the latest turns" has one meaning on every database.
CREATE TABLE turns_with_ids (
    id INTEGER PRIMARY KEY, chat_id INTEGER NOT NULL, user_id INTEGER NOT NULL, question TEXT NOT NULL,
    answer TEXT NOT NULL, at TEXT NOT NULL
);
INSERT INTO turns_with_ids (chat_id, user_id, question, answer, at) SELECT chat_id, user_id, question, answer, at FROM turns ORDER BY rowid;
DROP TABLE turns;
ALTER TABLE turns_with_ids RENAME TO turns;
CREATE INDEX turns_by_conversation ON turns(chat_id, user_id, id);
