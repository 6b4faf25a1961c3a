"""Moments: now in UTC, the last moment of a day, and time zones by name."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


def utc_now() -> datetime:
    return datetime.now(UTC)


def end_of(day: date, zone: tzinfo) -> datetime:
    """The last moment of `day` in `zone`: everything published that day exists."""
    return datetime.combine(day, time.max, zone)


def time_zone(name: str) -> ZoneInfo:
    """The IANA time zone `name`; ValueError saying so when it is none: unknown, a folder of the zone database
    (`Europe`, `Etc`), a name too long for a file name, a path."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # IsADirectoryError, "File name too long"
        shown = name if len(name) <= 40 else name[:39] + "…"
        raise ValueError(f"'{shown}' is not a time zone; use an IANA name such as UTC or Europe/Berlin") from None
