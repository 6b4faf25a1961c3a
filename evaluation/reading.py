"""The reading set (evaluation/data/reading): questions written before the answerer was tuned on them, asked of
the answering core over its own articles plus the sample article; `newsbot eval` reports it as "reading"."""

from __future__ import annotations

import json
import re
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from answers.core import AnswerService
from answers.types import Answer, Turn
from evaluation.abstention import Labelled, features
from evaluation.metrics import answering, normalize
from evaluation.sample import SAMPLE_ARTICLES
from wiring.parts import Wiring
from wiring.settings import Settings

READING = Path(__file__).resolve().parent / "data" / "reading"
ASKED_ON = datetime(2024, 12, 12, 9, 0, tzinfo=UTC)  # the day after the newest article: "in October" means 2024
NOTE = re.compile(r"\n\nNote: .*\Z", re.DOTALL)  # the freshness note, whose dates and ages are not the answer
THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}\b)")  # 1,100 and 1100 are one number
SPLITS = ("tune", "held_out")


def questions() -> list[dict[str, Any]]:
    lines = (READING / "questions.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def reading_report(
    settings: Settings, progress: Callable[[str], None] = lambda message: None, labelled: list[Labelled] | None = None
) -> dict[str, Any]:
    """Right/total per split and category, abstention precision and recall, and the questions answered wrong.
    With a `labelled` list, the abstention signals of the `tune` half's questions are added to it (to calibrate
    abstention on)."""
    cases = questions()
    with tempfile.TemporaryDirectory() as scratch:
        scoped = settings.model_copy(
            update={
                "index_dir": Path(scratch) / "index",
                "bot_state_path": Path(scratch) / "bot.sqlite",
                "database_url": None,
            }
        )
        progress("reading: indexing its articles and the sample article")
        with Wiring(scoped, creates_index=True, clock=lambda: ASKED_ON) as wiring:
            wiring.indexer.add(wiring.read_sources([str(READING / "articles.jsonl"), str(SAMPLE_ARTICLES)]))
            service = wiring.answers
            progress(f"reading: {len(cases)} questions")
            answers = ask_all(service, cases)
            if labelled is not None:
                labelled += tune_signals(service, cases, answers)
    rows = [(case, answers[case["id"]], is_right(case, answers[case["id"]])) for case in cases]
    return {
        "answerer": service.answerer.name,
        "asked_on": ASKED_ON.date().isoformat(),
        **answering(service, list(answers.values())),
        **{split: summary([row for row in rows if row[0]["split"] == split]) for split in SPLITS},
        "wrong": [
            {
                "id": case["id"],
                "split": case["split"],
                "category": case["category"],
                "question": case["question"],
                "answer": answer.text,
            }
            for case, answer, right in rows
            if not right
        ],
    }


def ask_all(service: AnswerService, cases: list[dict[str, Any]]) -> dict[str, Answer]:
    """Every answer by question id, in file order; a question with `after` follows that earlier exchange."""
    answers: dict[str, Answer] = {}
    asked = {case["id"]: case["question"] for case in cases}
    for case in cases:
        earlier = case["after"]
        history = [Turn(asked[earlier], answers[earlier].text)] if earlier else []
        answers[case["id"]] = service.answer(case["question"], history)
    return answers


def tune_signals(service: AnswerService, cases: list[dict[str, Any]], answers: dict[str, Answer]) -> list[Labelled]:
    """The abstention signals of the `tune` half's questions (asked as in `ask_all`)."""
    asked = {case["id"]: case["question"] for case in cases}
    return [
        features(
            service,
            case["question"],
            case["expect"] is not None,
            [Turn(asked[case["after"]], answers[case["after"]].text)] if case["after"] else [],
        )
        for case in cases
        if case["split"] == "tune"
    ]


def is_right(case: dict[str, Any], answer: Answer) -> bool:
    """Unanswerable: abstained. Answerable: an expected string in the answer, quoted from a passage holding the
    cited text; for two-part questions, both parts."""
    if case["expect"] is None:
        return answer.abstained
    parts = [case, case["and"]] if case.get("and") else [case]
    return not answer.abstained and all(_part_found(part, answer) for part in parts)


def _part_found(part: dict[str, Any], answer: Answer) -> bool:
    text = f" {_comparable(NOTE.sub('', answer.text))} "
    said = any(f" {_comparable(expected)} " in text for expected in part["expect"])
    return said and any(part["cite"] in citation.passage for citation in answer.citations)


def _comparable(text: str) -> str:
    """Lower case, punctuation as spaces, thousands separators dropped."""
    return normalize(THOUSANDS.sub("", text))


def summary(rows: list[tuple[dict[str, Any], Answer, bool]]) -> dict[str, Any]:
    categories: dict[str, list[bool]] = {}
    for case, _, right in rows:
        categories.setdefault(case["category"], []).append(right)
    unanswerable = [not case["expect"] for case, _, _ in rows]
    abstained = [answer.abstained for _, answer, _ in rows]
    both = sum(a and u for a, u in zip(abstained, unanswerable, strict=True))
    return {
        "right": f"{sum(right for _, _, right in rows)}/{len(rows)}",
        "categories": {name: f"{sum(marks)}/{len(marks)}" for name, marks in categories.items()},
        "abstention": {
            "precision": round(both / sum(abstained), 3) if any(abstained) else 1.0,
            "recall": round(both / sum(unanswerable), 3) if any(unanswerable) else 1.0,
            "abstained": sum(abstained),
            "unanswerable": sum(unanswerable),
        },
    }


def render(report: dict[str, Any]) -> str:
    lines = [
        f"reading set, {report['answerer']} answerer, asked on {report['asked_on']}: answers in "
        f"{report['latency_ms_p50']:.0f} ms (p50), {report['latency_ms_p95']:.0f} ms (p95)"
    ]
    if "fallback_rate" in report:
        why = ", ".join(f"{reason} {count}" for reason, count in report["fallbacks"].items())
        lines.append(f"fallback_rate {report['fallback_rate']} (the extractive answer instead of the LLM's: {why or 'none'})")
    for split in SPLITS:
        part = report[split]
        abstention = part["abstention"]
        lines.append(
            f"\n{split}: {part['right']} right; abstention precision {abstention['precision']}, "
            f"recall {abstention['recall']} ({abstention['abstained']} abstained, {abstention['unanswerable']} unanswerable)"
        )
        lines += [f"  {name:<24} {score}" for name, score in part["categories"].items()]
    lines.append(f"\nwrong ({len(report['wrong'])}):")
    for row in report["wrong"]:
        answer = " ".join(row["answer"].split())
        lines.append(f"  [{row['split']}] {row['id']} ({row['category']}) {row['question']}\n      -> {answer}")
    return "\n".join(lines)
