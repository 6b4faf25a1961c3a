"""Briefings on a small newsroom: stories merged across outlets, every sentence cited, topics, periods and
"what is new since the last briefing"."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

import pytest

from answers.timeframes import parse_period
from newsbot.cli import main
from tests.helpers import CITATION_KEYS, index_items, wire
from tests.newsroom import BRIDGE_HERALD, BRIDGE_TIMES, FERRY_CREWS, build_index, write_jsonl

NOW = datetime(2024, 11, 13, 7, 0, tzinfo=UTC)
MARKER = re.compile(r"\[(\d+)\]")


@pytest.fixture(scope="module")
def newsroom(tmp_path_factory, embedder):
    return build_index(tmp_path_factory.mktemp("newsroom"))


@pytest.fixture
def briefer(newsroom):
    return wire(newsroom, NOW).briefer


def assert_cited(item) -> None:
    """Every sentence carries a marker, and the markers are exactly the item's citations."""
    sentences = re.split(r"(?<=[.!?])\s+", item.text)
    assert sentences and all(MARKER.search(sentence) for sentence in sentences), item.text
    assert {int(n) for n in MARKER.findall(item.text)} == {c.n for c in item.citations}


def test_two_outlets_versions_of_a_story_are_one_item_citing_both(briefer):
    briefing = briefer.brief()
    bridge, *others = briefing.items
    assert bridge.headline in (BRIDGE_HERALD["title"], BRIDGE_TIMES["title"])
    assert {c.source for c in bridge.citations} == {"Coast Herald", "Northern Times"}
    lede = bridge.text.split(" [")[0]  # the most central sentence: what happened
    assert "Ellery harbour bridge" in lede and "on Tuesday" in lede and "cracks" in lede
    assert not {BRIDGE_HERALD["url"], BRIDGE_TIMES["url"]} & {c.url for item in others for c in item.citations}
    # the rate decisions of October and November are two stories, not one
    assert sum("Bank of Valdora" in item.headline for item in others) == 2
    for item in briefing.items:
        assert_cited(item)


def test_an_outlet_no_chosen_sentence_cites_is_still_cited(newsroom):
    terse = newsroom.model_copy(update={"briefing_sentences": 1, "briefing_items": 1})
    (bridge,) = wire(terse, NOW).briefer.brief().items
    assert re.fullmatch(r"[^\[\]]+ \[1\]\. Also reported by (Coast Herald|Northern Times) \[2\]\.", bridge.text)
    assert {c.source for c in bridge.citations} == {"Coast Herald", "Northern Times"}
    assert_cited(bridge)


def test_a_topic_and_a_period_narrow_the_briefing(briefer):
    rates = briefer.brief("Bank of Valdora interest rates")
    recent = briefer.brief("Bank of Valdora interest rates", parse_period("1 November", NOW.date()))
    assert [c.published for item in rates.items for c in item.citations] == ["2024-11-11", "2024-10-03"]
    assert [item.headline for item in recent.items] == ["Bank of Valdora holds interest rates as inflation cools"]
    assert recent.subject() == "on Bank of Valdora interest rates, since 1 Nov 2024"
    assert briefer.brief("volcano eruption").items == []


def test_only_articles_indexed_since_the_last_mark_are_new(newsroom, embedder, copy_of, tmp_path):
    settings = copy_of(newsroom)
    wiring = wire(settings, NOW)
    briefer, mark = wiring.briefer, wiring.store.mark()
    assert briefer.brief(indexed_after=mark).items == []
    index_items(settings, [write_jsonl([FERRY_CREWS], tmp_path / "ferry.jsonl")])
    (item,) = briefer.brief(indexed_after=mark).items
    assert item.headline == FERRY_CREWS["title"] and item.citations[0].url == FERRY_CREWS["url"]


def test_json_shape_and_the_command_line(newsroom, capsys):
    assert main(["brief", "--index-dir", str(newsroom.index_dir), "--topic", "Ellery harbour bridge", "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert list(document) == ["items"]
    item = document["items"][0]
    assert list(item) == ["headline", "text", "citations"]
    assert list(item["citations"][0]) == CITATION_KEYS
    assert main(["brief", "--index-dir", str(newsroom.index_dir), "--since", "the moon"]) == 1
    assert "--since 'the moon' is not a date or time" in capsys.readouterr().err
