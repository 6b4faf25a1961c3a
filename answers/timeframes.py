"""Time words in a question as a range of dates, relative to today in the configured time zone.

Relative words ("since Monday", "this week", "yesterday", "past 3 days", "since 3 October") say when the
articles were published: answers filter by them. Named months, days and years ("in October", "on 12 November",
"the 1953 treaty") say when something happened: coverage of that period and after is preferred (a date prior
centred on it), no article is ruled out by its publication date.

Weekdays alone ("on Tuesday") are left alone: in a question about the news they usually repeat the day an
article reports, not a day relative to now. "Since <weekday>" and "last <weekday>" mean the latest such day
before today.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

from index.types import Filters

MONTH_NAMES = "january february march april may june july august september october november december".split()
MONTHS = {name: number for number, name in enumerate(MONTH_NAMES, start=1)}
MONTHS.update({name[:3]: number for name, number in list(MONTHS.items())} | {"sept": 9})
WEEKDAYS = {
    name: number for number, name in enumerate("monday tuesday wednesday thursday friday saturday sunday".split())
}
NUMBERS = {"a": 1, "an": 1} | {
    name: number
    for number, name in enumerate("one two three four five six seven eight nine ten eleven twelve".split(), 1)
}


def _month(name: str = "month") -> str:
    return f"(?P<{name}>" + "|".join(sorted(MONTHS, key=len, reverse=True)) + r")\.?"


def _day(name: str) -> str:
    return rf"(?P<{name}>[0-3]?\d)(?:st|nd|rd|th)?"


def _year(name: str = "year") -> str:
    return rf"(?P<{name}>(?:19|20)\d\d)"


_WEEKDAY = "(?P<weekday>" + "|".join(WEEKDAYS) + ")"
_DATE = (
    rf"(?:(?P<iso>\d{{4}}-\d\d-\d\d)|{_day('day')}(?:\s+of)?\s+{_month()}(?:,?\s+{_year()})?"
    rf"|{_month('month2')}\s+{_day('day2')}(?:,?\s+{_year('year2')})?)"
)
_COUNT = r"(?P<count>\d{1,3}|" + "|".join(NUMBERS) + ")"
_UNIT = r"(?P<unit>days?|weeks?|months?)"


@dataclass(frozen=True)
class Timeframe:
    """From `start` to `end` (inclusive); None is open. `named`: a named month, day or year, when something
    happened (answers prefer its coverage); otherwise when the articles were published (answers filter)."""

    start: date | None
    end: date | None
    named: bool = False

    def filters(self) -> Filters:
        return Filters(published_from=self.start, published_to=self.end)

    def describe(self) -> str:
        if self.start and self.start == self.end:
            return f"on {day_text(self.start)}"
        if self.start and self.end:
            return f"between {day_text(self.start)} and {day_text(self.end)}"
        if self.start:
            return f"since {day_text(self.start)}"
        return f"until {day_text(self.end)}" if self.end else "at any time"


SINCE = re.compile(r"\bsince\s+$", re.IGNORECASE)
Resolver = Callable[[re.Match[str], date], Timeframe | None]  # None: the words name no period after all


def day_text(day: date) -> str:
    return day.strftime("%-d %b %Y")


def parse(text: str, today: date) -> tuple[Timeframe | None, str]:
    """The first time expression in `text` as a Timeframe, and the text without it."""
    found = [(match, resolve) for pattern, resolve in PATTERNS if (match := pattern.search(text))]
    if not found:
        return None, text
    match, resolve = min(found, key=lambda item: (item[0].start(), -len(item[0].group())))
    timeframe, start = resolve(match, today), match.start()
    if timeframe is None:
        return None, text
    since = SINCE.search(text[:start])
    if since and timeframe.start:  # "since yesterday", "since last week": open-ended
        timeframe, start = Timeframe(timeframe.start, None), since.start()
    return timeframe, _tidy(text[:start] + " " + text[match.end() :])


ON_WEEKDAY = re.compile(
    r"\bon\s+(?:last\s+)?(?P<weekday>monday|tuesday|wednesday|thursday|friday|saturday|sunday)\b", re.I
)


def on_weekday(text: str, today: date) -> tuple[Timeframe | None, str]:
    """ "On Wednesday" as the latest Wednesday up to today, and the text without it: for questions about what was
    published then (`parse` leaves weekdays alone: in a question about a fact they repeat the day it reports)."""
    match = ON_WEEKDAY.search(text)
    if not match:
        return None, text
    day = today - timedelta(days=(today.weekday() - WEEKDAYS[match.group("weekday").lower()]) % 7)
    return Timeframe(day, day), _tidy(text[: match.start()] + " " + text[match.end() :])


def parse_period(text: str, today: date) -> Timeframe | None:
    """`text` as a whole read as a time expression ("yesterday", "this week", "2024-10-01", "monday",
    "since 3 October"); None when it is not one."""
    for candidate in (text, f"since {text}"):
        timeframe, rest = parse(candidate, today)
        if timeframe is not None and not rest.strip(" ,.?!"):
            return timeframe
    return None


def _tidy(text: str) -> str:
    text = re.sub(r"\s+([,.;:!?])", r"\1", " ".join(text.split()))
    return re.sub(r"^[,;:]\s*|\s*[,;:]$", "", text).strip()


# -- resolvers ------------------------------------------------------------------------------------


def _today(_: re.Match[str], today: date) -> Timeframe:
    return Timeframe(today, today)


def _yesterday(_: re.Match[str], today: date) -> Timeframe:
    return Timeframe(today - timedelta(days=1), today - timedelta(days=1))


def _calendar_period(match: re.Match[str], today: date) -> Timeframe:
    unit, previous = match.group("period").lower(), match.group("which").lower() == "last"
    if unit == "week":
        if not previous:  # news "this week" on a Thursday includes the weekend's stories: the last seven days
            return Timeframe(today - timedelta(days=6), today)
        monday = today - timedelta(days=today.weekday())
        return Timeframe(monday - timedelta(days=7), monday - timedelta(days=1))
    if unit == "month":
        first = today.replace(day=1)
        if previous:
            last = first - timedelta(days=1)
            return Timeframe(last.replace(day=1), last)
        return Timeframe(first, today)
    if previous:
        return Timeframe(date(today.year - 1, 1, 1), date(today.year - 1, 12, 31))
    return Timeframe(date(today.year, 1, 1), today)


def _recent(match: re.Match[str], today: date) -> Timeframe:
    count = (match.group("count") or "one").lower()
    number = NUMBERS[count] if count in NUMBERS else int(count)
    unit = match.group("unit").lower().rstrip("s")
    days = number * {"day": 1, "week": 7, "month": 30}[unit]
    return Timeframe(today - timedelta(days=days), today)


def _since_weekday(match: re.Match[str], today: date) -> Timeframe:
    return Timeframe(_latest_weekday(match, today), None)


def _last_weekday(match: re.Match[str], today: date) -> Timeframe:
    day = _latest_weekday(match, today)
    return Timeframe(day, day)


def _latest_weekday(match: re.Match[str], today: date) -> date:
    back = (today.weekday() - WEEKDAYS[match.group("weekday").lower()]) % 7 or 7
    return today - timedelta(days=back)


def _since_date(match: re.Match[str], today: date) -> Timeframe | None:
    day = _date(match, today)
    return Timeframe(day, None) if day else None


def _on_date(match: re.Match[str], today: date) -> Timeframe | None:
    day = _date(match, today)
    return Timeframe(day, day, named=True) if day else None


def _since_month(match: re.Match[str], today: date) -> Timeframe:
    first, _ = _month_range(match, today)
    return Timeframe(first, None)


def _in_month(match: re.Match[str], today: date) -> Timeframe:
    return Timeframe(*_month_range(match, today), named=True)


def _year_named(match: re.Match[str], _: date) -> Timeframe:
    year = int(match.group("year"))
    return Timeframe(date(year, 1, 1), date(year, 12, 31), named=True)


def _date(match: re.Match[str], today: date) -> date | None:
    """The date a match names; without a year, the latest such date up to today. None if it is no date."""
    groups = {name: value for name, value in match.groupdict().items() if value}
    try:
        if "iso" in groups:
            return date.fromisoformat(groups["iso"])
        month = MONTHS[(groups.get("month") or groups["month2"]).lower()]
        day = int(groups.get("day") or groups["day2"])
        year = groups.get("year") or groups.get("year2")
        if year:
            return date(int(year), month, day)
        latest = date(today.year, month, day)
        return latest if latest <= today else date(today.year - 1, month, day)
    except ValueError:
        return None


def _month_range(match: re.Match[str], today: date) -> tuple[date, date]:
    month = MONTHS[match.group("month").lower()]
    year = int(match.group("year")) if match.group("year") else today.year - (month > today.month)
    return date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1])


def _compile(pattern: str) -> re.Pattern[str]:
    return re.compile(rf"\b{pattern}\b", re.IGNORECASE)


PATTERNS: list[tuple[re.Pattern[str], Resolver]] = [
    (_compile(r"(?:so far\s+)?today"), _today),
    (_compile(r"yesterday"), _yesterday),
    (_compile(r"(?:(?:in|during|over)\s+)?(?P<which>this|last)\s+(?P<period>week|month|year)"), _calendar_period),
    (_compile(rf"(?:(?:in|during|over|within)\s+)?the\s+(?:past|last)\s+(?:{_COUNT}\s+)?{_UNIT}"), _recent),
    (_compile(rf"(?:past|last)\s+{_COUNT}\s+{_UNIT}"), _recent),
    (_compile(rf"since\s+(?:last\s+)?{_WEEKDAY}"), _since_weekday),
    (_compile(rf"last\s+{_WEEKDAY}"), _last_weekday),
    (_compile(rf"since\s+(?:the\s+)?{_DATE}"), _since_date),
    (_compile(rf"since\s+{_month()}(?:\s+{_year()})?"), _since_month),
    (_compile(rf"on\s+(?:the\s+)?{_DATE}"), _on_date),
    (_compile(rf"(?:in|during)\s+{_month()}(?:\s+{_year()})?"), _in_month),
    (_compile(rf"{_month()}\s+{_year()}"), _in_month),
    (re.compile(rf"(?<![$£€\d.,-])\b(?:(?:in|during)\s+)?{_year()}\b(?![-%.,/]\d|%)", re.IGNORECASE), _year_named),
]
