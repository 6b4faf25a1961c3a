"""Synthetic corpora for the scale benchmark (scripts/bench_scale.py): N new articles made of whole passages of a
real index (the RealTime QA index), recombined, with new URLs, outlets and dates spread over two years.

    synthetic_index.py --articles 100000 --out DIR [--source INDEX] [--noise-cosine 0.99] [--no-sentence-vectors]
    synthetic_index.py --articles 10000 --jsonl FILE   # the texts only, for `newsbot index add` (real embeddings)

- An article: a real article's title and k whole passages of the real index (k drawn from its passages-per-article
  distribution, passages drawn at random), joined by blank lines; the stored spans are those passages exactly.
  URL https://<outlet>/synth/YYYY/MM/DD/<n>-<slug>, a real outlet, published uniformly over the 730 days before
  2022-12-31; identity, id and content hash are index.articles.Article's, so `index add` of the URL finds it.
- Vectors: the source passage's stored vector moved by Gaussian noise to a cosine of about --noise-cosine with it,
  re-normalised (these are not the model's vectors of the new text, whose title differs: figures must say so);
  sentence vectors (4-bit) copied from the source passage.
- Written straight into the index format with bulk inserts: the rows, then the keyword segments (postings of
  title + passage computed from the source passages' own terms: terms(title + "\\n" + text) is terms(title) +
  terms(text)), written with the project's own Segment class in segments of Layout.largest_segment passages, the
  BM25 totals, the terms' df and the words' counts. No dense files: the benchmark builds the approximate index
  from scratch (it is what it measures), or an index this small is searched exactly once `newsbot index
  optimize` has written its float16 files.
Prints one JSON line: articles, passages, seconds, bytes."""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
import time
from array import array
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from index.articles import Article  # noqa: E402
from index.sqlite.database import decode_vector, set_meta  # noqa: E402
from index.sqlite.schema import connect  # noqa: E402
from index.sqlite.segments import ArticleBlock, PassageBlock, Postings, Segment, concatenate  # noqa: E402
from index.terms import passage_terms, terms, words  # noqa: E402
from index.types import Layout, day_number  # noqa: E402

END = date(2022, 12, 31)
DAYS = 730
CHUNK = 20_000  # articles per bulk insert
PIECE = 1 << 18  # passages whose postings are made at once (a segment is made of such pieces)


class Ragged:
    """Rows of integer ids of varying length (CSR), gathered many at once."""

    def __init__(self, rows: list[list[int]], counts: list[list[int]] | None = None):
        self.lengths = np.array([len(row) for row in rows], dtype=np.int64)
        self.starts = np.concatenate([[0], np.cumsum(self.lengths)[:-1]]).astype(np.int64)
        self.values = np.array([v for row in rows for v in row], dtype=np.int32)
        self.counts = np.array([c for row in counts for c in row], dtype=np.int32) if counts else None

    def gather(self, picks: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(row of the pick each value belongs to, values, counts) of the picked rows, in order."""
        lengths = self.lengths[picks]
        owner = np.repeat(np.arange(len(picks)), lengths)
        offset = np.arange(int(lengths.sum())) - np.repeat(np.cumsum(lengths) - lengths, lengths)
        at = np.repeat(self.starts[picks], lengths) + offset
        counts = self.counts[at] if self.counts is not None else np.ones(len(at), np.int32)
        return owner, self.values[at], counts


@dataclass
class Source:
    titles: list[str]
    outlets: list[str]
    texts: list[str]
    vectors: np.ndarray
    sentences: list[bytes | None]
    per_article: np.ndarray
    model: str
    terms: dict[str, int]  # term -> id, for every term of the source's passages and titles
    words: dict[str, int]
    passage_terms: Ragged
    title_terms: Ragged
    passage_words: Ragged
    title_words: Ragged


def read_source(directory: Path) -> Source:
    db = sqlite3.connect(f"file:{directory / 'index.sqlite'}?mode=ro", uri=True)
    meta = dict(db.execute("SELECT key, value FROM meta"))
    dimension = int(meta["dimension"])
    articles = db.execute("SELECT id, title, source, text FROM articles ORDER BY id").fetchall()
    row_of = {a[0]: i for i, a in enumerate(articles)}
    passages = db.execute('SELECT id, article_id, start, "end", vector FROM passages ORDER BY id').fetchall()
    texts = [articles[row_of[p[1]]][3][p[2] : p[3]] for p in passages]
    vectors = np.vstack([decode_vector(p[4], dimension) for p in passages])
    per_article = np.bincount([row_of[p[1]] for p in passages])
    found = dict(db.execute("SELECT passage_id, vectors FROM sentence_vectors"))
    db.close()
    titles = [a[1] for a in articles]
    vocabulary: dict[str, int] = {}
    word_ids: dict[str, int] = {}

    def counted(text: str) -> tuple[list[int], list[int], list[int]]:
        counts: dict[int, int] = {}
        for term in terms(text):
            term_id = vocabulary.setdefault(term, len(vocabulary) + 1)
            counts[term_id] = counts.get(term_id, 0) + 1
        return list(counts), list(counts.values()), sorted({word_ids.setdefault(w, len(word_ids)) for w in words(text)})

    by_passage = [counted(text) for text in texts]
    by_title = [counted(title) for title in titles]
    return Source(
        titles=titles,
        outlets=sorted({a[2] for a in articles if a[2]}),
        texts=texts,
        vectors=vectors,
        sentences=[found.get(p[0]) for p in passages],
        per_article=per_article[per_article > 0],
        model=meta["model"],
        terms=vocabulary,
        words=word_ids,
        passage_terms=Ragged([c[0] for c in by_passage], [c[1] for c in by_passage]),
        title_terms=Ragged([c[0] for c in by_title], [c[1] for c in by_title]),
        passage_words=Ragged([c[2] for c in by_passage]),
        title_words=Ragged([c[2] for c in by_title]),
    )


def slug(title: str) -> str:
    return "-".join("".join(ch if ch.isalnum() else " " for ch in title.lower()).split()[:8]) or "article"


def articles(source: Source, count: int, seed: int) -> Iterator[list[tuple[int, int, str, str, np.ndarray]]]:
    """Chunks of (number, title row, outlet, published, source passage rows)."""
    rng = np.random.default_rng(seed)
    for first in range(0, count, CHUNK):
        size = min(CHUNK, count - first)
        sizes = rng.choice(source.per_article, size)
        picks = rng.integers(0, len(source.texts), int(sizes.sum()))
        days = rng.integers(0, DAYS, size)
        titles = rng.integers(0, len(source.titles), size)
        outlets = rng.integers(0, len(source.outlets), size)
        bounds = np.concatenate([[0], np.cumsum(sizes)])
        yield [
            (
                first + j + 1,
                int(titles[j]),
                source.outlets[outlets[j]],
                (END - timedelta(days=int(days[j]))).isoformat(),
                picks[bounds[j] : bounds[j + 1]],
            )
            for j in range(size)
        ]


def article_of(source: Source, number: int, title: int, outlet: str, published: str, picks: np.ndarray) -> Article:
    text = "\n\n".join(source.texts[p] for p in picks)
    url = f"https://{outlet}/synth/{published.replace('-', '/')}/{number}-{slug(source.titles[title])}"
    return Article(text=text, title=source.titles[title], url=url, source=outlet, published=published)


def write_jsonl(source: Source, count: int, seed: int, path: Path) -> int:
    written = 0
    with path.open("w") as handle:
        for chunk in articles(source, count, seed):
            for number, title, outlet, published, picks in chunk:
                article = article_of(source, number, title, outlet, published, picks)
                record = {"title": article.title, "text": article.text, "url": article.url, "source": outlet, "published": published}
                handle.write(json.dumps(record) + "\n")
                written += 1
    return written


def write_index(source: Source, count: int, seed: int, out: Path, noise_cosine: float, sentence_vectors: bool) -> dict:
    started = time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)
    connect(out, create=True).close()  # the project's schema, up to date
    db = sqlite3.connect(out / "index.sqlite", isolation_level=None)
    db.execute("PRAGMA journal_mode=OFF")  # a bulk load into a new file: nothing to roll back to
    db.execute("PRAGMA synchronous=OFF")
    db.execute("PRAGMA cache_size=-400000")
    dimension = source.vectors.shape[1]
    rng = np.random.default_rng(seed + 1)
    sigma = np.sqrt(1 / noise_cosine**2 - 1) / np.sqrt(dimension) if noise_cosine < 1 else 0.0
    added_at = datetime.now(UTC).isoformat(timespec="seconds")
    sources = {outlet.lower(): number + 1 for number, outlet in enumerate(source.outlets)}
    db.execute("BEGIN")
    db.executemany("INSERT OR IGNORE INTO sources (id, key) VALUES (?, ?)", [(i, k) for k, i in sources.items()])
    passage_sources, passage_titles, passage_articles, passage_ordinals = (array("q") for _ in range(4))  # compact at 15 M
    article_columns: list[tuple[bytes, int, int, int, int]] = []
    passage_id = 0
    for chunk in articles(source, count, seed):
        article_rows, passage_rows, sentence_rows = [], [], []
        picks_all = np.concatenate([c[4] for c in chunk])
        moved = source.vectors[picks_all]
        if sigma:
            moved = moved + rng.standard_normal(moved.shape, dtype=np.float32) * np.float32(sigma)
            moved /= np.linalg.norm(moved, axis=1, keepdims=True)
        moved16 = moved.astype(np.float16)
        at = 0
        for number, title, outlet, published, picks in chunk:
            article = article_of(source, number, title, outlet, published, picks)
            article_id = article.article_id()
            day = day_number(date.fromisoformat(published))
            article_rows.append(
                (article_id, article.identity, article.title, outlet, article.url, published, added_at, article.content_hash,
                 article.text, "{}", number, day, day, sources[outlet.lower()], len(picks))
            )
            article_columns.append((article_id.encode(), day, day, sources[outlet.lower()], number))
            offset = 0
            for ordinal, p in enumerate(picks):
                passage_id += 1
                length = len(source.texts[p])
                passage_rows.append((passage_id, article_id, ordinal, offset, offset + length, moved16[at].tobytes()))
                if sentence_vectors and source.sentences[p] is not None:
                    sentence_rows.append((passage_id, source.sentences[p]))
                passage_sources.append(p)
                passage_titles.append(title)
                passage_articles.append(len(article_columns) - 1)
                passage_ordinals.append(ordinal)
                offset += length + 2
                at += 1
        db.executemany(
            "INSERT INTO articles (id, identity, title, source, url, published, added_at, content_hash, text, extra,"
            " added_seq, day, published_day, source_id, passage_count) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            article_rows,
        )
        db.executemany('INSERT INTO passages (id, article_id, ordinal, start, "end", vector) VALUES (?, ?, ?, ?, ?, ?)', passage_rows)
        db.executemany("INSERT INTO sentence_vectors (passage_id, vectors) VALUES (?, ?)", sentence_rows)
    rows_s = time.perf_counter() - started
    totals = write_segments(
        db,
        out,
        source,
        np.array(passage_sources, np.int64),
        np.array(passage_titles, np.int64),
        np.array(passage_articles, np.int64),
        np.array(passage_ordinals, np.int32),
        article_columns,
    )
    set_meta(db, "model", source.model)
    set_meta(db, "dimension", dimension)
    set_meta(db, "generation", 1)
    set_meta(db, "next_passage", passage_id + 1)
    set_meta(db, "flushed_through", passage_id)
    set_meta(db, "dense_mode", "exact")
    for key, value in totals.items():
        set_meta(db, key, value)
    db.execute("COMMIT")
    db.execute("PRAGMA journal_mode=WAL")
    db.close()
    size = sum(f.stat().st_size for f in out.rglob("*") if f.is_file())
    return {
        "articles": count,
        "passages": passage_id,
        "rows_s": round(rows_s, 1),
        "total_s": round(time.perf_counter() - started, 1),
        "bytes": size,
        "bytes_per_article": round(size / count),
        "noise_cosine": noise_cosine,
        "sentence_vectors": sentence_vectors,
    }


def write_segments(
    db: sqlite3.Connection,
    out: Path,
    source: Source,
    sources: np.ndarray,
    titles: np.ndarray,
    article_rows: np.ndarray,
    ordinals: np.ndarray,
    article_columns: list[tuple[bytes, int, int, int, int]],
) -> dict[str, int]:
    """The keyword segments of every passage (in runs of Layout.largest_segment), the terms with their df, the
    words with their counts; returns the BM25 totals for meta."""
    largest = Layout().largest_segment
    df = np.zeros(len(source.terms) + 1, np.int64)
    word_counts = np.zeros(len(source.words), np.int64)
    total_length = 0
    segment_id = 1
    for start in range(0, len(sources), largest):
        pieces = []
        for piece in range(start, min(start + largest, len(sources)), PIECE):
            end = min(piece + PIECE, start + largest, len(sources))
            segment, lengths_sum = _piece(source, piece, end, sources, titles, article_rows, ordinals, article_columns, df, word_counts)
            total_length += lengths_sum
            pieces.append((segment, np.ones(len(segment), bool)))
        segment = pieces[0][0] if len(pieces) == 1 else concatenate(segment_id, pieces)
        segment = Segment(segment_id, segment.passages, segment.articles, segment.postings, segment.max_tf, segment.min_length)
        size = segment.write(out, "synthetic")
        db.execute(
            "INSERT INTO segments (id, level, first_passage, last_passage, passages, bytes) VALUES (?, 2, ?, ?, ?, ?)",
            (segment_id, segment.first, segment.last, len(segment), size),
        )
        segment_id += 1
    names = {term_id: term for term, term_id in source.terms.items()}
    db.executemany("INSERT INTO kw_terms (term, id, df) VALUES (?, ?, ?)", [(names[i], i, int(df[i])) for i in names])
    word_names = {word_id: word for word, word_id in source.words.items()}
    db.executemany(
        "INSERT INTO words (word, passages, generation) VALUES (?, ?, 1)",
        [(word_names[i], int(n)) for i, n in enumerate(word_counts) if n],
    )
    return {
        "kw_passages": len(sources),
        "kw_length": total_length,
        "kw_next_term": len(source.terms) + 1,
        "next_segment": segment_id,
    }


def _piece(source, start, end, sources, titles, article_rows, ordinals, article_columns, df, word_counts):
    """The segment of passages [start, end): postings of title + passage, merged where a term is in both."""
    picks, heads = sources[start:end], titles[start:end]
    owner_p, term_p, tf_p = source.passage_terms.gather(picks)
    owner_t, term_t, tf_t = source.title_terms.gather(heads)
    rows = np.concatenate([owner_p, owner_t])
    term_ids = np.concatenate([term_p, term_t]).astype(np.int64)
    tfs = np.concatenate([tf_p, tf_t]).astype(np.int64)
    order = np.lexsort((rows, term_ids))  # by term, then row: a term in both title and passage is adjacent
    rows, term_ids, tfs = rows[order], term_ids[order], tfs[order]
    first = np.ones(len(rows), bool)
    first[1:] = (rows[1:] != rows[:-1]) | (term_ids[1:] != term_ids[:-1])
    starts = np.flatnonzero(first)
    rows, term_ids, tfs = rows[starts], term_ids[starts], np.add.reduceat(tfs, starts)
    df += np.bincount(term_ids, minlength=len(df))
    lengths = np.bincount(rows, weights=tfs, minlength=end - start).astype(np.int32)
    owner_w, word_w, _ = source.passage_words.gather(picks)
    owner_v, word_v, _ = source.title_words.gather(heads)
    pairs = np.unique(np.concatenate([owner_w, owner_v]).astype(np.int64) * len(source.words) + np.concatenate([word_w, word_v]))
    word_counts += np.bincount(pairs % len(source.words), minlength=len(word_counts))
    used = np.unique(article_rows[start:end])
    columns = [article_columns[i] for i in used]
    width = max(len(c[0]) for c in columns)
    articles = ArticleBlock(
        np.array([c[0] for c in columns], dtype=f"S{width}"),
        np.array([c[1] for c in columns], np.int32),
        np.array([c[2] for c in columns], np.int32),
        np.array([c[3] for c in columns], np.int32),
        np.array([c[4] for c in columns], np.int64),
    )
    passages = PassageBlock(
        np.arange(start + 1, end + 1, dtype=np.int64),
        lengths,
        np.searchsorted(used, article_rows[start:end]).astype(np.int32),
        ordinals[start:end],
    )
    return Segment.build(0, passages, articles, Postings.from_sorted(term_ids, rows, tfs)), int(lengths.sum())


def check_terms(out: Path, samples: int = 200) -> None:
    """The postings written are the project's own tokenisation of title + passage (a sample checked)."""
    db = sqlite3.connect(out / "index.sqlite")
    ids = dict(db.execute("SELECT term, id FROM kw_terms"))
    rows = db.execute(
        'SELECT p.id, a.title, substr(a.text, p.start + 1, p."end" - p.start) FROM passages p JOIN articles a'
        f" ON a.id = p.article_id ORDER BY random() LIMIT {samples}"
    ).fetchall()
    segments = {}
    for passage_id, title, text in rows:
        segment_id = db.execute("SELECT id FROM segments WHERE ? BETWEEN first_passage AND last_passage", (passage_id,)).fetchone()[0]
        segment = segments.get(segment_id) or segments.setdefault(segment_id, Segment.open(out, segment_id))
        row = int(segment.rows_of(np.array([passage_id]))[0])
        expected = {ids[t]: n for t, n in passage_terms(title, text).frequencies.items()}
        found = {}
        for term_id in expected:
            rows_tfs = segment.postings.find(term_id)
            assert rows_tfs is not None
            at = np.searchsorted(rows_tfs[0], row)
            found[term_id] = int(rows_tfs[1][at]) if at < len(rows_tfs[0]) and rows_tfs[0][at] == row else 0
        assert found == expected, passage_id
        assert int(segment.passages.lengths[row]) == passage_terms(title, text).length
    db.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, required=True)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--jsonl", type=Path, help="write the articles' texts as JSON lines instead of an index")
    parser.add_argument("--source", type=Path, default=Path("/work/data/rtqa-before"))
    parser.add_argument("--noise-cosine", type=float, default=0.99)
    parser.add_argument("--no-sentence-vectors", action="store_true")
    parser.add_argument("--seed", type=int, default=19)
    args = parser.parse_args()
    started = time.perf_counter()
    source = read_source(args.source)
    read_s = round(time.perf_counter() - started, 1)
    if args.jsonl:
        print(json.dumps({"articles": write_jsonl(source, args.articles, args.seed, args.jsonl), "read_source_s": read_s}))
        return
    report = write_index(source, args.articles, args.seed, args.out, args.noise_cosine, not args.no_sentence_vectors)
    check_terms(args.out)
    print(json.dumps({"read_source_s": read_s, **report}))


if __name__ == "__main__":
    main()
