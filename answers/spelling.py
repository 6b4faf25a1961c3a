"""Typos in questions: a question word the index has never seen is replaced by the nearest word it has seen
("agncy" -> "agency", "Zelenksy" -> "Zelenskyy"), so keyword search, question coverage and the check for
missing names all read what the reader meant."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

from rapidfuzz.distance import OSA
from rapidfuzz.process import extract
from wordfreq import zipf_frequency

from answers.aliases import is_alias
from index.terms import STOPWORDS

WORD = re.compile(r"[^\W\d_][^\W\d_'’-]*")
MIN_LENGTH = 4  # shorter words have too many neighbours one edit away
COMMON = 3.5  # an English word this common (Zipf) that the index lacks is not a typo: the articles don't use it


def max_edits(word: str) -> int:
    """Edits (insertions, deletions, substitutions, swaps of neighbours) a typo of `word` may hold."""
    return 1 if len(word) < 7 else 2


class Speller:
    """Corrects question words against the index vocabulary (`vocabulary()`: word -> passages holding it)."""

    def __init__(self, vocabulary: Callable[[], Mapping[str, int]]):
        self.vocabulary = vocabulary
        self._by_length: tuple[Mapping[str, int], dict[int, list[str]]] | None = None

    def correct(self, text: str) -> str:
        """`text` with each unknown word replaced by its nearest indexed word (first letter's case kept)."""
        vocabulary = self.vocabulary()
        return WORD.sub(lambda match: self._corrected(match.group(), vocabulary), text)

    def _corrected(self, word: str, vocabulary: Mapping[str, int]) -> str:
        lowered = word.lower()
        if (
            len(lowered) < MIN_LENGTH
            or lowered in vocabulary
            or lowered in STOPWORDS
            or zipf_frequency(lowered, "en") >= COMMON
            or is_alias(lowered)
        ):
            return word
        nearest = self.nearest(lowered, vocabulary)
        if nearest is None:
            return word
        return nearest.capitalize() if word[0].isupper() else nearest

    def nearest(self, word: str, vocabulary: Mapping[str, int]) -> str | None:
        """The indexed word fewest edits away (within `max_edits`), the one in most passages on a tie."""
        limit = max_edits(word)
        candidates = [
            choice
            for length in range(len(word) - limit, len(word) + limit + 1)
            for choice in self._lengths(vocabulary).get(length, ())
        ]
        found = extract(word, candidates, scorer=OSA.distance, score_cutoff=limit, limit=None)
        if not found:
            return None
        best = min(found, key=lambda item: (item[1], -vocabulary[item[0]]))
        return best[0]

    def _lengths(self, vocabulary: Mapping[str, int]) -> dict[int, list[str]]:
        """The vocabulary's words by length, kept until the vocabulary changes."""
        if self._by_length is None or self._by_length[0] is not vocabulary:
            by_length: dict[int, list[str]] = {}
            for word in vocabulary:
                if word.isalpha():
                    by_length.setdefault(len(word), []).append(word)
            self._by_length = (vocabulary, by_length)
        return self._by_length[1]
