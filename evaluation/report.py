"""`newsbot eval`: retrieval and answer quality on RealTime QA, abstention calibration, the sample article."""

from __future__ import annotations

import json
import re
import statistics
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from importlib import resources
from pathlib import Path

from answers.core import AbstentionRule, AnswerService, Signals
from answers.types import Answer, Turn
from common.clock import end_of
from evaluation import realtimeqa
from index.types import Filters
from wiring.parts import Wiring
from wiring.settings import Settings

PUNCTUATION = re.compile(r"[^\w\s]")
RECENT_DAYS = 14
SAMPLE_ARTICLES = Path(__file__).resolve().parent.parent / "articles"
COVERAGE_GRID = [0.3]  # a fixed floor: it also picks on-topic articles for briefings
WEIGHT_GRID = [0.0, 0.25, 0.5, 1.0]
CONFIDENCE_GRID = [round(0.6 + 0.02 * i, 2) for i in range(0, 91)]


@dataclass(frozen=True)
class Labelled:
    """A question with the evidence signals the abstention decision reads (one per part), and whether it is
    answerable."""

    answerable: bool
    signals: tuple[Signals, ...]


def retrieval_metrics(rankings: Sequence[list[str]], gold: Sequence[frozenset[str]]) -> dict:
    """Hit@1/5/10 and MRR@10 of article rankings (normalised URLs) against gold URLs."""
    ranks = [
        next((i + 1 for i, url in enumerate(ranking[:10]) if url in golds), None)
        for ranking, golds in zip(rankings, gold, strict=True)
    ]
    count = len(ranks)
    return {
        "questions": count,
        "hit@1": round(sum(1 for r in ranks if r and r <= 1) / count, 3),
        "hit@5": round(sum(1 for r in ranks if r and r <= 5) / count, 3),
        "hit@10": round(sum(1 for r in ranks if r and r <= 10) / count, 3),
        "mrr@10": round(sum(1 / r for r in ranks if r) / count, 3),
    }


def answer_hit(answer: str, correct: str, choices: Sequence[str]) -> bool:
    """The correct choice appears in the answer and no other choice does (case, quotes and punctuation ignored)."""
    text = _normalize(answer)
    others = [c for c in choices if _normalize(c) != _normalize(correct)]
    return _normalize(correct) in text and not any(_normalize(c) in text for c in others)


def _normalize(text: str) -> str:
    return " ".join(PUNCTUATION.sub(" ", text.lower()).split())


def asked_on(question: realtimeqa.Question) -> date:
    return date(*map(int, question.date.split("/")))


def as_of(question: realtimeqa.Question) -> Filters:
    """The articles of the RECENT_DAYS before the question's date: a filter the bot never applies (it keeps every
    article it indexed), kept for comparison with earlier figures."""
    asked = asked_on(question)
    return Filters(published_from=asked - timedelta(days=RECENT_DAYS), published_to=asked)


@dataclass(frozen=True)
class Setting:
    """How the questions are asked: `later` days after each question's date with the clock set (None: no clock),
    or, with `window`, inside the RECENT_DAYS before it."""

    description: str
    later: int | None = None
    window: bool = False

    def service(self, service: AnswerService, question: realtimeqa.Question, zone: tzinfo) -> AnswerService:
        if self.later is None:
            return service
        return service.at(end_of(asked_on(question) + timedelta(days=self.later), zone))


SETTINGS = {
    "live": Setting("as a deployed bot: --now at each question's date, every article published by then", later=0),
    "question_only": Setting("no clock: every article, the question alone"),
    "later_30_days": Setting("--now 30 days after each question's date: a reader asking later", later=30),
    "later_90_days": Setting("--now 90 days after each question's date", later=90),
    "window_14_days": Setting(
        f"only the articles of the {RECENT_DAYS} days before each question: a filter the bot doesn't apply", window=True
    ),
}


def newsbot_rankings(
    service: AnswerService, questions: Sequence[realtimeqa.Question], setting: Setting, zone: tzinfo
) -> list[list[str]]:
    """Each question's 10 best articles (normalised URLs), ranked as answers rank them."""
    rankings = []
    for question in questions:
        if setting.window:
            found = service.retriever.articles(question.sentence, 10, as_of(question), service.prior(None), 1)
        else:
            found = setting.service(service, question, zone).search(question.sentence, 10, passages=1)
        rankings.append([realtimeqa.protocol_url(ranked.article.url or "") for ranked in found])
    return rankings


def naive_rankings(
    naive_dir: Path, settings: Settings, questions: Sequence[realtimeqa.Question], time_aware: bool
) -> list[list[str]]:
    """The naive LangChain pipeline's ranking: articles in order of their best chunk (with the same date
    window applied to its results when time-aware)."""
    from langchain_community.vectorstores import FAISS
    from langchain_huggingface import HuggingFaceEmbeddings

    from index.embeddings import resolve_model_path

    embeddings = HuggingFaceEmbeddings(model_name=str(resolve_model_path(settings.embedding_model)))
    store = FAISS.load_local(str(naive_dir), embeddings, allow_dangerous_deserialization=True)
    rankings = []
    for question in questions:
        window = as_of(question) if time_aware else None
        ranking: list[str] = []
        for document in store.similarity_search(question.sentence, k=400 if time_aware else 60):
            published = (document.metadata.get("published") or "")[:10]
            if window and not (window.published_from.isoformat() <= published <= window.published_to.isoformat()):
                continue
            url = realtimeqa.protocol_url(document.metadata["url"])
            if url not in ranking:
                ranking.append(url)
        rankings.append(ranking)
    return rankings


def features(service: AnswerService, question: str, answerable: bool, history: Sequence[Turn] = ()) -> Labelled:
    return Labelled(answerable, tuple(Signals.of(service.evidence(question, history))))


def abstains(item: Labelled, rule: AbstentionRule) -> bool:
    return not any(rule.passes(signals) for signals in item.signals)


def abstention_scores(items: Sequence[Labelled], rule: AbstentionRule) -> dict:
    """Precision and recall of abstaining, where the positive class is an unanswerable question."""
    decided = [(abstains(item, rule), not item.answerable) for item in items]
    true_positive = sum(1 for abstained, unanswerable in decided if abstained and unanswerable)
    abstained = sum(1 for a, _ in decided if a)
    unanswerable = sum(1 for _, u in decided if u)
    precision = true_positive / abstained if abstained else 1.0
    recall = true_positive / unanswerable if unanswerable else 1.0
    answered_right = sum(1 for a, u in decided if not a and not u) / max(1, len(decided) - unanswerable)
    return {
        "precision": round(precision, 3),
        "recall": round(recall, 3),
        "f1": round(2 * precision * recall / (precision + recall), 3) if precision + recall else 0.0,
        "answerable_answered": round(answered_right, 3),
    }


def calibrate(items: Sequence[Labelled], required: Sequence[Labelled] = ()) -> AbstentionRule:
    """The rule whose abstentions have the best of precision and recall at once (the higher of the two lower),
    then answer the most answerable questions, among those that decide every `required` question (the sample
    article's) right."""

    def balanced(rule: AbstentionRule) -> tuple[float, float]:
        scores = abstention_scores(items, rule)
        return min(scores["precision"], scores["recall"]), scores["answerable_answered"]

    rules = [
        AbstentionRule(coverage, coverage_weight, score_weight, confidence)
        for coverage in COVERAGE_GRID
        for coverage_weight in WEIGHT_GRID
        for score_weight in WEIGHT_GRID
        for confidence in CONFIDENCE_GRID
    ]
    allowed = [rule for rule in rules if all(abstains(item, rule) != item.answerable for item in required)]
    return max(allowed or rules, key=balanced)


def cross_validated(items: Sequence[Labelled], required: Sequence[Labelled]) -> dict:
    """Abstention scores on each half with the rule calibrated on the other half."""
    halves = [items[0::2], items[1::2]]
    held_out = []
    for train, test in ((halves[0], halves[1]), (halves[1], halves[0])):
        rule = calibrate(train, required)
        held_out += [(item, rule) for item in test]
    decided = [(abstains(item, rule), not item.answerable) for item, rule in held_out]
    true_positive = sum(1 for a, u in decided if a and u)
    abstained, unanswerable = sum(1 for a, _ in decided if a), sum(1 for _, u in decided if u)
    return {
        "precision": round(true_positive / abstained, 3) if abstained else 1.0,
        "recall": round(true_positive / unanswerable, 3) if unanswerable else 1.0,
    }


def sample_article_report(settings: Settings) -> tuple[dict, list[Labelled]]:
    """Every question about the sample article: answered with the expected text and a citation, or abstained."""
    with tempfile.TemporaryDirectory() as scratch:
        sample = settings.model_copy(update={"index_dir": Path(scratch) / "index", "database_url": None})
        wiring = Wiring(sample, creates_index=True)
        wiring.indexer.add(wiring.read_sources([str(SAMPLE_ARTICLES)]))
        service = wiring.answers
        rows, labelled = [], []
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
        wiring.store.close()
    answerable = [r for r, c in zip(rows, _sample_questions(), strict=True) if c["expect"] is not None]
    unanswerable = [r for r, c in zip(rows, _sample_questions(), strict=True) if c["expect"] is None]
    return {
        "answerable_right": f"{sum(r['right'] for r in answerable)}/{len(answerable)}",
        "unanswerable_abstained": f"{sum(r['right'] for r in unanswerable)}/{len(unanswerable)}",
        "wrong": [r for r in rows if not r["right"]],
    }, labelled


def _sample_questions() -> list[dict]:
    text = resources.files(__package__).joinpath("data/sample_questions.jsonl").read_text()
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def offtopic_questions() -> list[str]:
    text = resources.files(__package__).joinpath("data/offtopic_questions.txt").read_text()
    return [line.strip() for line in text.splitlines() if line.strip()]


def realtimeqa_report(
    settings: Settings,
    naive_dir: Path | None,
    progress: Callable[[str], None],
    now: datetime | None = None,
    retrieval: bool = True,
) -> tuple[dict, list[Labelled]]:
    """Retrieval in each setting (SETTINGS; with `now`, also every question asked then), answers live and with
    no clock, and the abstention features."""
    questions = realtimeqa.questions(settings.eval_dir)
    gold = [q.gold_urls for q in questions]
    service = Wiring(settings).answers
    settings_asked = dict(SETTINGS)
    if now:
        settings_asked[f"now_{now.date().isoformat()}"] = Setting(f"--now {now.date()} for every question")
    ranked: dict = {"headline": "live"}
    for name, setting in settings_asked.items() if retrieval else ():
        progress(f"retrieval on {len(questions)} questions ({name})")
        asked = service.at(now) if name.startswith("now_") else service
        rankings = newsbot_rankings(asked, questions, setting, settings.zone)
        ranked[name] = {"setting": setting.description, **retrieval_metrics(rankings, gold)}
    if retrieval and naive_dir and naive_dir.exists():
        for name, time_aware in (("question_only", False), ("window_14_days", True)):
            progress(f"retrieval with the naive LangChain index ({name})")
            rankings = naive_rankings(naive_dir, settings, questions, time_aware)
            ranked[f"naive_langchain_{name}"] = retrieval_metrics(rankings, gold)
    report: dict = {"retrieval": ranked} if retrieval else {}
    for name in ANSWER_SETTINGS:
        progress(f"answers ({name})")
        answers = answer_all(service, questions, SETTINGS[name], settings.zone)
        report[f"answers_{name}"] = answers_report(service, questions, answers)
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
            question.sentence, filters=as_of(question) if setting.window else None
        )
        for question in questions
    ]


def answers_report(service: AnswerService, questions: Sequence[realtimeqa.Question], answers: Sequence[Answer]) -> dict:
    """Answer hit (all questions, and each half: even and odd positions), abstention, latency and, for an LLM
    answerer, how often its answer was dropped for the extractive fallback's."""
    hits = [answer_hit(a.text, q.answer, q.choices) for a, q in zip(answers, questions, strict=True)]
    latencies = sorted(a.latency_ms for a in answers)
    answered = [a for a in answers if not a.abstained]
    report = {
        "answerer": service.answerer.name,
        "answer_hit_rate": round(sum(hits) / len(hits), 3),
        "answer_hit_rate_halves": [round(sum(half) / len(half), 3) for half in (hits[0::2], hits[1::2])],
        "abstention_rate": round(1 - len(answered) / len(answers), 3),
        "latency_ms_p50": round(statistics.median(latencies), 1),
        "latency_ms_p95": round(latencies[int(0.95 * (len(latencies) - 1))], 1),
    }
    if service.answerer is not service.fallback:
        dropped = sum(1 for a in answered if a.answerer != service.answerer.name)
        report["fallback_rate"] = round(dropped / len(answered), 3) if answered else 0.0
    return report


def evaluate(
    settings: Settings,
    naive_dir: Path | None,
    progress: Callable[[str], None] = lambda message: None,
    now: datetime | None = None,
    retrieval: bool = True,
) -> dict:
    """Everything `newsbot eval` reports; without `retrieval`, only answers, abstention and the reading set."""
    from evaluation.reading import reading_report

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


def abstention_report(labelled: list[Labelled], required: list[Labelled], rule: AbstentionRule) -> dict:
    return {
        "labelled_questions": len(labelled),
        "unanswerable": sum(1 for item in labelled if not item.answerable),
        "with_settings": {**vars(rule), **abstention_scores(labelled, rule)},
        "two_fold_cross_validated": cross_validated(labelled, required),
    }


def build_realtimeqa_index(settings: Settings, progress: Callable[[str], None]) -> None:
    """Indexes the RealTime QA corpus (every article of gold/ and gcs/, de-duplicated) at the settings' index."""
    progress(f"indexing the RealTime QA corpus into {settings.index_location} (once; about 15 minutes)")
    with tempfile.TemporaryDirectory() as scratch:
        corpus = Path(scratch) / "realtimeqa.jsonl"
        corpus.write_text("".join(json.dumps(record) + "\n" for record in realtimeqa.corpus(settings.eval_dir)))
        wiring = Wiring(settings, creates_index=True)
        report = wiring.indexer.add(wiring.read_sources([str(corpus)]))
        progress(report.summary())
