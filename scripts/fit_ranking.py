"""Fits the ranking's parameters (answers.retrieve.RELEVANCE, answers.date_prior.NEWS_DECAY) by maximum likelihood
on RealTime QA's dev questions, and shows how the retrieval rows move when each is changed.

    PYTHONPATH=. python scripts/fit_ranking.py --index-dir data/bench/newsbot-index [--eval-dir ../shared/eval]

Every question is asked as `newsbot eval` asks it: on its date (live), 30 and 90 days later, and with no
clock. For each, the production path decides the words, filters and the prior's centre
(AnswerService.retrieval, with the current parameters), and the retriever's candidates are kept. Model: the
gold article is drawn from the candidate articles with probability ∝ exp(its best passage's score), the score
being relevance + log prior (answers.retrieve). Maximised over the relevance weights and the half-life
(Nelder-Mead, from several starts), on all questions of the four moments at once: a bot is asked about the
news as it happens and later. The floor is set, not fitted: these questions are never about old news, so the
data would take it to 0, and the floor is what lets an old article that clearly answers still win. The fit is
also made on alternate weeks, each half scored with the parameters of the other (held out), as a check on
overfitting. Run it again after a change: the current parameters are its fixed point when it prints them back.
"""

from __future__ import annotations

import argparse
from dataclasses import astuple, dataclass, fields, replace
from pathlib import Path

import numpy as np
from scipy.optimize import minimize

from answers.date_prior import NEWS_DECAY, Decay
from answers.retrieve import RELEVANCE, Relevance
from evaluation import realtimeqa
from evaluation.metrics import retrieval_metrics
from evaluation.report import SETTINGS
from wiring.parts import Wiring
from wiring.settings import Settings

MOMENTS = ("live", "later_30_days", "later_90_days", "question_only")  # newsbot.evaluation.SETTINGS


@dataclass
class Table:
    """One question asked at one moment: its candidates' signals, distances to the prior's centre, articles."""

    signals: np.ndarray
    distances: np.ndarray
    article_rows: np.ndarray  # per passage: the row of its article in `urls`
    urls: list[str]
    gold: np.ndarray  # per article
    week: int

    def article_scores(self, relevance: np.ndarray, decay: Decay) -> np.ndarray:
        scores = self.signals @ relevance + decay.log_factor(self.distances)
        best = np.full(len(self.urls), -np.inf)
        np.maximum.at(best, self.article_rows, scores)
        return best


def collect(service, questions, zone) -> dict[str, list[Table]]:
    tables: dict[str, list[Table]] = {moment: [] for moment in MOMENTS}
    weeks = sorted({q.date for q in questions})
    url_of = {article.id: realtimeqa.protocol_url(article.url or "") for article in service.retriever.store.articles()}
    for question in questions:
        for moment in MOMENTS:
            words, filters, prior = SETTINGS[moment].service(service, question, zone).retrieval(question.sentence)
            found = service.retriever.found(words, filters)
            articles = list(dict.fromkeys(hit.article_id for hit in found.hits))
            rows = {article_id: row for row, article_id in enumerate(articles)}
            urls = [url_of[article_id] for article_id in articles]
            tables[moment].append(
                Table(
                    found.signals,
                    prior.distances(found.days),
                    np.array([rows[hit.article_id] for hit in found.hits], dtype=np.int64),
                    urls,
                    np.array([url in question.gold_urls for url in urls], dtype=bool),
                    weeks.index(question.date),
                )
            )
    return tables


def negative_log_likelihood(tables: list[Table], relevance: np.ndarray, decay: Decay) -> float:
    total = 0.0
    for table in tables:
        if not table.gold.any():
            continue
        scores = table.article_scores(relevance, decay)
        top = scores.max()
        total -= np.log(np.exp(scores[table.gold] - top).sum()) - np.log(np.exp(scores - top).sum())
    return total


WEIGHTS = len(fields(Relevance))
HALF_LIVES = (3.0, 14.0, 60.0)  # starting points


def unpack(x: np.ndarray, floor: float) -> tuple[np.ndarray, Decay]:
    return x[:WEIGHTS], Decay(float(np.exp(x[WEIGHTS])), floor)


def fit(tables: list[Table], floor: float) -> tuple[np.ndarray, Decay]:
    """The relevance weights and decay of the highest likelihood found from each starting half-life."""
    results = [
        minimize(
            lambda x: negative_log_likelihood(tables, *unpack(x, floor)),
            np.array([*astuple(RELEVANCE), np.log(half_life)]),
            method="Nelder-Mead",
            options={"maxiter": 4000, "xatol": 1e-3, "fatol": 1e-4},
        )
        for half_life in HALF_LIVES
    ]
    return unpack(min(results, key=lambda result: result.fun).x, floor)


def rows(tables: dict[str, list[Table]], relevance: np.ndarray, decay: Decay, weeks: set[int] | None = None) -> dict:
    report = {}
    for moment, moment_tables in tables.items():
        chosen = [t for t in moment_tables if weeks is None or t.week in weeks]
        rankings = []
        for table in chosen:
            scores = table.article_scores(relevance, decay)
            rankings.append([table.urls[row] for row in np.argsort(-scores, kind="stable")[:10]])
        gold = [frozenset(np.array(t.urls)[t.gold]) for t in chosen]
        report[moment] = retrieval_metrics(rankings, gold)
    return report


def show(label: str, report: dict) -> None:
    cells = [
        f"{moment} {m['hit@1']:.3f} {m['hit@5']:.3f} {m['hit@10']:.3f} {m['mrr@10']:.3f}"
        for moment, m in report.items()
    ]
    print(f"{label:44} " + " | ".join(cells))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--index-dir", required=True)
    parser.add_argument("--eval-dir", default="../shared/eval")
    args = parser.parse_args()
    settings = Settings(_env_file=None, index_dir=Path(args.index_dir), eval_dir=Path(args.eval_dir))
    service = Wiring(settings).answers
    questions = realtimeqa.questions(settings.eval_dir)
    tables = collect(service, questions, settings.zone)
    print("rows: Hit@1 Hit@5 Hit@10 MRR@10")
    current = np.array(astuple(RELEVANCE))
    show("current parameters", rows(tables, current, NEWS_DECAY))
    pooled = [table for moment_tables in tables.values() for table in moment_tables]
    relevance, decay = fit(pooled, NEWS_DECAY.floor)
    likelihood = negative_log_likelihood(pooled, relevance, decay)
    print(f"fitted on all: relevance {np.round(relevance, 2)}, {decay}, negative log-likelihood {likelihood:.1f}")
    show("fitted on all questions", rows(tables, relevance, decay))
    weeks = sorted({t.week for t in pooled})
    halves = [set(weeks[0::2]), set(weeks[1::2])]
    for held_out, trained in ((halves[0], halves[1]), (halves[1], halves[0])):
        half_relevance, half_decay = fit([t for t in pooled if t.week in trained], NEWS_DECAY.floor)
        print(f"fitted on weeks {sorted(trained)}: relevance {np.round(half_relevance, 2)}, {half_decay}")
        show(f"  held-out weeks {sorted(held_out)}", rows(tables, half_relevance, half_decay, held_out))
        show("  same weeks, all-question fit", rows(tables, current, NEWS_DECAY, held_out))
    print("sensitivity (current parameters, one changed):")
    variants = [("half_life_days", v) for v in (1, 3, 7, 14, 30, 60, 90, 180)]
    variants += [("floor", v) for v in (0, 0.01, 0.02, 0.05, 0.1)]
    for name, value in variants:
        show(f"  {name} = {value}", rows(tables, current, replace(NEWS_DECAY, **{name: value})))
    for field in fields(Relevance):
        for scale in (0.0, 0.5, 2.0):
            weights = np.array(astuple(replace(RELEVANCE, **{field.name: getattr(RELEVANCE, field.name) * scale})))
            show(f"  relevance {field.name} x {scale}", rows(tables, weights, NEWS_DECAY))
    show("  no prior (floor 1)", rows(tables, current, Decay(1.0, 1.0)))


if __name__ == "__main__":
    main()
