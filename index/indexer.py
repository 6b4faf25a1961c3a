"""Adding articles to a store: which are new, changed, unchanged or duplicates; their passages and vectors.
The slow work (reading, fetching, embedding) happens outside the write lock, which is taken only to write a
batch, so a killed run keeps every batch it wrote and readers and other writers are never held up for long."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Any, TypeVar

import numpy as np

from common.clock import utc_now
from common.errors import IngestError, NewsbotError
from index.articles import Article, url_identity
from index.passages import Span, embedded_text, passage_spans, sentence_offsets
from index.store import Articles, ensure_model
from index.types import ArticleWrite, PassageWrite, StoredArticle, TextEmbedder, iso_day

LOCK_WAIT_SECONDS = 60.0
T = TypeVar("T")


class Outcome(StrEnum):
    ADDED = "added"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    DUPLICATE = "duplicate"
    SKIPPED = "skipped"  # published before what ARTICLE_DAYS keeps


OLDER_THAN_KEPT = "older than ARTICLE_DAYS"


@dataclass(frozen=True)
class Detail:
    """What became of one item (a file, a record, a URL) that was read."""

    item: str
    outcome: Outcome
    article_id: str  # the article it is (or, for a duplicate, the one it duplicates)
    reason: str = ""  # why it is a duplicate


@dataclass(frozen=True)
class Failure:
    item: str
    error: str


@dataclass
class IngestReport:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    duplicates: int = 0
    skipped: int = 0
    failed: list[Failure] = field(default_factory=list)
    details: list[Detail] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # what was read but not used (fields no article has)

    def as_json(self) -> dict[str, Any]:
        return {
            "added": self.added,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "duplicates": self.duplicates,
            "skipped": self.skipped,
            "failed": [asdict(failure) for failure in self.failed],
            "warnings": self.warnings,
        }

    def fail(self, item: str, error: str) -> None:
        self.failed.append(Failure(item, error))

    def record(self, item: str, outcome: Outcome, article_id: str, reason: str = "") -> None:
        counter = "duplicates" if outcome is Outcome.DUPLICATE else outcome.value
        setattr(self, counter, getattr(self, counter) + 1)
        self.details.append(Detail(item, outcome, article_id, reason))

    def articles(self, *outcomes: Outcome) -> list[str]:
        """The ids of the articles the items with these outcomes are."""
        return [detail.article_id for detail in self.details if detail.outcome in outcomes]

    def summary(self) -> str:
        skipped = f", skipped {self.skipped} ({OLDER_THAN_KEPT})" if self.skipped else ""
        return (
            f"added {self.added}, updated {self.updated}, unchanged {self.unchanged}, "
            f"duplicates {self.duplicates}{skipped}, failed {len(self.failed)}"
        )

    def problem_lines(self) -> list[str]:
        """One line for each duplicate, skipped item, warning and failure, saying which item and why."""
        lines = [
            f"{'duplicate' if d.outcome is Outcome.DUPLICATE else 'skipped'}: {d.item} {d.reason}"
            for d in self.details
            if d.outcome in (Outcome.DUPLICATE, Outcome.SKIPPED)
        ]
        warnings = [f"warning: {warning}" for warning in self.warnings]
        return lines + warnings + [f"failed: {f.item}: {f.error}" for f in self.failed]


@dataclass
class _Planned:
    article: Article
    article_id: str
    label: str
    spans: list[Span]


class Indexer:
    def __init__(
        self,
        store: Articles,
        embedder: TextEmbedder,
        passage_chars: int,
        commit_every_passages: int = 2048,
        lock_wait: float = LOCK_WAIT_SECONDS,
        clock: Callable[[], datetime] = utc_now,
        keep_since: Callable[[], date | None] = lambda: None,
    ):
        self.store = store
        self.embedder = embedder
        self.passage_chars = passage_chars
        self.commit_every_passages = commit_every_passages
        self.lock_wait = lock_wait
        self.clock = clock  # when an article counts as added (and, undated, as published)
        self.keep_since = keep_since  # the first publication day ARTICLE_DAYS keeps (None: every day)

    # -- adding -----------------------------------------------------------------------------------

    def add(self, items: Iterable[Article | IngestError]) -> IngestReport:
        """Indexes every article of `items`; never raises for a bad item, reports it. An article published before
        what ARTICLE_DAYS keeps is skipped (an undated one counts as published now)."""
        self._check_model()
        report = IngestReport()
        kept_from = self.keep_since()
        batch: list[_Planned] = []
        seen: dict[str, str] = {}  # identity or id -> the item that first had it in this run
        hashes: dict[str, str] = {}  # content hash -> article id, in this run
        for item in items:
            if isinstance(item, IngestError):
                report.fail(item.item, item.reason)
                continue
            report.warnings += item.notes
            published = iso_day(item.published)
            if kept_from and published and published < kept_from:
                label = item.origin or item.url or item.title
                report.record(label, Outcome.SKIPPED, "", f"({OLDER_THAN_KEPT}: published {published.isoformat()})")
                continue
            planned = self._plan(item, report, seen, hashes)
            if planned:
                batch.append(planned)
            if sum(len(p.spans) for p in batch) >= self.commit_every_passages:
                self._write(batch, report)
                batch = []
        self._write(batch, report)
        return report

    def _plan(self, article: Article, report: IngestReport, seen: dict[str, Any], hashes: dict[str, Any]) -> _Planned | None:
        article_id = self._article_id(article)
        label = article.origin or article.url or article.title or article_id
        key = article.identity or article_id
        if key in seen:
            report.record(label, Outcome.DUPLICATE, article_id, f"is the same article as {seen[key]}, earlier in this run")
            return None
        seen[key] = label
        content_hash, stored_hash = article.content_hash, self.store.content_hash(article_id)
        if stored_hash == content_hash:
            report.record(label, Outcome.UNCHANGED, article_id)
            return None
        twin = hashes.get(content_hash) or self.store.duplicate_of(content_hash, article_id)
        if twin:
            report.record(label, Outcome.DUPLICATE, twin, f"has the same text as article {twin}")
            return None
        spans = passage_spans(article.text, self.passage_chars)
        if not spans:
            report.fail(label, "the article has no text to index")
            return None
        hashes[content_hash] = article_id
        return _Planned(article, article_id, label, spans)

    def _article_id(self, article: Article) -> str:
        """The id of the stored article with this identity; else a new one. An index written before query
        strings counted may hold, under the id a new identity would get, an article with another identity:
        then the next free id."""
        if article.identity is None:
            return article.article_id()
        stored = self.store.find("", article.identity)  # by identity only: no article has the id ""
        if stored:
            return stored.id
        salt = 0
        while self.store.find(article.article_id(salt)) is not None:
            salt += 1
        return article.article_id(salt)

    def _write(self, batch: list[_Planned], report: IngestReport) -> None:
        if not batch:
            return
        embedded = iter(self._embedded([(p.article.title, p.article.text, span) for p in batch for span in p.spans]))
        writes = [_article_write(p, [PassageWrite(s.start, s.end, *next(embedded)) for s in p.spans]) for p in batch]
        with self.store.writer(wait=self.lock_wait) as writer:
            if self.store.model() is None:
                writer.set_model(self.embedder.model_id, self.embedder.dimension)
            outcomes = self._settled(batch)
            failed = dict(
                writer.put([write for write in writes if outcomes[write.id] is not Outcome.UNCHANGED], self.clock())
            )
        for planned in batch:
            if planned.article_id in failed:
                report.fail(planned.label, failed[planned.article_id])
            else:
                report.record(planned.label, outcomes[planned.article_id], planned.article_id)

    def _settled(self, batch: list[_Planned]) -> dict[str, Outcome]:
        """What writing each planned article does, read again under the writer lock: another process (another
        `index add`, a feed poll on another worker) may have written it since it was planned, so that each
        article is reported added once however many processes add it."""
        outcomes = {}
        for planned in batch:
            stored_hash = self.store.content_hash(planned.article_id)
            if stored_hash == planned.article.content_hash:
                outcomes[planned.article_id] = Outcome.UNCHANGED
            else:
                outcomes[planned.article_id] = Outcome.UPDATED if stored_hash else Outcome.ADDED
        return outcomes

    # -- removing and rebuilding ------------------------------------------------------------------

    def remove(self, id_or_url: str) -> StoredArticle:
        key = id_or_url.strip()
        article = self.store.find(key, url_identity(key) if "://" in key else None)
        if article is None:
            raise NewsbotError(f"no article with id or URL '{id_or_url}'; `newsbot index list` shows what is indexed")
        with self.store.writer(wait=self.lock_wait) as writer:
            writer.remove(article.id)
        return article

    def prune(self, before: date, dry_run: bool = False) -> list[StoredArticle]:
        """Removes the articles published (undated: added) before `before`; returns them, oldest first (with
        `dry_run`, only returns them)."""
        with self.store.writer(wait=self.lock_wait) as writer:
            return writer.prune(before, dry_run)

    def optimize(self) -> list[str]:
        with self.store.writer(wait=self.lock_wait) as writer:
            return writer.optimize()

    def rebuild(self, on_progress: Callable[[int], object] = lambda n: None) -> int:
        """Re-splits and re-embeds every article with the current settings and model, in one transaction."""
        with self.store.writer(wait=self.lock_wait) as writer:
            return writer.rebuild(self.embedder.model_id, self.embedder.dimension, self._reembedded(on_progress))

    def _reembedded(self, on_progress: Callable[[int], object]) -> Iterator[tuple[str, list[PassageWrite]]]:
        for chunk in _chunks(self.store.texts(), 64):
            spans = [passage_spans(text, self.passage_chars) for _, _, text in chunk]
            embedded = iter(
                self._embedded(
                    [
                        (title, text, span)
                        for (_, title, text), spaced in zip(chunk, spans, strict=False)
                        for span in spaced
                    ]
                )
            )
            for (article_id, _, _), spaced in zip(chunk, spans, strict=True):
                yield article_id, [PassageWrite(s.start, s.end, *next(embedded)) for s in spaced]
            on_progress(len(chunk))

    def _embedded(self, passages: list[tuple[str, str, Span]]) -> list[tuple[np.ndarray, np.ndarray]]:
        """(vector, sentence vectors) of each (title, article text, passage span)."""
        texts = [embedded_text(title, text[span.start : span.end]) for title, text, span in passages]
        offsets = [sentence_offsets(title, text[span.start : span.end]) for title, text, span in passages]
        vectors, sentences = self.embedder.embed_passages(texts, offsets)
        return list(zip(vectors, sentences, strict=True))

    def _check_model(self) -> None:
        recorded = self.store.model()
        ensure_model(self.store.location, recorded[0] if recorded else None, self.embedder.model_id)


def _article_write(planned: _Planned, passages: list[PassageWrite]) -> ArticleWrite:
    article = planned.article
    return ArticleWrite(
        id=planned.article_id,
        identity=article.identity,
        title=article.title,
        source=article.source,
        url=article.url,
        published=article.published,
        content_hash=article.content_hash,
        text=article.text,
        extra=article.extra,
        passages=passages,
    )


def _chunks(items: Iterable[T], size: int) -> Iterator[list[T]]:
    chunk: list[T] = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
