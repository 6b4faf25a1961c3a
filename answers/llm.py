"""The LLM answerer: any chat model LangChain's init_chat_model knows, or any OpenAI-compatible server. What it
writes is kept only where it is grounded in the passages it was given (answers/grounding.py).

Every request is bounded: at most LLM_MAX_TOKENS written (sent in the form each server honours, and counted
while reading), the prompt trimmed to the model's window (LLM_CONTEXT_TOKENS), the whole answer within its
deadline (answers/llm_runner.py). A server that can't be reached is tried again in the background with growing
pauses while questions are answered extractively."""

from __future__ import annotations

import importlib.util
import logging
import os
import threading
import time
from collections.abc import Callable, Generator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from answers.answerer import Written
from answers.evidence import Evidence
from answers.grounding import grounded
from answers.llm_runner import LLMRunner
from answers.prompts import render
from answers.safety import without_instructions
from answers.types import Turn
from common.deadline import Deadline
from common.errors import AnswererError, LLMTooSlow, LLMUnavailable
from index.types import Passage

if TYPE_CHECKING:  # LangChain itself is imported only when an LLM is configured
    from langchain_core.language_models import BaseChatModel

ABSTAIN_MARKER = "NOT IN ARTICLES"
PLACEHOLDER_KEY = "not-needed"  # sent to an OpenAI-compatible server without LLM_API_KEY (never OPENAI_API_KEY)
CHECK_SECONDS = 10.0  # the start's one-token check
CHARACTERS_PER_TOKEN = 3.5  # of English news text, on the safe side (SmolLM2 reads 4.0-4.2; GPT tokenizers more)
PROMPT_MARGIN_TOKENS = 64  # the chat template's own tokens, and the estimate's error
FIRST_PAUSE, LONGEST_PAUSE = 1.0, 60.0  # seconds between tries of an unreachable server: doubling, at most this
log = logging.getLogger("newsbot.answers")


@dataclass(frozen=True)
class Provider:
    package: str  # the module of its LangChain integration
    pip: str  # the package that installs it
    keys: tuple[str, ...]  # the environment variables it reads its API key from (none: a local server)
    cap: str  # its chat model's parameter for the most tokens to write


PROVIDERS = {
    "openai": Provider("langchain_openai", "langchain-openai", ("OPENAI_API_KEY",), "max_tokens"),
    "anthropic": Provider("langchain_anthropic", "langchain-anthropic", ("ANTHROPIC_API_KEY",), "max_tokens"),
    "google_genai": Provider(
        "langchain_google_genai", "langchain-google-genai", ("GOOGLE_API_KEY", "GEMINI_API_KEY"), "max_output_tokens"
    ),
    "mistralai": Provider("langchain_mistralai", "langchain-mistralai", ("MISTRAL_API_KEY",), "max_tokens"),
    "ollama": Provider("langchain_ollama", "langchain-ollama", (), "num_predict"),  # Ollama reads it at construction
}


@dataclass(frozen=True)
class LLMConfig:
    """Which chat model, where, and how it is asked (the LLM_* settings). `extra_body`: more fields for an
    OpenAI-compatible server's requests (llama.cpp's `grammar`)."""

    model: str
    base_url: str | None = None
    api_key: str | None = field(default=None, repr=False)
    temperature: float = 0.0
    timeout: float = 60.0  # seconds, for each request (LLM_TIMEOUT); an answer's deadline bounds them all
    extra_body: Mapping[str, Any] = field(default_factory=dict)

    @property
    def provider(self) -> str:
        return self.model.split(":", 1)[0] if ":" in self.model else "openai"

    @property
    def compatible(self) -> bool:
        """An OpenAI-compatible server (llama.cpp, vLLM, LM Studio) rather than a provider's own API."""
        return bool(self.base_url) and self.provider == "openai"

    @property
    def where(self) -> str:
        return f"the LLM server at {self.base_url}" if self.base_url else f"the LLM {self.model}"

    def problem(self) -> str | None:
        """What the settings alone show keeps this model from answering, in one line naming what to set; None
        when nothing does. Imports nothing (a refusal comes before anything slow is loaded)."""
        provider = PROVIDERS.get(self.provider)
        if provider is None:  # init_chat_model knows more providers, and says what they lack
            return None
        if importlib.util.find_spec(provider.package) is None:
            return f"LLM_MODEL {self.model} needs the package {provider.pip} (pip install {provider.pip})"
        if self.compatible or self.api_key or not provider.keys or any(os.environ.get(k) for k in provider.keys):
            return None
        local = "" if self.base_url else "; for a local OpenAI-compatible server (llama.cpp, vLLM) set LLM_BASE_URL"
        return (
            f"ANSWERER=llm with LLM_MODEL {self.model} needs an API key: set LLM_API_KEY (or "
            f"{' or '.join(provider.keys)}){local}; or set ANSWERER=extractive"
        )


def chat_model(config: LLMConfig, max_tokens: int) -> BaseChatModel:
    """`provider:model` (openai:gpt-4o-mini, anthropic:claude-..., ollama:llama3, ...); with a base URL and no
    provider, an OpenAI-compatible server. It writes at most `max_tokens`, asked in the form its server honours
    (llama.cpp ignores the `max_completion_tokens` LangChain sends OpenAI, so it gets `max_tokens`)."""
    from langchain.chat_models import init_chat_model

    options: dict[str, Any] = {"temperature": config.temperature, "timeout": config.timeout, "max_retries": 1}
    if config.base_url:
        options["base_url"] = config.base_url
    if config.api_key or config.compatible:
        options["api_key"] = config.api_key or PLACEHOLDER_KEY
    if config.compatible:
        options["extra_body"] = {**config.extra_body, "max_tokens": max_tokens}
    else:
        options[PROVIDERS[config.provider].cap if config.provider in PROVIDERS else "max_tokens"] = max_tokens
    if ":" not in config.model:
        options["model_provider"] = "openai"
    chat: BaseChatModel = init_chat_model(config.model, **options)
    return chat


def retryable(error: BaseException) -> bool:
    """Whether trying the same request later may work: the server unreachable, still loading, overloaded or
    failing (LangChain's provider-independent errors say so; an HTTP status, for integrations that don't)."""
    if hasattr(error, "is_retryable"):
        return bool(error.is_retryable)
    status = getattr(error, "status_code", None)
    return status in (408, 409, 429) or (isinstance(status, int) and status >= 500) or isinstance(error, OSError)


class Recovery:
    """Whether the LLM answers: after a request finds it unreachable, it is tried again in the background
    (`probe`) after FIRST_PAUSE, then twice as long each time up to LONGEST_PAUSE; meanwhile `problem` says
    why it doesn't answer (questions are answered extractively)."""

    def __init__(self, probe: Callable[[], None]):
        self.problem: str | None = None
        self._probe = probe
        self._lock = threading.Lock()

    def lost(self, problem: str) -> None:
        with self._lock:
            retrying, self.problem = self.problem is not None, problem
        if not retrying:
            threading.Thread(target=self._retry, name="llm-recovery", daemon=True).start()

    def _retry(self) -> None:
        pause = FIRST_PAUSE
        while True:
            time.sleep(pause)
            try:
                self._probe()
            except Exception as error:
                log.debug("the LLM still does not answer: %s", error)
                pause = min(pause * 2, LONGEST_PAUSE)
                continue
            with self._lock:
                self.problem = None
            log.info("the LLM answers again")
            return


@dataclass(eq=False)
class LLMAnswerer:
    config: LLMConfig
    runner: LLMRunner = field(default_factory=LLMRunner)
    prompts_dir: Path | None = None
    max_tokens: int = 300  # detailed answers may take twice as many
    context_tokens: int = 4096  # the model's window, which the prompt and the answer must fit; 0: no limit
    deadline_seconds: float = 30.0  # for an answer whose caller set no deadline
    stop: tuple[str, ...] = ()  # where the model stops writing
    name = "llm"
    streams = True
    metered = True

    def __post_init__(self) -> None:
        self._models: dict[int, BaseChatModel] = {}
        self.recovery = Recovery(self._probe)

    def check(self) -> None:
        """Has the model write one token (streamed, within CHECK_SECONDS). A missing or rejected key, or an
        unknown model: AnswererError naming what to set. A server that can't be reached, is still loading or
        fails: LLMUnavailable (worth trying again). An OpenAI-compatible server that does not list LLM_MODEL
        (llama.cpp answers any name with its own model) is a warning."""
        if problem := self.config.problem():
            raise AnswererError(problem)
        try:
            self._probe()
        except Exception as error:
            raise self._start_error(error) from None
        if self.config.compatible:
            self._warn_if_unlisted()

    def answer(
        self,
        question: str,
        history: Sequence[Turn],
        evidence: Evidence,
        today: date,
        detailed: bool = False,
        deadline: Deadline | None = None,
    ) -> Written:
        if self.recovery.problem:
            raise LLMUnavailable(self.recovery.problem)
        max_tokens = self.max_tokens * (2 if detailed else 1)
        passages = self.fitting(
            [hit.passage for hit in evidence.passages],
            max_tokens,
            lambda given: self.messages(question, history, given, today, detailed),
        )
        messages = self.messages(question, history, passages, today, detailed)
        written = yield from self._stream(messages, max_tokens, deadline)
        if ABSTAIN_MARKER.lower() in written.lower()[:40]:
            return None
        return grounded(written, passages)

    def summarise(self, passages: list[Passage], sentences: int, deadline: Deadline | None = None) -> str:
        question = render(self.prompts_dir, "briefing_question", sentences=sentences)
        passages = self.fitting(passages, self.max_tokens, lambda given: self.messages(question, [], given, None))
        try:
            if self.recovery.problem:
                raise LLMUnavailable(self.recovery.problem)
            written = "".join(self._stream(self.messages(question, [], passages, None), self.max_tokens, deadline))
        except LLMTooSlow:  # the briefing's deadline has passed: its other stories are quoted too, at once
            log.info("the LLM was too slow; summarising the story extractively")
            return ""
        except Exception as error:  # the LLM is down or failing: the caller quotes the passages instead
            log.warning(
                "the LLM failed (%s); summarising the story extractively",
                error,
                exc_info=log.isEnabledFor(logging.DEBUG),
            )
            return ""
        return "" if ABSTAIN_MARKER.lower() in written.lower()[:40] else grounded(written, passages)

    def messages(
        self,
        question: str,
        history: Sequence[Turn],
        passages: list[Passage],
        today: date | None,
        detailed: bool = False,
    ) -> list[tuple[str, str]]:
        numbered = "\n".join(self._passage(n, passage) for n, passage in enumerate(passages, start=1))
        earlier = "".join(
            render(self.prompts_dir, "history_turn", question=t.question, answer=t.answer) for t in history[-3:]
        )
        user = render(
            self.prompts_dir,
            "answer_user",
            today=today.isoformat() if today else "unknown",
            history=earlier,
            passages=numbered,
            question=question,
        )
        length = render(self.prompts_dir, "length_detailed" if detailed else "length_short")
        return [("system", render(self.prompts_dir, "answer_system", length=length.strip())), ("human", user)]

    def fitting(
        self,
        passages: list[Passage],
        max_tokens: int,
        prompt: Callable[[list[Passage]], list[tuple[str, str]]],
    ) -> list[Passage]:
        """The passages, from the first, that fit the model's window (LLM_CONTEXT_TOKENS) with the rest of the
        `prompt` and an answer of `max_tokens`: whole passages, at least one. Counted in characters (no
        tokenizer: they differ by model, and tiktoken downloads its tables)."""
        if not self.context_tokens:
            return passages
        tokens = self.context_tokens - max_tokens - PROMPT_MARGIN_TOKENS
        room = tokens * CHARACTERS_PER_TOKEN - sum(len(text) for _, text in prompt([]))
        kept: list[Passage] = []
        for n, passage in enumerate(passages, start=1):
            room -= len(self._passage(n, passage)) + 1
            if room < 0 and kept:
                break
            kept.append(passage)
        return kept

    def _passage(self, n: int, passage: Passage) -> str:
        article = passage.article
        return render(
            self.prompts_dir,
            "passage",
            n=n,
            title=article.title or "untitled",
            source=article.source or "unknown outlet",
            published=(article.published or "date unknown")[:10],
            text=without_instructions(passage.text).replace(">>>", ">> >"),
        )

    def _model(self, max_tokens: int) -> BaseChatModel:
        if max_tokens not in self._models:
            self._models[max_tokens] = chat_model(self.config, max_tokens)
        return self._models[max_tokens]

    def _stream(
        self, messages: list[tuple[str, str]], max_tokens: int, deadline: Deadline | None
    ) -> Generator[str, None, str]:
        written = []
        deadline = deadline or Deadline.after(self.deadline_seconds)
        try:
            for text in self.runner.stream(self._model(max_tokens), messages, deadline, max_tokens, self.stop):
                written.append(text)
                yield text
        except LLMTooSlow:
            raise
        except Exception as error:
            if not retryable(error):
                raise
            problem = f"{self.config.where} does not answer: {self._described(error)}"
            self.recovery.lost(problem)
            raise LLMUnavailable(problem) from error
        return "".join(written).strip()

    def _probe(self) -> None:
        for _ in self.runner.stream(
            self._model(1), [("human", "Reply with OK.")], Deadline.after(CHECK_SECONDS), max_tokens=1
        ):
            pass

    def _start_error(self, error: Exception) -> AnswererError:
        """The check's failure as one line naming what to set."""
        described, where, status = self._described(error), self.config.where, getattr(error, "status_code", None)
        if isinstance(error, LLMTooSlow):
            return LLMUnavailable(f"{where} did not answer within {CHECK_SECONDS:g} s (still loading?)")
        if retryable(error):
            return LLMUnavailable(f"{where} does not answer: {described}; start it, or check LLM_BASE_URL")
        if status in (401, 403):
            return AnswererError(f"{where} rejected the API key ({described}); set LLM_API_KEY to a valid key")
        if status == 404:
            return AnswererError(
                f"{where} does not know LLM_MODEL {self.config.model} ({described}); set LLM_MODEL to a model it serves"
            )
        return AnswererError(
            f"{where} does not answer ({described}); check LLM_MODEL, LLM_BASE_URL and LLM_API_KEY, or set "
            "ANSWERER=extractive (LLM_FALLBACK=extractive starts without the LLM)"
        )

    def _described(self, error: BaseException) -> str:
        """The error's type and message, any API key in it masked."""
        text = f"{type(error).__name__}: {error}"
        key = self.config.api_key
        return text.replace(key, "***") if key else text

    def _warn_if_unlisted(self) -> None:
        from langchain_openai import ChatOpenAI

        model = self._model(1)
        try:
            assert isinstance(model, ChatOpenAI)  # an OpenAI-compatible server's
            listed = [listing.id for listing in model.root_client.models.list()]
        except Exception as error:  # the list is a courtesy: servers need not have it
            log.debug("%s lists no models: %s", self.config.where, error)
            return
        if self.config.model not in listed:
            log.warning(
                "LLM_MODEL %s is not among the models %s lists (%s): it may answer with another model",
                self.config.model,
                self.config.where,
                ", ".join(listed),
            )
