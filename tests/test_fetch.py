"""Fetching articles from URLs served by a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import pytest

from common.errors import IngestError
from index.fetch import FetchPolicy, fetch_article
from tests.http_server import LOCAL_NETWORKS, article_html

PARAGRAPHS = [
    "The city council approved the new budget on Tuesday after a debate that lasted late into the night.",
    "Critics said the spending plan was too small to repair the ageing bridges across the river.",
]


def fetch(url: str, timeout: float = 5.0, max_bytes: int = 1_000_000):
    return fetch_article(url, FetchPolicy(timeout=timeout, max_bytes=max_bytes, allowed_networks=LOCAL_NETWORKS))


def test_article_text_and_metadata_are_extracted(page_server):
    url = page_server.add("/news/budget", article_html("Council approves budget", PARAGRAPHS))
    article = fetch(url)
    assert (article.title, article.source, article.url, article.published[:10]) == (
        "Council approves budget",
        "The Daily",
        url,
        "2024-10-22",
    )
    assert article.text.startswith("The city council approved") and "Home" not in article.text


def test_redirects_are_followed_to_the_article(page_server):
    target = page_server.add("/final", article_html("Council approves budget", PARAGRAPHS))
    url = page_server.add("/short", status=301, headers={"Location": target})
    assert fetch(url).text.startswith("The city council")


def test_relative_redirects_are_followed(page_server):
    page_server.add("/news/final", article_html("Council approves budget", PARAGRAPHS))
    page_server.add("/news/moved", status=308, headers={"Location": "final"})
    url = page_server.add("/short", status=302, headers={"Location": "/news/moved"})
    assert fetch(url).text.startswith("The city council")
    assert page_server.requests == ["/short", "/news/moved", "/news/final"]


@pytest.mark.parametrize(
    ("route", "expected"),
    [
        ({"status": 404, "body": "gone"}, "HTTP 404 Not Found"),
        ({"status": 500, "body": "oops"}, "HTTP 500"),
        ({"body": b"%PDF-1.4", "content_type": "application/pdf"}, "not an HTML page (content type application/pdf)"),
        ({"body": "<html><body><nav>Home</nav></body></html>"}, "no article text"),
    ],
)
def test_bad_pages_get_one_clear_reason(page_server, route, expected):
    url = page_server.add("/bad", **route)
    with pytest.raises(IngestError) as caught:
        fetch(url)
    assert caught.value.item == url and expected in caught.value.reason


def test_redirect_loop_is_reported(page_server):
    page_server.add("/a", status=302, headers={"Location": page_server.url("/b")})
    url = page_server.add("/b", status=302, headers={"Location": page_server.url("/a")})
    with pytest.raises(IngestError, match="redirected more than 10 times"):
        fetch(url)


def test_slow_server_times_out(page_server):
    url = page_server.add("/slow", article_html("Slow", PARAGRAPHS), delay=2.0)
    with pytest.raises(IngestError, match=r"timed out after 0.5 s"):
        fetch(url, timeout=0.5)


def test_page_over_the_size_limit_is_refused(page_server):
    url = page_server.add("/huge", article_html("Huge", PARAGRAPHS * 200))
    with pytest.raises(IngestError, match="larger than 10,000 bytes"):
        fetch(url, max_bytes=10_000)


def test_unreachable_host_is_reported():
    with pytest.raises(IngestError, match="could not fetch"):
        fetch("http://127.0.0.1:9/nothing-listens-here")
