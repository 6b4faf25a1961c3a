-- A feed that keeps failing is paused (FEED_PAUSE_HOURS after its first failure in a row) until an admin resumes it.
ALTER TABLE feeds ADD COLUMN failing_since TEXT;
ALTER TABLE feeds ADD COLUMN paused_at TEXT;
