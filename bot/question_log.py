"""One structured log line per question answered (JSON), for operators: where it was asked, who answered,
how fast, whether it abstained and how many sources it cited, why the fallback answered when it did; the question
itself only with LOG_QUESTIONS."""

from __future__ import annotations

import json
import logging

from answers.types import Answer

log = logging.getLogger("newsbot.questions")


def log_question(chat_type: str, answer: Answer, with_text: bool) -> None:
    record = {
        "event": "question",
        "chat_type": chat_type,
        "answerer": answer.answerer,
        "latency_ms": answer.latency_ms,
        "abstained": answer.abstained,
        "citations": len(answer.citations),
    }
    if answer.fallback:  # why the fallback answered: deadline, unavailable, error or ungrounded
        record["fallback"] = answer.fallback
    if with_text:
        record["question"] = answer.question
    log.info(json.dumps(record, ensure_ascii=False))
