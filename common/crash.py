"""Named points where a test may have this process killed (`NEWSBOT_CRASH_AT=name`: SIGKILL there), to show that a
crash at that moment leaves the index as it was before or after. Unset, a crash point does nothing."""

from __future__ import annotations

import os
import signal

VARIABLE = "NEWSBOT_CRASH_AT"


def crash_point(name: str) -> None:
    if os.environ.get(VARIABLE) == name:
        os.kill(os.getpid(), signal.SIGKILL)
