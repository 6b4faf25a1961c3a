"""`python -m newsbot.reading_eval [--json]`: the reading set's report (evaluation/reading.py), also the
`reading` section of `newsbot eval`."""

from __future__ import annotations

import argparse
import sys

from evaluation.reading import reading_report, render
from newsbot.output import print_json
from wiring.settings import Settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m newsbot.reading_eval", description=__doc__)
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")
    args = parser.parse_args(argv)
    report = reading_report(Settings(), progress=lambda message: print(message, file=sys.stderr))
    if args.json:
        print_json(report)
    else:
        print(render(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
