"""The sample article's questions (data/sample_questions.jsonl): answered with the expected text and a citation,
or abstained."""

from __future__ import annotations

import json
import tempfile
from importlib import resources
from pathlib import Path
from typing import Any

from evaluation.abstention import Labelled, features
from wiring.parts import Wiring
from wiring.settings import Settings

SAMPLE_ARTICLES = Path(__file__).resolve().parent.parent / "articles"


def sample_article_report(settings: Settings) -> tuple[dict[str, Any], list[Labelled]]:
    """Every question about the sample article: answered with the expected text and a citation, or abstained."""
    with tempfile.TemporaryDirectory() as scratch:
        sample = settings.model_copy(update={"index_dir": Path(scratch) / "index", "database_url": None})
        rows, labelled = [], []
        with Wiring(sample, creates_index=True) as wiring:
            wiring.indexer.add(wiring.read_sources([str(SAMPLE_ARTICLES)]))
            service = wiring.answers
            for case in _sample_questions():
                answer = service.answer(case["question"])
                expected = case["expect"]
                right = (
                    answer.abstained
                    if expected is None
                    else (not answer.abstained and bool(answer.citations) and any(e in answer.text for e in expected))
                )
                rows.append({"question": case["question"], "right": right, "answer": answer.text})
                labelled.append(features(service, case["question"], expected is not None))
    answerable = [r for r, c in zip(rows, _sample_questions(), strict=True) if c["expect"] is not None]
    unanswerable = [r for r, c in zip(rows, _sample_questions(), strict=True) if c["expect"] is None]
    return {
        "answerable_right": f"{sum(r['right'] for r in answerable)}/{len(answerable)}",
        "unanswerable_abstained": f"{sum(r['right'] for r in unanswerable)}/{len(unanswerable)}",
        "wrong": [r for r in rows if not r["right"]],
    }, labelled


def _sample_questions() -> list[dict[str, Any]]:
    text = resources.files(__package__).joinpath("data/sample_questions.jsonl").read_text()
    return [json.loads(line) for line in text.splitlines() if line.strip()]
