-- The buttons under an answer carry a random token instead of the answer's sequential id, and work only on the
-- message that was sent with them (chat and message id). Answers from before have no token: their buttons expire.
ALTER TABLE answers ADD COLUMN token TEXT;
ALTER TABLE answers ADD COLUMN message_id BIGINT;
CREATE UNIQUE INDEX answers_by_token ON answers(token);
