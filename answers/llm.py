"""The LLM answerer: any chat model LangChain's init_chat_model knows, or any OpenAI-compatible server. What it
writes is kept only where it is grounded in the passages it was given (answers/grounding.py)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import date
from pathlib import Path

from answers.answerer import Written
from answers.evidence import Evidence
from answers.grounding import grounded
from answers.prompts import render
from answers.safety import without_instructions
from answers.types import Turn
from index.types import Passage

ABSTAIN_MARKER = "NOT IN ARTICLES"
log = logging.getLogger("newsbot.answers")


def chat_model(model: str, base_url: str | None, api_key: str | None, temperature: float, timeout: float):
    """`provider:model` (openai:gpt-4o-mini, anthropic:claude-..., ollama:llama3, ...); with a base URL and
    no provider, an OpenAI-compatible server (vLLM, llama.cpp server, LM Studio)."""
    from langchain.chat_models import init_chat_model

    options: dict = {"temperature": temperature, "timeout": timeout, "max_retries": 1}
    if base_url:
        options["base_url"] = base_url
    if api_key:
        options["api_key"] = api_key
    if ":" not in model:
        options["model_provider"] = "openai"
    return init_chat_model(model, **options)


class LLMAnswerer:
    name = "llm"
    streams = True

    def __init__(self, model, prompts_dir: Path | None = None, max_tokens: int = 300):
        self.model = model.bind(max_tokens=max_tokens) if hasattr(model, "bind") else model
        self.prompts_dir = prompts_dir

    def answer(self, question: str, history: Sequence[Turn], evidence: Evidence, today: date) -> Written:
        passages = [hit.passage for hit in evidence.passages]
        written = yield from self._stream(self.messages(question, history, passages, today))
        if ABSTAIN_MARKER.lower() in written.lower()[:40]:
            return None
        return grounded(written, passages)

    def summarise(self, passages: list[Passage], sentences: int) -> str:
        question = render(self.prompts_dir, "briefing_question", sentences=sentences)
        try:
            written = "".join(self._stream(self.messages(question, [], passages, None)))
        except Exception as error:  # the LLM is down or failing: the caller quotes the passages instead
            log.warning(
                "the LLM failed (%s); summarising the story extractively",
                error,
                exc_info=log.isEnabledFor(logging.DEBUG),
            )
            return ""
        return "" if ABSTAIN_MARKER.lower() in written.lower()[:40] else grounded(written, passages)

    def messages(
        self, question: str, history: Sequence[Turn], passages: list[Passage], today: date | None
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
        return [("system", render(self.prompts_dir, "answer_system")), ("human", user)]

    def _stream(self, messages: list[tuple[str, str]]) -> Written:
        written = []
        for chunk in self.model.stream(messages):
            if chunk.content:
                written.append(chunk.content)
                yield chunk.content
        return "".join(written).strip()
