"""`newsbot eval`: retrieval and answer quality on RealTime QA, abstention calibration, the sample article."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from importlib import resources
from pathlib import Path
from typing import Any

from answers.core import AnswerService
from answers.types import Answer
from common.clock import end_of
from evaluation import realtimeqa
from evaluation.abstention import Labelled, abstention_report, abstention_scores, calibrate, features
from evaluation.metrics import answer_hit, answering, normalize, retrieval_metrics
from evaluation.naive import naive_rankings
from evaluation.reading import reading_report
from evaluation.sample import sample_article_report
from wiring.parts import Wiring
from wiring.settings import Settings


@dataclass(frozen=True)
class Setting:
    """How the questions are asked: `later` days after each question's date with the clock set (None: no clock),
    or, with `window`, inside the realtimeqa.RECENT_DAYS before it."""

    description: str
    later: int | None = None
    window: bool = False

    def service(self, service: AnswerService, question: realtimeqa.Question, zone: tzinfo) -> AnswerService:
        if self.later is None:
            return service
        return service.at(end_of(realtimeqa.asked_on(question) + timedelta(days=self.later), zone))


SETTINGS = {
    "live": Setting("as a deployed bot: --now at each question's date, every article published by then", later=0),
    "question_only": Setting("no clock: every article, the question alone"),
    "later_30_days": Setting("--now 30 days after each question's date: a reader asking later", later=30),
    "later_90_days": Setting("--now 90 days after each question's date", later=90),
    "window_14_days": Setting(
        f"only the articles of the {realtimeqa.RECENT_DAYS} days before each question: a filter the bot doesn't apply", window=True
    ),
}


def newsbot_rankings(
    service: AnswerService, questions: Sequence[realtimeqa.Question], setting: Setting, zone: tzinfo
) -> list[list[str]]:
    """Each question's 10 best articles (normalised URLs), ranked as answers rank them."""
    rankings = []
    for question in questions:
        if setting.window:
            found = service.retriever.articles(question.sentence, 10, realtimeqa.as_of(question), service.prior(None), 1)
        else:
            found = setting.service(service, question, zone).search(question.sentence, 10, passages=1)
        rankings.append([realtimeqa.protocol_url(ranked.article.url or "") for ranked in found])
    return rankings


def offtopic_questions() -> list[str]:
    text = resources.files(__package__).joinpath("data/offtopic_questions.txt").read_text()
    return [line.strip() for line in text.splitlines() if line.strip()]


def realtimeqa_report(
    settings: Settings,
    naive_dir: Path | None,
    progress: Callable[[str], None],
    now: datetime | None = None,
    retrieval: bool = True,
) -> tuple[dict[str, Any], list[Labelled]]:
    """Retrieval in each setting (SETTINGS; with `now`, also every question asked then), answers live and with
    no clock, and the abstention features."""
    questions = realtimeqa.questions(settings.eval_dir)
    gold = [q.gold_urls for q in questions]
    service = Wiring(settings).answers
    settings_asked = dict(SETTINGS)
    if now:
        settings_asked[f"now_{now.date().isoformat()}"] = Setting(f"--now {now.date()} for every question")
    ranked: dict[str, Any] = {"headline": "live"}
    for name, setting in settings_asked.items() if retrieval else ():
        progress(f"retrieval on {len(questions)} questions ({name})")
        asked = service.at(now) if now and name.startswith("now_") else service
        rankings = newsbot_rankings(asked, questions, setting, settings.zone)
        ranked[name] = {"setting": setting.description, **retrieval_metrics(rankings, gold)}
    if retrieval and naive_dir and naive_dir.exists():
        for name, time_aware in (("question_only", False), ("window_14_days", True)):
            progress(f"retrieval with the naive LangChain index ({name})")
            rankings = naive_rankings(naive_dir, settings, questions, time_aware)
            ranked[f"naive_langchain_{name}"] = retrieval_metrics(rankings, gold)
    report: dict[str, Any] = {"retrieval": ranked} if retrieval else {}
    for name in ANSWER_SETTINGS:
        progress(f"answers ({name})")
        answers = answer_all(service, questions, SETTINGS[name], settings.zone)
        report[f"answers_{name}"] = answers_report(service, questions, answers)
    shares = evidence_held(service, questions, SETTINGS["live"], settings.zone)
    report["answers_live"].update(evidence_share(shares, report["answers_live"]["answer_hit_rate"]))
    labelled = [features(service, q.sentence, True) for q in questions]
    labelled += [features(service, question, False) for question in offtopic_questions()]
    return report, labelled


ANSWER_SETTINGS = ("live", "question_only", "window_14_days")


def answer_all(
    service: AnswerService, questions: Sequence[realtimeqa.Question], setting: Setting, zone: tzinfo
) -> list[Answer]:
    """Every question answered as `setting` asks it."""
    return [
        setting.service(service, question, zone).answer(
            question.sentence, filters=realtimeqa.as_of(question) if setting.window else None
        )
        for question in questions
    ]


EVIDENCE_ARTICLES = 5


def evidence_held(
    service: AnswerService, questions: Sequence[realtimeqa.Question], setting: Setting, zone: tzinfo
) -> list[bool]:
    """Per question, whether its correct choice (normalised as `answer_hit` normalises) is in a passage of the
    EVIDENCE_ARTICLES best-ranked articles (every passage of each), asked as `setting` asks it: what an answerer
    reading those articles could find."""
    held = []
    for question in questions:
        found = setting.service(service, question, zone).search(question.sentence, EVIDENCE_ARTICLES, passages=1)
        ids = [ranked.article.id for ranked in found]
        passages = service.retriever.store.lead_passages(ids, per_article=10**6)
        text = normalize(" ".join(passage.text for article_id in ids for passage in passages.get(article_id, [])))
        held.append(normalize(question.answer) in text)
    return held


def evidence_share(held: Sequence[bool], answer_hit_rate: float) -> dict[str, Any]:
    """The share of questions whose evidence holds the correct choice (all, even and odd halves), and answer hit
    over it."""
    share = sum(held) / len(held)
    return {
        "evidence_share": round(share, 3),
        "evidence_share_halves": [round(sum(half) / len(half), 3) for half in (held[0::2], held[1::2])],
        "answer_hit_over_evidence_share": round(answer_hit_rate / share, 3) if share else 0.0,
    }


def answers_report(service: AnswerService, questions: Sequence[realtimeqa.Question], answers: Sequence[Answer]) -> dict[str, Any]:
    """Answer hit (all questions, and each half: even and odd positions), abstention, latency and, for an LLM
    answerer, how often its answer was dropped for the extractive fallback's."""
    hits = [answer_hit(a.text, q.answer, q.choices) for a, q in zip(answers, questions, strict=True)]
    answered = [a for a in answers if not a.abstained]
    return {
        "answerer": service.answerer.name,
        "answer_hit_rate": round(sum(hits) / len(hits), 3),
        "answer_hit_rate_halves": [round(sum(half) / len(half), 3) for half in (hits[0::2], hits[1::2])],
        "abstention_rate": round(1 - len(answered) / len(answers), 3),
        **answering(service, answers),
    }


def evaluate(
    settings: Settings,
    naive_dir: Path | None,
    progress: Callable[[str], None] = lambda message: None,
    now: datetime | None = None,
    retrieval: bool = True,
) -> dict[str, Any]:
    """Everything `newsbot eval` reports; without `retrieval`, only answers, abstention and the reading set."""
    progress("the sample article")
    sample, sample_labelled = sample_article_report(settings)
    report, realtime_labelled = realtimeqa_report(settings, naive_dir, progress, now, retrieval)
    reading_labelled: list[Labelled] = []
    report["reading"] = reading_report(settings, progress, reading_labelled)
    labelled = sample_labelled + realtime_labelled + reading_labelled
    current, calibrated = Wiring(settings).rule, calibrate(labelled, sample_labelled)
    report["sample_article"] = sample
    report["abstention"] = {
        **abstention_report(labelled, sample_labelled, current),
        "calibrated": {**vars(calibrated), **abstention_scores(labelled, calibrated)},
        "without_the_reading_set": abstention_report(sample_labelled + realtime_labelled, sample_labelled, current),
    }
    return report


def build_realtimeqa_index(settings: Settings, progress: Callable[[str], None]) -> None:
    """Indexes the RealTime QA corpus (every article of gold/ and gcs/, de-duplicated) at the settings' index."""
    progress(f"indexing the RealTime QA corpus into {settings.index_location} (once; about 15 minutes)")
    with tempfile.TemporaryDirectory() as scratch:
        corpus = Path(scratch) / "realtimeqa.jsonl"
        corpus.write_text("".join(json.dumps(record) + "\n" for record in realtimeqa.corpus(settings.eval_dir)))
        wiring = Wiring(settings, creates_index=True)
        report = wiring.indexer.add(wiring.read_sources([str(corpus)]))
        progress(report.summary())
