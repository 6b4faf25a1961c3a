"""Feeds served by a real HTTP server on 127.0.0.1 whose entries change between polls."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from common.errors import FeedError, NewsbotError
from newsbot.cli import main
from tests.helpers import wire
from tests.http_server import LOCAL_NETWORKS
from tests.newsroom import FERRIES, MARKET, gazette_story, rss

T0 = datetime(2024, 11, 13, 7, 0, tzinfo=UTC)


@pytest.fixture
def settings(settings):
    """The suite's settings, allowed to fetch from the test page server on 127.0.0.1."""
    return settings.model_copy(update={"allow_private_networks": LOCAL_NETWORKS})


def requests_for(page_server, url: str) -> int:
    return page_server.requests.count(url.removeprefix(page_server.base_url))


def test_each_new_entry_is_indexed_once_as_the_feed_changes(settings, page_server):
    ferries, market = gazette_story(page_server, *FERRIES), gazette_story(page_server, *MARKET)
    feed_url = page_server.add("/feed.xml", rss("Ellery Gazette", [ferries]), content_type="application/rss+xml")
    poller = wire(settings).feed_poller
    feed, content = poller.subscribe(feed_url, T0)
    assert (feed.title, len(content.entries)) == ("Ellery Gazette", 1)

    first = poller.poll(T0)
    assert [entry.title for _, entry in first.added] == ["Extra ferries cross Ellery harbour"]
    assert poller.poll(T0 + timedelta(minutes=15)).lines() == []  # nothing new

    page_server.add("/feed.xml", rss("Ellery Gazette", [market, ferries]), content_type="application/rss+xml")
    third = poller.poll(T0 + timedelta(minutes=30))
    assert [entry.title for _, entry in third.added] == ["Ellery fish market moves to the north quay"]
    assert requests_for(page_server, ferries["link"]) == 1 and requests_for(page_server, market["link"]) == 1
    indexed = wire(settings).store.articles()
    assert sorted(a.url for a in indexed) == sorted([ferries["link"], market["link"]])
    assert {a.source for a in indexed} == {"Ellery Gazette"} and indexed[0].published.startswith("2024-11-13")


def test_entries_are_recognised_by_guid_and_by_link(settings, page_server):
    ferries = gazette_story(page_server, *FERRIES)
    poller = wire(settings).feed_poller
    first = page_server.add("/a.xml", rss("A", [ferries]), content_type="application/rss+xml")
    same_link = {**ferries, "guid": "another-guid"}
    same_guid = {**ferries, "link": ferries["link"] + "?utm_source=feed"}
    second = page_server.add("/b.xml", rss("B", [same_link, same_guid]), content_type="application/rss+xml")
    poller.subscribe(first, T0)
    poller.poll(T0)
    poller.subscribe(second, T0)
    assert poller.poll(T0 + timedelta(minutes=15)).lines() == []
    assert requests_for(page_server, ferries["link"]) == 1


def test_a_broken_feed_is_reported_and_backs_off_without_stopping_the_others(settings, page_server):
    ferries = gazette_story(page_server, *FERRIES)
    poller = wire(settings).feed_poller
    good = page_server.add("/good.xml", rss("Good", [ferries]), content_type="application/rss+xml")
    flaky = page_server.add("/flaky.xml", rss("Flaky", []), content_type="application/rss+xml")
    poller.subscribe(good, T0)
    poller.subscribe(flaky, T0)
    page_server.add("/flaky.xml", "oops", status=500, content_type="text/plain")

    report = poller.poll(T0)
    ((broken, error, retry_at),) = report.broken
    assert broken.url == flaky and error == f"{flaky}: HTTP 500 Internal Server Error"
    assert retry_at == T0 + timedelta(minutes=15) and len(report.added) == 1
    assert report.lines()[1].startswith(f"feed 2 (Flaky) failed: {error}; next try at 2024-11-13 07:15 UTC")

    poller.poll(T0 + timedelta(minutes=10))  # still resting
    assert requests_for(page_server, flaky) == 2  # subscribing, then the first poll
    again = poller.poll(T0 + timedelta(minutes=16))
    assert again.broken[0][2] == T0 + timedelta(minutes=16 + 30)  # the rest doubles

    page_server.add("/flaky.xml", rss("Flaky", []), content_type="application/rss+xml")
    recovered = poller.poll(T0 + timedelta(minutes=47))
    assert [feed.url for feed in recovered.recovered] == [flaky] and not recovered.broken
    assert poller.subscriptions.feeds()[1].failures == 0


def test_an_article_that_cannot_be_fetched_is_retried_then_given_up(settings, page_server):
    missing = {"guid": "gone", "link": page_server.url("/news/gone"), "title": "Gone"}
    feed_url = page_server.add("/feed.xml", rss("Gazette", [missing]), content_type="application/rss+xml")
    poller = wire(settings).feed_poller
    poller.subscribe(feed_url, T0)
    errors = [poller.poll(T0 + timedelta(minutes=15 * n)).failed_entries[0][2] for n in range(3)]
    assert (
        errors[0] == "HTTP 404 Not Found (will retry)" and errors[2] == "HTTP 404 Not Found (given up after 3 attempts)"
    )
    assert poller.poll(T0 + timedelta(hours=1)).lines() == []
    assert requests_for(page_server, missing["link"]) == 3


def test_what_is_not_a_feed_is_refused_and_a_feed_is_subscribed_once(settings, page_server):
    page = page_server.add("/page", "<html><body><p>Hello</p></body></html>")
    with pytest.raises(FeedError, match="not an RSS or Atom feed"):
        wire(settings).feed_poller.subscribe(page, T0)
    feed_url = page_server.add("/feed.xml", rss("Gazette", []), content_type="application/rss+xml")
    wire(settings).feed_poller.subscribe(feed_url, T0)
    with pytest.raises(NewsbotError, match="already subscribed"):
        wire(settings).feed_poller.subscribe(feed_url, T0)


def test_the_feed_command_line(settings, page_server, capsys, monkeypatch):
    monkeypatch.setenv("BOT_STATE_PATH", str(settings.bot_state_path))
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


def test_an_unchanged_feed_answers_304_and_counts_as_success_with_nothing_new(settings, page_server):
    ferries, market = gazette_story(page_server, *FERRIES), gazette_story(page_server, *MARKET)
    rss_type = "application/rss+xml"
    feed_url = page_server.add(
        "/feed.xml", rss("Ellery Gazette", [ferries]), content_type=rss_type, headers={"ETag": '"v1"'}
    )
    poller = wire(settings).feed_poller
    poller.subscribe(feed_url, T0)
    assert [entry.title for _, entry in poller.poll(T0).added] == ["Extra ferries cross Ellery harbour"]

    unchanged = poller.poll(T0 + timedelta(minutes=15))
    assert page_server.request_headers[-1].get("If-None-Match") == '"v1"'
    assert unchanged.lines() == [] and poller.subscriptions.feeds()[0].failures == 0
    assert poller.subscriptions.feeds()[0].etag == '"v1"'

    modified = "Wed, 13 Nov 2024 09:00:00 GMT"
    page_server.add(
        "/feed.xml",
        rss("Ellery Gazette", [market, ferries]),
        content_type=rss_type,
        headers={"Last-Modified": modified},
    )
    changed = poller.poll(T0 + timedelta(minutes=30))
    assert [entry.title for _, entry in changed.added] == ["Ellery fish market moves to the north quay"]
    feed = poller.subscriptions.feeds()[0]
    assert (feed.etag, feed.last_modified) == (None, modified)
    assert poller.poll(T0 + timedelta(minutes=45)).lines() == []
    assert page_server.request_headers[-1].get("If-Modified-Since") == modified
    assert requests_for(page_server, market["link"]) == 1


def test_an_entry_dates_its_article_when_the_page_does_not(settings, page_server):
    undated = page_server.add(
        "/news/undated",
        "<html><head><title>Harbour tolls rise</title></head><body><article><h1>Harbour tolls rise</h1>"
        "<p>The port authority raised harbour tolls by ten percent on Wednesday, citing repair costs.</p>"
        "<p>Shipping firms said the increase would be passed on to customers within weeks.</p></article></body></html>",
    )
    dated_page = gazette_story(page_server, *FERRIES)  # its page says 2024-11-13
    atom = (
        '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom"><title>Port News</title>'
        f"<id>urn:port</id><updated>2024-11-14T10:00:00Z</updated><entry><title>Harbour tolls rise</title>"
        f'<id>urn:tolls</id><link href="{undated}"/><updated>2024-11-14T08:30:00Z</updated></entry>'
        f'<entry><title>Ferries</title><id>urn:ferries</id><link href="{dated_page["link"]}"/>'
        "<updated>2024-11-20T08:30:00Z</updated></entry></feed>"
    )
    feed_url = page_server.add("/atom.xml", atom, content_type="application/atom+xml")
    poller = wire(settings).feed_poller
    poller.subscribe(feed_url, T0)
    assert len(poller.poll(T0).added) == 2
    rss_entry = {"guid": "quay", "link": page_server.add("/news/quay", UNDATED_QUAY), "title": "Quay"}
    poller.subscribe(page_server.add("/rss.xml", rss("Gazette", [rss_entry]), content_type="application/rss+xml"), T0)
    assert len(poller.poll(T0).added) == 1
    published = {article.title: article.published for article in wire(settings).store.articles()}
    assert published["Harbour tolls rise"].startswith("2024-11-14T08:30:00")  # Atom <updated>
    assert published["Extra ferries cross Ellery harbour"].startswith("2024-11-13")  # the page's own date
    assert published["North quay reopens"].startswith("2024-11-13T06:00:00")  # RSS <pubDate>


UNDATED_QUAY = (
    "<html><head><title>North quay reopens</title></head><body><article><h1>North quay reopens</h1>"
    "<p>The north quay reopened to fishing boats on Wednesday after two weeks of dredging work.</p>"
    "<p>Harbour officials said the deeper berths would take larger trawlers from next month.</p></article></body></html>"
)
