"""Articles from files on disk: .txt, .md, .html, .json and .jsonl, and directories of them, as users write them.

- JSON / JSON Lines: one object per article (or a list of them); each field under any of its usual names
  (FIELD_NAMES: `text`/`body`/`content`, `title`/`headline`, `url`/`link`, `published`/`date`/`published_at`/
  `pubDate`, `source`/`outlet`/`publisher`, ...). Other fields are kept as metadata, never indexed, and named in a
  warning.
- Markdown and plain text: an optional front matter block (`---` lines around `key: value` lines, the same names
  as JSON), a title line (a `#` heading, or a short first line followed by a blank line), and a "Published <date>,
  <outlet>" line or a dateline ("FRANKFURT, 3 December 2026 — ...") at the start of the body.
- HTML: the page's main text and its metadata (title, site name, date, canonical address), by trafilatura.
"""

from __future__ import annotations

import json
import os
import re
import stat
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import replace
from pathlib import Path

from common.errors import IngestError
from index.articles import Article
from index.dates import normalize_published

SUPPORTED_SUFFIXES = (".txt", ".md", ".html", ".htm", ".json", ".jsonl")
# Each article field and the names users' files give it (case, `-` and `_` ignored), the first found wins.
FIELD_NAMES: dict[str, tuple[str, ...]] = {
    "text": ("text", "body", "content", "article", "articlebody", "story", "fulltext", "maintext"),
    "title": ("title", "headline"),
    "url": ("url", "link", "canonicalurl", "canonical", "permalink", "href"),
    "published": (
        "published",
        "date",
        "publishedat",
        "pubdate",
        "datepublished",
        "publishdate",
        "publicationdate",
        "publishedon",
        "created",
        "createdat",
        "time",
        "timestamp",
    ),
    "source": ("source", "outlet", "publisher", "sitename", "site", "sourcename", "newspaper", "agency"),
}
FRONT_MATTER = re.compile(r"\A---[ \t]*\n(?P<block>.*?)\n---[ \t]*(?:\n|\Z)", re.DOTALL)
KEY_VALUE = re.compile(r"^(?P<key>[A-Za-z][\w -]*?)\s*:\s*(?P<value>.*)$")
_DAY_MONTH = r"\d{1,2}(?:st|nd|rd|th)?\s+[A-Z][a-z]{2,8}\.?,?\s+\d{4}"
_MONTH_DAY = r"[A-Z][a-z]{2,8}\.?\s+\d{1,2}(?:st|nd|rd|th)?,?\s+\d{4}"
_DATE = rf"(?P<date>\d{{4}}-\d\d-\d\d|{_DAY_MONTH}|{_MONTH_DAY})"
# "Published 6 December 2026, Kyodo", "Posted on: Dec 6, 2026": a line of its own, read and dropped from the text
PUBLISHED_LINE = re.compile(
    rf"^\W*(?:published|posted)(?:\s+on)?:?\s+{_DATE}(?:\s*[,|·–—-]\s*(?P<source>[^,\n]{{2,60}}?))?\s*$", re.I
)
# "FRANKFURT, 3 December 2026 — The European Central Bank ...": read, and kept as the first sentence says it
DATELINE = re.compile(rf"^\W*(?:[A-Z][\w .'’-]{{1,40}},\s*)?{_DATE}\s*(?:[—–]|--?|:)\s*\S")
MARKDOWN_HEADING = re.compile(r"^#{1,6}[ \t]+", re.MULTILINE)
HEAD_LINES = 3  # a Published line or a dateline is looked for in the first lines of the body


def read_path(path: Path, max_bytes: int, key: str | None = None) -> Iterator[Article | IngestError]:
    """Every article in a file or, recursively, a directory; each unreadable item as an IngestError. A file's
    articles are known by its path, or by `key` (an upload that replaced another keeps that one's key)."""
    if path.is_dir():
        for child in sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in SUPPORTED_SUFFIXES):
            yield from read_path(child, max_bytes)
        return
    try:
        yield from _read_file(path, max_bytes, key or path.resolve().as_uri())
    except IngestError as error:
        yield error


def _read_file(path: Path, max_bytes: int, key: str) -> Iterator[Article | IngestError]:
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise IngestError(
            str(path), f"unsupported file type '{suffix or path.name}'; use one of {', '.join(SUPPORTED_SUFFIXES)}"
        )
    text = _read_text(path, max_bytes)
    if suffix in (".json", ".jsonl"):
        yield from _read_json_records(path, text, key, jsonl=suffix == ".jsonl")
    elif suffix in (".html", ".htm"):
        from index.html import article_from_html  # trafilatura: imported when an HTML file is read

        yield article_from_html(text, str(path), key=key)
    else:
        yield _article_from_plain_text(path, text, key)


def _read_text(path: Path, max_bytes: int) -> str:
    item = str(path)
    if not path.exists():
        raise IngestError(item, "no such file or directory")
    try:
        data = _read_regular_file(path, max_bytes)
    except OSError as error:
        raise IngestError(item, f"cannot read the file ({error.strerror or error})") from error
    if b"\x00" in data:
        raise IngestError(item, "binary file, not text; save the article as .txt, .md, .html, .json or .jsonl")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise IngestError(
            item, f"not UTF-8 text (invalid byte at offset {error.start}); re-save it as UTF-8"
        ) from error
    if not text.strip():
        raise IngestError(item, "file is empty")
    return text


def _read_regular_file(path: Path, max_bytes: int) -> bytes:
    """The bytes of the regular file at `path`, at most `max_bytes` of them. A named pipe, a device (/dev/zero) or
    a socket, even behind a symlink, is refused before it is read (opened without waiting for a writer, then
    looked at), and the bytes are counted as they are read, whatever size the file claims."""
    item = str(path)
    descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    with os.fdopen(descriptor, "rb") as handle:
        status = os.fstat(descriptor)
        if not stat.S_ISREG(status.st_mode):
            raise IngestError(item, "not a regular file (a named pipe, a device or a socket); give a file")
        data = handle.read(max_bytes + 1)
    if len(data) > max_bytes:
        size = f"{status.st_size:,} bytes" if status.st_size > max_bytes else f"over {max_bytes:,} bytes as read"
        raise IngestError(item, f"file is too large ({size}; the limit MAX_FILE_BYTES is {max_bytes:,})")
    return data


def _article_from_plain_text(path: Path, text: str, key: str) -> Article:
    """Front matter, then a title line, then a Published line or a dateline, then the text."""
    fields, ignored, text = front_matter(text)
    title, body = _title_and_body(text.strip(), fields.get("title", ""))
    published, source, body = _published_line(body)
    if path.suffix.lower() == ".md":
        body = MARKDOWN_HEADING.sub("", body)  # "## Reaction" is the heading "Reaction"
    article = Article(
        text=body,
        title=title or path.stem.replace("-", " ").replace("_", " "),
        url=fields.get("url") or None,
        source=fields.get("source") or source,
        published=normalize_published(fields.get("published")) or published,
        key=None if fields.get("url") else key,
        extra=ignored,
    )
    return _noting_ignored(article, str(path), ignored)


def front_matter(text: str) -> tuple[dict[str, str], dict[str, object], str]:
    """(article fields, other fields, the text after it) of a `---` block of `key: value` lines at the top."""
    match = FRONT_MATTER.match(text.lstrip("\ufeff"))
    if not match:
        return {}, {}, text
    pairs = {}
    for line in match.group("block").splitlines():
        found = KEY_VALUE.match(line.strip())
        if found:
            pairs[found.group("key").strip()] = found.group("value").strip().strip("\"'").strip()
    fields, ignored = _named_fields(pairs)
    return {name: str(value) for name, value in fields.items()}, ignored, text[match.end() :]


def _title_and_body(text: str, title: str) -> tuple[str, str]:
    """The title (the one given, else a `#` heading or a short first line before a blank one) and the rest; a
    first heading that repeats the given title is dropped."""
    lines = text.splitlines()
    if not lines:
        return title, ""
    first = lines[0].strip()
    heading = first.lstrip("#").strip() if first.startswith("#") else None
    if title:
        return title, ("\n".join(lines[1:]).strip() if heading == title or first == title else text)
    looks_like_title = heading or (len(lines) > 2 and len(first) <= 150 and not lines[1].strip())
    body = "\n".join(lines[1:]).strip()
    if looks_like_title and body:
        return heading or first, body
    return (first if looks_like_title else ""), text


def _published_line(body: str) -> tuple[str | None, str, str]:
    """(date, outlet, body) from a "Published <date>, <outlet>" line (dropped from the body) or a dateline (kept)
    among the first lines of the body."""
    lines = body.splitlines()
    head = [number for number, line in enumerate(lines) if line.strip()][:HEAD_LINES]
    for number in head:
        line = lines[number].strip()
        published = PUBLISHED_LINE.match(line)
        if published and (day := normalize_published(published.group("date"))):
            rest = "\n".join(lines[:number] + lines[number + 1 :]).strip()
            return day, (published.group("source") or "").strip(), rest
        dateline = DATELINE.match(line)
        if dateline and (day := normalize_published(dateline.group("date"))):
            return day, "", body
    return None, "", body


def _read_json_records(path: Path, text: str, key: str, jsonl: bool) -> Iterator[Article | IngestError]:
    """Records without a URL are known by the file and their title; the second record of a title in a file is
    "title#2", and so on, so that two articles that share a title are both kept."""
    titles: Counter[str] = Counter()
    for item, record in _json_records(path, text, jsonl):
        try:
            article = article_from_record(_parse_json(str(record), item) if jsonl else record, item, key)
        except IngestError as error:
            yield error
            continue
        if article.key:
            titles[article.key] += 1
            if titles[article.key] > 1:
                article = replace(article, key=f"{article.key}#{titles[article.key]}")
        yield article


def _json_records(path: Path, text: str, jsonl: bool) -> Iterator[tuple[str, object]]:
    """(item name, record) pairs; for JSON Lines the record is the line, parsed by the caller."""
    if jsonl:
        for number, line in enumerate(text.splitlines(), start=1):
            if line.strip():
                yield f"{path}:{number}", line
        return
    document = _parse_json(text, str(path))
    if not isinstance(document, list):
        yield str(path), document
        return
    for number, record in enumerate(document, start=1):
        yield f"{path}[{number}]", record


def _parse_json(text: str, item: str) -> object:
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise IngestError(item, f"invalid JSON: {error.msg} at line {error.lineno} column {error.colno}") from error


def article_from_record(record: object, item: str, file_key: str | None = None) -> Article:
    """An article from a JSON object: its text, title, url, published date and source under any of their usual
    names (FIELD_NAMES); the other fields are kept as metadata and named in the article's notes."""
    if not isinstance(record, dict):
        raise IngestError(item, f"expected a JSON object with a 'text' field, got {type(record).__name__}")
    fields, ignored = _named_fields(record)
    text = fields.get("text")
    if not isinstance(text, str) or not text.strip():
        names = "', '".join(FIELD_NAMES["text"][:3])
        raise IngestError(item, f"the record has no 'text' (the article body is required; also read as '{names}')")
    url = fields.get("url") or None
    title = str(fields.get("title") or "").strip()
    article = Article(
        text=text.strip(),
        title=title,
        url=str(url) if url else None,
        source=_outlet(fields.get("source")),
        published=normalize_published(fields.get("published")),
        key=None if url else f"{file_key}#{title}" if file_key and title else None,
        extra=ignored,
    )
    return _noting_ignored(article, item, ignored)


def _named_fields(record: Mapping[str, object]) -> tuple[dict[str, object], dict[str, object]]:
    """(article field -> value, by the first of its names the record has; the record's other fields)."""
    by_name = {re.sub(r"[\s_-]", "", name.lower()): name for name in record}
    fields: dict[str, object] = {}
    read = set()  # the names taken, and the empty ones under a known name (nothing to warn about)
    for field, names in FIELD_NAMES.items():
        for name in (by_name[alias] for alias in names if alias in by_name):
            if record[name] in (None, "", [], {}):
                read.add(name)
            elif field not in fields:
                fields[field] = record[name]
                read.add(name)
    return fields, {name: value for name, value in record.items() if name not in read}


def _outlet(value: object) -> str:
    """An outlet's name: a string, or the `name` of an object ({"source": {"name": "Reuters"}})."""
    if isinstance(value, dict):
        value = value.get("name") or value.get("title") or ""
    return str(value or "").strip()


def _noting_ignored(article: Article, item: str, ignored: Mapping[str, object]) -> Article:
    if not ignored:
        return article
    names = ", ".join(sorted(ignored))
    return replace(article, notes=(f"{item}: not read: {names} (kept as metadata, not indexed)",))
