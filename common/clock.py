"""Moments: now in UTC, and the last moment of a day."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, tzinfo


def utc_now() -> datetime:
    return datetime.now(UTC)


def end_of(day: date, zone: tzinfo) -> datetime:
    """The last moment of `day` in `zone`: everything published that day exists."""
    return datetime.combine(day, time.max, zone)
