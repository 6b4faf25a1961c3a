"""Feeds that fail, and entries that repeat: one feed never stops the others, a failing feed is reported once
when it starts failing and once when it is paused (or works again), and an article linked twice is fetched
and indexed once, the second entry reported as a duplicate."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from newsbot.cli import main
from tests.helpers import wire
from tests.http_server import LOCAL_NETWORKS
from tests.newsroom import FERRIES, MARKET, gazette_story, rss

T0 = datetime(2024, 11, 13, 7, 0, tzinfo=UTC)
RSS = "application/rss+xml"


@pytest.fixture
def settings(settings):
    return settings.model_copy(update={"allow_private_networks": LOCAL_NETWORKS})


def feed_lines(lines: list[str]) -> list[str]:
    return [line for line in lines if line.startswith("feed ")]


def test_a_failing_feed_is_reported_when_it_starts_failing_and_when_it_is_paused(
    settings, page_server, capsys, monkeypatch
):
    ferries = gazette_story(page_server, *FERRIES)
    good = page_server.add("/good.xml", rss("Good", []), content_type=RSS)
    flaky = page_server.add("/flaky.xml", rss("Flaky", []), content_type=RSS)
    poller = wire(settings).feed_poller
    poller.subscribe(good, T0)
    poller.subscribe(flaky, T0)
    page_server.add("/flaky.xml", "oops", status=500, content_type="text/plain")

    said, now = [], T0
    while now < T0 + timedelta(hours=48):
        if now == T0 + timedelta(hours=1):  # the good feed keeps working meanwhile
            page_server.add("/good.xml", rss("Good", [ferries]), content_type=RSS)
        said += poller.poll(now).lines()
        now += timedelta(minutes=15)
    failed, paused = feed_lines(said)
    assert failed.startswith("feed 2 (Flaky) failed: ") and "you'll hear when it works again or is paused" in failed
    assert paused.startswith("feed 2 (Flaky) paused: it has kept failing (") and "/feed resume 2" in paused
    assert "added: Extra ferries cross Ellery harbour (Good)" in said
    fetched = page_server.requests.count("/flaky.xml")
    assert fetched == 1 + 8  # subscribing, then each retry until 24 hours of failures; none once paused
    (_, listed) = poller.subscriptions.feeds()
    assert listed.paused_at is not None

    monkeypatch.setenv("BOT_STATE_PATH", str(settings.bot_state_path))
    assert main(["feed", "resume", "2", "--index-dir", str(settings.index_dir)]) == 0
    assert capsys.readouterr().out.startswith("resumed feed 2: Flaky")
    page_server.add("/flaky.xml", rss("Flaky", []), content_type=RSS)
    assert poller.poll(now).lines() == [] and page_server.requests.count("/flaky.xml") == fetched + 1


def test_a_feed_that_fails_then_works_again_is_reported_twice_only(settings, page_server):
    flaky = page_server.add("/flaky.xml", rss("Flaky", []), content_type=RSS)
    poller = wire(settings).feed_poller
    poller.subscribe(flaky, T0)
    page_server.add("/flaky.xml", "oops", status=503, content_type="text/plain")
    said = poller.poll(T0).lines() + poller.poll(T0 + timedelta(minutes=15)).lines()
    said += poller.poll(T0 + timedelta(minutes=45)).lines()
    page_server.add("/flaky.xml", rss("Flaky", []), content_type=RSS)
    said += poller.poll(T0 + timedelta(hours=2)).lines()
    assert len(said) == 2 and said[0].startswith("feed 1 (Flaky) failed") and said[1] == "feed 1 (Flaky) works again"


def test_bad_feeds_and_entries_fail_alone(settings, page_server):
    ferries, market = gazette_story(page_server, *FERRIES), gazette_story(page_server, *MARKET)
    missing = {"guid": "gone", "link": page_server.url("/news/gone"), "title": "Gone"}
    inside = {"guid": "inside", "link": "http://10.0.0.5/admin", "title": "Inside"}
    first = page_server.add("/a.xml", rss("A", [missing, inside, ferries]), content_type=RSS)
    second = page_server.add("/b.xml", rss("B", [market]), content_type=RSS)
    third = page_server.add("/c.xml", rss("C", []), content_type=RSS)
    fourth = page_server.add("/d.xml", rss("D", []), content_type=RSS)
    poller = wire(settings).feed_poller
    for url in (first, second, third, fourth):
        poller.subscribe(url, T0)
    page_server.add("/c.xml", "<html><body>Moved</body></html>")
    page_server.add("/d.xml", "", status=302, content_type="text/plain", headers={"Location": "http://10.0.0.9/feed"})
    report = poller.poll(T0)
    assert sorted(entry.title for _, entry in report.added) == sorted([FERRIES[1], MARKET[1]])
    assert sorted(entry.title for _, entry, _ in report.failed_entries) == ["Gone", "Inside"]
    assert [feed.title for feed, _, _ in report.broken] == ["C", "D"]


def test_entries_whose_links_differ_by_a_tracking_parameter_are_one_article(settings, page_server):
    ferries = gazette_story(page_server, *FERRIES)
    tracked = {**ferries, "guid": "another-guid", "link": ferries["link"] + "?utm_source=rss"}
    feed_url = page_server.add("/feed.xml", rss("Gazette", [ferries, tracked]), content_type=RSS)
    poller = wire(settings).feed_poller
    poller.subscribe(feed_url, T0)
    report = poller.poll(T0)
    assert [entry.title for _, entry in report.added] == [FERRIES[1]]
    assert report.lines()[1] == f"duplicate: {tracked['link']} is the same article as {ferries['link']}"
    assert poller.poll(T0 + timedelta(minutes=15)).lines() == []
    assert sum(request.startswith("/news/ferries") for request in page_server.requests) == 1
    assert wire(settings).store.stats()["articles"] == 1
