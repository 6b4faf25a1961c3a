"""FAISS files: a cache of the vectors in SQLite, one file per index generation. A missing, stale or damaged
file is rebuilt from SQLite, never trusted."""

from __future__ import annotations

import logging
import os
import sqlite3
from pathlib import Path
from typing import cast

import faiss
import numpy as np

from common.errors import CorruptIndexError
from index.sqlite.database import database_path, fsync_directory
from index.store import misfit_vectors

FILE_PATTERN = "vectors-{generation:08d}.faiss"
log = logging.getLogger("newsbot.index")


def vectors_path(directory: Path, generation: int) -> Path:
    return directory / FILE_PATTERN.format(generation=generation)


def empty_index(dimension: int) -> faiss.IndexIDMap2:
    """Inner products over the vectors held as float16: half the memory a search reads (twice as fast, and half
    the size), the same nearest passages (SQLite keeps the float32 vectors). Files written before by
    IndexFlatIP load and search as they are."""
    quantizer = faiss.IndexScalarQuantizer(dimension, faiss.ScalarQuantizer.QT_fp16, faiss.METRIC_INNER_PRODUCT)
    return faiss.IndexIDMap2(quantizer)


def build_from_database(connection: sqlite3.Connection, dimension: int) -> faiss.IndexIDMap2:
    """The FAISS copy of every passage vector in the database; CorruptIndexError (what `index check` says) when
    some are not of `dimension`."""
    misfits = connection.execute("SELECT count(*) FROM passages WHERE length(vector) != ?", (4 * dimension,))
    if count := misfits.fetchone()[0]:
        raise CorruptIndexError(misfit_vectors(database_path(connection), count, dimension))
    index = empty_index(dimension)
    cursor = connection.execute("SELECT id, vector FROM passages ORDER BY id")
    while rows := cursor.fetchmany(20_000):
        ids = np.fromiter((row[0] for row in rows), dtype=np.int64, count=len(rows))
        vectors = np.frombuffer(b"".join(row[1] for row in rows), dtype=np.float32).reshape(len(rows), dimension)
        index.add_with_ids(vectors, ids)
    return index


def load(
    directory: Path, generation: int, passages: int, dimension: int, mapped: bool = False
) -> faiss.IndexIDMap2 | None:
    """The generation's FAISS file when it exists and holds `passages` vectors of `dimension`, else None.
    `mapped`: its vectors memory-mapped, not read (for searching only: such an index cannot be added to). Files
    are replaced, never changed in place, so a mapped one stays as it was while it is used."""
    index, problem = inspect(directory, generation, passages, dimension, mapped)
    if problem:
        log.warning("%s; rebuilding it from the index database", problem)
    return index


def inspect(
    directory: Path, generation: int, passages: int, dimension: int, mapped: bool = False
) -> tuple[faiss.IndexIDMap2 | None, str | None]:
    """The generation's FAISS file (None when missing, damaged or stale), and what is wrong with it if anything."""
    path = vectors_path(directory, generation)
    if not path.exists():
        return None, None
    try:
        index = faiss.read_index(str(path), faiss.IO_FLAG_MMAP_IFC if mapped else 0)
    except RuntimeError as error:  # damaged, or replaced while it was being read
        return None, f"{path} can't be read ({str(error).rsplit(': ', 1)[-1][:200]})"
    if index.ntotal != passages or index.d != dimension:
        return (
            None,
            f"{path} holds {index.ntotal} vectors of dimension {index.d}, the database {passages} of {dimension}",
        )
    return cast(faiss.IndexIDMap2, index), None  # read_index gives the class that was written


def save(directory: Path, generation: int, index: faiss.IndexIDMap2) -> None:
    """Write atomically (temporary file, fsync, rename), then drop the files of older generations."""
    path = vectors_path(directory, generation)
    temporary = path.with_suffix(".tmp")
    faiss.write_index(index, str(temporary))
    with open(temporary, "rb") as handle:
        os.fsync(handle.fileno())
    os.replace(temporary, path)
    fsync_directory(directory)
    for old in directory.glob("vectors-*.faiss"):
        if old != path:
            old.unlink(missing_ok=True)
