"""How questions are read, without an index: what kind of answer they ask for and the short answer a sentence
gives, who "he" is, the outlet a question names, general news questions, and conversation lines."""

from __future__ import annotations

from datetime import date

import pytest

from answers.conversation import not_english, reply
from answers.kinds import expected_kind, named_person, role_of, short_answers, source_of, subject
from answers.outlets import named_outlet
from answers.recency import news_request
from answers.timeframes import Timeframe

SPY = (
    "South Korea's spy agency recently confirmed the dispatch of 1,500 North Korean special operation forces to "
    "Russia, while Ukrainian President Volodymyr Zelenskyy claimed intelligence suggesting the preparation of 10,000 "
    "North Korean soldiers to join Russian forces."
)


@pytest.mark.parametrize(
    ("question", "sentence", "short"),
    [
        (
            "who denied the deployment?",
            "Both North Korea and Russia have denied the troop deployment.",
            ["North Korea and Russia"],
        ),
        ("how many north korean soldiers has pyongyang sent", SPY, ["1,500", "10,000"]),
        ("how much does the fold 2 cost", "The Fold 2 will cost 1,299 euros on 15 January.", ["1,299 euros"]),
        ("when does the fold 2 go on sale", "The Fold 2 will cost 1,299 euros on 15 January.", ["15 January"]),
        (
            "what did the bank cut its rate to",
            "The bank cut its deposit rate to 1.75 percent on Thursday.",
            ["1.75 percent"],
        ),
        (
            "where was the strongest gust measured",
            "The gust was recorded at Kilnsey Point at 2:40 p.m.",
            ["Kilnsey Point"],
        ),
        ("which show was green lit", "“Squid Game” is officially coming back.", ["Squid Game"]),
        ("which company launched a phone", "Korvo, the Oslo-based phone maker, unveiled the Fold 2.", ["Korvo"]),
        ("who is halvard rusk?", "Interior Minister Halvard Rusk put the figure far higher.", ["Interior Minister"]),
    ],
)
def test_the_short_answer_is_taken_verbatim_from_the_sentence(question, sentence, short):
    assert short_answers(question, sentence) == short


def test_a_count_must_be_of_the_event_and_the_thing_asked_about():
    died = expected_kind("how many people died in the storm")
    assert died("Four people were treated in hospital.") == 0 and died("Two people were killed.") == 1
    trains = expected_kind("how many trains were cancelled")
    assert trains("Only 81 percent of trains arrived on time, and services were cancelled.") < 1  # a share
    homes = expected_kind("how many homes lost power")
    assert homes("About 41,000 households were without power.") == 1


def test_a_price_or_a_rate_is_of_the_thing_named():
    assert subject("how much will the carers railcard cost") == {"railcard", "carer"}
    assert subject("what is the unemployment rate in the euro area") == {"unemploy"}
    assert subject("How much did it cost to train Lantern 3?") == frozenset()  # "it": the earlier question says


def test_roles_and_sources():
    assert (
        role_of("Dr. Ines Okoro, the hospital's medical director, said so.", "ines okoro")
        == "the hospital's medical director"
    )
    assert (
        role_of("Ivo Sandell, who runs a bakery on the seafront, said so.", "Ivo Sandell")
        == "who runs a bakery on the seafront"
    )
    assert source_of(SPY, "1,500") == "South Korea's spy agency"
    assert source_of(SPY, "10,000") == "Ukrainian President Volodymyr Zelenskyy"
    assert source_of("Four members wanted a hold, according to three people familiar with it.", "Four") == (
        "three people familiar with it"
    )


def test_he_or_she_is_who_the_conversation_asked_about():
    earlier = ["who is halvard rusk?", "what did he claim"]
    assert named_person("and where did he go on sunday", earlier) == "and where did halvard rusk go on sunday"
    assert named_person("how many members disagreed with her", ["what did lagarde call the cut"]) == (
        "how many members disagreed with her"  # "her" is no subject: left to the follow-up's context
    )
    assert named_person("what did she say about demand", ["Who is Harbor Foods' chief executive?"]).endswith(
        "she say about demand"
    )


def test_an_outlet_named_as_a_source():
    outlets = ["The Calder Courier", "Westmark Today", "sample"]
    assert named_outlet("what did the calder courier report yesterday", outlets) == (
        "The Calder Courier",
        "what did report yesterday",
    )
    assert named_outlet("how much did the wall cost according to westmark today", outlets) == (
        "Westmark Today",
        "how much did the wall cost",
    )
    assert named_outlet("is this a sample question?", outlets) == (None, "is this a sample question?")


TODAY = date(2026, 12, 4)  # a Friday


@pytest.mark.parametrize(
    ("question", "topic", "timeframe"),
    [
        ("what's new?", "", None),
        ("what happened this week", "", Timeframe(date(2026, 11, 28), TODAY)),
        ("any news since monday?", "", Timeframe(date(2026, 11, 30), None)),
        ("what happened on wednesday", "", Timeframe(date(2026, 12, 2), date(2026, 12, 2))),
        ("what happened in june", "", Timeframe(date(2026, 6, 1), date(2026, 6, 30))),
        ("tell me about the storm", "the storm", None),
        ("summarize the ECB news", "the ECB", None),
        ("any korvo news since tuesday?", "korvo", Timeframe(date(2026, 12, 1), None)),
        ("latest on the dock strike", "the dock strike", None),
    ],
)
def test_general_news_questions(question, topic, timeframe):
    request = news_request(question, TODAY)
    assert request is not None and (request.topic, request.timeframe) == (topic, timeframe)


@pytest.mark.parametrize(
    "question", ["Which company launched a folding phone this week?", "who denied the deployment?", "how many died?"]
)
def test_a_fact_with_a_time_word_is_no_general_news_question(question):
    assert news_request(question, TODAY) is None


def test_conversation_lines():
    assert reply("hi") and reply("thank you, that helps") and reply("   ") and reply("?")
    assert reply("thanks, and what about the earbuds?") is None and reply("who denied the deployment?") is None
    assert not_english("Wie viel kostet das Korvo Fold 2?") and not_english("¿Cuántas personas?")
    assert not not_english("whats new about korvo") and not not_english("who is hanna sjöberg")
