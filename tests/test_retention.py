"""Retention: ARTICLE_DAYS removes whole articles published (undated: added) longer ago, in the bot's daily job and
with `newsbot index prune [--dry-run]`, gives the disk space back, and `index add` and feeds skip what is already
older than it; `newsbot index stats` says what the index holds and what each part takes on disk."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from functools import partial

import pytest

from tests.bot_harness import bot_settings, running_bot
from tests.helpers import Clock, index_items, shared_embedder, wire
from tests.http_server import LOCAL_NETWORKS
from tests.newsroom import FERRIES, MARKET, gazette_story, rss
from wiring.parts import Wiring

TODAY = date.today()
STORY = "The council met on {day} and approved spending item {number} for the harbour district. {filler}"
FILLER = "Residents asked about the timetable, the cost and the contractors chosen for the work. " * 4


def records(count: int, newest: date, step_days: int = 1) -> list[dict]:
    return [
        {
            "title": f"Council item {number}",
            "text": STORY.format(day=newest - timedelta(days=number * step_days), number=number, filler=FILLER),
            "url": f"https://council.example/{number}",
            "published": (newest - timedelta(days=number * step_days)).isoformat(),
        }
        for number in range(count)
    ]


def write_jsonl(path, rows) -> str:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return str(path)


@pytest.fixture
def cli(settings, cli):
    return partial(cli, settings)


def test_index_add_skips_articles_older_than_article_days_and_says_so(settings, cli, tmp_path, monkeypatch):
    monkeypatch.setenv("ARTICLE_DAYS", "30")
    source = write_jsonl(tmp_path / "items.jsonl", records(4, TODAY, step_days=20))  # 0, 20, 40 and 60 days old
    code, out, err = cli("index", "add", source)
    assert code == 0, err
    assert out.startswith("added 2, updated 0, unchanged 0, duplicates 0, skipped 2 (older than ARTICLE_DAYS), failed 0")
    old = TODAY - timedelta(days=40)
    assert f"skipped: https://council.example/2 (older than ARTICLE_DAYS: published {old.isoformat()})" in out
    code, out, _ = cli("index", "add", source, "--json")
    assert json.loads(out)["skipped"] == 2 and json.loads(out)["unchanged"] == 2


def test_prune_dry_run_then_prune_removes_old_articles_and_gives_the_space_back(settings, cli, tmp_path, monkeypatch):
    index_items(settings, [write_jsonl(tmp_path / "items.jsonl", records(120, TODAY))])
    before = json.loads(cli("index", "stats", "--json")[1])
    assert before["articles"] == 120 and before["oldest_published"] == (TODAY - timedelta(days=119)).isoformat()
    assert set(before["parts"]) == {"database", "keyword_segments", "vectors_exact", "vectors_approximate"}
    code, _, err = cli("index", "prune")
    assert code == 1 and "ARTICLE_DAYS is 0" in err and "--days" in err
    monkeypatch.setenv("ARTICLE_DAYS", "20")
    code, out, _ = cli("index", "prune", "--dry-run", "--json")
    planned = json.loads(out)
    assert (planned["pruned"], planned["dry_run"]) == (99, True) and planned["articles"][0]["title"] == "Council item 119"
    assert json.loads(cli("index", "stats", "--json")[1])["articles"] == 120
    code, out, _ = cli("index", "prune")
    assert code == 0 and out.startswith(f"removed 99 articles published (undated: added) before {(TODAY - timedelta(days=20)).isoformat()}")
    after = json.loads(cli("index", "stats", "--json")[1])
    assert (after["articles"], after["oldest_published"]) == (21, (TODAY - timedelta(days=20)).isoformat())
    assert after["parts"]["database"] < before["parts"]["database"] * 0.5  # vacuumed: the file shrank
    code, out, _ = cli("index", "search", "council harbour spending item 90", "-k", "30", "--json")
    found = [int(article["title"].split()[-1]) for article in json.loads(out)["articles"]]
    assert len(found) == 21 and max(found) == 20
    assert cli("index", "check")[0] == 0


def test_index_stats_says_what_each_part_takes(settings, cli, tmp_path):
    index_items(settings.model_copy(update={"segment_passages": 8}), [write_jsonl(tmp_path / "a.jsonl", records(30, TODAY))])
    code, out, _ = cli("index", "stats")
    assert code == 0
    for line in ("articles: 30", "oldest published: ", "newest published: ", "dense search: exact", "bytes, database: ", "bytes, keyword segments: "):
        assert line in out, line
    stats = json.loads(cli("index", "stats", "--json")[1])
    assert stats["parts"]["keyword_segments"] > 0 and stats["parts"]["vectors_exact"] > 0
    assert {"articles", "passages", "model", "dimension", "bytes", "newest_published"} <= set(stats)  # as before


async def test_the_daily_job_removes_articles_older_than_article_days(emu, tmp_path, settings):
    clock = Clock(datetime.combine(TODAY, datetime.min.time(), UTC) + timedelta(hours=9))
    settings = bot_settings(emu, settings, tmp_path, article_days=10)
    index_items(settings, [write_jsonl(tmp_path / "items.jsonl", records(15, TODAY))])
    bot = Wiring(settings, creates_index=True, clock=clock, embedder=shared_embedder())
    async with running_bot(bot) as application:
        (job,) = application.job_queue.get_jobs_by_name("history")
        await job.run(application)
        assert [a.title for a in bot.store.articles()][-1] == "Council item 10"
        clock.advance(days=3)
        await job.run(application)
    titles = [a.title for a in wire(settings).store.articles()]
    assert len(titles) == 8 and titles[-1] == "Council item 7"


def test_feed_entries_older_than_article_days_are_reported_skipped(settings, page_server):
    settings = settings.model_copy(update={"allow_private_networks": LOCAL_NETWORKS, "article_days": 3})
    ferries, market = gazette_story(page_server, *FERRIES), gazette_story(page_server, *MARKET)  # pages dated 2024-11-13
    feed_url = page_server.add("/feed.xml", rss("Ellery Gazette", [market, ferries]), content_type="application/rss+xml")
    now = datetime(2024, 11, 20, 7, 0, tzinfo=UTC)
    poller = wire(settings, now).feed_poller
    poller.subscribe(feed_url, now)
    report = poller.poll(now)
    assert report.added == [] and len(report.skipped) == 2
    assert all(line.startswith("skipped: ") and "(older than ARTICLE_DAYS: published 2024-11-13)" in line for line in report.lines())
    assert report.as_json()["skipped"][0]["reason"].startswith("(older than ARTICLE_DAYS")
    assert wire(settings).store.stats()["articles"] == 0
