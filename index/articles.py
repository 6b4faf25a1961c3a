"""What an article is, and how articles are identified."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

_WHITESPACE = re.compile(r"\s+")
# Query parameters that say how a reader came to a page, not which page it is: the same article with and
# without them is one article. Exact names (lower case) and prefixes. courlan's tracker pattern (trafilatura's
# dependency) is not used: it also drops parameters such as `source`, `ref…`, `ga…` or `session`, which would
# make `?gallery=2` and `?gallery=3` one article.
TRACKING_PARAMETERS = frozenset(
    {
        "fbclid",
        "gclid",
        "gclsrc",
        "dclid",
        "gbraid",
        "wbraid",
        "msclkid",
        "yclid",
        "twclid",
        "ttclid",
        "li_fat_id",
        "igshid",
        "igsh",
        "mc_cid",
        "mc_eid",
        "ref_src",
        "ref_url",
        "_ga",
        "_gl",
        "_hsenc",
        "_hsmi",
        "mkt_tok",
        "oly_anon_id",
        "oly_enc_id",
        "vero_id",
        "vero_conv",
        "rb_clickid",
        "s_cid",
        "smid",
        "ocid",
        "cmpid",
        "wt.mc_id",
        "__twitter_impression",
        "at_medium",
        "at_campaign",
        "spm",
    }
)
TRACKING_PREFIXES = ("utm_", "pk_", "mtm_", "hsa_")


@dataclass(frozen=True)
class Article:
    """An article as read from a file, a URL or a feed, before it is indexed."""

    text: str
    title: str = ""
    url: str | None = None
    source: str = ""
    published: str | None = None  # ISO date (YYYY-MM-DD) or datetime, when known
    key: str | None = None  # a file's article: what makes two versions of it "the same article" (else its URL)
    extra: dict[str, Any] = field(default_factory=dict)
    origin: str | None = None  # what was asked for (the link given), when it is not `url`: how reports name it
    notes: tuple[str, ...] = ()  # what the reader could not use (a file's fields it does not read), for the report

    @property
    def identity(self) -> str | None:
        """What makes two versions "the same article": its file when it came from one (a file's stated address is
        only its link), else its URL."""
        return self.key or (url_identity(self.url) if self.url else None)

    @property
    def content_hash(self) -> str:
        normalized = _WHITESPACE.sub(" ", self.text).strip().lower()
        return hashlib.sha256(normalized.encode()).hexdigest()

    def article_id(self, salt: int = 0) -> str:
        """A new article's id, from its identity (else its text); `salt` gives another when that one is taken."""
        basis = self.identity or self.content_hash
        return hashlib.sha1((f"{basis}#{salt}" if salt else basis).encode()).hexdigest()[:12]


def is_url(item: str) -> bool:
    """Whether `item` is a web link: http or https, in any case, spaces around it aside."""
    return item.strip()[:8].lower().startswith(("http://", "https://"))


def url_identity(url: str) -> str:
    """What makes two links the same article: the host (lower case, without `www.`/`edition.`), the path
    without its trailing slash, and the query string without tracking parameters, in name order. The scheme
    and the fragment don't count. A link without a query string keeps the identity it had before query
    strings counted (host and path), so indexes written then keep their articles."""
    text = url.strip()
    try:
        parts = urlsplit(text)
        pairs = parse_qsl(parts.query, keep_blank_values=True)
    except ValueError:  # e.g. "http://[oops/": not a link anyone can fetch; itself is its identity
        return text
    host = parts.netloc.lower()
    for prefix in ("www.", "edition."):
        host = host.removeprefix(prefix)
    kept = sorted((pair for pair in pairs if not _tracking(pair[0])), key=lambda pair: pair[0])
    query = f"?{urlencode(kept)}" if kept else ""
    return f"{host}{parts.path.rstrip('/')}{query}"


def _tracking(name: str) -> bool:
    name = name.lower()
    return name in TRACKING_PARAMETERS or name.startswith(TRACKING_PREFIXES)
