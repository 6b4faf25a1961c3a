-- One vector per sentence of each passage (index/sentence_vectors.py: 4 bits a component, a float16 scale per
-- sentence), which the answerer compares with questions. Passages indexed before have none until
-- `newsbot index rebuild`; the answerer makes theirs when asked.
CREATE TABLE sentence_vectors (
    passage_id BIGINT PRIMARY KEY REFERENCES passages (id) ON DELETE CASCADE,
    vectors BYTEA NOT NULL
);
