"""Changes to the SQLite index. Each change is one transaction that bumps the index generation, and costs what it
adds or removes: an article's rows, its passages' vectors (float16), their keyword postings into the tail, the
running totals BM25 scores from (passages, their total length, each term's df) and the words' counts. No file is
touched by a write.

When the writer is done, it keeps the segments in shape (`upkeep`): the tail becomes a segment once it holds
`Layout.segment_passages`, segments are merged a level at a time, segments that lost most of their passages
are rewritten, and dense search turns approximate (an IVF-PQ index trained on a sample) once the index holds
`Layout.approximate_above` passages. Each of these writes its files first (temporary name, fsync, rename) and then
lists them in one transaction; files no longer listed are deleted after the commit (a reader that has them open
keeps reading them), and files a crash left unlisted are deleted by the next writer. Readers keep the generation
they have until the new one is committed."""

from __future__ import annotations

import json
import logging
import shutil
import sqlite3
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np

from common.crash import crash_point
from index import sentence_vectors
from index.sqlite import build, dense
from index.sqlite.build import insert_segment, int_meta, source_id
from index.sqlite.database import (
    ARTICLE_COLUMNS,
    article_from_row,
    encode_vector,
    generation,
    get_meta,
    set_meta,
    write_transaction,
)
from index.sqlite.schema import connect
from index.sqlite.segments import Segment, concatenate, listed_folders, segment_name, segments_folder, verify
from index.terms import PassageTerms, passage_terms
from index.types import ArticleWrite, Layout, PassageWrite, StoredArticle, day_number, iso_day

log = logging.getLogger("newsbot.index")
PRUNE_BATCH = 500  # articles removed per transaction by a prune


@dataclass(frozen=True)
class Listed:
    """A segment as the `segments` table lists it."""

    id: int
    level: int
    first: int
    last: int
    passages: int
    dense: str | None
    dense_bytes: int | None
    dense_crc: int | None

    @classmethod
    def all(cls, db: sqlite3.Connection) -> list[Listed]:
        rows = db.execute(
            "SELECT id, level, first_passage, last_passage, passages, dense, dense_bytes, dense_crc FROM segments"
            " ORDER BY first_passage"
        )
        return [cls(*row) for row in rows]


class SQLiteWriter:
    """Used by `SQLiteStore.writer()`, which holds the write lock around it."""

    def __init__(self, directory: Path, layout: Layout | None = None):
        self.directory = directory
        self.layout = layout or Layout()
        self.db = connect(self.directory, create=True)
        self._changed = False
        self._trained: dense.Trained | None = None
        remove_unlisted(self.db, self.directory)

    def __enter__(self) -> SQLiteWriter:
        return self

    def __exit__(self, kind: type[BaseException] | None, *exc_info: object) -> None:
        try:
            if self._changed and kind is None:
                self.upkeep()
        finally:
            self.db.close()

    def _dimension(self) -> int:
        return int(get_meta(self.db, "dimension") or 0)

    # -- rows ------------------------------------------------------------------------------------

    def set_model(self, model_id: str, dimension: int) -> None:
        with self._transaction():
            set_meta(self.db, "model", model_id)
            set_meta(self.db, "dimension", dimension)

    def put(self, articles: Sequence[ArticleWrite], added_at: datetime | None = None) -> list[tuple[str, str]]:
        failed = []
        with self._transaction():
            mark = self.db.execute("SELECT coalesce(max(added_seq), 0) FROM articles").fetchone()[0]
            now = (added_at or datetime.now(UTC)).astimezone(UTC).isoformat(timespec="seconds")
            for article in articles:
                self.db.execute("SAVEPOINT article")
                try:
                    self._delete(article.id)
                    mark += 1
                    self._insert_article(article, now, mark)
                    self.db.execute("RELEASE article")
                except sqlite3.IntegrityError as error:  # e.g. another article already has its identity
                    self.db.execute("ROLLBACK TO article")
                    self.db.execute("RELEASE article")
                    failed.append((article.id, f"could not be stored ({error})"))
        return failed

    def remove(self, article_id: str) -> None:
        with self._transaction():
            self._delete(article_id)

    def prune(self, before: date, dry_run: bool = False) -> list[StoredArticle]:
        """Removes every article whose day (publication, else when added) is before `before`, a batch of articles
        per transaction, then reclaims the disk space; returns them, oldest first (only returns them when
        `dry_run`)."""
        rows = self.db.execute(
            f"SELECT {ARTICLE_COLUMNS} FROM articles WHERE day < ? ORDER BY day, added_seq", (day_number(before),)
        ).fetchall()
        pruned = [article_from_row(row) for row in rows]
        if dry_run or not pruned:
            return pruned
        for start in range(0, len(pruned), PRUNE_BATCH):
            with self._transaction():
                for article in pruned[start : start + PRUNE_BATCH]:
                    self._delete(article.id)
        self.upkeep()
        reclaim_space(self.db)
        return pruned

    def rebuild(self, model_id: str, dimension: int, passages: Iterable[tuple[str, list[PassageWrite]]]) -> int:
        count = 0
        retired = Listed.all(self.db)
        with self._transaction():
            for table in ("passages", "kw_tail", "kw_lengths", "kw_terms", "words", "removed_passages", "segments"):
                self.db.execute(f"DELETE FROM {table}")  # noqa: S608 - table names from the list above
            for key in ("kw_passages", "kw_length"):
                set_meta(self.db, key, 0)
            set_meta(self.db, "flushed_through", int_meta(self.db, "next_passage", 1) - 1)
            set_meta(self.db, "dense_mode", dense.EXACT)
            set_meta(self.db, "model", model_id)
            set_meta(self.db, "dimension", dimension)
            for article_id, article_passages in passages:
                title, text = self.db.execute("SELECT title, text FROM articles WHERE id = ?", (article_id,)).fetchone()
                self._insert_passages(article_id, title, text, article_passages)
                self.db.execute("UPDATE articles SET passage_count = ? WHERE id = ?", (len(article_passages), article_id))
                count += 1
                if self._tail_passages() >= self.layout.segment_passages:
                    self._flush()
        self._retire(retired, set())
        self._trained = None
        return count

    def _insert_article(self, article: ArticleWrite, now: str, mark: int) -> None:
        published = iso_day(article.published)
        self.db.execute(
            "INSERT INTO articles (id, identity, title, source, url, published, added_at, content_hash, text, extra,"
            " added_seq, day, published_day, source_id, passage_count) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                article.id,
                article.identity,
                article.title,
                article.source,
                article.url,
                article.published,
                now,
                article.content_hash,
                article.text,
                json.dumps(article.extra, ensure_ascii=False, default=str),
                mark,
                day_number(published or iso_day(now)),
                day_number(published),
                source_id(self.db, article.source),
                len(article.passages),
            ),
        )
        self._insert_passages(article.id, article.title, article.text, article.passages)

    def _insert_passages(self, article_id: str, title: str, text: str, passages: list[PassageWrite]) -> None:
        """The passages with their vectors, sentence vectors, tail postings and lengths; the totals counted."""
        counted = [passage_terms(title, text[passage.start : passage.end]) for passage in passages]
        first = int_meta(self.db, "next_passage", 1)
        ids = list(range(first, first + len(passages)))
        set_meta(self.db, "next_passage", first + len(passages))
        self.db.executemany(
            'INSERT INTO passages (id, article_id, ordinal, start, "end", vector) VALUES (?, ?, ?, ?, ?, ?)',
            [
                (passage_id, article_id, ordinal, p.start, p.end, encode_vector(p.vector))
                for ordinal, (passage_id, p) in enumerate(zip(ids, passages, strict=True))
            ],
        )
        self.db.executemany(
            "INSERT INTO sentence_vectors (passage_id, vectors) VALUES (?, ?)",
            [
                (passage_id, sentence_vectors.pack(p.sentences))
                for passage_id, p in zip(ids, passages, strict=True)
                if p.sentences is not None and len(p.sentences)
            ],
        )
        term_ids = self._term_ids({term for terms in counted for term in terms.frequencies})
        self.db.executemany(
            "INSERT INTO kw_tail (passage_id, term_id, tf) VALUES (?, ?, ?)",
            [
                (passage_id, term_ids[term], tf)
                for passage_id, terms in zip(ids, counted, strict=True)
                for term, tf in terms.frequencies.items()
            ],
        )
        self.db.executemany(
            "INSERT INTO kw_lengths (passage_id, length) VALUES (?, ?)",
            [(passage_id, terms.length) for passage_id, terms in zip(ids, counted, strict=True)],
        )
        self._count(counted, 1, term_ids)

    def _delete(self, article_id: str) -> None:
        """Deletes the article and its passages: tail rows go, passages of a segment are marked removed; the
        totals are counted down from its text, tokenised again."""
        article = self.db.execute("SELECT title, text FROM articles WHERE id = ?", (article_id,)).fetchone()
        if article is None:
            return
        rows = self.db.execute(
            'SELECT id, start, "end" FROM passages WHERE article_id = ? ORDER BY id', (article_id,)
        ).fetchall()
        counted = [passage_terms(article[0], article[1][start:end]) for _, start, end in rows]
        through = int_meta(self.db, "flushed_through")
        tail = [row[0] for row in rows if row[0] > through]
        self.db.executemany("DELETE FROM kw_tail WHERE passage_id = ?", [(passage_id,) for passage_id in tail])
        self.db.executemany("DELETE FROM kw_lengths WHERE passage_id = ?", [(passage_id,) for passage_id in tail])
        self.db.executemany(
            "INSERT INTO removed_passages (passage_id, segment_id)"
            " SELECT ?, id FROM segments WHERE first_passage <= ? AND last_passage >= ?",
            [(row[0], row[0], row[0]) for row in rows if row[0] <= through],
        )
        self._count(counted, -1, self._term_ids({term for terms in counted for term in terms.frequencies}))
        self.db.execute("DELETE FROM articles WHERE id = ?", (article_id,))

    def _term_ids(self, terms: set[str]) -> dict[str, int]:
        """Each term's id; terms the index has never held get new ones (df 0 until counted)."""
        ids: dict[str, int] = {}
        listed = list(terms)
        for start in range(0, len(listed), 500):
            chunk = listed[start : start + 500]
            ids.update(self.db.execute(f"SELECT term, id FROM kw_terms WHERE term IN ({','.join('?' * len(chunk))})", chunk))
        new = [term for term in listed if term not in ids]
        if new:
            first = int_meta(self.db, "kw_next_term", 1)
            ids.update((term, first + number) for number, term in enumerate(new))
            self.db.executemany("INSERT INTO kw_terms (term, id, df) VALUES (?, ?, 0)", [(t, ids[t]) for t in new])
            set_meta(self.db, "kw_next_term", first + len(new))
        return ids

    def _count(self, counted: list[PassageTerms], sign: int, term_ids: dict[str, int]) -> None:
        """The running totals moved by passages added (sign 1) or removed (-1): N, total length, df, words."""
        if not counted:
            return
        df = Counter(term for terms in counted for term in terms.frequencies)
        self.db.executemany("UPDATE kw_terms SET df = df + ? WHERE id = ?", [(sign * n, term_ids[t]) for t, n in df.items()])
        words = Counter(word for terms in counted for word in terms.words)
        self.db.executemany(
            "INSERT INTO words (word, passages, generation) VALUES (?, ?, ?)"
            " ON CONFLICT (word) DO UPDATE SET passages = passages + excluded.passages, generation = excluded.generation",
            [(word, sign * n, self._generation) for word, n in words.items()],
        )
        set_meta(self.db, "kw_passages", int_meta(self.db, "kw_passages") + sign * len(counted))
        set_meta(self.db, "kw_length", int_meta(self.db, "kw_length") + sign * sum(terms.length for terms in counted))

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        """One transaction, bumping the generation."""
        with write_transaction(self.db):
            self._generation = generation(self.db) + 1
            yield
            set_meta(self.db, "generation", self._generation)
        self._changed = True

    # -- segments --------------------------------------------------------------------------------

    def upkeep(self) -> None:
        """The tail into a segment once it is big enough, segments that lost most of their passages rewritten,
        merges, and the dense search's mode for the index's size: each step its own transaction. Files seen to be
        missing or of the wrong size are made again first."""
        self.repair(full=False)
        if self._tail_passages() >= self.layout.segment_passages:
            with self._transaction():
                self._flush()
        self._compact()
        while self._merge():
            pass
        self._dense_upkeep()

    def optimize(self) -> list[str]:
        """A repair, then everything `upkeep` does, the tail flushed whatever its size; one line per step taken."""
        done = self.repair()
        if self._tail_passages():
            with self._transaction():
                self._flush()
            done.append("wrote the newest passages as a segment")
        before = len(Listed.all(self.db)), get_meta(self.db, "dense_mode")
        self.upkeep()
        after = len(Listed.all(self.db)), get_meta(self.db, "dense_mode")
        if after[0] != before[0]:
            done.append(f"segments: {before[0]} -> {after[0]}")
        if after[1] != before[1]:
            done.append(f"dense search: {after[1]}")
        return done

    def _tail_passages(self) -> int:
        through = int_meta(self.db, "flushed_through")
        return int(self.db.execute("SELECT count(*) FROM passages WHERE id > ?", (through,)).fetchone()[0])

    def _flush(self) -> None:
        """The tail's passages (the ids after `flushed_through`) into a new segment; inside a transaction."""
        through, last = int_meta(self.db, "flushed_through"), int_meta(self.db, "next_passage", 1) - 1
        if last <= through:
            return
        segment = build.from_tail(self.db, int_meta(self.db, "next_segment", 1), through + 1, last)
        if len(segment):
            self._list(segment, 0, self._dense_file(segment), "flush")
        self.db.execute("DELETE FROM kw_tail WHERE passage_id <= ?", (last,))
        self.db.execute("DELETE FROM kw_lengths WHERE passage_id <= ?", (last,))
        set_meta(self.db, "flushed_through", last)

    def _list(self, segment: Segment, level: int, written: dense.Written | None, purpose: str) -> None:
        """Writes the segment's folder and lists it with its dense file (in the caller's transaction)."""
        size = segment.write(self.directory, purpose)
        crash_point(f"{purpose}-before-commit")
        insert_segment(self.db, segment, level, size, written)

    def _dense_file(self, segment: Segment, matrix: np.ndarray | None = None) -> dense.Written | None:
        """The segment's dense file in the index's mode, from `matrix` (its rows' vectors) or the database."""
        dimension = self._dimension()
        if not dimension:
            return None
        present = np.ones(len(segment), dtype=bool)
        if matrix is None:
            matrix, present = build.vectors(self.db, segment.passages, dimension)
        trained = self._current_trained()
        name = dense.segment_file(segment.id, trained.id if trained else None)
        if trained is None:
            return dense.write(self.directory, name, dense.flat(matrix))
        ids = np.asarray(segment.passages.passage_ids)[present]
        return dense.write(self.directory, name, dense.encoded(trained.index, matrix[present], ids))

    def _current_trained(self) -> dense.Trained | None:
        if get_meta(self.db, "dense_mode") != dense.APPROXIMATE:
            return None
        trained_id = int_meta(self.db, "ann_trained")
        if self._trained is None or self._trained.id != trained_id:
            self._trained = dense.read_trained(self.directory, trained_id)
        return self._trained

    def _removed(self, segment_id: int) -> np.ndarray:
        rows = self.db.execute("SELECT passage_id FROM removed_passages WHERE segment_id = ?", (segment_id,))
        return np.array([row[0] for row in rows], dtype=np.int64)

    def _compact(self) -> None:
        """Segments whose passages are all removed are dropped; those that lost half or more are rewritten."""
        for listed in Listed.all(self.db):
            removed = len(self._removed(listed.id))
            if removed and removed * 2 >= listed.passages:
                self._rewrite([listed], listed.level, "compact")

    def _merge(self) -> bool:
        """Merges the first run of `merge_factor` neighbouring segments of one level (oldest first) that fits in
        `largest_segment`; False when there is none."""
        listed = Listed.all(self.db)
        factor = self.layout.merge_factor
        for start in range(len(listed) - factor + 1):
            run = listed[start : start + factor]
            if len({item.level for item in run}) == 1 and sum(item.passages for item in run) <= self.layout.largest_segment:
                self._rewrite(run, run[0].level + 1, "merge")
                return True
        return False

    def _rewrite(self, run: list[Listed], level: int, purpose: str, from_database: bool = False) -> None:
        """`run` (neighbouring segments) as one new segment without their removed passages, listed in place of
        them in one transaction; their files deleted after the commit. `from_database`: made again from the
        database, not from their files (a repair)."""
        parts, vectors = [], []
        trained = self._current_trained()
        for listed in run:
            segment = self._opened(listed, from_database)
            keep = ~np.isin(np.asarray(segment.passages.passage_ids), self._removed(listed.id))
            parts.append((segment, keep))
            if trained is None and listed.dense and not from_database:
                try:
                    vectors.append(_flat_vectors(self.directory, listed.dense, len(segment))[keep])
                except (RuntimeError, ValueError) as error:  # damaged: read from the database instead
                    log.warning("%s can't be read (%s); reading its vectors from the database", listed.dense, error)
        merged = concatenate(int_meta(self.db, "next_segment", 1), parts)
        written = None
        if len(merged):
            if trained is not None and not from_database:
                written = self._merged_ivf(merged, run, trained)
            else:
                written = self._dense_file(merged, np.vstack(vectors) if len(vectors) == len(run) else None)
        with self._transaction():
            if len(merged):
                self._list(merged, level, written, purpose)
            ids = [listed.id for listed in run]
            self.db.executemany("DELETE FROM segments WHERE id = ?", [(i,) for i in ids])
            self.db.executemany("DELETE FROM removed_passages WHERE segment_id = ?", [(i,) for i in ids])
        crash_point(f"{purpose}-after-commit")
        self._retire(run, set())

    def _merged_ivf(self, merged: Segment, run: list[Listed], trained: dense.Trained) -> dense.Written:
        """The IVF lists of `run` merged (codes copied, not encoded again), the removed passages dropped."""
        import faiss

        index = dense.encoded(trained.index, np.zeros((0, trained.index.d), np.float32), np.zeros(0, np.int64))
        try:
            for listed in run:
                if listed.dense:
                    index.merge_from(dense.read_segment(self.directory, listed.dense, mapped=False), 0)
        except RuntimeError as error:  # a damaged file: encoded again from the database
            log.warning("a dense file can't be read (%s); encoding the merged segment from the database", error)
            written = self._dense_file(merged)
            assert written is not None
            return written
        removed = np.concatenate([self._removed(listed.id) for listed in run])
        if len(removed):
            index.remove_ids(faiss.IDSelectorBatch(len(removed), faiss.swig_ptr(removed)))
        return dense.write(self.directory, dense.segment_file(merged.id, trained.id), index)

    def _opened(self, listed: Listed, from_database: bool = False) -> Segment:
        """The listed segment's files, or (damaged, or asked) the segment made again from the database."""
        if not from_database:
            try:
                return Segment.open(self.directory, listed.id)
            except (OSError, ValueError, KeyError) as error:
                log.warning("segment %s can't be read (%s); making it again from the database", listed.id, error)
        return build.from_texts(self.db, listed.id, listed.first, listed.last)

    def _retire(self, run: Iterable[Listed], keep: set[str]) -> None:
        """Deletes the files of segments no longer listed (readers that have them open keep reading them)."""
        for listed in run:
            shutil.rmtree(segments_folder(self.directory) / segment_name(listed.id), ignore_errors=True)
            if listed.dense and listed.dense not in keep:
                (dense.dense_folder(self.directory) / listed.dense).unlink(missing_ok=True)

    # -- dense search's mode ---------------------------------------------------------------------

    def _dense_upkeep(self) -> None:
        passages = int_meta(self.db, "kw_passages")
        approximate = get_meta(self.db, "dense_mode") == dense.APPROXIMATE
        if not passages or not self._dimension():
            return
        if not approximate and passages >= max(self.layout.approximate_above, dense.FEWEST):
            self.build_approximate()
        elif approximate and passages < self.layout.approximate_above // 2:
            self._rewrite_dense(None)
        elif approximate and passages >= 8 * int_meta(self.db, "ann_trained_passages", passages):
            self.build_approximate()

    def build_approximate(self) -> None:
        """Trains an IVF-PQ index on a sample of the vectors, encodes every segment with it and lists them all
        in one transaction; until then readers search as before. The old files go after the commit."""
        passages = int_meta(self.db, "kw_passages")
        nlist = dense.nlist_for(passages)
        trained_id = int_meta(self.db, "next_trained", 1)
        index = dense.train(self._sample(max(40 * nlist, dense.PQ_TRAIN)), nlist)
        written = dense.write(self.directory, dense.trained_name(trained_id), index)
        crash_point("approximate-trained")
        self._rewrite_dense(dense.Trained(trained_id, index), written, passages)

    def _rewrite_dense(self, trained: dense.Trained | None, trained_file: dense.Written | None = None, passages: int = 0) -> None:
        """Every segment's dense file again, exact (`trained` None) or approximate, listed in one transaction."""
        old = Listed.all(self.db)
        old_trained = get_meta(self.db, "ann_trained") if get_meta(self.db, "dense_mode") == dense.APPROXIMATE else None
        self._trained = trained
        files = []
        for number, listed in enumerate(old):
            segment = self._opened(listed)
            matrix, present = build.vectors(self.db, segment.passages, self._dimension())
            name = dense.segment_file(listed.id, trained.id if trained else None)
            if trained is None:
                files.append(dense.write(self.directory, name, dense.flat(matrix)))
            else:
                ids = np.asarray(segment.passages.passage_ids)[present]
                files.append(dense.write(self.directory, name, dense.encoded(trained.index, matrix[present], ids)))
            if number == 0:
                crash_point("approximate-segments")
        crash_point("approximate-before-commit")
        with self._transaction():
            self.db.executemany(
                "UPDATE segments SET dense = ?, dense_bytes = ?, dense_crc = ? WHERE id = ?",
                [(f.name, f.size, f.crc, listed.id) for f, listed in zip(files, old, strict=True)],
            )
            if trained is None:
                set_meta(self.db, "dense_mode", dense.EXACT)
            else:
                set_meta(self.db, "dense_mode", dense.APPROXIMATE)
                set_meta(self.db, "ann_trained", trained.id)
                set_meta(self.db, "next_trained", trained.id + 1)
                set_meta(self.db, "ann_nlist", trained.nlist)
                set_meta(self.db, "ann_trained_passages", passages)
                assert trained_file is not None
                set_meta(self.db, "ann_trained_file", json.dumps([trained_file.size, trained_file.crc]))
        keep = {f.name for f in files}
        self._retire_dense(old, keep)
        if old_trained is not None and (trained is None or int(old_trained) != trained.id):
            (dense.dense_folder(self.directory) / dense.trained_name(int(old_trained))).unlink(missing_ok=True)

    def _retire_dense(self, old: list[Listed], keep: set[str]) -> None:
        for listed in old:
            if listed.dense and listed.dense not in keep:
                (dense.dense_folder(self.directory) / listed.dense).unlink(missing_ok=True)

    def _sample(self, size: int) -> np.ndarray:
        """Up to `size` passage vectors drawn at random (all of them when there are fewer)."""
        dimension = self._dimension()
        last = int_meta(self.db, "next_passage", 1) - 1
        rng = np.random.default_rng(19)
        ids = np.unique(rng.integers(1, last + 1, int(size * 1.3))) if last > size else np.arange(1, last + 1)
        blobs = []
        for start in range(0, len(ids), 500):
            chunk = [int(i) for i in ids[start : start + 500]]
            blobs += [row[0] for row in self.db.execute(f"SELECT vector FROM passages WHERE id IN ({','.join('?' * len(chunk))})", chunk)]
        rng.shuffle(blobs)
        return build.decode_rows(self.db, blobs[:size], dimension)

    # -- repair ----------------------------------------------------------------------------------

    def repair(self, full: bool = True) -> list[str]:
        """Makes again, from the database, every derived file found damaged or missing: a segment, a dense file,
        the trained approximate index. `full`: every byte checked (what `check` does); else what can be seen
        without reading them (missing files, wrong sizes: what every writer does when it is done). One line per
        file rewritten."""
        done = []
        if get_meta(self.db, "dense_mode") == dense.APPROXIMATE and trained_problem(self.db, self.directory, full):
            self.build_approximate()
            done.append("trained the approximate index again and encoded every segment with it")
        for listed in Listed.all(self.db):
            if verify(self.directory, listed.id, full):
                self._rewrite([listed], listed.level, "repair", from_database=True)
                done.append(f"rewrote segment {listed.id} from the database")
            elif (not listed.dense and self._dimension()) or (listed.dense and dense.verify(
                self.directory, listed.dense, listed.dense_bytes or 0, listed.dense_crc or 0, full
            )):
                segment = Segment.open(self.directory, listed.id)
                written = self._dense_file(segment)
                with self._transaction():
                    self.db.execute(
                        "UPDATE segments SET dense = ?, dense_bytes = ?, dense_crc = ? WHERE id = ?",
                        (written.name if written else None, written.size if written else None, written.crc if written else None, listed.id),
                    )
                name = written.name if written else listed.dense
                done.append(f"wrote {dense.dense_folder(self.directory) / str(name)} (segment {listed.id}) from the database")
        return done


def _flat_vectors(directory: Path, name: str, rows: int) -> np.ndarray:
    """The vectors of a segment's exact dense file (float16 values, as float32)."""
    import faiss

    index = faiss.read_index(str(dense.dense_folder(directory) / name), faiss.IO_FLAG_MMAP_IFC)
    if index.ntotal != rows:
        raise ValueError(f"{name} holds {index.ntotal} vectors, its segment {rows}")
    matrix: np.ndarray = index.reconstruct_n(0, rows) if rows else np.zeros((0, index.d), np.float32)
    return matrix


def trained_problem(db: sqlite3.Connection, directory: Path, full: bool = True) -> str | None:
    """What is wrong with the trained approximate index's file, if anything."""
    recorded = get_meta(db, "ann_trained_file")
    if recorded is None:
        return f"{dense.dense_folder(directory)}: the trained approximate index is not recorded"
    size, crc = json.loads(recorded)
    return dense.verify(directory, dense.trained_name(int_meta(db, "ann_trained")), size, crc, full)


def remove_unlisted(db: sqlite3.Connection, directory: Path) -> None:
    """Deletes the files a crashed writer left: segment folders and dense files no transaction listed, and
    temporary ones. Only a writer (holding the lock) calls it."""
    listed = {row[0]: row[1] for row in db.execute("SELECT id, dense FROM segments")}
    for segment_id, folder in listed_folders(directory):
        if segment_id not in listed:
            shutil.rmtree(folder, ignore_errors=True)
    keep = {name for name in listed.values() if name}
    if get_meta(db, "dense_mode") == dense.APPROXIMATE:
        keep.add(dense.trained_name(int_meta(db, "ann_trained")))
    folder = dense.dense_folder(directory)
    if folder.exists():
        for path in folder.iterdir():
            if path.name not in keep:
                path.unlink(missing_ok=True)


def reclaim_space(db: sqlite3.Connection) -> None:
    """Gives the pages freed by deleted rows back to the file system: incremental vacuum (an index made before
    it was turned on is vacuumed whole once, which turns it on)."""
    if int(db.execute("PRAGMA auto_vacuum").fetchone()[0]) != 2:
        db.execute("PRAGMA auto_vacuum = INCREMENTAL")
        db.execute("VACUUM")
    else:
        db.executescript("PRAGMA incremental_vacuum;")  # run to completion (execute() would step it once: one page)
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
