-- Per-user limits (QUESTIONS_PER_MINUTE, LLM_QUESTIONS_PER_DAY): how many questions a subject (a user, or a
-- chat sending as itself) asked in the window starting at window_start (Unix seconds).
CREATE TABLE question_counts (
    subject TEXT NOT NULL, kind TEXT NOT NULL, window_start BIGINT NOT NULL, count INTEGER NOT NULL,
    PRIMARY KEY (subject, kind, window_start)
);
