"""Attack corpus: links that would make the bot a window into its host (SSRF), with ALLOW_PRIVATE_NETWORKS empty.

| bad input                                                    | what it gets (an IngestError whose reason says)          |
|--------------------------------------------------------------|----------------------------------------------------------|
| http://127.0.0.1/, http://localhost./, http://127.1/,        | refused: 127.0.0.1 is a loopback address;                |
| http://0x7f000001/, http://2130706433/, http://[::1]/,       |   set ALLOW_PRIVATE_NETWORKS to allow it                 |
| http://[::ffff:127.0.0.1]/, http://[2002:7f00:1::]/ (6to4)   |                                                          |
| http://0/, http://[::]/                                      | refused: ... an unspecified address                      |
| http://169.254.169.254/ (cloud metadata), http://[fe80::1]/  | refused: ... a link-local address                        |
| http://10.0.0.5/, http://192.168.1.1/, http://[64:ff9b::a00:5]/ (NAT64) | refused: ... a private address                |
| http://100.64.0.1/                                           | refused: ... a shared (carrier-grade NAT) address        |
| http://[fc00::1]/                                            | refused: ... an IPv6 unique-local address                |
| http://224.0.0.1/, http://[ff02::1]/                         | refused: ... a multicast address                         |
| a public-looking name resolving to 127.0.0.1                 | refused: news.example.com resolves to 127.0.0.1, a loopback address; ... |
| a name resolving to one public and one private address       | refused: ... resolves to 10.0.0.7, a private address     |
| a public page redirecting to a private address               | refused: redirected to http://127.0.0.2:…: 127.0.0.2 is a loopback address; ... |
| a feed entry linking to a private address                    | that entry fails with the same refusal; the others are indexed |
| a feed entry linking to file:///etc/passwd                   | skipped: only http(s) entries are read                   |
| HTTP_PROXY / ALL_PROXY set                                   | ignored: the checked address is connected to directly    |
| https to a name whose certificate does not match             | could not fetch: ... certificate is not valid for the name (SNI and check use the name, not the IP) |
| http://news.example.com@127.0.0.1/ (user name or password)   | refused: links with a user name or password are not fetched |
| file:///etc/passwd, javascript:alert(1), data:text/html,…, ftp://… | only http(s) links can be indexed                  |
| a server sending its page one byte at a time                 | took longer than FETCH_DEADLINE=… s; the site is too slow |
| a name whose DNS lookup hangs                                | took longer than FETCH_DEADLINE=… s; the site is too slow |
"""

from __future__ import annotations

import ssl
import time
from datetime import UTC, datetime
from ipaddress import ip_network

import pytest
import trustme

from common.errors import IngestError
from index.fetch import FetchPolicy, check_web_url, fetch, fetch_article
from newsbot.cli import main
from tests.helpers import wire
from tests.http_server import LOCAL_NETWORKS, PageServer, article_html
from tests.newsroom import FERRIES, gazette_story, rss
from wiring.settings import Settings

PARAGRAPHS = [
    "The harbour authority said the new ferry timetable starts on Monday and adds two late crossings.",
    "Passengers had asked for the late crossings since the bridge closed for repairs in the spring.",
]
ONLY_127_0_0_1 = (ip_network("127.0.0.1/32"),)
FIX = "set ALLOW_PRIVATE_NETWORKS to allow it"


def resolver(table: dict[str, list[str]]):
    """A DNS stand-in: the names in `table` resolve to their addresses, every other name fails as DNS would."""

    def resolve(host: str) -> list[str]:
        if host not in table:
            raise OSError(f"no such host {host}")
        return table[host]

    return resolve


def reason_for(url: str, **policy) -> str:
    with pytest.raises(IngestError) as caught:
        fetch(url, FetchPolicy(**{"timeout": 2.0, "deadline": 5.0, **policy}))
    assert caught.value.item == url and "\n" not in caught.value.reason
    return caught.value.reason


@pytest.fixture
def internal_server():
    """A server on 127.0.0.2: the internal service an attacker wants the bot to read."""
    with PageServer(host="127.0.0.2") as server:
        server.add("/secret", article_html("Internal admin page", PARAGRAPHS))
        yield server


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://127.0.0.1/admin", "refused: 127.0.0.1 is a loopback address"),
        ("http://127.1/", "refused: 127.1 is 127.0.0.1, a loopback address"),
        ("http://0x7f000001/", "refused: 0x7f000001 is 127.0.0.1, a loopback address"),
        ("http://2130706433/", "refused: 2130706433 is 127.0.0.1, a loopback address"),
        ("http://017700000001/", "refused: 017700000001 is 127.0.0.1, a loopback address"),
        ("http://[::1]/", "refused: ::1 is a loopback address"),
        ("http://[::ffff:127.0.0.1]/", "refused: ::ffff:127.0.0.1 is 127.0.0.1, a loopback address"),
        ("http://[::ffff:7f00:1]/", "refused: ::ffff:7f00:1 is 127.0.0.1, a loopback address"),
        ("http://[2002:7f00:1::]/", "refused: 2002:7f00:1:: is 127.0.0.1, a loopback address"),
        ("http://0/", "refused: 0 is 0.0.0.0, an unspecified address"),
        ("http://[::]/", "refused: :: is an unspecified address"),
        ("http://169.254.169.254/latest/meta-data/", "refused: 169.254.169.254 is a link-local address"),
        ("http://[fe80::1]/", "refused: fe80::1 is a link-local address"),
        ("http://10.0.0.5/", "refused: 10.0.0.5 is a private address"),
        ("http://192.168.1.1:8080/", "refused: 192.168.1.1 is a private address"),
        ("http://[64:ff9b::a00:5]/", "refused: 64:ff9b::a00:5 is 10.0.0.5, a private address"),
        ("http://100.64.0.1/", "refused: 100.64.0.1 is a shared (carrier-grade NAT) address"),
        ("http://[fc00::1]/", "refused: fc00::1 is an IPv6 unique-local address"),
        ("http://[fec0::1]/", "refused: fec0::1 is an IPv6 site-local address"),
        ("http://224.0.0.1/", "refused: 224.0.0.1 is a multicast address"),
        ("http://[ff02::1]/", "refused: ff02::1 is a multicast address"),
        ("http://240.0.0.1/", "refused: 240.0.0.1 is a reserved address"),
    ],
)
def test_internal_addresses_however_spelt_are_refused(url, reason):
    assert reason_for(url) == f"{reason}; {FIX}"


def test_localhost_with_a_trailing_dot_is_refused():
    reason = reason_for("http://localhost./admin")
    assert reason.startswith("refused: localhost. resolves to ") and reason.endswith(f", a loopback address; {FIX}")


def test_a_public_looking_name_that_resolves_to_loopback_is_refused(page_server):
    port = page_server.base_url.rsplit(":", 1)[1]
    page_server.add("/story", article_html("Ferry timetable", PARAGRAPHS))
    url = f"http://news.example.com:{port}/story"
    dns = resolver({"news.example.com": ["127.0.0.1"]})
    assert reason_for(url, resolve=dns) == f"refused: news.example.com resolves to 127.0.0.1, a loopback address; {FIX}"
    assert page_server.requests == []


def test_an_allowed_name_is_fetched_from_the_address_that_was_checked(page_server):
    port = page_server.base_url.rsplit(":", 1)[1]
    page_server.add("/story", article_html("Ferry timetable", PARAGRAPHS))
    dns = resolver({"news.example.com": ["127.0.0.1"]})
    policy = FetchPolicy(timeout=2.0, allowed_networks=ONLY_127_0_0_1, resolve=dns)
    article = fetch_article(f"http://news.example.com:{port}/story", policy)
    assert article.title == "Ferry timetable" and article.url == f"http://news.example.com:{port}/story"
    assert page_server.host_headers == [f"news.example.com:{port}"]  # the name in Host, the checked address dialled


@pytest.mark.parametrize(("certified", "outcome"), [("news.example.com", "fetched"), ("other.example.com", "refused")])
def test_https_goes_to_the_checked_address_with_the_name_in_sni_and_the_certificate_check(certified, outcome):
    ca = trustme.CA()
    server_tls, names_asked = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH), []
    ca.issue_cert(certified).configure_cert(server_tls)
    server_tls.sni_callback = lambda _socket, name, _context: names_asked.append(name)
    client_tls = ssl.create_default_context()
    ca.configure_trust(client_tls)
    with PageServer(tls=server_tls) as server:
        server.add("/story", article_html("Ferry timetable", PARAGRAPHS))
        url = f"https://news.example.com:{server.base_url.rsplit(':', 1)[1]}/story"
        policy = FetchPolicy(
            timeout=2.0,
            allowed_networks=ONLY_127_0_0_1,
            resolve=resolver({"news.example.com": ["127.0.0.1"]}),
            tls=client_tls,
        )
        if outcome == "fetched":
            assert fetch_article(url, policy).title == "Ferry timetable"
        else:
            with pytest.raises(IngestError, match="certificate is not valid for 'news.example.com'"):
                fetch(url, policy)
    assert names_asked == ["news.example.com"]


@pytest.mark.parametrize("addresses", [["93.184.215.14", "10.0.0.7"], ["10.0.0.7", "93.184.215.14"]])
def test_a_name_with_one_public_and_one_private_address_is_refused(addresses):
    dns = resolver({"news.example.com": addresses})
    assert reason_for("https://news.example.com/story", resolve=dns) == (
        f"refused: news.example.com resolves to 10.0.0.7, a private address; {FIX}"
    )


def test_a_redirect_to_an_internal_address_is_refused(page_server, internal_server):
    secret = internal_server.url("/secret")
    url = page_server.add("/go", status=302, headers={"Location": secret})
    assert reason_for(url, allowed_networks=ONLY_127_0_0_1) == (
        f"refused: redirected to {secret}: 127.0.0.2 is a loopback address; {FIX}"
    )
    assert page_server.requests == ["/go"] and internal_server.requests == []
    # the same redirect is followed where the whole loopback range is allowed: the refusal above is the guard's
    assert fetch_article(url, FetchPolicy(allowed_networks=LOCAL_NETWORKS)).title == "Internal admin page"


def test_a_redirect_from_a_public_name_to_an_internal_name_is_refused(page_server):
    port = page_server.base_url.rsplit(":", 1)[1]
    page_server.add("/go", status=301, headers={"Location": "http://intranet.example.com/wiki"})
    dns = resolver({"news.example.com": ["127.0.0.1"], "intranet.example.com": ["192.168.10.20"]})
    reason = reason_for(f"http://news.example.com:{port}/go", allowed_networks=ONLY_127_0_0_1, resolve=dns)
    assert reason == (
        "refused: redirected to http://intranet.example.com/wiki: "
        f"intranet.example.com resolves to 192.168.10.20, a private address; {FIX}"
    )


def test_feed_entries_linking_inside_are_refused_and_the_others_indexed(settings, page_server, internal_server):
    settings = settings.model_copy(update={"allow_private_networks": ONLY_127_0_0_1})
    ferries = gazette_story(page_server, *FERRIES)
    inside = {"guid": "inside", "link": internal_server.url("/secret"), "title": "Inside"}
    passwd = {"guid": "passwd", "link": "file:///etc/passwd", "title": "Passwords"}
    feed_url = page_server.add(
        "/feed.xml", rss("Gazette", [inside, passwd, ferries]), content_type="application/rss+xml"
    )
    poller = wire(settings).feed_poller
    _, content = poller.subscribe(feed_url, datetime(2024, 11, 13, tzinfo=UTC))
    assert [entry.link for entry in content.entries] == [inside["link"], ferries["link"]]
    report = poller.poll(datetime(2024, 11, 13, 1, tzinfo=UTC))
    assert [entry.link for _, entry in report.added] == [ferries["link"]]
    assert [error for _, _, error in report.failed_entries] == [
        f"refused: 127.0.0.2 is a loopback address; {FIX} (will retry)"
    ]
    assert internal_server.requests == []


def test_proxy_environment_variables_are_not_used(page_server, monkeypatch):
    with PageServer(host="127.0.0.2") as proxy:
        for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
            monkeypatch.setenv(name, proxy.base_url)
        monkeypatch.delenv("NO_PROXY", raising=False)
        monkeypatch.delenv("no_proxy", raising=False)
        url = page_server.add("/story", article_html("Ferry timetable", PARAGRAPHS))
        assert fetch_article(url, FetchPolicy(timeout=2.0, allowed_networks=ONLY_127_0_0_1)).title == "Ferry timetable"
        assert proxy.requests == [] and page_server.requests == ["/story"]


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "javascript:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "ftp://ftp.example.com/pub/file.txt",
        "gopher://127.0.0.1:6379/_INFO",
    ],
)
def test_only_web_links_are_fetched(url):
    assert reason_for(url) == "only http(s) links can be indexed"
    with pytest.raises(IngestError, match=r"^.*: only http\(s\) links can be indexed$"):
        check_web_url(url)


def test_a_redirect_to_a_file_is_refused(page_server):
    url = page_server.add("/go", status=302, headers={"Location": "file:///etc/passwd"})
    assert reason_for(url, allowed_networks=LOCAL_NETWORKS) == (
        "refused: redirected to file:///etc/passwd: only http(s) links can be indexed"
    )


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("example.com/news", "not a link; send the full address, starting with https://"),
        ("/etc/passwd", "not a link; send the full address, starting with https://"),
        ("https://", "not a link; send the full address, starting with https://"),
        (
            "http://news.example.com@127.0.0.1/admin",
            "links with a user name or password are not fetched; send the address without the part before @",
        ),
    ],
)
def test_what_is_not_a_plain_web_link_gets_one_line_why(text, reason):
    with pytest.raises(IngestError) as caught:
        check_web_url(text)
    assert caught.value.reason == reason


def test_web_links_are_accepted_as_they_are():
    assert check_web_url("  https://news.example.com/2024/ferries?x=1  ") == "https://news.example.com/2024/ferries?x=1"
    assert check_web_url("http://news.example.com:8080/a") == "http://news.example.com:8080/a"


def test_credentials_in_links_are_refused_before_any_lookup():
    def no_dns(host: str) -> list[str]:
        raise AssertionError(f"looked up {host}")

    assert reason_for("http://user:secret@news.example.com/", resolve=no_dns) == (
        "links with a user name or password are not fetched; send the address without the part before @"
    )


def test_a_server_dripping_its_page_is_cut_off_at_the_deadline(page_server):
    url = page_server.add("/drip", article_html("Slow", PARAGRAPHS), drip=0.1)  # ~60 s for the whole page
    started = time.monotonic()
    with pytest.raises(IngestError) as caught:
        fetch(url, FetchPolicy(timeout=5.0, deadline=1.0, allowed_networks=LOCAL_NETWORKS))
    assert caught.value.reason == "took longer than FETCH_DEADLINE=1 s; the site is too slow"
    assert time.monotonic() - started < 4.0  # cut at the deadline, not after the page or a read timeout


def test_a_server_that_never_answers_is_cut_off_at_the_deadline(page_server):
    url = page_server.add("/silent", article_html("Silent", PARAGRAPHS), delay=6.0)
    started = time.monotonic()
    with pytest.raises(IngestError) as caught:
        fetch(url, FetchPolicy(timeout=10.0, deadline=1.0, allowed_networks=LOCAL_NETWORKS))
    assert caught.value.reason == "took longer than FETCH_DEADLINE=1 s; the site is too slow"
    assert time.monotonic() - started < 4.0


def test_a_hanging_dns_lookup_is_cut_off_at_the_deadline():
    def hanging(host: str) -> list[str]:
        time.sleep(6.0)
        return ["93.184.215.14"]

    started = time.monotonic()
    assert reason_for("https://news.example.com/", resolve=hanging, deadline=0.5) == (
        "took longer than FETCH_DEADLINE=0.5 s; the site is too slow"
    )
    assert time.monotonic() - started < 3.0


def test_a_name_that_does_not_resolve_is_reported():
    assert reason_for("https://nowhere.example.com/", resolve=resolver({})) == (
        "could not resolve nowhere.example.com (no such host nowhere.example.com); check the link"
    )


def test_with_private_networks_allowed_the_local_server_is_fetched(page_server):
    url = page_server.add("/story", article_html("Ferry timetable", PARAGRAPHS))
    assert fetch_article(url, FetchPolicy(allowed_networks=LOCAL_NETWORKS)).title == "Ferry timetable"


def test_allow_private_networks_is_read_as_comma_separated_networks(monkeypatch, capsys):
    settings = Settings(_env_file=None, allow_private_networks="127.0.0.0/8, 10.1.0.0/16,fd00::/8")
    assert settings.allow_private_networks == (
        ip_network("127.0.0.0/8"),
        ip_network("10.1.0.0/16"),
        ip_network("fd00::/8"),
    )
    assert Settings(_env_file=None).allow_private_networks == ()
    monkeypatch.setenv("ALLOW_PRIVATE_NETWORKS", "10.0.0.0/33")
    assert main(["feed", "list"]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "ALLOW_PRIVATE_NETWORKS" in error and "10.0.0.0/33" in error
