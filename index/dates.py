"""Published dates, normalised to ISO 8601."""

from __future__ import annotations

from datetime import date, datetime

from dateutil import parser as date_parser


def normalize_published(value: object) -> str | None:
    """An ISO date (or datetime when a time is given), or None when the value is not a date."""
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    try:
        parsed = date_parser.parse(str(value))
    except (ValueError, OverflowError):
        return None
    if parsed.time() == datetime.min.time() and parsed.tzinfo is None:
        return parsed.date().isoformat()
    return parsed.isoformat()
