"""What the bench scripts share: an error a person can act on (the evaluation data missing, the bench extra not
installed, a busy index) is one line and exit code 1, never a traceback."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from common.errors import NewsbotError  # noqa: E402


def run_script(main: Callable[[], None]) -> None:
    try:
        main()
    except NewsbotError as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(1)
