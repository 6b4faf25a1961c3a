-- Inline queries are ordered by their update's id: keystrokes handled concurrently may be noted out of order.
ALTER TABLE inline_queries ADD COLUMN update_id BIGINT NOT NULL DEFAULT 0;
