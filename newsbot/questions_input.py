"""Questions as `newsbot ask` and `newsbot index search` read them: one argument, or with `-` one per line from
stdin, each line plain text or a JSON object {"question": "...", "now": "YYYY-MM-DD"} (its own clock)."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, tzinfo

from newsbot.clock import parse_now
from newsbot.errors import NewsbotError

EXAMPLE = '{"question": "Who won?", "now": "2024-11-13"}'
STDIN_HELP = f"one per line, plain or as JSON like {EXAMPLE} (its own --now)"


@dataclass(frozen=True)
class Asked:
    question: str
    now: datetime | None  # None: the command's clock


def read_questions(argument: str, lines: Iterable[str], zone: tzinfo) -> Iterator[Asked | NewsbotError]:
    """The questions to answer, in order; a line that is not a question becomes a NewsbotError naming it, and
    the lines after it are still read."""
    if argument != "-":
        if argument.strip():
            yield Asked(argument.strip(), None)
        return
    for number, line in enumerate(lines, start=1):
        text = line.strip()
        if not text:
            continue
        try:
            yield parse_line(text, zone) if text.startswith("{") else Asked(text, None)
        except NewsbotError as error:
            yield NewsbotError(f"line {number}: {error}")


def parse_line(text: str, zone: tzinfo) -> Asked:
    try:
        record = json.loads(text)
    except ValueError as error:
        raise NewsbotError(f"not valid JSON ({error.msg}); give a question, or {EXAMPLE}") from None
    if not isinstance(record, dict) or not isinstance(record.get("question"), str) or not record["question"].strip():
        raise NewsbotError(f'a JSON line needs a "question" string; {EXAMPLE}')
    now = record.get("now")
    if now is not None and not isinstance(now, str):
        raise NewsbotError(f'"now" must be a string like "2024-11-13"; {EXAMPLE}')
    return Asked(record["question"].strip(), parse_now(now, zone, '"now"') if now else None)


def report(error: NewsbotError) -> bool:
    """Prints the one-line message of a line that was not a question; True (something failed)."""
    print(f"error: {error}", file=sys.stderr)
    return True
