"""BM25 keyword search over passages (bm25s with an English stemmer), rebuilt when the index changes and
cached beside it (one folder per index generation), so that a restart does not rebuild it."""

from __future__ import annotations

import re
import shutil
import tempfile
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

import bm25s
import numpy as np
import Stemmer
from bm25s.stopwords import STOPWORDS_EN_PLUS

STEMMER = Stemmer.Stemmer("english")
STOPWORDS = frozenset(STOPWORDS_EN_PLUS) | {"many", "much", "whose", "according", "say", "said", "says"}


WORD = re.compile(r"\b\w\w+\b")
CACHE_PATTERN = "keywords-{generation:08d}"
CACHE_GLOB = "keywords-*"


def words(text: str) -> list[str]:
    """Lower-cased content words (stop words left out)."""
    return [word for word in WORD.findall(text.lower()) if word not in STOPWORDS]


def terms(text: str) -> list[str]:
    """Stemmed content words: what BM25 indexes and what question coverage compares."""
    return [stem(word) for word in words(text)]


@lru_cache(maxsize=200_000)
def stem(word: str) -> str:
    return STEMMER.stemWord(word)


class KeywordIndex:
    def __init__(self, ids: np.ndarray, bm25: bm25s.BM25):
        self.ids = ids
        self.bm25 = bm25

    @classmethod
    def build(cls, passages: list[tuple[int, str, str]]) -> KeywordIndex:
        """`passages`: (passage id, article title, passage text)."""
        bm25 = bm25s.BM25()
        if passages:
            bm25.index([terms(f"{title}\n{text}") for _, title, text in passages], show_progress=False)
        return cls(np.array([passage_id for passage_id, _, _ in passages], dtype=np.int64), bm25)

    @classmethod
    def cached(cls, directory: Path, generation: int, passages: Callable[[], list[tuple[int, str, str]]]) -> KeywordIndex:
        """The keyword index of `generation`, loaded from its folder in `directory`, else built and saved there."""
        folder = directory / CACHE_PATTERN.format(generation=generation)
        try:
            return cls(np.load(folder / "ids.npy"), bm25s.BM25.load(str(folder)))
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
        for old in folder.parent.glob(CACHE_GLOB):
            if old != folder:
                shutil.rmtree(old, ignore_errors=True)

    def search(self, query: str, k: int, allowed: np.ndarray | None = None) -> list[tuple[int, float]]:
        """(passage id, BM25 score) of the best `k` passages, only among `allowed` ids when given."""
        if len(self.ids) == 0:
            return []
        tokens = [[term for term in terms(query) if term in self.bm25.vocab_dict]]
        if not tokens[0]:
            return []
        mask = np.isin(self.ids, allowed).astype(np.float32) if allowed is not None else None
        rows, scores = self.bm25.retrieve(tokens, k=min(k, len(self.ids)), show_progress=False, weight_mask=mask)
        return [(int(self.ids[row]), float(score)) for row, score in zip(rows[0], scores[0], strict=True) if score > 0]
