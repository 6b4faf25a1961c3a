-- Sentence vectors (index/sentence_vectors.py): passages indexed before have none until `newsbot index rebuild`;
-- the answerer makes theirs when asked.
CREATE TABLE IF NOT EXISTS sentence_vectors (
    passage_id INTEGER PRIMARY KEY REFERENCES passages(id) ON DELETE CASCADE,
    vectors BLOB NOT NULL
);
