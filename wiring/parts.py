"""Where the parts are built: from the settings, once per process, each only when a command needs it. The
CLI and the bot get everything from here; below this module, code takes plain parameters.

Each part that needs more than SQLite imports its modules when first built, so that a command loads only what
it uses: `index stats` no model runtime or FAISS, `ask` no LangChain or Telegram."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta
from functools import cached_property, partial
from typing import TYPE_CHECKING

from common.clock import utc_now
from common.deadline import Deadline
from common.errors import AnswererError, IngestError, LLMUnavailable, SettingsError
from state.backends import open_database
from state.chat_settings import ChatSettingsStore
from state.conversations import Conversations
from state.database import Database
from state.feeds import FeedSubscriptions
from state.inline_queries import InlineQueries
from state.limits import Limits
from state.schedules import Schedules
from state.secrets import InstallationSecrets
from state.uploads import Uploads
from state.workers import Workers, new_worker_id
from wiring.settings import Settings

if TYPE_CHECKING:
    from answers.answerer import Answerer
    from answers.core import AbstentionRule, AnswerService
    from answers.extractive import ExtractiveAnswerer
    from answers.llm import LLMConfig
    from answers.llm_runner import LLMRunner
    from answers.retrieve import Retriever
    from briefings.core import Briefer
    from feeds.polling import FeedPoller
    from index.articles import Article
    from index.fetch import FetchPolicy
    from index.indexer import Indexer
    from index.ingest import FetchArticle
    from index.store import Store
    from index.types import TextEmbedder

log = logging.getLogger("newsbot")
LONGEST_START_PAUSE = 15.0  # seconds between the start's tries of an unreachable LLM server, doubling from 1


def _llm(wiring: Wiring) -> Answerer:
    from answers.llm import LLMAnswerer

    s = wiring.settings
    config = wiring.llm_config
    if problem := config.problem():  # before LangChain is imported, and before the index is opened
        raise AnswererError(problem)
    return LLMAnswerer(
        config,
        wiring.llm_runner,
        s.prompts_dir,
        max_tokens=s.llm_max_tokens,
        context_tokens=s.llm_context_tokens,
        deadline_seconds=s.llm_deadline,
    )


# The answerers ANSWERER can name. Another answerer is one more entry here.
ANSWERERS: dict[str, Callable[[Wiring], Answerer]] = {
    "extractive": lambda wiring: wiring.extractive,
    "llm": _llm,
}


class Wiring:
    """The parts of newsbot for one process. `creates_index`: commands that write may create the index;
    the others fail with a clear message when there is none. `clock`: the moment the bot believes it is; a clock
    given here (`--now`, tests) also hides articles published after its day, the system clock does not (an
    article dated ahead by its time zone must not vanish)."""

    def __init__(
        self,
        settings: Settings,
        creates_index: bool = False,
        clock: Callable[[], datetime] | None = None,
        embedder: TextEmbedder | None = None,
    ):
        self.settings = settings
        self.creates_index = creates_index
        self.clock = clock or utc_now
        self.clock_is_set = clock is not None
        self.answerer_problem: str | None = None  # what was wrong with the configured answerer at start
        self.answerer_replaced = False  # whether the extractive answerer answers instead, from the start on
        if embedder is not None:  # one already loaded (the tests share one)
            self.embedder = embedder

    def __enter__(self) -> Wiring:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Closes what this wiring opened (the index, the state database); the parts never built are skipped."""
        opened = vars(self)
        if "store" in opened:
            self.store.close()
        if "database" in opened:
            self.database.close()

    @cached_property
    def embedder(self) -> TextEmbedder:
        from index.embeddings import Embedder

        s = self.settings
        return Embedder(s.embedding_model, s.embedding_backend, s.embedding_batch_size, s.model_cache_dir)

    @cached_property
    def store(self) -> Store:
        from index.backends import open_store
        from index.types import Layout

        s = self.settings
        layout = Layout(segment_passages=s.segment_passages, approximate_above=s.approximate_above_passages)
        return open_store(s.index_location, self.embedder.model_id, create=self.creates_index, layout=layout)

    @cached_property
    def database(self) -> Database:
        return open_database(self.settings.state_location)

    @cached_property
    def worker_id(self) -> str:
        """This process among those sharing the state database: whose claims and heartbeat they are."""
        return new_worker_id()

    @cached_property
    def workers(self) -> Workers:
        return Workers(self.database, self.worker_id)

    @cached_property
    def inline_queries(self) -> InlineQueries:
        return InlineQueries(self.database)

    @cached_property
    def conversations(self) -> Conversations:
        return Conversations(self.database, clock=self.clock)

    @cached_property
    def chat_settings(self) -> ChatSettingsStore:
        return ChatSettingsStore(self.database)

    @cached_property
    def limits(self) -> Limits:
        return Limits(self.database)

    @cached_property
    def schedules(self) -> Schedules:
        return Schedules(self.database)

    @cached_property
    def feed_subscriptions(self) -> FeedSubscriptions:
        return FeedSubscriptions(self.database)

    @cached_property
    def secrets(self) -> InstallationSecrets:
        return InstallationSecrets(self.database)

    @cached_property
    def uploads(self) -> Uploads:
        return Uploads(self.database)

    @cached_property
    def indexer(self) -> Indexer:
        from index.indexer import Indexer

        s = self.settings
        return Indexer(
            self.store,
            self.embedder,
            s.passage_chars,
            s.commit_every_passages,
            clock=self.clock,
            keep_since=self.articles_kept_since,
        )

    def articles_kept_since(self) -> date | None:
        """The first publication day ARTICLE_DAYS keeps, by the clock (None: every day is kept)."""
        days = self.settings.article_days
        return (self.clock().date() - timedelta(days=days)) if days else None

    @cached_property
    def retriever(self) -> Retriever:
        from answers.retrieve import Retriever

        return Retriever(self.store, self.embedder)

    @cached_property
    def extractive(self) -> ExtractiveAnswerer:
        from answers.extractive import ExtractiveAnswerer

        return ExtractiveAnswerer(self.embedder, self.store)

    @cached_property
    def llm_config(self) -> LLMConfig:
        from answers.llm import LLMConfig

        s = self.settings
        return LLMConfig(s.llm_model, s.llm_base_url, s.llm_api_key, s.llm_temperature, s.llm_timeout)

    @cached_property
    def llm_runner(self) -> LLMRunner:
        """Where this process's LLM requests run, LLM_CONCURRENCY at a time: by default one for a server of
        one's own (llama.cpp's cuts a stream short when a second request comes), four for a provider's API."""
        from answers.llm_runner import LLMRunner

        local = self.llm_config.compatible or self.llm_config.provider == "ollama"
        return LLMRunner(self.settings.llm_concurrency or (1 if local else 4))

    @cached_property
    def configured_answerer(self) -> Answerer:
        """The answerer ANSWERER names, unchecked (an LLM's settings are: a missing key is AnswererError)."""
        if self.settings.answerer not in ANSWERERS:
            raise SettingsError(f"ANSWERER '{self.settings.answerer}' is unknown; use one of {', '.join(ANSWERERS)}")
        return ANSWERERS[self.settings.answerer](self)

    @cached_property
    def answerer(self) -> Answerer:
        """The answerer that answers: the configured one, unless `settle_answerer` found it unusable and
        LLM_FALLBACK=extractive; then the extractive one, and `answerer_problem` says why."""
        return self.extractive if self.answerer_replaced else self.configured_answerer

    def settle_answerer(self) -> None:
        """The configured answerer built and checked, before anything answers (the answerer settled on here is the
        one answers and briefings are built with): AnswererError when it can't answer (a missing or rejected key,
        an unknown model, a server still unreachable after LLM_START_WAIT). With LLM_FALLBACK=extractive nothing
        waits or raises: an unreachable LLM answers once it can (questions are answered extractively meanwhile),
        an unusable one is replaced by the extractive answerer; `answerer_problem` says what was wrong."""
        try:
            self._check_answerer()
        except AnswererError as error:
            if self.settings.llm_fallback != "extractive":
                raise
            self.answerer_problem = str(error)
            self.answerer_replaced = not isinstance(error, LLMUnavailable)  # an unreachable one is tried again

    def _check_answerer(self) -> None:
        """The configured answerer's check, an LLM server that can't be reached or is still loading tried again
        with growing pauses for LLM_START_WAIT seconds (with LLM_FALLBACK=extractive the start doesn't wait)."""
        s = self.settings
        waits = s.llm_fallback != "extractive"
        waiting, pause = Deadline.after(s.llm_start_wait if waits else 0.0), 1.0
        while True:
            try:
                return self.configured_answerer.check()
            except LLMUnavailable as error:
                if not waits:
                    raise
                if waiting.passed:
                    raise LLMUnavailable(
                        f"{error}; waited {s.llm_start_wait:g} s for it (LLM_START_WAIT), or set "
                        "LLM_FALLBACK=extractive to start answering extractively meanwhile"
                    ) from None
                log.warning("%s; trying again in %g s", error, min(pause, waiting.remaining()))
                time.sleep(min(pause, waiting.remaining()))
                pause = min(pause * 2, LONGEST_START_PAUSE)

    def prepare_answers(self) -> None:
        """Before the first question: the answerer settled (`settle_answerer`), then the model, the index and
        what answering reads on first use loaded."""
        self.settle_answerer()
        self.answers.warm_up()

    @cached_property
    def rule(self) -> AbstentionRule:
        from answers.core import AbstentionRule

        s = self.settings
        return AbstentionRule(
            s.abstain_min_coverage, s.abstain_coverage_weight, s.abstain_score_weight, s.abstain_min_confidence
        )

    @cached_property
    def answers(self) -> AnswerService:
        from answers.core import AnswerService

        s = self.settings
        answerer = self.answerer  # first: an LLM's missing key is refused before the index is opened
        return AnswerService(
            self.retriever,
            answerer,
            self.extractive,
            self.rule,
            time_zone=s.zone,
            stale_after_days=s.stale_after_days,
            clock=self.clock,
            cutoff=self.clock_is_set,
            digests=self.briefer,
        )

    @cached_property
    def briefer(self) -> Briefer:
        from briefings.core import Briefer

        s = self.settings
        answerer = self.answerer  # first, as for answers
        return Briefer(
            self.retriever,
            answerer,
            self.extractive,
            articles=s.briefing_articles,
            items=s.briefing_items,
            sentences=s.briefing_sentences,
            story_similarity=s.story_similarity,
            min_coverage=s.abstain_min_coverage,
            deadline_seconds=s.llm_deadline,
        )

    @cached_property
    def fetch_policy(self) -> FetchPolicy:
        """How links from the command line, chats and feeds are fetched."""
        from index.fetch import FetchPolicy

        s = self.settings
        return FetchPolicy(
            timeout=s.fetch_timeout,
            deadline=s.fetch_deadline,
            max_bytes=s.fetch_max_bytes,
            allowed_networks=s.allow_private_networks,
        )

    @cached_property
    def fetch_article(self) -> FetchArticle:
        from index.fetch import fetch_article

        return partial(fetch_article, policy=self.fetch_policy)

    @cached_property
    def feed_poller(self) -> FeedPoller:
        from feeds.polling import FeedPoller
        from feeds.reading import read_feed

        s = self.settings
        read = partial(read_feed, policy=self.fetch_policy)
        return FeedPoller(
            self.feed_subscriptions,
            self.indexer,
            read,
            self.fetch_article,
            s.feed_poll_minutes,
            s.feed_max_entries,
            timedelta(hours=s.feed_pause_hours),
            self.worker_id,
        )

    def read_sources(self, items: list[str]) -> Iterator[Article | IngestError]:
        """The articles of files, folders and URLs (the command line's `index add`)."""
        from index.ingest import read_sources

        return read_sources(items, self.fetch_article, self.settings.max_file_bytes)
