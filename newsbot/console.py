"""Answers as plain text for the terminal: the answer, then its numbered sources."""

from __future__ import annotations

from answers.types import Answer
from index.articles import is_url


def render_answer(answer: Answer) -> str:
    lines = [answer.text]
    if answer.citations:
        lines += ["", "Sources:"]
        for citation in answer.citations:
            details = ", ".join(part for part in (citation.source, (citation.published or "")[:10]) if part)
            lines.append(f"  {citation.n}. {citation.title or 'Untitled'}" + (f" — {details}" if details else ""))
            if citation.url and is_url(citation.url):  # an article may claim `javascript:...`
                lines.append(f"     {citation.url}")
    return "\n".join(lines)
