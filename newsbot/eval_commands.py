"""`newsbot eval`: quality figures on RealTime QA and the sample article."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from index.sqlite.store import index_exists
from newsbot import realtimeqa
from newsbot.clock import clock_options, parse_now
from newsbot.output import print_json
from newsbot.settings import Settings
from newsbot.wiring import Wiring

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
    from newsbot.evaluation import evaluate

    if not args.index_dir:
        settings = settings.model_copy(update={"index_dir": DEFAULT_INDEX})
    now = parse_now(args.now, settings.zone) if args.now is not None else None  # one more retrieval row
    if args.eval_dir:
        settings = settings.model_copy(update={"eval_dir": Path(args.eval_dir)})
    if not index_exists(settings.index_dir):
        _build_realtimeqa_index(settings)
    report = evaluate(
        settings,
        Path(args.naive_dir),
        progress=lambda message: print(f"eval: {message}", file=sys.stderr),
        now=now,
        retrieval=not args.answers_only,
    )
    if args.json:
        print_json(report)
    else:
        print(json.dumps(report, indent=2, ensure_ascii=False))
    return 0


def _build_realtimeqa_index(settings: Settings) -> None:
    import tempfile

    print(f"eval: indexing the RealTime QA corpus into {settings.index_dir} (once; about 15 minutes)", file=sys.stderr)
    with tempfile.TemporaryDirectory() as scratch:
        corpus = Path(scratch) / "realtimeqa.jsonl"
        corpus.write_text("".join(json.dumps(record) + "\n" for record in realtimeqa.corpus(settings.eval_dir)))
        wiring = Wiring(settings, creates_index=True)
        report = wiring.indexer.add(wiring.read_sources([str(corpus)]))
        print(f"eval: {report.summary()}", file=sys.stderr)
