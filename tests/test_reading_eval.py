"""The reading set is consistent with its articles, and the runner scores answers as its README says."""

from __future__ import annotations

import json
from collections import Counter
from types import SimpleNamespace

import pytest

from answers.types import Answer, Citation
from evaluation.metrics import answering
from evaluation.reading import READING, is_right, questions
from evaluation.sample import SAMPLE_ARTICLES

CASES = questions()
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
