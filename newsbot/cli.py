"""The `newsbot` command: each subcommand mirrors a Python API call."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import traceback
from collections.abc import Callable
from importlib import metadata
from pathlib import Path

from pydantic import ValidationError

from common.errors import NewsbotError
from wiring.settings import Settings

Command = Callable[[argparse.Namespace, Settings], int]
# Exit codes, for scripts and service managers (deploy/newsbot.service restarts the bot after a defect, not after
# an error a person must fix first):
ERROR = 1  # an error a person must act on; its one line says what to do
USAGE = 2  # the command line or a setting is wrong
DEFECT = 70  # a defect in newsbot (EX_SOFTWARE): its traceback
INTERRUPTED = 130


def main(argv: list[str] | None = None) -> int:
    # The command modules import libraries that start threads at once (numpy's BLAS pool): they start with
    # SIGINT blocked, so that Ctrl-C reaches the main thread, the one Python acts on it in (newsbot/terminal.py).
    blocked = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        parser = build_parser()
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
    args = parser.parse_args(argv)
    if not hasattr(args, "handler"):
        parser.print_help()
        return USAGE
    try:
        settings = Settings()
    except ValidationError as error:
        for problem in error.errors():
            name = str(problem["loc"][0]).upper() if problem["loc"] else "settings"
            reason = problem["msg"].removeprefix("Value error, ")
            print(f"error: setting {name}: {reason} (check .env or the environment)", file=sys.stderr)
        return USAGE
    if getattr(args, "index_dir", None):
        settings = settings.model_copy(update={"index_dir": Path(args.index_dir)})
    try:
        return args.handler(args, settings)
    except NewsbotError as error:
        print(f"error: {error}", file=sys.stderr)
        return ERROR
    except KeyboardInterrupt:
        print("interrupted; the index and the bot state are as they were after their last completed step", file=sys.stderr)
        return INTERRUPTED
    except BrokenPipeError:  # `newsbot index list | head`: the reader has all it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception:  # anything else is a defect: its traceback, and an exit code of its own
        traceback.print_exc()
        return DEFECT


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="newsbot", description="Answers questions about news articles, with sources.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {version()}")
    commands = parser.add_subparsers(title="commands")
    from newsbot import (
        answer_commands,
        brief_commands,
        eval_commands,
        feed_commands,
        history_commands,
        index_commands,
        model_commands,
    )

    common = common_options()
    index_commands.register(commands, common)
    answer_commands.register(commands, common)
    eval_commands.register(commands, common)
    brief_commands.register(commands, common)
    feed_commands.register(commands, common)
    model_commands.register(commands, common)
    history_commands.register(commands, common)
    return parser


def version() -> str:
    try:
        return metadata.version("newsbot")
    except metadata.PackageNotFoundError:  # run from a checkout that was never installed
        return "unknown (not installed)"


def common_options() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--index-dir", help="index directory (setting INDEX_DIR, default data/index)")
    common.add_argument("--json", action="store_true", help="print JSON instead of text")
    return common


if __name__ == "__main__":
    sys.exit(main())
