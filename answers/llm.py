"""The LLM answerer: any chat model LangChain's init_chat_model knows, or any OpenAI-compatible server. What it
writes is kept only where it is grounded in the passages it was given (answers/grounding.py)."""

from __future__ import annotations

import logging
from collections.abc import Generator, Sequence
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from answers.answerer import Written
from answers.evidence import Evidence
from answers.grounding import grounded
from answers.prompts import render
from answers.safety import without_instructions
from answers.types import Turn
from common.errors import AnswererError
from index.types import Passage

if TYPE_CHECKING:  # LangChain itself is imported only when an LLM is configured
    from langchain_core.language_models import BaseChatModel, LanguageModelInput
    from langchain_core.messages import BaseMessage
    from langchain_core.runnables import Runnable

ABSTAIN_MARKER = "NOT IN ARTICLES"
log = logging.getLogger("newsbot.answers")


def chat_model(
    model: str, base_url: str | None, api_key: str | None, temperature: float, timeout: float
) -> BaseChatModel:
    """`provider:model` (openai:gpt-4o-mini, anthropic:claude-..., ollama:llama3, ...); with a base URL and
    no provider, an OpenAI-compatible server (vLLM, llama.cpp server, LM Studio)."""
    from langchain.chat_models import init_chat_model

    options: dict[str, Any] = {"temperature": temperature, "timeout": timeout, "max_retries": 1}
    if base_url:
        options["base_url"] = base_url
    if api_key:
        options["api_key"] = api_key
    if ":" not in model:
        options["model_provider"] = "openai"
    chat: BaseChatModel = init_chat_model(model, **options)
    return chat


class LLMAnswerer:
    name = "llm"
    streams = True
    metered = True

    def __init__(self, model: BaseChatModel, prompts_dir: Path | None = None, max_tokens: int = 300):
        self.model = model
        self.prompts_dir = prompts_dir
        self.max_tokens = max_tokens  # detailed answers may take twice as many

    def check(self) -> None:
        """Has the model write one token, so that a missing key or an unreachable server shows at start."""
        try:
            self._bound(1).invoke([("human", "Reply with OK.")])
        except Exception as error:
            raise AnswererError(
                f"the LLM does not answer ({type(error).__name__}: {error}); check LLM_MODEL, LLM_BASE_URL and "
                "LLM_API_KEY, or set ANSWERER=extractive (LLM_FALLBACK=extractive starts without the LLM)"
            ) from error

    def answer(
        self, question: str, history: Sequence[Turn], evidence: Evidence, today: date, detailed: bool = False
    ) -> Written:
        passages = [hit.passage for hit in evidence.passages]
        messages = self.messages(question, history, passages, today, detailed)
        written = yield from self._stream(messages, self.max_tokens * (2 if detailed else 1))
        if ABSTAIN_MARKER.lower() in written.lower()[:40]:
            return None
        return grounded(written, passages)

    def summarise(self, passages: list[Passage], sentences: int) -> str:
        question = render(self.prompts_dir, "briefing_question", sentences=sentences)
        try:
            written = "".join(self._stream(self.messages(question, [], passages, None), self.max_tokens))
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
        numbered = "\n".join(
            render(
                self.prompts_dir,
                "passage",
                n=n,
                title=p.article.title or "untitled",
                source=p.article.source or "unknown outlet",
                published=(p.article.published or "date unknown")[:10],
                text=without_instructions(p.text).replace(">>>", ">> >"),
            )
            for n, p in enumerate(passages, start=1)
        )
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

    def _bound(self, max_tokens: int) -> Runnable[LanguageModelInput, BaseMessage]:
        return self.model.bind(max_tokens=max_tokens) if hasattr(self.model, "bind") else self.model

    def _stream(self, messages: list[tuple[str, str]], max_tokens: int) -> Generator[str, None, str]:
        written = []
        for chunk in self._bound(max_tokens).stream(messages):
            if text := chunk.text:  # the text parts of the chunk's content
                written.append(text)
                yield text
        return "".join(written).strip()
