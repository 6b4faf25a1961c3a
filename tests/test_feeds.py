"""Feeds served by a real HTTP server on 127.0.0.1 whose entries change between polls."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from feeds.polling import poll_feeds, subscribe
from feeds.reading import FeedError
from feeds.store import feed_store
from index.errors import NewsbotError
from index.reader import IndexReader
from newsbot.cli import main
from tests.http_server import LOCAL_NETWORKS
from tests.newsroom import FERRIES, MARKET, gazette_story, rss

T0 = datetime(2024, 11, 13, 7, 0, tzinfo=UTC)


@pytest.fixture
def settings(settings):
    """The suite's settings, allowed to fetch from the test page server on 127.0.0.1."""
    return settings.model_copy(update={"allow_private_networks": LOCAL_NETWORKS})


def requests_for(page_server, url: str) -> int:
    return page_server.requests.count(url.removeprefix(page_server.base_url))


def test_each_new_entry_is_indexed_once_as_the_feed_changes(settings, embedder, page_server):
    ferries, market = gazette_story(page_server, *FERRIES), gazette_story(page_server, *MARKET)
    feed_url = page_server.add("/feed.xml", rss("Ellery Gazette", [ferries]), content_type="application/rss+xml")
    store = feed_store(settings)
    feed, content = subscribe(store, feed_url, settings, T0)
    assert (feed.title, len(content.entries)) == ("Ellery Gazette", 1)

    first = poll_feeds(store, settings, embedder, T0)
    assert [entry.title for _, entry in first.added] == ["Extra ferries cross Ellery harbour"]
    assert poll_feeds(store, settings, embedder, T0 + timedelta(minutes=15)).lines() == []  # nothing new

    page_server.add("/feed.xml", rss("Ellery Gazette", [market, ferries]), content_type="application/rss+xml")
    third = poll_feeds(store, settings, embedder, T0 + timedelta(minutes=30))
    assert [entry.title for _, entry in third.added] == ["Ellery fish market moves to the north quay"]
    assert requests_for(page_server, ferries["link"]) == 1 and requests_for(page_server, market["link"]) == 1
    indexed = IndexReader(settings.index_dir).articles()
    assert sorted(a.url for a in indexed) == sorted([ferries["link"], market["link"]])
    assert {a.source for a in indexed} == {"Ellery Gazette"} and indexed[0].published.startswith("2024-11-13")


def test_entries_are_recognised_by_guid_and_by_link(settings, embedder, page_server):
    ferries = gazette_story(page_server, *FERRIES)
    store = feed_store(settings)
    first = page_server.add("/a.xml", rss("A", [ferries]), content_type="application/rss+xml")
    same_link = {**ferries, "guid": "another-guid"}
    same_guid = {**ferries, "link": ferries["link"] + "?utm_source=feed"}
    second = page_server.add("/b.xml", rss("B", [same_link, same_guid]), content_type="application/rss+xml")
    subscribe(store, first, settings, T0)
    poll_feeds(store, settings, embedder, T0)
    subscribe(store, second, settings, T0)
    assert poll_feeds(store, settings, embedder, T0 + timedelta(minutes=15)).lines() == []
    assert requests_for(page_server, ferries["link"]) == 1


def test_a_broken_feed_is_reported_and_backs_off_without_stopping_the_others(settings, embedder, page_server):
    ferries = gazette_story(page_server, *FERRIES)
    store = feed_store(settings)
    good = page_server.add("/good.xml", rss("Good", [ferries]), content_type="application/rss+xml")
    flaky = page_server.add("/flaky.xml", rss("Flaky", []), content_type="application/rss+xml")
    subscribe(store, good, settings, T0)
    subscribe(store, flaky, settings, T0)
    page_server.add("/flaky.xml", "oops", status=500, content_type="text/plain")

    report = poll_feeds(store, settings, embedder, T0)
    ((broken, error, retry_at),) = report.broken
    assert broken.url == flaky and error == f"{flaky}: HTTP 500 Internal Server Error"
    assert retry_at == T0 + timedelta(minutes=15) and len(report.added) == 1
    assert report.lines()[1] == f"feed 2 (Flaky) failed: {error}; next try at 2024-11-13 07:15 UTC"

    poll_feeds(store, settings, embedder, T0 + timedelta(minutes=10))  # still resting
    assert requests_for(page_server, flaky) == 2  # subscribing, then the first poll
    again = poll_feeds(store, settings, embedder, T0 + timedelta(minutes=16))
    assert again.broken[0][2] == T0 + timedelta(minutes=16 + 30)  # the rest doubles

    page_server.add("/flaky.xml", rss("Flaky", []), content_type="application/rss+xml")
    recovered = poll_feeds(store, settings, embedder, T0 + timedelta(minutes=47))
    assert [feed.url for feed in recovered.recovered] == [flaky] and not recovered.broken
    assert store.feeds()[1].failures == 0


def test_an_article_that_cannot_be_fetched_is_retried_then_given_up(settings, embedder, page_server):
    missing = {"guid": "gone", "link": page_server.url("/news/gone"), "title": "Gone"}
    feed_url = page_server.add("/feed.xml", rss("Gazette", [missing]), content_type="application/rss+xml")
    store = feed_store(settings)
    subscribe(store, feed_url, settings, T0)
    errors = [
        poll_feeds(store, settings, embedder, T0 + timedelta(minutes=15 * n)).failed_entries[0][2] for n in range(3)
    ]
    assert (
        errors[0] == "HTTP 404 Not Found (will retry)" and errors[2] == "HTTP 404 Not Found (given up after 3 attempts)"
    )
    assert poll_feeds(store, settings, embedder, T0 + timedelta(hours=1)).lines() == []
    assert requests_for(page_server, missing["link"]) == 3


def test_what_is_not_a_feed_is_refused_and_a_feed_is_subscribed_once(settings, page_server):
    page = page_server.add("/page", "<html><body><p>Hello</p></body></html>")
    with pytest.raises(FeedError, match="not an RSS or Atom feed"):
        subscribe(feed_store(settings), page, settings, T0)
    feed_url = page_server.add("/feed.xml", rss("Gazette", []), content_type="application/rss+xml")
    subscribe(feed_store(settings), feed_url, settings, T0)
    with pytest.raises(NewsbotError, match="already subscribed"):
        subscribe(feed_store(settings), feed_url, settings, T0)


def test_the_feed_command_line(settings, page_server, capsys, monkeypatch):
    monkeypatch.setenv("ALLOW_PRIVATE_NETWORKS", "127.0.0.0/8")
    ferries = gazette_story(page_server, *FERRIES)
    feed_url = page_server.add("/feed.xml", rss("Ellery Gazette", [ferries]), content_type="application/rss+xml")
    index = ["--index-dir", str(settings.index_dir), "--json"]
    assert main(["feed", "add", feed_url, *index]) == 0
    assert json.loads(capsys.readouterr().out)["entries"] == 1
    assert main(["feed", "poll", *index]) == 0
    assert json.loads(capsys.readouterr().out)["added"] == [
        {"feed": 1, "title": ferries["title"], "url": ferries["link"]}
    ]
    assert main(["feed", "list", *index]) == 0
    assert [feed["title"] for feed in json.loads(capsys.readouterr().out)] == ["Ellery Gazette"]
    assert main(["feed", "remove", "1", *index]) == 0 and main(["feed", "remove", "1", *index]) == 1
    assert "no feed number 1" in capsys.readouterr().err
