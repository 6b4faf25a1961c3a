"""Sentence vectors, to score sentences by what they mean as well as by the words they share with a question."""

from __future__ import annotations

import threading
from collections import OrderedDict
from functools import lru_cache

import numpy as np

from answers.retrieve import Retrieved
from index.passages import embedded_text, sentence_offsets, sentence_spans
from index.store import Search
from index.types import Passage, TextEmbedder

CACHED_PASSAGES = 4096


class SentenceMeaning:
    """Vectors of questions and of the sentences of retrieved passages (one row per `sentence_spans` sentence):
    those the index stored with the passage, else made now (the same way) and kept for the passages most
    recently asked about."""

    def __init__(self, embedder: TextEmbedder, store: Search | None = None):
        self.embedder = embedder
        self.store = store
        self._cache: OrderedDict[tuple[int, int], np.ndarray] = OrderedDict()
        self._lock = threading.Lock()  # answers run in several threads at once

    def question(self, text: str) -> np.ndarray:
        vector: np.ndarray = self.embedder.embed([text])[0]
        return vector

    def sentences(self, hits: list[Retrieved]) -> list[np.ndarray]:
        return self.of_passages([hit.passage for hit in hits])

    def of_passages(self, given: list[Passage]) -> list[np.ndarray]:
        """One row per sentence of each passage, in order."""
        passages = {passage.id: passage for passage in given}
        with self._lock:
            found = {pid: cached for pid, p in passages.items() if (cached := self._cache.get(_key(p))) is not None}
        if self.store is not None and len(found) < len(passages):
            stored = self.store.sentence_vectors([pid for pid in passages if pid not in found])
            found.update({pid: v for pid, v in stored.items() if len(v) == _sentence_count(passages[pid].text)})
        missing = [passages[pid] for pid in passages if pid not in found]
        if missing:
            found.update(self._embedded(missing))
        with self._lock:
            for pid, passage in passages.items():
                self._remember(_key(passage), found[pid])
        return [found[passage.id] for passage in given]

    def _embedded(self, passages: list[Passage]) -> dict[int, np.ndarray]:
        texts = [embedded_text(p.article.title, p.text) for p in passages]
        spans = [sentence_offsets(p.article.title, p.text) for p in passages]
        _, vectors = self.embedder.embed_passages(texts, spans)
        return {passage.id: matrix for passage, matrix in zip(passages, vectors, strict=True)}

    def _remember(self, key: tuple[int, int], vectors: np.ndarray) -> None:
        self._cache[key] = vectors
        self._cache.move_to_end(key)
        while len(self._cache) > CACHED_PASSAGES:
            self._cache.popitem(last=False)


def _key(passage: Passage) -> tuple[int, int]:
    return passage.id, hash(passage.text)


@lru_cache(maxsize=CACHED_PASSAGES)  # the passages asked about again and again: split once
def _sentence_count(text: str) -> int:
    return len(sentence_spans(text))
