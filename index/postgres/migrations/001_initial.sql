-- The index in PostgreSQL: articles, their passages with vectors (pgvector) and the keyword postings that BM25
-- is computed from in SQL, and the words of the passages with how many passages hold each.
CREATE EXTENSION IF NOT EXISTS vector;

CREATE TABLE index_meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- published_day, day (the publication day, else the day it was added) and source_key (its outlet, lower case)
-- are what filters compare; copied to each passage, so that a search filters passages without a join.
CREATE TABLE articles (
    id TEXT PRIMARY KEY,
    identity TEXT UNIQUE,
    title TEXT NOT NULL,
    source TEXT NOT NULL,
    url TEXT,
    published TEXT,
    added_at TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    text TEXT NOT NULL,
    extra JSONB NOT NULL DEFAULT '{}',
    added_seq BIGINT NOT NULL,
    source_key TEXT NOT NULL,
    published_day DATE,
    day DATE NOT NULL,
    passage_count INTEGER NOT NULL,
    term_count INTEGER NOT NULL
);
CREATE INDEX articles_content_hash ON articles (content_hash);
CREATE INDEX articles_newest ON articles (day DESC, added_seq DESC);
CREATE INDEX articles_added_seq ON articles (added_seq);

-- `embedding` gets its dimension (vector(d)) and its HNSW index when the model is recorded.
CREATE TABLE passages (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    article_id TEXT NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
    ordinal INTEGER NOT NULL,
    start INTEGER NOT NULL,
    "end" INTEGER NOT NULL,
    embedding vector NOT NULL,
    term_count INTEGER NOT NULL,
    source_key TEXT NOT NULL,
    published_day DATE,
    day DATE NOT NULL,
    added_seq BIGINT NOT NULL,
    UNIQUE (article_id, ordinal)
);
CREATE INDEX passages_day ON passages (day);
CREATE INDEX passages_published_day ON passages (published_day);
CREATE INDEX passages_added_seq ON passages (added_seq);
CREATE INDEX passages_source ON passages (source_key);

-- BM25 as bm25s computes it: the stemmed terms of each passage (its title included), how often they occur and
-- the passage's length in terms; the primary key includes both, so that scoring reads the index alone.
CREATE TABLE postings (
    term TEXT NOT NULL,
    passage_id BIGINT NOT NULL REFERENCES passages (id) ON DELETE CASCADE,
    frequency INTEGER NOT NULL,
    passage_terms INTEGER NOT NULL,
    PRIMARY KEY (term, passage_id) INCLUDE (frequency, passage_terms)
);
CREATE INDEX postings_passage ON postings (passage_id);

CREATE TABLE words (
    word TEXT PRIMARY KEY,
    passages INTEGER NOT NULL
);
