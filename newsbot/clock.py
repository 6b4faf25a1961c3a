"""`--now DATE`: the moment the bot believes it is, for one command. Time words in questions resolve against it and
articles published after it don't exist. A command-line option only, never a setting, so that no running bot is
frozen by a stale value."""

from __future__ import annotations

import argparse
from datetime import date, datetime, tzinfo

from common.clock import end_of
from common.errors import NewsbotError

EXAMPLE = "use YYYY-MM-DD (2024-11-13) or a date and time (2024-11-13T09:30)"


def clock_options() -> argparse.ArgumentParser:
    """The `--now` option, for the commands that answer or search."""
    options = argparse.ArgumentParser(add_help=False)
    options.add_argument(
        "--now",
        metavar="DATE",
        help="answer as if it were then: time words count from it, later articles don't exist (YYYY-MM-DD)",
    )
    return options


def parse_now(text: str, zone: tzinfo, name: str = "--now") -> datetime:
    """A date (the end of that day in `zone`: everything published that day exists) or an ISO date and time
    (in `zone` unless it names its offset); NewsbotError naming `name` when it is neither."""
    value = text.strip()
    try:
        if len(value) == len("YYYY-MM-DD"):
            return end_of(date.fromisoformat(value), zone)
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise NewsbotError(f"{name} '{text}' is not a date; {EXAMPLE}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=zone)


def stopped_at(moment: datetime):
    """A clock that always says `moment`."""
    return lambda: moment


def clock_of(args: argparse.Namespace, zone: tzinfo):
    """The clock `--now` sets (None without it: the system clock)."""
    return stopped_at(parse_now(args.now, zone)) if getattr(args, "now", None) is not None else None
