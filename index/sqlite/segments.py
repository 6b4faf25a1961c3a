"""Immutable segments of the embedded index: one folder per segment (`segments/seg-<id>/`), written once and never
changed, holding for a run of passages (ascending ids) their keyword postings and what filters and hits need:

- per passage: id, BM25 length (terms), its article's row in the segment, its ordinal in the article;
- per article: id, day (publication, else added), publication day (0: undated), outlet id, added mark;
- postings, by term id (ascending): offsets into `rows` (the passage's row) and `tfs` (how often), and per term
  the largest tf and the smallest length among its postings (a bound on its BM25 weight, for pruning).

Scores are computed at query time from tf, length and the index's running totals (N, total length, df), so a
write never re-scores anything already written. A segment is written into a temporary folder, every file fsynced,
renamed into place and the parent fsynced; it counts only once a transaction lists it in the `segments` table,
so a crash leaves at worst an unlisted folder that the next writer removes. `manifest.json` records each file's
size and CRC-32, which `check` verifies."""

from __future__ import annotations

import json
import mmap
import os
import shutil
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np

from common.crash import crash_point
from index.sqlite.database import SEGMENTS_FOLDER, fsync_directory

FOLDER = SEGMENTS_FOLDER
MANIFEST = "manifest.json"
FORMAT = 1
PASSAGE_ARRAYS = ("passage_ids", "lengths", "article_rows", "ordinals")
ARTICLE_ARRAYS = ("article_ids", "days", "published", "source_ids", "marks")
POSTING_ARRAYS = ("term_ids", "offsets", "rows", "tfs", "max_tf", "min_length")
ARRAYS = PASSAGE_ARRAYS + ARTICLE_ARRAYS + POSTING_ARRAYS


def segment_name(segment_id: int) -> str:
    return f"seg-{segment_id:08d}"


def segments_folder(directory: Path) -> Path:
    return directory / FOLDER


@dataclass(frozen=True)
class ArticleBlock:
    """The articles of a run of passages, in the order their passages come."""

    article_ids: np.ndarray  # bytes (numpy S)
    days: np.ndarray  # int32 day numbers: publication, else added
    published: np.ndarray  # int32 day numbers, 0 when undated
    source_ids: np.ndarray  # int32
    marks: np.ndarray  # int64 added marks

    def __len__(self) -> int:
        return len(self.days)


@dataclass(frozen=True)
class PassageBlock:
    passage_ids: np.ndarray  # int64, ascending
    lengths: np.ndarray  # int32 BM25 lengths
    article_rows: np.ndarray  # int32 rows of ArticleBlock
    ordinals: np.ndarray  # int32

    def __len__(self) -> int:
        return len(self.passage_ids)


@dataclass(frozen=True)
class Postings:
    """Postings in CSR form: for the i-th term id, rows[offsets[i]:offsets[i+1]] (ascending) and their tfs."""

    term_ids: np.ndarray  # int32, ascending
    offsets: np.ndarray  # int64, len(term_ids) + 1
    rows: np.ndarray  # int32
    tfs: np.ndarray  # uint16

    @classmethod
    def from_triples(cls, term_ids: np.ndarray, rows: np.ndarray, tfs: np.ndarray) -> Postings:
        """From (term id, row, tf) in any order."""
        order = np.lexsort((rows, term_ids))
        return cls.from_sorted(term_ids[order], rows[order], tfs[order])

    @classmethod
    def from_sorted(cls, term_ids: np.ndarray, rows: np.ndarray, tfs: np.ndarray) -> Postings:
        """From (term id, row, tf) sorted by term, then row."""
        starts = np.flatnonzero(np.diff(term_ids)) + 1 if len(term_ids) else np.zeros(0, np.int64)
        starts = np.concatenate([[0], starts]).astype(np.int64) if len(term_ids) else starts
        return cls(
            np.asarray(term_ids)[starts].astype(np.int32),
            np.append(starts, len(term_ids)).astype(np.int64),
            rows.astype(np.int32),
            np.minimum(tfs, np.iinfo(np.uint16).max).astype(np.uint16),
        )

    def triples(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(term id, row, tf) of every posting, by term then row."""
        return np.repeat(self.term_ids, np.diff(self.offsets)), np.asarray(self.rows), np.asarray(self.tfs)

    def find(self, term_id: int) -> tuple[np.ndarray, np.ndarray] | None:
        """(rows, tfs) of one term, or None when no passage here holds it."""
        i = int(np.searchsorted(self.term_ids, term_id))
        if i == len(self.term_ids) or self.term_ids[i] != term_id:
            return None
        start, end = int(self.offsets[i]), int(self.offsets[i + 1])
        return self.rows[start:end], self.tfs[start:end]


class Segment:
    """The arrays of one segment, memory-mapped from its folder (or held in memory: a segment rebuilt from the
    database while its folder is damaged, and the tail of passages not in any segment yet)."""

    def __init__(self, segment_id: int, passages: PassageBlock, articles: ArticleBlock, postings: Postings,
                 max_tf: np.ndarray, min_length: np.ndarray):
        self.id = segment_id
        self.passages = passages
        self.articles = articles
        self.postings = postings
        self.max_tf = max_tf  # per term (postings order): the largest tf
        self.min_length = min_length  # per term: the smallest length among its passages
        self.maps: list[np.memmap] = []  # the file mappings the arrays read, when opened from its folder

    @classmethod
    def build(cls, segment_id: int, passages: PassageBlock, articles: ArticleBlock, postings: Postings) -> Segment:
        max_tf, min_length = _bounds(postings, passages.lengths)
        return cls(segment_id, passages, articles, postings, max_tf, min_length)

    @classmethod
    def open(cls, directory: Path, segment_id: int) -> Segment:
        """The segment's arrays, memory-mapped; OSError or ValueError when its folder is missing or damaged."""
        folder = segments_folder(directory) / segment_name(segment_id)
        manifest = json.loads((folder / MANIFEST).read_text())
        if manifest.get("format") != FORMAT or set(manifest["files"]) != {f"{name}.npy" for name in ARRAYS}:
            raise ValueError(f"{folder}: not a segment this newsbot reads")
        arrays, maps = {}, []
        for name in ARRAYS:
            path = folder / f"{name}.npy"
            if path.stat().st_size != manifest["files"][path.name][0]:
                raise ValueError(f"{path} is {path.stat().st_size} bytes, its manifest says {manifest['files'][path.name][0]}")
            mapped = np.load(path, mmap_mode="r")
            maps.append(mapped)
            arrays[name] = np.asarray(mapped)  # a plain ndarray over the mapping (slicing numpy's memmap is slower)
        if len(arrays["passage_ids"]) != manifest["passages"]:
            raise ValueError(f"{folder}: {len(arrays['passage_ids'])} passages, its manifest says {manifest['passages']}")
        segment = cls(
            segment_id,
            PassageBlock(*(arrays[name] for name in PASSAGE_ARRAYS)),
            ArticleBlock(*(arrays[name] for name in ARTICLE_ARRAYS)),
            Postings(*(arrays[name] for name in POSTING_ARRAYS[:4])),
            arrays["max_tf"],
            arrays["min_length"],
        )
        segment.maps = maps
        return segment

    def __len__(self) -> int:
        return len(self.passages)

    def release(self) -> None:
        """Drops the pages of its files this process has read from its page tables (they stay in the page cache,
        and are read again from there when next needed): what a search read does not stay in the process's memory
        (PSS) as it would for every term ever searched."""
        for mapped in self.maps:
            if mapped.size:
                mapped._mmap.madvise(mmap.MADV_DONTNEED)  # type: ignore[attr-defined]  # numpy's memmap keeps its mmap there

    @property
    def first(self) -> int:
        return int(self.passages.passage_ids[0]) if len(self) else 0

    @property
    def last(self) -> int:
        return int(self.passages.passage_ids[-1]) if len(self) else 0

    def rows_of(self, passage_ids: np.ndarray) -> np.ndarray:
        """The rows of passage ids this segment holds (every one must be here)."""
        return np.searchsorted(self.passages.passage_ids, passage_ids)

    def bound(self, term_id: int) -> tuple[int, int] | None:
        """(largest tf, smallest length) among the term's postings here; None when it has none."""
        i = int(np.searchsorted(self.postings.term_ids, term_id))
        if i == len(self.postings.term_ids) or self.postings.term_ids[i] != term_id:
            return None
        return int(self.max_tf[i]), int(self.min_length[i])

    def arrays(self) -> dict[str, np.ndarray]:
        return {
            **{name: getattr(self.passages, name) for name in PASSAGE_ARRAYS},
            **{name: getattr(self.articles, name) for name in ARTICLE_ARRAYS},
            "term_ids": self.postings.term_ids,
            "offsets": self.postings.offsets,
            "rows": self.postings.rows,
            "tfs": self.postings.tfs,
            "max_tf": self.max_tf,
            "min_length": self.min_length,
        }

    def write(self, directory: Path, purpose: str = "segment") -> int:
        """Writes the folder (temporary folder, fsync, rename, fsync); returns its size in bytes. `purpose` names
        its crash point (`<purpose>-files`, halfway through the files)."""
        parent = segments_folder(directory)
        parent.mkdir(parents=True, exist_ok=True)
        final = parent / segment_name(self.id)
        staging = parent / f".{segment_name(self.id)}.tmp"
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir()
        files: dict[str, tuple[int, int]] = {}
        for number, (name, values) in enumerate(self.arrays().items()):
            files[f"{name}.npy"] = _write_array(staging / f"{name}.npy", values)
            if number == len(ARRAYS) // 2:
                crash_point(f"{purpose}-files")
        manifest = {"format": FORMAT, "passages": len(self), "files": files}
        _write_bytes(staging / MANIFEST, json.dumps(manifest).encode())
        fsync_directory(staging)
        if final.exists():  # left by a crash after the rename, before the commit that would have listed it
            shutil.rmtree(final)
        os.rename(staging, final)
        fsync_directory(parent)
        return sum(size for size, _ in files.values())


def verify(directory: Path, segment_id: int, full: bool = True) -> str | None:
    """What is wrong with the segment's folder (a missing file, a size that is not its manifest's; `full`: also
    a CRC-32 that is not, reading every byte), or None."""
    folder = segments_folder(directory) / segment_name(segment_id)
    try:
        Segment.open(directory, segment_id)
        if full:
            manifest = json.loads((folder / MANIFEST).read_text())
            for name, (_, crc) in manifest["files"].items():
                if crc_of(folder / name) != crc:
                    return f"{folder / name} is damaged (its checksum is not the one written)"
    except (OSError, ValueError, KeyError, TypeError) as error:
        return f"{folder} can't be read ({str(error)[:200]})"
    return None


def crc_of(path: Path) -> int:
    crc = 0
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 23):
            crc = zlib.crc32(chunk, crc)
    return crc


def listed_folders(directory: Path) -> Iterator[tuple[int, Path]]:
    """(segment id, folder) of every segment folder on disk, listed or not; temporary folders as id -1."""
    parent = segments_folder(directory)
    if not parent.exists():
        return
    for path in parent.iterdir():
        if path.name.startswith("seg-") and path.name[4:].isdigit():
            yield int(path.name[4:]), path
        else:
            yield -1, path


def concatenate(segment_id: int, parts: list[tuple[Segment, np.ndarray]]) -> Segment:
    """One segment of the passages `parts` keep ((segment, bool mask of the rows kept), in passage-id order), their
    postings and articles carried over as they are (nothing is re-tokenised)."""
    passage_blocks, article_blocks, triples = [], [], []
    row_base = article_base = 0
    for segment, keep in parts:
        kept_rows = np.flatnonzero(keep)
        new_row = np.full(len(segment), -1, dtype=np.int64)
        new_row[kept_rows] = np.arange(len(kept_rows)) + row_base
        used_articles = np.unique(np.asarray(segment.passages.article_rows)[kept_rows])
        new_article = np.full(len(segment.articles), -1, dtype=np.int64)
        new_article[used_articles] = np.arange(len(used_articles)) + article_base
        passage_blocks.append(
            (
                np.asarray(segment.passages.passage_ids)[kept_rows],
                np.asarray(segment.passages.lengths)[kept_rows],
                new_article[np.asarray(segment.passages.article_rows)[kept_rows]],
                np.asarray(segment.passages.ordinals)[kept_rows],
            )
        )
        article_blocks.append(tuple(np.asarray(getattr(segment.articles, name))[used_articles] for name in ARTICLE_ARRAYS))
        terms, rows, tfs = segment.postings.triples()
        kept = keep[rows]
        triples.append((terms[kept], new_row[rows[kept]], tfs[kept]))
        row_base += len(kept_rows)
        article_base += len(used_articles)
    passages = PassageBlock(
        *(np.concatenate([block[i] for block in passage_blocks]).astype(dtype) for i, dtype in
          enumerate((np.int64, np.int32, np.int32, np.int32)))
    )
    ids = [block[0] for block in article_blocks]
    width = max((array.dtype.itemsize for array in ids), default=1)
    articles = ArticleBlock(
        np.concatenate([array.astype(f"S{width}") for array in ids]) if ids else np.zeros(0, "S1"),
        *(np.concatenate([block[i] for block in article_blocks]) for i in range(1, len(ARTICLE_ARRAYS))),
    )
    terms = np.concatenate([t for t, _, _ in triples]) if triples else np.zeros(0, np.int32)
    order = np.argsort(terms, kind="stable")  # parts come in passage order: rows stay ascending within a term
    rows = np.concatenate([r for _, r, _ in triples])[order]
    tfs = np.concatenate([f for _, _, f in triples])[order]
    postings = Postings.from_sorted(terms[order], rows, tfs)
    return Segment.build(segment_id, passages, articles, postings)


def _bounds(postings: Postings, lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    starts = postings.offsets[:-1]
    if not len(starts):
        return np.zeros(0, np.uint16), np.zeros(0, np.int32)
    max_tf = np.maximum.reduceat(postings.tfs, starts).astype(np.uint16)
    min_length = np.minimum.reduceat(np.asarray(lengths)[postings.rows], starts).astype(np.int32)
    return max_tf, min_length


class _Checksummed:
    """A file being written that counts its bytes and their CRC-32 as they go."""

    def __init__(self, handle: BinaryIO):
        self.handle, self.size, self.crc = handle, 0, 0

    def write(self, data: bytes) -> int:
        self.size += len(data)
        self.crc = zlib.crc32(data, self.crc)
        return self.handle.write(data)


def _write_array(path: Path, values: np.ndarray) -> tuple[int, int]:
    """(size, CRC-32) of the .npy file written and fsynced at `path`."""
    with open(path, "wb") as handle:
        counted = _Checksummed(handle)
        np.lib.format.write_array(counted, np.ascontiguousarray(values), allow_pickle=False)
        handle.flush()
        os.fsync(handle.fileno())
    return counted.size, counted.crc


def _write_bytes(path: Path, data: bytes) -> None:
    with open(path, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
