"""Questions as `newsbot ask` and `newsbot index search` read them: one argument, or with `-` one per line from
stdin, each line plain text or a JSON object {"question": "...", "now": "YYYY-MM-DD"} (its own clock)."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Iterator
from datetime import datetime, tzinfo
from typing import TYPE_CHECKING

from common.errors import NewsbotError
from newsbot.clock import parse_now

if TYPE_CHECKING:
    from answers.core import AnswerService

EXAMPLE = '{"question": "Who won?", "now": "2024-11-13"}'
STDIN_HELP = f"one per line, plain or as JSON like {EXAMPLE} (its own --now)"


class QuestionsInput:
    """The questions of one command, each with the service that answers it at its clock. A line that is not a
    question gets one line on stderr naming it, the lines after it are still read, and `failed` is set."""

    def __init__(self, argument: str, zone: tzinfo, lines: Iterable[str] | None = None, empty: bool = False):
        self.argument = argument
        self.empty = empty  # an empty argument is a question too (`ask ""` gets the usage line)
        self.zone = zone
        self.lines = lines
        self.failed = False

    def asked_of(self, service: AnswerService) -> Iterator[tuple[str, AnswerService]]:
        for question, now in self._questions():
            yield question, service.at(now) if now else service

    def _questions(self) -> Iterator[tuple[str, datetime | None]]:
        if self.argument != "-":
            if self.argument.strip() or self.empty:
                yield self.argument.strip(), None
            return
        for number, line in enumerate(sys.stdin if self.lines is None else self.lines, start=1):
            text = line.strip()
            if not text:
                continue
            try:
                yield parse_line(text, self.zone) if text.startswith("{") else (text, None)
            except NewsbotError as error:
                print(f"error: line {number}: {error}", file=sys.stderr)
                self.failed = True


def parse_line(text: str, zone: tzinfo) -> tuple[str, datetime | None]:
    """A JSON line's question and its clock (None: the command's)."""
    try:
        record = json.loads(text)
    except ValueError as error:  # a JSONDecodeError, or a number too long to convert to an int
        reason = error.msg if isinstance(error, json.JSONDecodeError) else str(error)
        raise NewsbotError(f"not valid JSON ({reason}); give a question, or {EXAMPLE}") from None
    if not isinstance(record, dict) or not isinstance(record.get("question"), str) or not record["question"].strip():
        raise NewsbotError(f'a JSON line needs a "question" string; {EXAMPLE}')
    now = record.get("now")
    if now is not None and not isinstance(now, str):
        raise NewsbotError(f'"now" must be a string like "2024-11-13"; {EXAMPLE}')
    return record["question"].strip(), parse_now(now, zone, '"now"') if now else None
