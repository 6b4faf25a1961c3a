-- An index that grows for years (issue 19). Per article: the columns filters compare (day: publication, else
-- added; published_day, 0 when undated; the outlet's id) and how many passages it has. BM25's statistics as
-- running totals (meta kw_passages, kw_length; kw_terms' df), the postings and lengths of the passages not yet in
-- a segment (kw_tail, kw_lengths: a segment keeps its own), the segments' listing, passages removed from a segment until it is
-- rewritten, and the words of the passages with how many hold each (for typo matching). The registered function
-- (index/sqlite/upgrade.py) adds the articles' columns, fills everything and writes the first segments.
CREATE TABLE IF NOT EXISTS sources (
    id INTEGER PRIMARY KEY,
    key TEXT NOT NULL UNIQUE
);
CREATE TABLE IF NOT EXISTS kw_terms (
    term TEXT PRIMARY KEY,
    id INTEGER NOT NULL UNIQUE,
    df INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS kw_tail (
    passage_id INTEGER NOT NULL,
    term_id INTEGER NOT NULL,
    tf INTEGER NOT NULL,
    PRIMARY KEY (passage_id, term_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS kw_lengths (
    passage_id INTEGER PRIMARY KEY,
    length INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS segments (
    id INTEGER PRIMARY KEY,
    level INTEGER NOT NULL,
    first_passage INTEGER NOT NULL,
    last_passage INTEGER NOT NULL,
    passages INTEGER NOT NULL,
    bytes INTEGER NOT NULL,
    dense TEXT,
    dense_bytes INTEGER,
    dense_crc INTEGER
);
CREATE TABLE IF NOT EXISTS removed_passages (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    passage_id INTEGER NOT NULL UNIQUE,
    segment_id INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS removed_passages_segment ON removed_passages(segment_id);
CREATE TABLE IF NOT EXISTS words (
    word TEXT PRIMARY KEY,
    passages INTEGER NOT NULL,
    generation INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS words_generation ON words(generation);
