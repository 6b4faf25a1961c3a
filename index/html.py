"""Main text and metadata of an HTML page, by trafilatura."""

from __future__ import annotations

from urllib.parse import urlsplit

import trafilatura

from index.articles import Article
from index.dates import normalize_published
from newsbot.errors import IngestError

MIN_ARTICLE_WORDS = 20


def article_from_html(html: str, item: str, url: str | None = None, key: str | None = None) -> Article:
    document = trafilatura.bare_extraction(html, url=url, with_metadata=True, include_comments=False)
    text = (document.text or "").strip() if document else ""
    if len(text.split()) < MIN_ARTICLE_WORDS:
        raise IngestError(item, "no article text found in the HTML (is it a navigation, login or video page?)")
    title = (document.title or "").strip()
    text = _drop_leading_title(text, title)
    return Article(
        text=text,
        title=title,
        url=url or document.url,
        source=document.sitename or document.hostname or (urlsplit(url).hostname if url else "") or "",
        published=normalize_published(document.date),
        key=key,
    )


def _drop_leading_title(text: str, title: str) -> str:
    first_line, _, rest = text.partition("\n")
    if title and first_line.strip() == title and rest.strip():
        return rest.strip()
    return text
