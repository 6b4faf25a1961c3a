-- Turns get an id, so that "the latest turns" has one meaning on every database.
ALTER TABLE turns ADD COLUMN id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY;
DROP INDEX turns_by_conversation;
CREATE INDEX turns_by_conversation ON turns(chat_id, user_id, id);
