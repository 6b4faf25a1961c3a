"""The reading set (evaluation/data/reading): questions written before the answerer was tuned on them, asked of
the answering core over its own articles, the sample article and the articles stored as files (files/, read by
`newsbot index add`'s readers); `newsbot eval` reports it as "reading"."""

from __future__ import annotations

import json
import re
import tempfile
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from answers.core import AnswerService
from answers.types import Answer, Turn
from common.clock import end_of
from evaluation.abstention import Labelled, features
from evaluation.metrics import answering, normalize
from evaluation.sample import SAMPLE_ARTICLES
from index.articles import url_identity
from index.store import Search
from wiring.parts import Wiring
from wiring.settings import Settings

READING = Path(__file__).resolve().parent / "data" / "reading"
FILES = READING / "files"  # articles as the files a user adds (issue 20)
ASKED_ON = datetime(2024, 12, 12, 9, 0, tzinfo=UTC)  # questions without `now`: the day after the newest 2024 article
# When the files are added: an article whose date is not read counts as published then.
INDEXED_AT = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
NOTE = re.compile(r"\n\nNote: .*\Z", re.DOTALL)  # the freshness note, whose dates and ages are not the answer
THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}\b)")  # 1,100 and 1100 are one number
USAGE_WORDS = re.compile(r"\b(?:ask|question)", re.IGNORECASE)
SPLITS = ("tune", "held_out")
GREETING_CHARS = 400


def questions() -> list[dict[str, Any]]:
    return _jsonl(READING / "questions.jsonl")


def manifest() -> list[dict[str, Any]]:
    """What a correct reader gets from each file of files/: its key, title, outlet, date and URL."""
    return _jsonl(READING / "manifest.jsonl")


def _jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def reading_report(
    settings: Settings, progress: Callable[[str], None] = lambda message: None, labelled: list[Labelled] | None = None
) -> dict[str, Any]:
    """Right/total per split and category, abstention precision and recall, the files that failed to index and
    the questions answered wrong. With a `labelled` list, the abstention signals of the `tune` half's questions
    that the abstention rule decides are added to it (to calibrate abstention on)."""
    cases = questions()
    with tempfile.TemporaryDirectory() as scratch:
        scoped = settings.model_copy(
            update={
                "index_dir": Path(scratch) / "index",
                "bot_state_path": Path(scratch) / "bot.sqlite",
                "database_url": None,
            }
        )
        progress("reading: indexing its articles, the sample article and its files (as `index add` reads them)")
        with Wiring(scoped, creates_index=True, clock=lambda: INDEXED_AT) as adding:
            adding.indexer.add(adding.read_sources([str(READING / "articles.jsonl"), str(SAMPLE_ARTICLES)]))
            files = adding.indexer.add(adding.read_sources([str(FILES)]))
            embedder = adding.embedder
        with Wiring(scoped, clock=lambda: ASKED_ON, embedder=embedder) as asking:
            service = asking.answers
            keys = article_keys(asking.store)
            progress(f"reading: {len(cases)} questions")
            answers = ask_all(service, cases)
            if labelled is not None:
                labelled += tune_signals(service, cases, answers)
    rows = [(case, answers[case["id"]], is_right(case, answers[case["id"]], keys)) for case in cases]
    return {
        "answerer": service.answerer.name,
        "asked_on": ASKED_ON.date().isoformat(),
        "files": {
            "indexed_at": INDEXED_AT.isoformat(),
            **files.as_json(),
            "not_found": sorted(entry["key"] for entry in manifest() if entry["key"] not in keys),
        },
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


def article_keys(store: Search) -> dict[str, str]:
    """The indexed article each key names: the set's own articles by URL, the sample by its title, the files by
    the URL their manifest gives, else by its title (a key whose article was not read so is missing)."""
    stored = store.articles()
    by_url = {url_identity(article.url): article.id for article in stored if article.url}
    by_title = {article.title: article.id for article in stored}
    keys = {record["key"]: by_url.get(url_identity(record["url"])) for record in _jsonl(READING / "articles.jsonl")}
    keys["sample"] = by_title.get(json.loads((SAMPLE_ARTICLES / "sample-article.json").read_text())["title"])
    for entry in manifest():
        keys[entry["key"]] = by_url.get(url_identity(entry["url"])) if entry["url"] else by_title.get(entry["title"])
    return {key: article_id for key, article_id in keys.items() if article_id}


def asked_at(case: dict[str, Any]) -> datetime:
    """The moment a question is asked: its `now` in UTC (a date alone: the end of that day), else ASKED_ON."""
    now = case.get("now")
    if not now:
        return ASKED_ON
    if "T" in now:
        return datetime.fromisoformat(now).replace(tzinfo=UTC)
    return end_of(date.fromisoformat(now), UTC)


def history(case: dict[str, Any], cases: Mapping[str, dict[str, Any]], answers: Mapping[str, Answer]) -> list[Turn]:
    """The conversation a question continues: its whole `after` chain, oldest first."""
    turns: list[Turn] = []
    earlier = case.get("after")
    while earlier:
        turns.insert(0, Turn(cases[earlier]["question"], answers[earlier].text))
        earlier = cases[earlier].get("after")
    return turns


def ask_all(service: AnswerService, cases: list[dict[str, Any]]) -> dict[str, Answer]:
    """Every answer by question id, in file order, each asked at its moment and after the conversation it
    continues. An answer that raises is recorded as its error (and scored wrong), and the others are asked."""
    answers: dict[str, Answer] = {}
    by_id = {case["id"]: case for case in cases}
    for case in cases:
        asking = service.at(asked_at(case))
        try:
            answers[case["id"]] = asking.answer(case["question"], history(case, by_id, answers))
        except Exception as error:  # a crash is a wrong answer, not the end of the run
            answers[case["id"]] = Answer(case["question"], f"error: {type(error).__name__}: {error}", abstained=False)
    return answers


def decided_by_the_rule(case: dict[str, Any]) -> bool:
    """Whether answering or abstaining is the abstention rule's decision: not conversation lines, digests or
    questions about a period with nothing in it."""
    return not case.get("expect_kind") and (case["expect"] is not None or not case.get("expect_all"))


def tune_signals(service: AnswerService, cases: list[dict[str, Any]], answers: dict[str, Answer]) -> list[Labelled]:
    """The abstention signals of the `tune` half's questions that the rule decides (asked as in `ask_all`)."""
    by_id = {case["id"]: case for case in cases}
    return [
        features(
            service.at(asked_at(case)), case["question"], case["expect"] is not None, history(case, by_id, answers)
        )
        for case in cases
        if case["split"] == "tune" and decided_by_the_rule(case)
    ]


def unanswerable(case: dict[str, Any]) -> bool:
    return case["expect"] is None and not case.get("expect_all") and not case.get("expect_kind")


def is_right(case: dict[str, Any], answer: Answer, keys: Mapping[str, str] | None = None) -> bool:
    """As the reading set's README says: a conversation line by its kind; a period with nothing in it by the
    newest date named; unanswerable: abstained; answerable: an expected string in the answer, quoted from a
    passage holding the cited text (for two-part questions, both parts), and every other field present held."""
    kind = case.get("expect_kind")
    text = NOTE.sub("", answer.text)
    if kind == "greeting":
        return _conversational(answer) and text.count("?") >= 2 and len(answer.text) <= GREETING_CHARS
    if kind == "usage":
        return _conversational(answer) and bool(USAGE_WORDS.search(text))
    if kind == "language":
        return "English" in answer.text
    if kind == "none_in_period":
        return _any_said(case["expect"], answer.text) and not _any_said(case.get("reject") or [], text)
    if unanswerable(case):
        return answer.abstained
    parts = [case, case["and"]] if case.get("and") else [case]
    return not answer.abstained and all(_part_found(part, answer, keys or {}) for part in parts)


def _conversational(answer: Answer) -> bool:
    """A reply that is no answer: no citations, something said, and not the abstention."""
    return not answer.citations and bool(answer.text.strip()) and "don't say" not in answer.text


def _part_found(part: dict[str, Any], answer: Answer, keys: Mapping[str, str]) -> bool:
    text = NOTE.sub("", answer.text)
    passages = [citation.passage for citation in answer.citations]
    cited_articles = {citation.article_id for citation in answer.citations}
    checks = [
        part.get("expect") is None or _any_said(part["expect"], text),
        part.get("cite") is None or any(part["cite"] in passage for passage in passages),
        all(_any_said(_alternatives(element), text) for element in part.get("expect_all") or []),
        all(any(quoted in passage for passage in passages) for quoted in part.get("cite_all") or []),
        all(
            any(keys.get(key) in cited_articles for key in _alternatives(element))
            for element in part.get("cite_articles") or []
        ),
        not _any_said(part.get("reject") or [], text),
    ]
    return all(checks)


def _alternatives(element: str | list[str]) -> list[str]:
    return [element] if isinstance(element, str) else element


def _any_said(strings: Sequence[str], text: str) -> bool:
    """Whether one of `strings` is in `text` as whole words (case, punctuation and thousands separators
    ignored)."""
    comparable = f" {_comparable(text)} "
    return any(f" {_comparable(string)} " in comparable for string in strings)


def _comparable(text: str) -> str:
    """Lower case, punctuation as spaces, thousands separators dropped."""
    return normalize(THOUSANDS.sub("", text))


def summary(rows: list[tuple[dict[str, Any], Answer, bool]]) -> dict[str, Any]:
    """Right/total overall and per category; abstention precision and recall, the positive class being the
    unanswerable questions and the negative the answerable ones (conversation lines and periods with nothing
    in them are in neither)."""
    categories: dict[str, list[bool]] = {}
    for case, _, right in rows:
        categories.setdefault(case["category"], []).append(right)
    decided = [(answer.abstained, unanswerable(case)) for case, answer, _ in rows if not case.get("expect_kind")]
    both = sum(abstained and positive for abstained, positive in decided)
    abstained = sum(a for a, _ in decided)
    positives = sum(p for _, p in decided)
    return {
        "right": f"{sum(right for _, _, right in rows)}/{len(rows)}",
        "categories": {name: f"{sum(marks)}/{len(marks)}" for name, marks in categories.items()},
        "abstention": {
            "precision": round(both / abstained, 3) if abstained else 1.0,
            "recall": round(both / positives, 3) if positives else 1.0,
            "abstained": abstained,
            "unanswerable": positives,
        },
    }


def render(report: dict[str, Any]) -> str:
    files = report["files"]
    lines = [
        f"reading set, {report['answerer']} answerer; questions without `now` asked on {report['asked_on']}: answers "
        f"in {report['latency_ms_p50']:.0f} ms (p50), {report['latency_ms_p95']:.0f} ms (p95)",
        f"files/ indexed at {files['indexed_at']}: added {files['added']}, failed {len(files['failed'])}"
        + (f"; articles not found: {', '.join(files['not_found'])}" if files["not_found"] else ""),
    ]
    lines += [f"  failed: {failure['item']}: {failure['error']}" for failure in files["failed"]]
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
