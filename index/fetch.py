"""Web pages over http(s) from public addresses only, within a total deadline and a size limit; articles from them.

A link, a redirect or a feed entry naming an internal address (127.0.0.1, 10.x, the cloud metadata service...)
would let anyone who can ask the bot read its network through the index. So each hop is checked here before
it is requested: the host is resolved, every address it resolves to must be public (index/addresses.py), and
the request is sent to the checked address itself. The URL given to httpx carries that IP; the Host header
and TLS carry the name (httpcore's `sni_hostname` request extension: SNI and the certificate check use the
name). A second DNS answer (DNS rebinding) therefore never decides where we connect. This uses httpx's public
API only; a custom httpcore network backend would do the same but httpx offers no public way to install one.
Redirects are followed here, hop by hop, each checked like the first. Proxies from the environment are
ignored (trust_env=False): a proxy would connect wherever the name points.
"""

from __future__ import annotations

import ssl
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from urllib.parse import urljoin

import httpx

from common.errors import IngestError
from index.addresses import IPNetwork, Resolver, UnsafeAddress, checked_addresses, system_resolver
from index.articles import Article

HTML_TYPES = ("text/html", "application/xhtml+xml")
USER_AGENT = "newsbot/0.1 (article indexer)"
MAX_REDIRECTS = 10
REDIRECT_STATUSES = (301, 302, 303, 307, 308)
NOT_A_LINK = "not a link; send the full address, starting with https://"
ONLY_WEB = "only http(s) links can be indexed"
CREDENTIALS = "links with a user name or password are not fetched; send the address without the part before @"
ALLOW_HINT = "set ALLOW_PRIVATE_NETWORKS to allow it"


@dataclass(frozen=True)
class FetchPolicy:
    """How URLs are fetched (settings FETCH_TIMEOUT, FETCH_DEADLINE, FETCH_MAX_BYTES, ALLOW_PRIVATE_NETWORKS)."""

    timeout: float = 20.0  # each DNS lookup, connect and read
    deadline: float = 60.0  # one URL as a whole: lookups, redirects and body
    max_bytes: int = 5_000_000
    allowed_networks: tuple[IPNetwork, ...] = ()  # non-public networks that may be fetched from all the same
    resolve: Resolver = system_resolver
    tls: ssl.SSLContext | None = None  # the certificate authorities https trusts; None: httpx's (certifi's)


@dataclass(frozen=True)
class Page:
    url: str  # after redirects
    body: bytes
    content_type: str  # without parameters, lower-cased; "" when the server sent none
    encoding: str | None
    status: int = 200  # 304: not modified since the validators sent (If-None-Match, If-Modified-Since); no body
    headers: Mapping[str, str] = field(default_factory=dict)  # the response's, names lower-cased


class _Failed(Exception):
    """Why the URL being fetched cannot be had, in one line: becomes IngestError(url, reason)."""


class _Clock:
    """The deadline of one URL: every wait gets FETCH_TIMEOUT or what is left of FETCH_DEADLINE, the lesser."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        self._end = time.monotonic() + seconds

    def left(self) -> float:
        """The seconds left; _Failed once there are none."""
        left = self._end - time.monotonic()
        if left <= 0:
            raise _Failed(self.reason())
        return left

    def budget(self, timeout: float) -> float:
        return min(timeout, self.left())

    def expired(self) -> bool:
        return time.monotonic() >= self._end - 0.01

    def reason(self) -> str:
        return f"took longer than FETCH_DEADLINE={self.seconds:g} s; the site is too slow"


def check_web_url(text: str) -> str:
    """`text` (spaces around it dropped) when it is an http(s) link; IngestError saying why in one line if not."""
    text = text.strip()
    try:
        return str(_web_url(text))
    except _Failed as failure:
        raise IngestError(text, str(failure)) from None


def fetch_article(url: str, policy: FetchPolicy) -> Article:
    """The article at `url`; its address is where the redirects ended, or the one the page states for itself
    on that site (index/html.py)."""
    page = fetch(url, policy)
    if page.content_type and page.content_type not in HTML_TYPES:
        raise IngestError(
            url, f"not an HTML page (content type {page.content_type}); only web articles can be indexed from URLs"
        )
    html = page.body.decode(page.encoding or "utf-8", errors="replace")
    from index.html import article_from_html  # trafilatura: imported by the commands that read pages

    return article_from_html(html, url, url=page.url, origin=url)


def fetch(url: str, policy: FetchPolicy, headers: Mapping[str, str] | None = None) -> Page:
    """The page at `url`; an IngestError that says why when it cannot be had. `headers` are added to each
    request (e.g. a conditional GET's validators; never Host, which names the checked address's site)."""
    clock = _Clock(policy.deadline)
    extra = {name: value for name, value in (headers or {}).items() if name.lower() != "host"}
    try:
        return _follow(url, policy, clock, extra)
    except _Failed as failure:
        raise IngestError(url, str(failure)) from failure
    except httpx.TimeoutException as error:
        slow = f"timed out after {policy.timeout:g} s (FETCH_TIMEOUT); the site may be down"
        raise IngestError(url, clock.reason() if clock.expired() else slow) from error
    except httpx.HTTPError as error:
        raise IngestError(url, f"could not fetch: {error or type(error).__name__}") from error


def _follow(url: str, policy: FetchPolicy, clock: _Clock, headers: dict[str, str]) -> Page:
    target = _web_url(url)
    for redirects in range(MAX_REDIRECTS + 1):
        with _response(target, policy, clock, headers, redirected=redirects > 0) as response:
            location = response.headers.get("location") if response.status_code in REDIRECT_STATUSES else None
            if location is None:
                return _page(target, response, policy, clock)
        target = _redirect_target(target, location)
    raise _Failed(f"redirected more than {MAX_REDIRECTS} times (a redirect loop?)")


def _web_url(text: str) -> httpx.URL:
    """`text` as an http(s) URL without credentials; any port is fine (sites do serve news on :8080, and it is
    the address check, not the port, that keeps internal services out)."""
    try:
        url = httpx.URL(text)
    except httpx.InvalidURL:
        raise _Failed(NOT_A_LINK) from None
    if url.scheme and url.scheme not in ("http", "https"):
        raise _Failed(ONLY_WEB)
    if not url.scheme or not url.host:
        raise _Failed(NOT_A_LINK)
    if not 0 < (url.port or 80) < 65536:
        raise _Failed(f"{url.port} is not a port number; check the link")
    if url.userinfo:
        raise _Failed(CREDENTIALS)
    return url


def _redirect_target(current: httpx.URL, location: str) -> httpx.URL:
    target = urljoin(str(current), location)
    try:
        return _web_url(target)
    except _Failed as failure:
        raise _Failed(f"refused: redirected to {target}: {failure}") from None


@contextmanager
def _response(
    target: httpx.URL, policy: FetchPolicy, clock: _Clock, headers: dict[str, str], redirected: bool
) -> Iterator[httpx.Response]:
    addresses = _addresses(target, policy, clock, redirected)
    # A client per hop: a connection made for one name is never reused for another name on the same address.
    client_headers = {"User-Agent": USER_AGENT, **headers}
    with httpx.Client(trust_env=False, verify=policy.tls or True, headers=client_headers) as client:
        response = _send(client, target, addresses, policy, clock)
        try:
            yield response
        finally:
            response.close()


def _addresses(target: httpx.URL, policy: FetchPolicy, clock: _Clock, redirected: bool) -> list[str]:
    host = target.raw_host.decode("ascii")
    try:
        return checked_addresses(host, policy.allowed_networks, policy.resolve, clock.budget(policy.timeout))
    except UnsafeAddress as refusal:
        where = f"redirected to {target}: " if redirected else ""
        raise _Failed(f"refused: {where}{refusal}; {ALLOW_HINT}") from None
    except TimeoutError:
        slow = f"could not resolve {host} within {policy.timeout:g} s (FETCH_TIMEOUT); check the link"
        raise _Failed(clock.reason() if clock.expired() else slow) from None
    except (OSError, ValueError) as error:
        raise _Failed(
            f"could not resolve {host} ({getattr(error, 'strerror', None) or error}); check the link"
        ) from None


def _send(
    client: httpx.Client, target: httpx.URL, addresses: list[str], policy: FetchPolicy, clock: _Clock
) -> httpx.Response:
    """GET `target` from the first of its checked addresses that takes the connection, as browsers do."""
    *others, last = addresses
    for address in others:
        try:
            return client.send(_request(client, target, address, policy, clock), stream=True)
        except httpx.ConnectError:
            continue
    return client.send(_request(client, target, last, policy, clock), stream=True)


def _request(
    client: httpx.Client, target: httpx.URL, address: str, policy: FetchPolicy, clock: _Clock
) -> httpx.Request:
    """A GET of `target` sent to `address`: the name goes in the Host header and in TLS (SNI, certificate)."""
    return client.build_request(
        "GET",
        target.copy_with(host=address),
        headers={"Host": target.netloc.decode("ascii")},
        timeout=clock.budget(policy.timeout),
        extensions={"sni_hostname": target.raw_host.decode("ascii").removesuffix(".")},
    )


def _page(target: httpx.URL, response: httpx.Response, policy: FetchPolicy, clock: _Clock) -> Page:
    if response.status_code >= 400:
        raise _Failed(f"HTTP {response.status_code} {response.reason_phrase}".rstrip())
    body = b"" if response.status_code == 304 else _read_limited(response, policy, clock)
    content_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
    headers = {name.lower(): value for name, value in response.headers.items()}
    return Page(str(target), body, content_type, response.encoding, response.status_code, headers)


def _read_limited(response: httpx.Response, policy: FetchPolicy, clock: _Clock) -> bytes:
    """The body, refused past FETCH_MAX_BYTES; the deadline is checked after every read (each read itself is
    bounded by what was left of the deadline when the request was sent, or FETCH_TIMEOUT)."""
    chunks, size = [], 0
    for chunk in response.iter_bytes():
        size += len(chunk)
        if size > policy.max_bytes:
            raise _Failed(f"page is larger than {policy.max_bytes:,} bytes (FETCH_MAX_BYTES)")
        clock.left()
        chunks.append(chunk)
    return b"".join(chunks)
