"""Which links, records and files are the same article: query strings count (tracking parameters don't), a
page's own address counts when it is on its site, duplicates are reported and nothing else is lost, and an
index written before query strings counted keeps its articles and their ids."""

from __future__ import annotations

import hashlib
import json
import sqlite3

import pytest

from evaluation.realtimeqa import protocol_url
from index.articles import url_identity
from index.fetch import FetchPolicy, fetch_article
from index.html import article_from_html, same_site
from index.sqlite.schema import SCHEMA_VERSION, connect
from newsbot.cli import main
from tests.helpers import index_items, wire
from tests.http_server import LOCAL_NETWORKS, article_html

BUDGET = "The city council approved the new budget on Tuesday. Critics said it was too small to repair the bridges."
FLOOD = "Heavy rain flooded the river valley overnight. Hundreds of families were moved to shelters by morning."
STORY_101 = "The harbour museum reopened on Sunday after two years of repairs, its director said at the opening."
STORY_102 = "Fishermen in the north bay reported the largest catch of herring in a decade, the cooperative said."


def write_jsonl(path, *records):
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return str(path)


@pytest.mark.parametrize(
    ("one", "other", "same"),
    [
        ("https://blog.example/story.php?id=101", "https://blog.example/story.php?id=102", False),
        ("https://blog.example/story.php?id=101", "http://www.blog.example/story.php?id=101#comments", True),
        ("https://x.example/a?utm_source=rss", "https://x.example/a", True),
        ("https://x.example/a?id=1&utm_medium=feed&fbclid=abc&gclid=1", "https://x.example/a?id=1", True),
        ("https://x.example/a?mc_cid=1&mc_eid=2&igshid=3&ref_src=twsrc", "https://x.example/a/", True),
        ("https://x.example/a?b=2&a=1", "https://x.example/a?a=1&b=2", True),
        ("https://x.example/gallery?gallery=2", "https://x.example/gallery?gallery=3", False),
        ("https://x.example/a?source=1", "https://x.example/a?source=2", False),
        ("https://edition.x.example/a/", "https://x.example/a", True),
    ],
)
def test_the_query_string_counts_but_tracking_parameters_do_not(one, other, same):
    assert (url_identity(one) == url_identity(other)) is same


def test_links_without_a_query_keep_the_identity_they_always_had():
    assert url_identity("https://www.X.example/news/story/") == "x.example/news/story"
    assert url_identity("http://[oops/story") == "http://[oops/story"  # not a link; never raises


def test_realtimeqa_compares_urls_its_own_way():
    assert protocol_url("https://www.x.example/a/?id=1#top") == "x.example/a"


def test_articles_that_differ_only_by_their_query_string_are_both_kept(settings, tmp_path):
    source = write_jsonl(
        tmp_path / "a.jsonl",
        {"title": "Museum reopens", "text": STORY_101, "url": "https://blog.example/story.php?id=101"},
        {"title": "Herring catch", "text": STORY_102, "url": "https://blog.example/story.php?id=102"},
    )
    report = index_items(settings, [source])
    assert (report.added, report.updated, report.duplicates) == (2, 0, 0)
    assert {a.url for a in wire(settings).store.articles()} == {
        "https://blog.example/story.php?id=101",
        "https://blog.example/story.php?id=102",
    }


def test_the_same_file_twice_and_a_repeated_line_are_reported_as_duplicates(settings, tmp_path):
    budget = json.dumps({"title": "Budget", "text": BUDGET})
    flood = json.dumps({"title": "Flood", "text": FLOOD, "url": "https://x.example/flood"})
    path = tmp_path / "a.jsonl"
    path.write_text(f"{budget}\n{flood}\n{budget}\n")
    wiring = wire(settings)
    report = wiring.indexer.add(wiring.read_sources([str(path), str(path)]))
    assert (report.added, report.duplicates, report.failed) == (2, 4, [])
    reasons = [line for line in report.problem_lines()]
    assert (
        "duplicate: https://x.example/flood is the same article as https://x.example/flood, earlier in this run"
        in reasons
    )
    assert any(line.startswith("duplicate: Budget has the same text as article") for line in reasons)
    assert wire(settings).store.stats()["articles"] == 2


def test_the_cli_reports_a_file_given_twice_and_exits_cleanly(settings, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("BOT_STATE_PATH", str(settings.bot_state_path))
    source = write_jsonl(tmp_path / "a.jsonl", {"title": "Budget", "text": BUDGET, "url": "https://x.example/b"})
    assert main(["index", "add", source, source, "--index-dir", str(settings.index_dir)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("added 1, updated 0, unchanged 0, duplicates 1, failed 0")
    assert "duplicate: https://x.example/b is the same article as https://x.example/b, earlier in this run" in out


def test_two_records_with_the_same_title_and_no_url_are_both_kept(settings, tmp_path):
    source = write_jsonl(
        tmp_path / "a.jsonl",
        {"title": "Weather", "text": BUDGET},
        {"title": "Weather", "text": FLOOD},
        {"title": "Weather", "text": FLOOD},
    )
    report = index_items(settings, [source])
    assert (report.added, report.duplicates) == (2, 1)
    again = index_items(settings, [source])
    assert (again.unchanged, again.duplicates, again.added) == (2, 1, 0)


@pytest.mark.parametrize(
    ("stated", "page", "expected"),
    [
        (
            "https://www.blog.example/story.php?id=101",
            "https://m.blog.example/s?id=101&utm_source=x",
            "https://www.blog.example/story.php?id=101",
        ),
        ("/story.php?id=101", "https://blog.example/amp/101", "https://blog.example/story.php?id=101"),
        ("https://victim.example/world/scoop", "https://blog.example/amp/101", "https://blog.example/amp/101"),
        ("https://victim.blog.example.co.uk/x", "https://blog.example.co.uk/a", "https://victim.blog.example.co.uk/x"),
        ("https://victim.co.uk/x", "https://evil.co.uk/a", "https://evil.co.uk/a"),
        ("https://victim.github.io/x", "https://evil.github.io/a", "https://evil.github.io/a"),
        ("javascript:alert(1)", "https://blog.example/a", "https://blog.example/a"),
        ("http://127.0.0.2/admin", "http://127.0.0.1/a", "http://127.0.0.1/a"),
    ],
)
def test_a_page_names_its_article_only_on_its_own_site(stated, page, expected):
    html = article_html("Museum reopens", [STORY_101, STORY_102]).replace(
        "<head>", f"<head><link rel='canonical' href='{stated}'>"
    )
    assert article_from_html(html, page, url=page).url == expected


def test_a_files_stated_address_is_its_link_and_the_file_its_identity():
    html = article_html("Museum reopens", [STORY_101, STORY_102]).replace(
        "<head>", "<head><link rel='canonical' href='https://victim.example/world/scoop'>"
    )
    article = article_from_html(html, "museum.html", key="file:///srv/museum.html")
    assert article.url == "https://victim.example/world/scoop" and article.identity == "file:///srv/museum.html"


def test_og_url_counts_when_there_is_no_canonical_link():
    html = article_html("Museum reopens", [STORY_101, STORY_102]).replace(
        "<head>", "<head><meta property='og:url' content='https://blog.example/museum'>"
    )
    assert article_from_html(html, "x", url="https://blog.example/amp/1").url == "https://blog.example/museum"


def test_same_site_follows_the_public_suffix_list():
    assert same_site("https://news.bbc.co.uk/a", "https://www.bbc.co.uk/b")
    assert not same_site("https://bbc.co.uk/a", "https://evil.co.uk/b")
    assert not same_site("https://localhost/a", "https://other.localhost/b")


def test_a_fetched_page_is_known_by_the_address_it_states_and_reported_by_the_link_given(page_server):
    html = article_html("Museum reopens", [STORY_101, STORY_102]).replace(
        "<head>", "<head><link rel='canonical' href='/story.php?id=101'>"
    )
    page_server.add("/amp/101", html)
    link = page_server.url("/amp/101?utm_source=rss")
    article = fetch_article(link, FetchPolicy(allowed_networks=LOCAL_NETWORKS))
    assert article.url == page_server.url("/story.php?id=101") and article.origin == link


def test_a_feed_entry_with_a_tracking_parameter_is_the_same_article(settings, page_server):
    page_server.add("/news/museum", article_html("Museum reopens", [STORY_101, STORY_102]))
    link = page_server.url("/news/museum")
    settings = settings.model_copy(update={"allow_private_networks": LOCAL_NETWORKS})
    wiring = wire(settings)
    from index.ingest import read_urls

    report = wiring.indexer.add(read_urls([link, link + "?utm_source=rss"], wiring.fetch_article))
    assert (report.added, report.duplicates) == (1, 1)


def old_index(settings, tmp_path) -> str:
    """An index as newsbot wrote it before query strings counted: identity host + path, id its hash, schema 2."""
    source = write_jsonl(
        tmp_path / "old.jsonl",
        {"title": "Museum reopens", "text": STORY_101, "url": "https://blog.example/story.php?id=101"},
        {"title": "Budget", "text": BUDGET, "url": "https://x.example/budget?utm_source=feed"},
    )
    index_items(settings, [source])
    old_id = hashlib.sha1(b"blog.example/story.php").hexdigest()[:12]
    db = sqlite3.connect(settings.index_dir / "index.sqlite", isolation_level=None)
    new_id = db.execute("SELECT id FROM articles WHERE title = 'Museum reopens'").fetchone()[0]
    db.execute("PRAGMA foreign_keys=OFF")
    db.execute("BEGIN")
    db.execute("UPDATE articles SET id = ?, identity = 'blog.example/story.php' WHERE id = ?", (old_id, new_id))
    db.execute("UPDATE passages SET article_id = ? WHERE article_id = ?", (old_id, new_id))
    db.execute("UPDATE meta SET value = '2' WHERE key = 'schema_version'")
    db.execute("COMMIT")
    db.close()
    return old_id


def test_an_index_written_before_query_strings_counted_keeps_its_articles(settings, tmp_path):
    old_id = old_index(settings, tmp_path)
    wiring = wire(settings)
    again = write_jsonl(
        tmp_path / "again.jsonl",
        {"title": "Museum reopens", "text": STORY_101, "url": "https://blog.example/story.php?id=101"},
        {"title": "Herring catch", "text": STORY_102, "url": "https://blog.example/story.php"},
        {"title": "Budget", "text": BUDGET, "url": "https://x.example/budget"},
    )
    report = wiring.indexer.add(wiring.read_sources([again]))
    assert (report.unchanged, report.added) == (2, 1), report.details
    assert report.details[0].article_id == old_id
    herring = report.details[1].article_id
    assert herring != old_id and wiring.store.find(old_id).title == "Museum reopens"
    assert wiring.indexer.remove("https://blog.example/story.php?id=101").id == old_id
    assert {a.title for a in wire(settings).store.articles()} == {"Herring catch", "Budget"}
    db = connect(settings.index_dir)
    assert db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()[0] == str(SCHEMA_VERSION)


def test_removing_by_url_from_an_old_index_finds_the_article(settings, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("BOT_STATE_PATH", str(settings.bot_state_path))
    old_id = old_index(settings, tmp_path)
    url = "https://blog.example/story.php?id=101"
    assert main(["index", "remove", url, "--index-dir", str(settings.index_dir)]) == 0
    assert capsys.readouterr().out == f"removed {old_id}: Museum reopens\n"
