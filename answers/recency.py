"""How recent an answer's information is: "what's new about X?" questions, and notes on old sources."""

from __future__ import annotations

import re
from datetime import date, timedelta

from answers.retrieve import Retriever
from answers.timeframes import Timeframe, day_text
from answers.topics import on_topic
from answers.types import Citation
from index.types import Filters

WHATS_NEW = re.compile(
    r"^\s*(?:(?:what(?:'s|’s| is| are)|any)\s+(?:new|the\s+latest|latest|news)|(?:the\s+)?latest(?:\s+news)?)"
    r"\s+(?:about|on|with|in|for|from)\s+(?P<topic>.+?)\s*[?.!]*\s*$",
    re.IGNORECASE,
)
CANDIDATES = 20
COVERAGE_DAYS = 2  # "the newest coverage": articles of the newest matching day and the day before


def whats_new_topic(question: str) -> str | None:
    """X of "What's new about X?", "Any news on X?", "Latest on X"; None for other questions."""
    match = WHATS_NEW.match(question)
    return match.group("topic") if match else None


def newest_coverage(
    retriever: Retriever, topic: str, min_coverage: float, filters: Filters | None = None
) -> Timeframe | None:
    """The days of the newest articles about `topic` (of those `filters` allow), or None when no dated article
    is about it."""
    hits = on_topic(retriever.search(topic, CANDIDATES, filters, per_article=1), topic, min_coverage)
    dates = [published for hit in hits if (published := published_date(hit.passage.article.published))]
    return Timeframe(max(dates) - timedelta(days=COVERAGE_DAYS - 1), None) if dates else None


def freshness_note(citations: list[Citation], today: date, stale_after_days: int, unmatched: Timeframe | None) -> str:
    """A one-line note when the newest cited article is older than `stale_after_days` (0: never), or when
    nothing from the time frame the question asked about answered it; otherwise ""."""
    newest = max((day for c in citations if (day := published_date(c.published))), default=None)
    dated = (
        f"the newest matching article is from {day_text(newest)} ({age_text((today - newest).days)})" if newest else ""
    )
    if unmatched is not None:
        return f"Note: no article published {unmatched.describe()} answers this" + (f"; {dated}." if dated else ".")
    if newest and stale_after_days and (today - newest).days > stale_after_days:
        return f"Note: {dated}."
    return ""


def age_text(days: int) -> str:
    if days < 1:
        return "today"
    if days < 60:
        return f"{days} day{'s' * (days != 1)} old"
    if days < 730:
        return f"{days // 30} months old"
    return f"{days // 365} years old"


def published_date(published: str | None) -> date | None:
    try:
        return date.fromisoformat(published[:10]) if published else None
    except ValueError:
        return None
