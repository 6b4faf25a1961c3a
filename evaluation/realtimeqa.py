"""The RealTime QA evaluation data, read from EVAL_DIR exactly as its README's protocol says."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from common.errors import NewsbotError
from index.dates import normalize_published
from index.types import Filters

DATASET = Path("realtimeqa") / "past_2022"
RECENT_DAYS = 14


@dataclass(frozen=True)
class Question:
    id: str
    date: str
    sentence: str
    choices: list[str]
    answer: str
    gold_urls: frozenset[str]


def asked_on(question: Question) -> date:
    return date(*map(int, question.date.split("/")))


def as_of(question: Question) -> Filters:
    """The articles of the RECENT_DAYS before the question's date: a filter the bot never applies (it keeps every
    article it indexed), kept for comparison with earlier figures."""
    asked = asked_on(question)
    return Filters(published_from=asked - timedelta(days=RECENT_DAYS), published_to=asked)


def protocol_url(url: str) -> str:
    """A URL as RealTime QA's protocol compares them: host without `www.`/`edition.` and path without its
    trailing slash; scheme, query and fragment dropped. Evaluation only: article identity is
    index.articles.url_identity, which keeps the query string."""
    parts = urlsplit(url.strip())
    host = parts.netloc.lower()
    for prefix in ("www.", "edition."):
        host = host.removeprefix(prefix)
    return f"{host}{parts.path.rstrip('/')}"


def dataset_dir(eval_dir: Path, questions: bool = True) -> Path:
    """The RealTime QA folder under `eval_dir`, holding its articles (gold/; gcs/ adds more) and, with
    `questions`, its questions (qa/); NewsbotError saying where the data is expected and how to get it when it
    is not there."""
    directory = eval_dir / DATASET
    needed = ["gold/*_gold.jsonl"] + (["qa/*_qa.jsonl"] if questions else [])
    missing = [pattern for pattern in needed if next(directory.glob(pattern), None) is None]
    if missing:
        raise NewsbotError(
            f"RealTime QA data not found at {directory} (no {' or '.join(missing)}); put RealTime QA's past_2022 "
            "data (github.com/realtimeqa/realtimeqa_public) there, or set EVAL_DIR to the folder holding "
            "realtimeqa/past_2022"
        )
    return directory


def _records(directory: Path, pattern: str) -> Iterator[dict[str, Any]]:
    for path in sorted(directory.glob(pattern)):
        with path.open(encoding="utf-8") as handle:
            for line in handle:
                if line.strip():
                    yield json.loads(line)


def corpus(eval_dir: Path) -> list[dict[str, Any]]:
    """Every article text in gold/ and gcs/, one per normalised URL (the longest text, any title)."""
    directory = dataset_dir(eval_dir, questions=False)
    by_url: dict[str, dict[str, Any]] = {}
    for pattern in ("gold/*_gold.jsonl", "gcs/*_gcs.jsonl"):
        for question in _records(directory, pattern):
            for result in question.get("search_result") or []:
                _merge(by_url, result)
    return [record for record in by_url.values() if record["text"]]


def _merge(by_url: dict[str, dict[str, Any]], result: dict[str, Any]) -> None:
    url, text = result.get("url"), (result.get("text") or "").strip()
    if not url:
        return
    key = protocol_url(url)
    known = by_url.setdefault(
        key, {"url": url, "title": "", "text": "", "published": None, "source": urlsplit(url).hostname or ""}
    )
    if len(text) > len(known["text"]):
        known["text"] = text
    known["title"] = known["title"] or (result.get("title") or "").strip()
    known["published"] = known["published"] or normalize_published(result.get("publish_date"))


def questions(eval_dir: Path) -> list[Question]:
    """The questions of qa/ whose gold list has at least one article with text."""
    directory = dataset_dir(eval_dir)
    gold = {
        record["question_id"]: frozenset(
            protocol_url(r["url"])
            for r in record.get("search_result") or []
            if r.get("url") and (r.get("text") or "").strip()
        )
        for record in _records(directory, "gold/*_gold.jsonl")
    }
    return [
        Question(
            id=record["question_id"],
            date=record["question_date"],
            sentence=record["question_sentence"],
            choices=record["choices"],
            answer=record["choices"][int(record["answer"][0])],
            gold_urls=gold[record["question_id"]],
        )
        for record in _records(directory, "qa/*_qa.jsonl")
        if gold.get(record["question_id"])
    ]
