"""Retrieval as a live bot does it: a clock you can set (`--now`) hides what was published after it, recent
coverage is preferred among close calls without hiding an old article that clearly answers, and `index search`
and `ask` read questions as plain or JSON lines with their own clock."""

from __future__ import annotations

import io
import json
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pytest

from answers.date_prior import NEWS_DECAY, DatePrior
from index.types import Filters
from tests.newsroom import CORPUS, RATES_NOVEMBER, build_index, service_for

NOW = datetime(2024, 11, 13, 9, 30, tzinfo=UTC)
LATER = {  # published after NOW: it doesn't exist for a reader asking at NOW
    "title": "Bank of Valdora cuts interest rates to 4 percent",
    "source": "Coast Herald",
    "url": "https://coastherald.example/business/valdora-rates-december",
    "published": "2024-12-12",
    "text": "The Bank of Valdora cut its main interest rate to 4 percent on Thursday, its first cut in two years. "
    "Governor Tomas Reyes said inflation was back under control.",
}
UNDATED = {  # no date: it counts as published when it was added, that is today
    "title": "Valdora central bank governor to step down",
    "source": "Northern Times",
    "url": "https://northerntimes.example/valdora-governor",
    "text": "Tomas Reyes, the governor of the Bank of Valdora, will step down when his term ends, the finance "
    "ministry said. The bank's interest rate decisions will be taken by his deputy until then.",
}
RATES_LAST_YEAR = {  # a close call with RATES_NOVEMBER a year older
    "title": "Bank of Valdora holds interest rates steady",
    "source": "Coast Herald",
    "url": "https://coastherald.example/business/valdora-rates-2023",
    "published": "2023-11-09",
    "text": "The Bank of Valdora kept its main interest rate at 3.5 percent on Thursday as inflation eased. Governor "
    "Tomas Reyes said the bank would wait for more data before deciding on its next move.",
}
BRIDGE_OPENED = {  # the only article that says when the bridge opened: old, and clearly the answer
    "title": "Ellery harbour bridge celebrates its 50th birthday",
    "source": "Northern Times",
    "url": "https://northerntimes.example/2012/05/02/bridge-fifty",
    "published": "2012-05-02",
    "text": "The Ellery harbour bridge opened to traffic on 2 May 1962, after four years of construction. Queen "
    "Margit cut the ribbon in front of 20,000 people, and the first car across was a red taxi.",
}
RATES = "What did the Bank of Valdora decide about interest rates?"


@pytest.fixture(scope="module")
def newsroom(tmp_path_factory, embedder):
    return build_index(tmp_path_factory.mktemp("live"), [*CORPUS, LATER, UNDATED, RATES_LAST_YEAR, BRIDGE_OPENED])


def titles(ranked) -> list[str]:
    return [article.article.title for article in ranked]


def test_articles_published_after_the_clock_are_never_found(newsroom):
    service = service_for(newsroom, NOW)
    everything = [LATER["title"], UNDATED["title"], RATES_NOVEMBER["title"]]
    assert not set(titles(service.search(RATES, 20))) & {LATER["title"], UNDATED["title"]}
    assert RATES_NOVEMBER["title"] in titles(service.search(RATES, 20))
    cited = [c.title for c in service.answer("Who will replace the governor of the Bank of Valdora?").citations]
    assert UNDATED["title"] not in cited
    assert "2024-12-12" not in [c.published for c in service.answer("Did the Bank of Valdora cut rates?").citations]
    store = service.retriever.store
    vector = service.retriever.vector("Bank of Valdora cuts interest rates")
    for hits in (
        store.dense_search(vector, 50, Filters(until=NOW.date())),
        store.keyword_search(RATES, 50, Filters(until=NOW.date())),
    ):
        assert hits and all(hit.day <= NOW.date() for hit in hits)
    today = service.at(datetime.now(UTC) + timedelta(days=1))  # the undated article was added today
    assert set(everything) <= set(titles(today.search(RATES, 20)))
    assert set(everything) <= set(titles(service_for(newsroom, None).search(RATES, 20)))  # no clock: no cutoff


def test_recent_coverage_wins_close_calls_and_the_clock_decides_what_is_recent(newsroom):
    assert titles(service_for(newsroom, NOW).search(RATES, 2))[0] == RATES_NOVEMBER["title"]
    a_year_earlier = service_for(newsroom, datetime(2023, 11, 10, tzinfo=UTC))
    assert titles(a_year_earlier.search(RATES, 2))[0] == RATES_LAST_YEAR["title"]
    without_clock = service_for(newsroom, None)  # every article; the undated one, added today, is the newest
    assert titles(without_clock.search(RATES, 2))[0] == UNDATED["title"]


def test_an_old_article_that_clearly_answers_still_wins(newsroom):
    service = service_for(newsroom, NOW)  # recent articles are about the bridge too: its closure
    ribbon = "Who cut the ribbon when the Ellery harbour bridge opened?"
    assert titles(service.search(ribbon, 3))[0] == BRIDGE_OPENED["title"]
    for question, expected in (
        (ribbon, "Queen Margit cut the ribbon"),
        ("When was the Ellery harbour bridge opened?", "2 May 1962"),
        ("When did the Ellery harbour bridge open?", "2 May 1962"),
    ):
        answer = service.answer(question)
        assert expected in answer.text.split("\n")[0] and answer.citations[0].published == "2012-05-02"


def test_the_prior_decays_from_its_centre_and_never_below_its_floor():
    centre = date(2024, 11, 13)
    days = np.array([(centre - timedelta(days=n)).toordinal() for n in (0, 1, 7, 30, 365, 3650)] + [0])
    factors = np.exp(DatePrior(end=centre).log_factors(days))
    assert factors[0] == pytest.approx(1.0) and factors[-1] == pytest.approx(1.0)  # today; unknown day
    assert list(factors[:6]) == sorted(factors[:6], reverse=True)
    assert factors[5] == pytest.approx(NEWS_DECAY.floor, abs=1e-6)  # ten years: as low as it goes
    october = DatePrior(date(2024, 10, 1), date(2024, 10, 31))
    inside, before, after = (date(2024, 10, 15), date(2024, 9, 1), date(2024, 12, 1))
    inside_f, before_f, after_f = np.exp(
        october.log_factors(np.array([d.toordinal() for d in (inside, before, after)]))
    )
    assert inside_f == pytest.approx(1.0) and before_f < 1 and after_f < 1
    newest = np.array([date(2020, 1, 1).toordinal(), date(2020, 1, 31).toordinal()])
    assert list(np.exp(DatePrior().log_factors(newest))) == pytest.approx(
        [np.exp(NEWS_DECAY.log_factor(np.array([30.0])))[0], 1.0]
    )


# -- the command line -----------------------------------------------------------------------------


def test_search_reads_plain_and_json_lines_each_with_its_own_clock(newsroom, cli, monkeypatch):
    lines = [
        RATES,
        json.dumps({"question": RATES, "now": "2023-11-10"}),
        json.dumps({"question": RATES, "now": "2024-11-13"}),
    ]
    monkeypatch.setattr("sys.stdin", io.StringIO("\n".join(lines) + "\n"))
    code, out, err = cli(newsroom, "index", "search", "-", "--json", "-k", "3")
    assert code == 0 and err == ""
    rows = [json.loads(line) for line in out.splitlines()]
    assert [row["now"] for row in rows] == [None, "2023-11-10", "2024-11-13"]
    assert [row["articles"][0]["title"] for row in rows] == [
        UNDATED["title"],  # no clock: every article; the undated one, added today, is the newest
        RATES_LAST_YEAR["title"],
        RATES_NOVEMBER["title"],
    ]
    first = rows[2]["articles"][0]
    assert (
        set(first) == {"article_id", "url", "title", "published", "score", "passages"} and len(rows[2]["articles"]) == 3
    )
    assert first["url"] == RATES_NOVEMBER["url"] and first["published"] == "2024-11-11"
    assert first["passages"][0]["text"].startswith("The Bank of Valdora kept its main interest rate")
    assert all(article["published"] <= "2023-11-10" for article in rows[1]["articles"])


def test_now_sets_the_clock_of_search_and_ask(newsroom, cli):
    code, out, _ = cli(newsroom, "index", "search", RATES, "--now", "2023-11-10", "-k", "1", "--json")
    assert code == 0 and json.loads(out)["articles"][0]["title"] == RATES_LAST_YEAR["title"]
    code, out, _ = cli(newsroom, "ask", f"{RATES.rstrip('?')} yesterday?", "--now", "2024-11-12", "--json")
    answer = json.loads(out)
    assert code == 0 and [c["published"] for c in answer["citations"]] == ["2024-11-11"]


def test_ask_reads_json_lines_and_a_bad_line_is_one_line_of_error(newsroom, cli, monkeypatch):
    lines = [
        json.dumps({"question": f"{RATES.rstrip('?')} yesterday?", "now": "2024-11-12"}),
        json.dumps({"question": RATES, "now": "12/11/2024"}),
        "{not json",
        json.dumps({"now": "2024-11-12"}),
        RATES,
    ]
    monkeypatch.setattr("sys.stdin", io.StringIO("\n".join(lines) + "\n"))
    code, out, err = cli(newsroom, "ask", "-", "--json")
    answers = [json.loads(line) for line in out.splitlines()]
    assert code == 1 and len(answers) == 2
    assert [c["published"] for c in answers[0]["citations"]] == ["2024-11-11"]
    assert err.splitlines() == [
        "error: line 2: \"now\" '12/11/2024' is not a date; use YYYY-MM-DD (2024-11-13) or a date and time "
        "(2024-11-13T09:30)",
        "error: line 3: not valid JSON (Expecting property name enclosed in double quotes); give a question, or "
        '{"question": "Who won?", "now": "2024-11-13"}',
        'error: line 4: a JSON line needs a "question" string; {"question": "Who won?", "now": "2024-11-13"}',
    ]


@pytest.mark.parametrize("command", [("ask", "who?"), ("index", "search", "who?"), ("brief",), ("chat",), ("eval",)])
@pytest.mark.parametrize("value", ["tomorrow", "2024-13-01", "13/11/2024", ""])
def test_a_bad_now_is_one_line_naming_it(newsroom, cli, command, value):
    code, out, err = cli(newsroom, *command, "--now", value)
    assert (code, out) == (1, "")
    assert (
        err
        == f"error: --now '{value}' is not a date; use YYYY-MM-DD (2024-11-13) or a date and time (2024-11-13T09:30)\n"
    )


def test_a_briefing_with_now_leaves_out_what_was_published_later(newsroom, cli):
    code, out, _ = cli(newsroom, "brief", "--now", "2024-11-11", "--json")
    published = [c["published"] for item in json.loads(out)["items"] for c in item["citations"]]
    assert code == 0 and published and max(published) == "2024-11-11"


def test_the_evidence_share_reads_every_passage_of_the_five_best_articles(newsroom):
    from evaluation.realtimeqa import Question
    from evaluation.report import SETTINGS, evidence_held, evidence_share

    service = service_for(newsroom, NOW)

    def asked(choice: str) -> Question:
        return Question("q", "2024/11/13", RATES, [choice, "9 percent"], choice, frozenset())

    held = evidence_held(service, [asked("4.5 percent"), asked("9 percent")], SETTINGS["live"], UTC)
    assert held == [True, False]
    assert evidence_share(held, 0.25) == {
        "evidence_share": 0.5,
        "evidence_share_halves": [1.0, 0.0],
        "answer_hit_over_evidence_share": 0.5,
    }
