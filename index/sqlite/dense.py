"""Dense search over the segments, exact below a size and approximate above it (the mode is recorded in the index's
meta table and chosen by size when a writer finishes).

- **Exact**: each segment has a FAISS file of its vectors as float16 (`IndexScalarQuantizer`), memory-mapped;
  every vector is scored.
- **Approximate**: an inverted-file index with product quantization (IVF-PQ: `nlist` lists, 48 bytes a vector)
  is trained once on a sample (`dense/trained-<id>.faiss`); each segment's vectors are encoded with it into a file
  of its own (a copy of the trained index: its lists memory-mapped read-only), searched together: the coarse
  quantizer once per question, then each segment's probed lists. The best candidates are re-scored exactly from the float16 vectors in
  SQLite, so the scores are the exact cosines.

Files are written to a temporary name, fsynced and renamed, and count only once listed in the `segments` table
(or, for a trained index, in meta); the passage vectors in SQLite are the source every one is rebuilt from."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import faiss
import numpy as np

from common.crash import crash_point
from index.sqlite.database import DENSE_FOLDER, fsync_directory
from index.sqlite.segments import crc_of

FOLDER = DENSE_FOLDER
EXACT, APPROXIMATE = "exact", "approximate"
PQ_BYTES = 48  # bytes of code per vector: 8 dimensions to a byte for the default model's 384
PQ_TRAIN = 65_536  # vectors the product quantizer is trained on
CANDIDATES = 1_000  # approximate candidates re-scored exactly
FEWEST = 1_000  # below this many passages dense search stays exact (too few to train a product quantizer on)


def dense_folder(directory: Path) -> Path:
    return directory / FOLDER


def nlist_for(passages: int) -> int:
    """Lists of the inverted file: a power of two near the square root of the passages, 256 to 4,096 (fewer for
    a tiny index: k-means wants 39 vectors a list)."""
    wanted = min(4096, max(256, 2 ** round(math.log2(max(passages, 1) ** 0.5))))
    return int(max(1, min(wanted, passages // 39)))


def nprobe_for(nlist: int, passages: int, scanned: int) -> int:
    """Lists probed per question: 1/64 of them, and at least enough to score `scanned` vectors."""
    per_list = max(passages / nlist, 1.0)
    return int(min(nlist, max(nlist // 64, math.ceil(scanned / per_list), 1)))


def flat(vectors: np.ndarray) -> faiss.IndexScalarQuantizer:
    """Exact inner products over float16 copies of the vectors."""
    index = faiss.IndexScalarQuantizer(vectors.shape[1], faiss.ScalarQuantizer.QT_fp16, faiss.METRIC_INNER_PRODUCT)
    if len(vectors):
        index.add(np.ascontiguousarray(vectors, dtype=np.float32))
    return index


@dataclass(frozen=True)
class Written:
    name: str
    size: int
    crc: int


def write(directory: Path, name: str, index: faiss.Index) -> Written:
    """`index` as dense/<name> (temporary file, fsync, rename, fsync of the folder)."""
    folder = dense_folder(directory)
    folder.mkdir(parents=True, exist_ok=True)
    temporary = folder / f".{name}.tmp"
    faiss.write_index(index, str(temporary))
    crash_point("dense-file")
    with open(temporary, "rb") as handle:
        os.fsync(handle.fileno())
    written = Written(name, temporary.stat().st_size, crc_of(temporary))
    os.replace(temporary, folder / name)
    fsync_directory(folder)
    return written


def verify(directory: Path, name: str, size: int, crc: int, full: bool = True) -> str | None:
    """What is wrong with a dense file: missing, or not of the size (`full`: and CRC-32) written."""
    path = dense_folder(directory) / name
    try:
        if path.stat().st_size != size or (full and crc_of(path) != crc):
            return f"{path} is damaged (its size or checksum is not the one written)"
    except OSError as error:
        return f"{path} can't be read ({error.strerror})"
    return None


# -- the trained approximate index -----------------------------------------------------------------


def train(sample: np.ndarray, nlist: int, threads: int = 0) -> faiss.IndexIVFPQ:
    """An empty IVF-PQ index trained on `sample` (unit vectors): k-means for the lists (spherical), then the
    product quantizer on the residuals."""
    if threads:
        faiss.omp_set_num_threads(threads)
    dimension = sample.shape[1]
    sample = np.ascontiguousarray(sample, dtype=np.float32)
    kmeans = faiss.Kmeans(dimension, nlist, niter=10, spherical=True, seed=19, max_points_per_centroid=64)
    kmeans.train(sample)
    assert kmeans.centroids is not None
    quantizer = faiss.IndexFlatIP(dimension)
    quantizer.add(kmeans.centroids)
    index = faiss.IndexIVFPQ(quantizer, dimension, nlist, pq_bytes(dimension), 8, faiss.METRIC_INNER_PRODUCT)
    index.train(sample[:PQ_TRAIN])  # the lists' centroids are set: only the product quantizer learns
    return index


def pq_bytes(dimension: int) -> int:
    """Sub-quantizers: PQ_BYTES for 384 dimensions, else as near as divides the dimension."""
    wanted = max(1, round(PQ_BYTES * dimension / 384))
    return max(m for m in range(1, wanted + 1) if dimension % m == 0)


def encoded(trained: faiss.IndexIVFPQ, vectors: np.ndarray, ids: np.ndarray) -> faiss.IndexIVFPQ:
    """A copy of `trained` holding `vectors` under `ids` (their passage ids)."""
    index = cast(faiss.IndexIVFPQ, faiss.clone_index(trained))
    if len(ids):
        index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), np.asarray(ids, dtype=np.int64))
    return index


@dataclass
class Trained:
    """The trained approximate index of one generation of training, loaded: its quantizer is what every
    segment's lists are searched through."""

    id: int
    index: faiss.IndexIVFPQ

    @property
    def nlist(self) -> int:
        return int(self.index.nlist)


def trained_name(trained_id: int) -> str:
    return f"trained-{trained_id:08d}.faiss"


def read_trained(directory: Path, trained_id: int) -> Trained:
    index = faiss.read_index(str(dense_folder(directory) / trained_name(trained_id)))  # of the class written
    return Trained(trained_id, cast(faiss.IndexIVFPQ, index))


def read_segment(directory: Path, name: str, mapped: bool = True) -> faiss.Index:
    """A segment's dense file: the float16 vectors (mapped), or its IVF-PQ index (a copy of the trained index
    holding the segment's codes: its lists mapped read-only, its centroids read, nlist × 1.5 KB). Not mapped: in
    memory, for merging."""
    path = str(dense_folder(directory) / name)
    if not mapped:
        return faiss.read_index(path)
    if name.endswith(".flat.faiss"):
        return faiss.read_index(path, faiss.IO_FLAG_MMAP_IFC)
    return faiss.read_index(path, faiss.IO_FLAG_MMAP | faiss.IO_FLAG_READ_ONLY)


def segment_file(segment_id: int, trained_id: int | None) -> str:
    return f"seg-{segment_id:08d}.{'flat' if trained_id is None else f'ivf{trained_id:08d}'}.faiss"
