"""BM25 keyword search over passages (bm25s with an English stemmer), rebuilt when the index changes."""

from __future__ import annotations

import re
from functools import lru_cache

import bm25s
import numpy as np
import Stemmer
from bm25s.stopwords import STOPWORDS_EN_PLUS

STEMMER = Stemmer.Stemmer("english")
STOPWORDS = frozenset(STOPWORDS_EN_PLUS) | {"many", "much", "whose", "according", "say", "said", "says"}


WORD = re.compile(r"\b\w\w+\b")


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
    def __init__(self, passages: list[tuple[int, str, str]]):
        """`passages`: (passage id, article title, passage text)."""
        self.ids = np.array([passage_id for passage_id, _, _ in passages], dtype=np.int64)
        self.bm25 = bm25s.BM25()
        if passages:
            self.bm25.index([terms(f"{title}\n{text}") for _, title, text in passages], show_progress=False)

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
