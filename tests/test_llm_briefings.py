"""Briefings written by the LLM answerer against the real llama.cpp server: a grounded summary is kept with its
citations renumbered; one the passages do not support falls back to the extractive digest. A GBNF grammar
pins the model's output (see tests/test_llm_answers.py)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from briefings.core import Briefer
from tests.helpers import wire
from tests.llm_server import forced, llm_settings
from tests.newsroom import build_index

NOW = datetime(2024, 11, 13, 7, 0, tzinfo=UTC)
TOPIC = "Ellery harbour bridge"


@pytest.fixture(scope="module")
def newsroom(tmp_path_factory, embedder):
    return build_index(tmp_path_factory.mktemp("newsroom")).model_copy(update={"briefing_items": 1})


def llm_briefer(newsroom, llm_server, output: str) -> Briefer:
    return forced(wire(llm_settings(newsroom, llm_server), NOW), output, 80).briefer


def test_a_grounded_llm_summary_is_kept_and_cites_both_outlets(newsroom, llm_server):
    written = (
        "Ferries will cross the harbour every fifteen minutes [2]. "
        "The Ellery harbour bridge was closed on Tuesday after inspectors found cracks in its main span [1]."
    )
    (item,) = llm_briefer(newsroom, llm_server, written).brief(TOPIC).items
    assert item.text == (
        "Ferries will cross the harbour every fifteen minutes [1]. "
        "The Ellery harbour bridge was closed on Tuesday after inspectors found cracks in its main span [2]."
    )
    assert {c.source for c in item.citations} == {"Coast Herald", "Northern Times"}


def test_an_unsupported_llm_summary_falls_back_to_the_extractive_digest(newsroom, llm_server):
    (item,) = llm_briefer(newsroom, llm_server, "The moon landing was staged in Nevada [1].").brief(TOPIC).items
    assert "moon" not in item.text and "Ellery harbour bridge" in item.text.split(" [")[0]
    assert {c.source for c in item.citations} == {"Coast Herald", "Northern Times"}
