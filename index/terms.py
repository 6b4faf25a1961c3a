"""Words as keyword search and question coverage see them: lower-cased, stop words left out, stemmed."""

from __future__ import annotations

import re
from functools import lru_cache

import Stemmer
from bm25s.stopwords import STOPWORDS_EN_PLUS

STEMMER = Stemmer.Stemmer("english")
STOPWORDS = frozenset(STOPWORDS_EN_PLUS) | {"many", "much", "whose", "according", "say", "said", "says"}
WORD = re.compile(r"\b\w\w+\b")


def words(text: str) -> list[str]:
    """Lower-cased content words (stop words left out)."""
    return [word for word in WORD.findall(text.lower()) if word not in STOPWORDS]


def terms(text: str) -> list[str]:
    """Stemmed content words: what keyword search indexes and what question coverage compares."""
    return [stem(word) for word in words(text)]


@lru_cache(maxsize=200_000)
def stem(word: str) -> str:
    return str(STEMMER.stemWord(word))
