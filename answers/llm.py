"""The LLM answerer: any chat model LangChain's init_chat_model knows, or any OpenAI-compatible server."""

from __future__ import annotations

from collections.abc import Generator, Sequence
from pathlib import Path

from answers.prompts import render
from answers.safety import without_instructions
from answers.types import Turn
from index.database import Passage

ABSTAIN_MARKER = "NOT IN ARTICLES"


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

    def __init__(self, model, prompts_dir: Path, max_tokens: int = 300):
        self.model = model.bind(max_tokens=max_tokens) if hasattr(model, "bind") else model
        self.prompts_dir = prompts_dir

    def messages(self, question: str, history: Sequence[Turn], passages: list[Passage]) -> list[tuple[str, str]]:
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
        user = render(self.prompts_dir, "answer_user", history=earlier, passages=numbered, question=question)
        return [("system", render(self.prompts_dir, "answer_system")), ("human", user)]

    def stream(self, question: str, history: Sequence[Turn], passages: list[Passage]) -> Generator[str, None, str]:
        """Yields the text as the model writes it; returns the whole text."""
        written = []
        for chunk in self.model.stream(self.messages(question, history, passages)):
            if chunk.content:
                written.append(chunk.content)
                yield chunk.content
        return "".join(written).strip()

    @staticmethod
    def is_abstention(text: str) -> bool:
        return ABSTAIN_MARKER.lower() in text.lower()[:40]
