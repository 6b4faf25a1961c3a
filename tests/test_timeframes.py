"""Time words in questions, read relative to a fixed day (Wednesday 13 November 2024)."""

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
        ("what did the bank decide this week?", date(2024, 11, 11), TODAY, "what did the bank decide?"),
        ("What happened last week?", date(2024, 11, 4), date(2024, 11, 10), "What happened?"),
        ("Who won yesterday?", date(2024, 11, 12), date(2024, 11, 12), "Who won?"),
        ("What changed since yesterday?", date(2024, 11, 12), None, "What changed?"),
        ("Who resigned since last week?", date(2024, 11, 4), None, "Who resigned?"),
        ("What is the price of gold today?", TODAY, TODAY, "What is the price of gold?"),
        ("What did the bank do in October?", date(2024, 10, 1), date(2024, 10, 31), "What did the bank do?"),
        ("What happened in December?", date(2023, 12, 1), date(2023, 12, 31), "What happened?"),
        ("Floods in March 2023?", date(2023, 3, 1), date(2023, 3, 31), "Floods?"),
        ("What happened this month?", date(2024, 11, 1), TODAY, "What happened?"),
        ("What happened last month?", date(2024, 10, 1), date(2024, 10, 31), "What happened?"),
        ("any rate news in the past 3 days?", date(2024, 11, 10), TODAY, "any rate news?"),
        ("strikes over the last two weeks", date(2024, 10, 30), TODAY, "strikes"),
        ("since 3 October, what changed?", date(2024, 10, 3), None, "what changed?"),
        ("What changed since October 3rd, 2023?", date(2023, 10, 3), None, "What changed?"),
        ("news since 2024-10-01 on rates", date(2024, 10, 1), None, "news on rates"),
        ("since December, who resigned?", date(2023, 12, 1), None, "who resigned?"),
        ("what happened on 12 November?", date(2024, 11, 12), date(2024, 11, 12), "what happened?"),
        ("What did the mayor say last Friday?", date(2024, 11, 8), date(2024, 11, 8), "What did the mayor say?"),
    ],
)
def test_time_words_become_a_date_range_and_leave_the_question(question, start, end, rest):
    assert parse(question, TODAY) == (Timeframe(start, end), rest)


@pytest.mark.parametrize(
    "question",
    [
        "What has South Korea provided to Kyiv since the invasion?",  # not a date
        "What did Japan say on Tuesday?",  # the day an article reports, not relative to now
        "Who won the 2022 World Cup?",
        "What happened on 30 February?",
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
