"""The reading set is consistent with its articles and files, and the runner scores answers as its README says."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import pytest

from answers.types import Answer, Citation
from evaluation.metrics import answering
from evaluation.reading import READING, asked_at, history, is_right, questions, summary
from evaluation.sample import SAMPLE_ARTICLES

FIRST_SET = [case for case in questions() if "now" not in case]  # the 170 written before issue 20
CASES = FIRST_SET
ARTICLES = {
    record["key"]: record["text"] for record in map(json.loads, (READING / "articles.jsonl").read_text().splitlines())
}
ARTICLES["sample"] = json.loads((SAMPLE_ARTICLES / "sample-article.json").read_text())["text"]


def parts(case: dict) -> list[dict]:
    return [case, case["and"]] if case.get("and") else [case]


@pytest.mark.parametrize("case", [c for c in CASES if c["expect"]], ids=lambda case: case["id"])
def test_every_answer_is_in_its_article(case):
    for part in parts(case):
        text = ARTICLES[part["article"]]
        assert part["cite"] in text
        assert any(expected.lower() in text.lower() for expected in part["expect"])


def test_the_set_is_complete_and_split_half_and_half_by_category():
    assert len({case["id"] for case in CASES}) == len(CASES) >= 120
    categories = Counter(case["category"] for case in CASES)
    assert len(categories) == 11 and min(categories.values()) >= 8
    assert sum(1 for case in CASES if case["expect"] is None) >= 20
    seen: Counter = Counter()
    for case in CASES:
        assert case["split"] == ("tune" if seen[case["category"]] % 2 == 0 else "held_out")
        seen[case["category"]] += 1


def test_the_first_set_is_as_it_was_and_comes_first():
    assert len(FIRST_SET) == 170 and questions()[:170] == FIRST_SET


def test_the_files_and_their_questions_pass_the_sets_own_check():
    check = Path(__file__).resolve().parent.parent / "scripts" / "check_reading_set.py"
    done = subprocess.run([sys.executable, str(check)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "total                    138  tune 69  held_out 69" in done.stdout


def test_a_conversation_continues_an_earlier_question():
    earlier: set[str] = set()
    for case in CASES:
        assert (case["after"] is not None) == (case["category"] in ("follow_up", "new_topic_after"))
        assert case["after"] is None or case["after"] in earlier
        earlier.add(case["id"])


def cited(text: str, passage: str) -> Answer:
    citation = Citation(1, "a1", "Title", "outlet", None, "2024-10-25", passage)
    return Answer("q", text, abstained=False, citations=[citation])


FIREFIGHTERS = {"expect": ["1,100"], "cite": "More than 1,100 firefighters"}
PASSAGE = "More than 1,100 firefighters are now working on the blaze. It had burned 8,900 hectares."


def test_an_answer_is_right_with_the_expected_text_quoted_from_the_cited_passage():
    assert is_right(FIREFIGHTERS, cited("More than 1100 firefighters are working [1].", PASSAGE))
    assert not is_right(FIREFIGHTERS, cited("It had burned 8,900 hectares [1].", PASSAGE))
    assert not is_right(FIREFIGHTERS, cited("More than 1,100 firefighters [1].", "Another passage."))
    assert not is_right(FIREFIGHTERS, cited("Crews numbered 11,100 [1].", PASSAGE))
    assert not is_right(FIREFIGHTERS, cited("It burned [1].\n\nNote: 1,100 days old.", PASSAGE))
    assert not is_right(FIREFIGHTERS, Answer("q", "The indexed articles don't say.", abstained=True))


def test_both_parts_of_a_two_part_question_must_be_answered():
    case = {**FIREFIGHTERS, "and": {"expect": ["8,900"], "cite": "burned 8,900 hectares"}}
    assert is_right(case, cited("1,100 firefighters [1]; 8,900 hectares [1].", PASSAGE))
    assert not is_right(case, cited("More than 1,100 firefighters [1].", PASSAGE))


def test_an_unanswerable_question_is_right_only_when_abstained():
    unanswerable = {"expect": None, "cite": None}
    assert is_right(unanswerable, Answer("q", "The indexed articles don't say.", abstained=True))
    assert not is_right(unanswerable, cited("More than 1,100 firefighters [1].", PASSAGE))


def test_expect_all_cite_all_cite_articles_and_reject():
    passage = "The coastguard counted 2,300. Rusk said more than 9,000 people left."
    case = {
        "expect": None,
        "cite": None,
        "expect_all": [["2,300"], ["9,000"], ["coastguard"], ["Rusk", "interior minister"]],
        "cite_all": ["2,300", "9,000"],
        "cite_articles": [["a1", "a2"]],
        "reject": ["Ewan Tait"],
    }
    both = "2,300 by the coastguard's count; more than 9,000 according to the interior minister [1]."
    assert is_right(case, cited(both, passage), {"a1": "a1"})
    assert not is_right(case, cited(both, passage), {"a2": "a2"})  # not the article it must cite
    assert not is_right(case, cited("2,300 by the coastguard [1].", passage), {"a1": "a1"})
    assert not is_right(case, cited(both + " Ewan Tait / The Calder Courier", passage), {"a1": "a1"})
    assert not is_right(case, cited(both, "The coastguard counted 2,300."), {"a1": "a1"})
    assert not is_right(case, Answer("q", "The indexed articles don't say.", abstained=True), {"a1": "a1"})


def test_an_answer_without_a_cite_to_check_is_scored_on_the_rest():
    assert is_right({"expect": ["2,300"], "cite": None}, cited("2,300 people [1].", "2,300 people"))


@pytest.mark.parametrize(
    ("kind", "reply", "right"),
    [
        ("greeting", "Hello! Ask me about the news: “What's new?” or “What happened this week?”", True),
        ("greeting", "Hello! Ask me about the news.", False),
        ("greeting", "The indexed articles don't say? Really?", False),
        ("greeting", "Hi? " + "x" * 400 + "?", False),
        ("usage", "Type a question about the news, for example “What's new?”", True),
        ("usage", "", False),
        ("language", "I read English articles; here is what they say.", True),
        ("language", "The indexed articles don't say.", False),
    ],
)
def test_conversation_lines_are_scored_by_their_kind(kind, reply, right):
    assert is_right({"expect": None, "cite": None, "expect_kind": kind}, Answer("q", reply, abstained=False)) is right


def test_a_conversation_line_with_citations_is_no_greeting():
    reply = cited("Hello! “What's new?” or “What happened this week?” [1]", "a passage")
    assert not is_right({"expect": None, "cite": None, "expect_kind": "greeting"}, reply)


def test_nothing_in_the_period_is_scored_by_the_newest_date_and_what_is_not_quoted():
    case = {"expect": ["6 December", "2026-12-06"], "cite": None, "expect_kind": "none_in_period", "reject": ["6,500"]}
    note = "\n\nNote: the newest article is from 6 Dec 2026."
    assert is_right(case, Answer("q", "No article was published then; the newest is from 6 December.", True))
    assert is_right(case, Answer("q", "Nothing was published then." + note.replace("6 Dec", "6 December"), True))
    assert not is_right(case, Answer("q", "Nothing was published then.", True))
    assert not is_right(case, cited("6,500 households were still without power on 6 December [1].", "x"))


def test_questions_are_asked_at_their_own_moment_after_their_whole_conversation():
    assert asked_at({"now": "2026-12-04T20:00"}) == datetime(2026, 12, 4, 20, 0, tzinfo=UTC)
    assert asked_at({"now": "2024-10-24"}).replace(microsecond=0) == datetime(2024, 10, 24, 23, 59, 59, tzinfo=UTC)
    assert asked_at({}) == datetime(2024, 12, 12, 9, 0, tzinfo=UTC)
    cases = {"a": {"question": "A?", "after": None}, "b": {"question": "B?", "after": "a"}}
    answers = {"a": Answer("A?", "a.", False), "b": Answer("B?", "b.", False)}
    assert [turn.question for turn in history({"after": "b"}, cases, answers)] == ["A?", "B?"]


def test_abstention_leaves_out_conversation_lines_and_empty_periods():
    abstained = Answer("q", "The indexed articles don't say.", abstained=True)
    rows = [
        ({"category": "c", "expect": None, "cite": None}, abstained, True),
        ({"category": "c", "expect": None, "cite": None, "expect_all": ["x"]}, abstained, False),
        ({"category": "c", "expect": None, "cite": None, "expect_kind": "greeting"}, abstained, False),
        ({"category": "c", "expect": ["6 Dec"], "cite": None, "expect_kind": "none_in_period"}, abstained, True),
    ]
    assert summary(rows)["abstention"] == {"precision": 0.5, "recall": 1.0, "abstained": 2, "unanswerable": 1}


def test_the_report_has_latency_and_how_often_and_why_the_llms_answer_was_replaced():
    llm, extractive = SimpleNamespace(name="llm"), SimpleNamespace(name="extractive")
    answers = [
        Answer("a", "x [1]", False, answerer="llm", latency_ms=900.0),
        Answer("b", "y [1]", False, answerer="extractive", latency_ms=3100.0, fallback="deadline"),
        Answer("c", "z [1]", False, answerer="extractive", latency_ms=700.0, fallback="ungrounded"),
        Answer("d", "The indexed articles don't say.", True, answerer="llm", latency_ms=40.0),
    ]
    assert answering(SimpleNamespace(answerer=llm, fallback=extractive), answers) == {
        "latency_ms_p50": 800.0,
        "latency_ms_p95": 900.0,
        "fallback_rate": round(2 / 3, 3),
        "fallbacks": {"deadline": 1, "ungrounded": 1},
    }
    assert "fallback_rate" not in answering(SimpleNamespace(answerer=extractive, fallback=extractive), answers)
