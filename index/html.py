"""Main text and metadata of an HTML page, by trafilatura; the address the page gives for itself."""

from __future__ import annotations

from functools import cache
from ipaddress import ip_address
from typing import TYPE_CHECKING
from urllib.parse import urljoin, urlsplit

import trafilatura
from lxml.html import HtmlElement
from trafilatura.settings import Document

from common.errors import IngestError
from index.articles import Article
from index.dates import normalize_published

if TYPE_CHECKING:
    from publicsuffixlist import PublicSuffixList

MIN_ARTICLE_WORDS = 20
CANONICAL_SELECTORS = (".//link[@rel='canonical'][@href]", ".//meta[@property='og:url'][@content]")


def article_from_html(
    html: str, item: str, url: str | None = None, key: str | None = None, origin: str | None = None
) -> Article:
    """The article of a page read from `url` (after redirects), or of a file (`key`). The page's own address
    (`<link rel="canonical">`, else `og:url`) is its URL when it is on the same site as `url`: a page can't
    claim another site's article. A file has no address to check it against: the address it states is only its
    link, and its article is known by the file (an uploaded page can't take an indexed article's place).
    `origin`: the link that was asked for, when it differs."""
    tree = trafilatura.load_html(html)
    stated = stated_url(tree, url) if tree is not None else None
    document = trafilatura.bare_extraction(
        tree if tree is not None else html, url=url, with_metadata=True, include_comments=False
    )
    text = (document.text or "").strip() if isinstance(document, Document) else ""
    if not isinstance(document, Document) or len(text.split()) < MIN_ARTICLE_WORDS:
        raise IngestError(item, "no article text found in the HTML (is it a navigation, login or video page?)")
    title = (document.title or "").strip()
    text = _drop_leading_title(text, title)
    address = (stated if stated and same_site(stated, url) else url) if url else stated
    return Article(
        text=text,
        title=title,
        url=address,
        source=document.sitename or document.hostname or (urlsplit(address).hostname if address else "") or "",
        published=normalize_published(document.date),
        key=key,
        origin=origin if origin and origin != address else None,
    )


def stated_url(tree: HtmlElement, base: str | None) -> str | None:
    """The http(s) address the page gives for itself, resolved against `base`; None when it gives none."""
    for selector in CANONICAL_SELECTORS:
        element = tree.find(selector)
        if element is None:
            continue
        value = (element.get("href") or element.get("content") or "").strip()
        try:
            address = urljoin(base, value) if base else value
        except ValueError:
            return None
        return address if address.startswith(("http://", "https://")) else None
    return None


def same_site(one: str, other: str) -> bool:
    """Whether two links are on the same registrable domain (the public suffix list's, bundled, offline);
    addresses and names without one (localhost) must match exactly."""
    try:
        hosts = [(urlsplit(link).hostname or "").rstrip(".") for link in (one, other)]
    except ValueError:
        return False
    return bool(hosts[0]) and _site(hosts[0]) == _site(hosts[1])


def _site(host: str) -> str:
    try:
        ip_address(host)
        return host
    except ValueError:
        return _suffixes().privatesuffix(host) or host


@cache
def _suffixes() -> PublicSuffixList:
    from publicsuffixlist import PublicSuffixList

    return PublicSuffixList()


def _drop_leading_title(text: str, title: str) -> str:
    first_line, _, rest = text.partition("\n")
    if title and first_line.strip() == title and rest.strip():
        return rest.strip()
    return text
