"""Time-aware answers with a stopped clock: relative time words filter by publication date, a named month is
when something happened (its coverage is preferred, later reports of it still found), old information is
flagged, and "what's new" prefers the newest coverage."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from tests.newsroom import build_index, service_for

NOW = datetime(2024, 11, 13, 9, 30, tzinfo=UTC)  # Wednesday; the newest articles are from 11-12 November
RATES = "What did the Bank of Valdora decide about interest rates"


@pytest.fixture(scope="module")
def newsroom(tmp_path_factory, embedder):
    return build_index(tmp_path_factory.mktemp("newsroom"))


@pytest.fixture
def service(newsroom):
    return service_for(newsroom, NOW)


def published(answer) -> list[str]:
    return [citation.published for citation in answer.citations]


def test_relative_time_words_filter_by_publication_date(service):
    this_week = service.answer(f"{RATES} this week?")
    assert published(this_week) == ["2024-11-11"] and "kept its main interest rate at 4.5 percent" in this_week.text
    assert "Note:" not in this_week.text  # a period the question chose is not "stale"
    assert sorted(published(service.answer(f"{RATES}?"))) == ["2024-10-03", "2024-11-11"]


def test_a_named_month_is_when_it_happened_not_when_it_was_published(service):
    in_october = service.answer(f"{RATES} in October?")
    assert "2024-10-03" in published(in_october) and "raised its main interest rate" in in_october.text
    assert "Note:" not in in_october.text  # October was asked for: its news is not "stale"
    _, filters, prior = service.retrieval("How far did inflation in Valdora fall in October?")
    assert (filters.published_from, filters.published_to, prior.start, prior.end) == (
        None,
        None,
        date(2024, 10, 1),
        date(2024, 10, 31),
    )
    inflation = service.answer("How far did inflation in Valdora fall in October?")
    assert published(inflation)[0] == "2024-11-11" and "fell to 4 percent in October" in inflation.text


def test_when_nothing_in_the_period_answers_the_answer_says_so_and_how_old_it_is(service):
    answer = service.answer(f"{RATES} since yesterday?")
    assert not answer.abstained and "2024-11-11" in published(answer)
    assert answer.text.endswith(
        "\n\nNote: no article published since 12 Nov 2024 answers this; "
        "the newest matching article is from 11 Nov 2024 (2 days old)."
    )


def test_an_answer_from_old_articles_says_how_old_they_are(newsroom):
    later = service_for(newsroom, datetime(2024, 12, 20, 12, 0, tzinfo=UTC))
    answer = later.answer("How long will the Ellery harbour bridge stay closed?")
    assert answer.text.endswith("\n\nNote: the newest matching article is from 12 Nov 2024 (38 days old).")
    assert "Note:" not in service_for(newsroom, NOW).answer(answer.question).text  # 1 day old
    later.stale_after_days = 0
    assert "Note:" not in later.answer(answer.question).text


def test_whats_new_prefers_the_newest_coverage(service):
    answer = service.answer("What's new about the Bank of Valdora?")
    assert published(answer) == ["2024-11-11"] and "kept its main interest rate" in answer.text


def test_time_words_are_read_in_the_configured_time_zone(newsroom):
    late_evening = datetime(2024, 11, 12, 23, 30, tzinfo=UTC)  # already the 13th in Berlin
    berlin = service_for(newsroom.model_copy(update={"time_zone": "Europe/Berlin"}), late_evening)
    utc = service_for(newsroom, late_evening)
    assert berlin.timeframe("What closed yesterday?")[1].describe() == "on 12 Nov 2024"
    assert utc.timeframe("What closed yesterday?")[1].describe() == "on 11 Nov 2024"
    assert published(berlin.answer("What closed in the harbour yesterday?"))[0] == "2024-11-12"
