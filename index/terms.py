"""Words as keyword search and question coverage see them: lower-cased, stop words left out, stemmed."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
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


@dataclass(frozen=True)
class PassageTerms:
    """What keyword search keeps of a passage (its article's title included): how often each stemmed term occurs,
    its length in terms (BM25's document length) and its distinct words (for the vocabulary)."""

    frequencies: Counter[str]
    length: int
    words: frozenset[str]


def passage_terms(title: str, text: str) -> PassageTerms:
    document = f"{title}\n{text}"
    stems = terms(document)
    return PassageTerms(Counter(stems), len(stems), frozenset(words(document)))
