"""An outlet a question names ("according to Westmark Today", "what did the Calder Courier report?", "news from
Continental Markets"): the answer is kept to that outlet's articles, and the name is taken out of the question."""

from __future__ import annotations

import re
from collections.abc import Iterable

MIN_NAME = 4  # shorter outlet names ("AP") are too easily a word of the question
FRAME = re.compile(r"(?:according\s+to|reported\s+by|from|by|in)\s+$", re.IGNORECASE)
ASKED_OF = re.compile(r"\b(?:did|does|do|has|have|had)\s+$|^\W*$", re.IGNORECASE)


def named_outlet(question: str, outlets: Iterable[str]) -> tuple[str | None, str]:
    """(the outlet, the question without its name) when the question names one of `outlets` as a source — after
    "according to", "from", "by", or as who did something ("what did the X report?") — else (None, question)."""
    for outlet in sorted(outlets, key=len, reverse=True):
        bare = re.sub(r"^the\s+", "", outlet.strip(), flags=re.IGNORECASE)
        if len(bare) < MIN_NAME:
            continue
        for match in re.finditer(rf"(?<!\w)(?:the\s+)?{re.escape(bare)}(?!\w)", question, re.IGNORECASE):
            before = question[: match.start()]
            frame = FRAME.search(before)
            if frame or ASKED_OF.search(before):
                start = frame.start() if frame else match.start()
                rest = f"{question[:start]} {question[match.end() :]}"
                return outlet, re.sub(r"\s+([?.!,])", r"\1", " ".join(rest.split()))
    return None, question
