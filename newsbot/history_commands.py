"""`newsbot feedback` (the 👍 / 👎 readers gave, with the question, answer and citations) and `newsbot purge`
(what the bot's daily job does: delete questions, answers and feedback older than HISTORY_DAYS)."""

from __future__ import annotations

import argparse
from datetime import timedelta

from newsbot.output import print_json
from wiring.parts import Wiring
from wiring.settings import Settings, checked_days

VOTES = {"up": "👍", "down": "👎"}


def register(commands, common: argparse.ArgumentParser) -> None:
    feedback = commands.add_parser(
        "feedback", parents=[common], help="export readers' 👍/👎 with the question, answer and citations"
    )
    feedback.set_defaults(handler=feedback_command)
    purge = commands.add_parser(
        "purge", parents=[common], help="delete questions, answers and feedback older than HISTORY_DAYS"
    )
    purge.add_argument("--days", type=int, help="keep this many days instead of HISTORY_DAYS")
    purge.set_defaults(handler=purge_command)


def feedback_command(args: argparse.Namespace, settings: Settings) -> int:
    votes = Wiring(settings).conversations.feedback()
    if args.json:
        print_json(votes)
        return 0
    for vote in votes:
        print(f"{VOTES.get(vote['vote'], vote['vote'])} {vote['at']}  chat {vote['chat_id']}  user {vote['user_id']}")
        print(f"  Q: {vote['question']}")
        print(f"  A: {vote['answer']}")
        for citation in vote["citations"]:
            print(f"  [{citation['n']}] {citation['title']} — {citation['source']} {citation['url'] or ''}".rstrip())
        print()
    if not votes:
        print("no feedback yet")
    return 0


def purge_command(args: argparse.Namespace, settings: Settings) -> int:
    days = settings.history_days if args.days is None else checked_days(args.days, "--days")
    wiring = Wiring(settings)
    deleted = wiring.conversations.purge(wiring.clock() - timedelta(days=days))
    if args.json:
        print_json({"days": days, **deleted})
    else:
        print(
            f"deleted what is older than {days} days: {deleted['turns']} conversation turns, {deleted['answers']} "
            f"answers, {deleted['feedback']} feedback votes"
        )
    return 0
