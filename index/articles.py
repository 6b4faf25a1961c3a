"""What an article is, and how articles are identified."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit

_WHITESPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class Article:
    """An article as read from a file, a URL or a feed, before it is indexed."""

    text: str
    title: str = ""
    url: str | None = None
    source: str = ""
    published: str | None = None  # ISO date (YYYY-MM-DD) or datetime, when known
    key: str | None = None  # what makes two versions "the same article": its URL, else its file
    extra: dict = field(default_factory=dict)

    @property
    def identity(self) -> str | None:
        return normalize_url(self.url) if self.url else self.key

    @property
    def content_hash(self) -> str:
        normalized = _WHITESPACE.sub(" ", self.text).strip().lower()
        return hashlib.sha256(normalized.encode()).hexdigest()

    def article_id(self) -> str:
        basis = self.identity or self.content_hash
        return hashlib.sha1(basis.encode()).hexdigest()[:12]


def normalize_url(url: str) -> str:
    """Scheme, `www.`/`edition.`, query, fragment and trailing slash do not make another article."""
    parts = urlsplit(url.strip())
    host = parts.netloc.lower()
    for prefix in ("www.", "edition."):
        host = host.removeprefix(prefix)
    return f"{host}{parts.path.rstrip('/')}"
