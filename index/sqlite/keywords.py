"""BM25 keyword search over passages (bm25s, stemmed terms), built when the index changes and cached beside it
(one folder per index generation, loaded memory-mapped), so that a restart does not rebuild it."""

from __future__ import annotations

import json
import shutil
import tempfile
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path

import bm25s
import numpy as np

from index.terms import terms, words

CACHE_PATTERN = "keywords-{generation:08d}"
CACHE_GLOB = "keywords-*"
VOCABULARY_FILE = "vocabulary.json"
PassageTexts = Callable[[], Iterable[tuple[int, str, str]]]  # (passage id, article title, passage text)


class KeywordIndex:
    def __init__(self, ids: np.ndarray, bm25: bm25s.BM25, folder: Path | None = None):
        self.ids = ids  # passage id of each BM25 document, ascending
        self.bm25 = bm25
        self.folder = folder
        self._vocabulary: dict[str, int] | None = None

    @classmethod
    def build(cls, passages: Iterable[tuple[int, str, str]]) -> KeywordIndex:
        ids, documents = [], []
        for passage_id, title, text in passages:
            ids.append(passage_id)
            documents.append(terms(f"{title}\n{text}"))
        bm25 = bm25s.BM25()
        if documents:
            bm25.index(documents, show_progress=False)
        return cls(np.array(ids, dtype=np.int64), bm25)

    @classmethod
    def cached(cls, directory: Path, generation: int, passages: PassageTexts) -> KeywordIndex:
        """The keyword index of `generation`, loaded from its folder in `directory`, else built and saved there."""
        folder = directory / CACHE_PATTERN.format(generation=generation)
        try:
            return cls(np.load(folder / "ids.npy"), bm25s.BM25.load(str(folder), mmap=True), folder)
        except (OSError, ValueError, KeyError):
            index = cls.build(passages())
        if len(index.ids):
            index._save(folder)
        return index

    def _save(self, folder: Path) -> None:
        """Written to a temporary folder and renamed, so readers see all of it or none; older ones removed."""
        try:
            staging = Path(tempfile.mkdtemp(prefix=".keywords-", dir=folder.parent))
        except OSError:  # a read-only index directory: the cache is optional
            return
        try:
            self.bm25.save(str(staging))
            np.save(staging / "ids.npy", self.ids)
            staging.rename(folder)
        except OSError:  # another process saved it first
            shutil.rmtree(staging, ignore_errors=True)
            return
        self.folder = folder
        for old in folder.parent.glob(CACHE_GLOB):
            if old != folder:
                shutil.rmtree(old, ignore_errors=True)

    def search(self, query: str, k: int, allowed: np.ndarray | None = None) -> list[tuple[int, float]]:
        """(passage id, BM25 score) of the best `k` passages; only where `allowed` (one flag per document) is set."""
        if len(self.ids) == 0:
            return []
        tokens = [term for term in terms(query) if term in self.bm25.vocab_dict]
        if not tokens:
            return []
        mask = allowed.astype(np.float32) if allowed is not None else None
        scores = self.bm25.get_scores(tokens, weight_mask=mask)
        rows = np.flatnonzero(scores > 0)  # selecting among the zeros too is slow (numpy's argpartition on ties)
        if len(rows) > k:
            rows = rows[np.argpartition(scores[rows], -k)[-k:]]
        rows = rows[np.argsort(-scores[rows], kind="stable")]
        return [(int(self.ids[row]), float(scores[row])) for row in rows]

    def vocabulary(self, passages: PassageTexts) -> dict[str, int]:
        """Every word of the passages and how many passages hold it; computed once, cached with the index."""
        if self._vocabulary is None:
            self._vocabulary = self._load_vocabulary() or self._count_words(passages)
        return self._vocabulary

    def _load_vocabulary(self) -> dict[str, int] | None:
        try:
            return json.loads((self.folder / VOCABULARY_FILE).read_text()) if self.folder else None
        except (OSError, ValueError):
            return None

    def _count_words(self, passages: PassageTexts) -> dict[str, int]:
        counts: Counter[str] = Counter()
        for _, title, text in passages():
            counts.update(set(words(f"{title}\n{text}")))
        vocabulary = dict(counts)
        if self.folder:
            temporary = self.folder / f".{VOCABULARY_FILE}.tmp"
            try:
                temporary.write_text(json.dumps(vocabulary))
                temporary.replace(self.folder / VOCABULARY_FILE)
            except OSError:  # a read-only or replaced cache folder: counted again next time
                pass
        return vocabulary
