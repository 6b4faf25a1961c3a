"""Time words in questions, read relative to a fixed day (Wednesday 13 November 2024): relative words are
publication dates (answers filter by them), named months, days and years are when something happened (the
date prior's centre)."""

from __future__ import annotations

from datetime import date

import pytest

from answers.timeframes import Timeframe, parse, parse_period

TODAY = date(2024, 11, 13)  # a Wednesday


@pytest.mark.parametrize(
    ("question", "start", "end", "rest"),
    [
        ("What happened in Ellery since Monday?", date(2024, 11, 11), None, "What happened in Ellery?"),
        ("What changed since Wednesday?", date(2024, 11, 6), None, "What changed?"),
        ("what did the bank decide this week?", date(2024, 11, 7), TODAY, "what did the bank decide?"),
        ("What happened last week?", date(2024, 11, 4), date(2024, 11, 10), "What happened?"),
        ("Who won yesterday?", date(2024, 11, 12), date(2024, 11, 12), "Who won?"),
        ("What changed since yesterday?", date(2024, 11, 12), None, "What changed?"),
        ("Who resigned since last week?", date(2024, 11, 4), None, "Who resigned?"),
        ("What is the price of gold today?", TODAY, TODAY, "What is the price of gold?"),
        ("What happened this month?", date(2024, 11, 1), TODAY, "What happened?"),
        ("What happened last month?", date(2024, 10, 1), date(2024, 10, 31), "What happened?"),
        ("any rate news in the past 3 days?", date(2024, 11, 10), TODAY, "any rate news?"),
        ("strikes over the last two weeks", date(2024, 10, 30), TODAY, "strikes"),
        ("since 3 October, what changed?", date(2024, 10, 3), None, "what changed?"),
        ("What changed since October 3rd, 2023?", date(2023, 10, 3), None, "What changed?"),
        ("news since 2024-10-01 on rates", date(2024, 10, 1), None, "news on rates"),
        ("since December, who resigned?", date(2023, 12, 1), None, "who resigned?"),
        ("What did the mayor say last Friday?", date(2024, 11, 8), date(2024, 11, 8), "What did the mayor say?"),
    ],
)
def test_relative_time_words_become_publication_dates_and_leave_the_question(question, start, end, rest):
    assert parse(question, TODAY) == (Timeframe(start, end), rest)


@pytest.mark.parametrize(
    ("question", "start", "end"),
    [
        ("What did the bank do in October?", date(2024, 10, 1), date(2024, 10, 31)),
        ("What happened in December?", date(2023, 12, 1), date(2023, 12, 31)),
        ("Floods in March 2023?", date(2023, 3, 1), date(2023, 3, 31)),
        ("the March 2023 floods", date(2023, 3, 1), date(2023, 3, 31)),
        ("what happened on 12 November?", date(2024, 11, 12), date(2024, 11, 12)),
        ("When was the treaty signed in 1953?", date(1953, 1, 1), date(1953, 12, 31)),
        ("Who won the 2022 World Cup?", date(2022, 1, 1), date(2022, 12, 31)),
        ("How many minutes passed during the riot on January 6, 2021?", date(2021, 1, 6), date(2021, 1, 6)),
    ],
)
def test_named_months_days_and_years_are_when_something_happened(question, start, end):
    timeframe, _ = parse(question, TODAY)
    assert timeframe == Timeframe(start, end, named=True)


def test_this_week_is_the_last_seven_days_and_last_week_the_calendar_week_before():
    monday = date(2024, 11, 11)
    assert parse("news this week", monday)[0] == Timeframe(date(2024, 11, 5), monday)
    assert parse("news last week", monday)[0] == Timeframe(date(2024, 11, 4), date(2024, 11, 10))


@pytest.mark.parametrize(
    "question",
    [
        "What has South Korea provided to Kyiv since the invasion?",  # not a date
        "What did Japan say on Tuesday?",  # the day an article reports, not relative to now
        "What happened on 30 February?",
        "It costs $2000 and 2024-10-01 is a date without since or on",  # money; an ISO date alone
        "Growth of 2.9 million, 25% in 2020-2021",
    ],
)
def test_questions_without_a_time_frame_are_left_alone(question):
    assert parse(question, TODAY) == (None, question)


def test_a_whole_text_as_a_period_and_how_it_is_described():
    assert parse_period("monday", TODAY) == Timeframe(date(2024, 11, 11), None)
    assert parse_period("2024-10-01", TODAY).describe() == "since 1 Oct 2024"
    assert parse_period("yesterday", TODAY).describe() == "on 12 Nov 2024"
    assert parse_period("last week", TODAY).describe() == "between 4 Nov 2024 and 10 Nov 2024"
    assert parse_period("the bridge", TODAY) is None
