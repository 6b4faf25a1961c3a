"""How recent an answer's information is: general news questions ("what's new?", "what happened this week?",
"tell me about X", "any news on X since Monday?"), asked for a digest, and notes on old sources."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from answers import timeframes
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
WHATS_NEW_WORDS = re.compile(
    r"^\W*(?:what'?s|whats|what\s+is|any|anything)\s+(?:the\s+)?(?:new|latest)\b|^\W*latest\b", re.I
)
CANDIDATES = 20
COVERAGE_DAYS = 2  # "the newest coverage": articles of the newest matching day and the day before


_ABOUT = r"(?:\s+(?:about|on|with|in|for|regarding|concerning|around|to|at)\s+(?P<topic>.+?))?"
NEWS_QUESTIONS = [  # asked of the question without its time words and the outlet it names
    re.compile(
        r"^\W*(?:so\s+)?(?:what'?s|whats|what\s+is|what\s+are|anything|any|got\s+any)\s+(?:the\s+)?"
        rf"(?:new|news|happening|going\s+on|latest|headlines|stories|updates?)\b{_ABOUT}\W*$",
        re.IGNORECASE,
    ),
    re.compile(rf"^\W*(?:(?:the\s+)?latest|news|headlines)(?:\s+news)?{_ABOUT}\W*$", re.IGNORECASE),
    re.compile(
        r"^\W*what(?:'s|\s+has|\s+have|\s+is)?\s+(?:happened|happening|been\s+happening|went\s+on|going\s+on)"
        rf"{_ABOUT}\W*$",
        re.IGNORECASE,
    ),
    re.compile(
        r"^\W*(?:(?:can|could|would)\s+you\s+)?(?:please\s+)?(?:tell|talk)\s+(?:me\s+|us\s+)?(?:more\s+)?about\s+"
        r"(?P<topic>.+?)\W*$",
        re.IGNORECASE,
    ),
    re.compile(
        r"^\W*(?:(?:can|could|would)\s+you\s+)?(?:please\s+)?(?:summari[sz]e|sum\s+up|recap|brief\s+me\s+on)\s+"
        r"(?P<topic>.+?)\W*$",
        re.IGNORECASE,
    ),
    re.compile(r"^\W*(?:give\s+me\s+)?(?:a\s+)?(?:summary|recap|rundown|round-?up)\s+of\s+(?P<topic>.+?)\W*$", re.I),
    re.compile(r"^\W*any\s+(?P<topic>[\w' -]+?)\s+(?:news|stories|updates)\W*$", re.IGNORECASE),
]
OUTLET_NEWS = re.compile(  # "what did <outlet> report?", once the outlet is taken out
    r"^\W*what\s+(?:did|has|have|does)\s+(?:it\s+)?(?:report(?:ed)?|publish(?:ed)?|writ(?:e|ten)|wrote|cover(?:ed)?|run)\W*$",
    re.IGNORECASE,
)
TOPIC_TAIL = re.compile(r"(?:\s+(?:news|stories|headlines|updates|coverage|from|of|in|on|for|since|during))+$", re.I)


@dataclass(frozen=True)
class NewsRequest:
    """A general news question: a digest of the stories about `topic` ("" for the newest stories) published in
    `timeframe` (None: any time)."""

    topic: str
    timeframe: Timeframe | None


def news_request(question: str, today: date, names_outlet: bool = False) -> NewsRequest | None:
    """The digest a general news question asks for, or None for a question asking a fact ("Which company ...
    this week?"). Its time words are publication dates ("in June" too, here); "on Wednesday" is the latest
    Wednesday. `names_outlet`: the question named an outlet, which is already taken out of it."""
    timeframe, rest = timeframes.parse(question, today)
    if timeframe is None:
        timeframe, rest = timeframes.on_weekday(question, today)
    elif timeframe.named:
        timeframe = Timeframe(timeframe.start, timeframe.end)
    if names_outlet and OUTLET_NEWS.match(rest):
        return NewsRequest("", timeframe)
    for pattern in NEWS_QUESTIONS:
        match = pattern.match(rest)
        if match:
            topic = TOPIC_TAIL.sub("", (match.group("topic") or "").strip(" ?.!")).strip()
            return NewsRequest("" if topic.lower() in ("", "it", "this", "that") else topic, timeframe)
    return None


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
