"""`newsbot brief`: a digest of the newest stories, or of those on a topic."""

from __future__ import annotations

import argparse

from answers.timeframes import day_text, parse_period
from answers.types import Answer
from briefings.types import Briefing
from common.errors import NewsbotError
from newsbot.clock import clock_of, clock_options
from newsbot.console import render_answer
from newsbot.output import print_json
from wiring.parts import Wiring
from wiring.settings import Settings


def register(commands, common: argparse.ArgumentParser) -> None:
    brief = commands.add_parser(
        "brief", parents=[common, clock_options()], help="a cited digest of the newest stories (or a topic's)"
    )
    brief.add_argument("--topic", default="", help="only stories about this")
    brief.add_argument("--since", help="only articles published since: 2024-10-01, monday, yesterday, 'this week', ...")
    brief.set_defaults(handler=brief_command)


def brief_command(args: argparse.Namespace, settings: Settings) -> int:
    wiring = Wiring(settings, clock=clock_of(args, settings.zone))
    service = wiring.answers
    timeframe = None
    if args.since:
        timeframe = parse_period(args.since, service.today())
        if timeframe is None:
            raise NewsbotError(
                f"--since '{args.since}' is not a date or time; use e.g. 2024-10-01, 3 October, monday, yesterday "
                "or 'this week'"
            )
    until = service.today() if service.cutoff else None
    briefing = wiring.briefer.brief(args.topic.strip(), timeframe, until=until)
    if args.json:
        print_json(briefing.as_json())
    else:
        print(render_briefing(briefing, day_text(service.today())))
    return 0


def render_briefing(briefing: Briefing, day: str) -> str:
    subject = briefing.subject()
    if not briefing.items:
        return f"No articles {subject}." if subject else "No articles are indexed yet."
    blocks = [f"Briefing {subject} — {day}" if subject else f"Briefing — {day}"]
    for item in briefing.items:
        blocks.append(f"■ {item.headline}\n" + render_answer(Answer(item.headline, item.text, False, item.citations)))
    return "\n\n".join(blocks)
