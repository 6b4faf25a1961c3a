"""`newsbot eval`: quality figures on RealTime QA and the sample article."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from index.backends import index_exists
from newsbot.clock import clock_options, parse_now
from newsbot.output import print_json
from wiring.settings import Settings

DEFAULT_INDEX = Path("data/bench/newsbot-index")
DEFAULT_NAIVE = Path("data/bench/naive-index")


def register(commands, common: argparse.ArgumentParser) -> None:
    parser = commands.add_parser(
        "eval", parents=[common, clock_options()], help="measure retrieval, answers and abstention"
    )
    parser.add_argument("--eval-dir", help="folder holding realtimeqa/ (setting EVAL_DIR, default ../shared/eval)")
    parser.add_argument("--naive-dir", default=str(DEFAULT_NAIVE), help="the naive LangChain FAISS index to compare")
    parser.add_argument(
        "--answers-only",
        action="store_true",
        help="skip retrieval metrics and the naive pipeline: answers, abstention and the reading set (faster)",
    )
    parser.set_defaults(handler=eval_command)


def eval_command(args: argparse.Namespace, settings: Settings) -> int:
    from evaluation.realtimeqa import dataset_dir
    from evaluation.report import build_realtimeqa_index, evaluate

    def progress(message: str) -> None:
        print(f"eval: {message}", file=sys.stderr)

    if not args.index_dir:
        settings = settings.model_copy(update={"index_dir": DEFAULT_INDEX})
    now = parse_now(args.now, settings.zone) if args.now is not None else None  # one more retrieval row
    if args.eval_dir:
        settings = settings.model_copy(update={"eval_dir": Path(args.eval_dir)})
    dataset_dir(settings.eval_dir)  # the data first: one line saying where it is expected, before any work
    if not index_exists(settings.index_location):
        build_realtimeqa_index(settings, progress)
    report = evaluate(
        settings,
        Path(args.naive_dir),
        progress=progress,
        now=now,
        retrieval=not args.answers_only,
    )
    if args.json:
        print_json(report)
    else:
        print(json.dumps(report, indent=2, ensure_ascii=False))
    return 0
