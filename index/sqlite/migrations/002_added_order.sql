-- The order articles were added or replaced in (`Store.mark`, briefings' "what is new").
ALTER TABLE articles ADD COLUMN added_seq INTEGER NOT NULL DEFAULT 0;
UPDATE articles SET added_seq = rowid;
