-- Questions, answers and feedback older than HISTORY_DAYS are deleted: indexes on when they were stored.
CREATE INDEX turns_at ON turns(at);
CREATE INDEX answers_at ON answers(at);
CREATE INDEX feedback_at ON feedback(at);
