"""Articles from files on disk: .txt, .md, .html, .json and .jsonl, and directories of them."""

from __future__ import annotations

import json
import os
import stat
from collections import Counter
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

from common.errors import IngestError
from index.articles import Article
from index.dates import normalize_published

SUPPORTED_SUFFIXES = (".txt", ".md", ".html", ".htm", ".json", ".jsonl")
ARTICLE_FIELDS = ("title", "text", "url", "published", "source")


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
    lines = text.strip().splitlines()
    first = lines[0].strip()
    heading = first.lstrip("#").strip() if first.startswith("#") else None
    looks_like_title = heading or (len(lines) > 2 and len(first) <= 150 and not lines[1].strip())
    if looks_like_title:
        body = "\n".join(lines[1:]).strip()
        return (
            Article(text=body, title=heading or first, key=key)
            if body
            else Article(text=text.strip(), title=first, key=key)
        )
    return Article(text=text.strip(), title=path.stem.replace("-", " ").replace("_", " "), key=key)


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
    """An article from a JSON object with `title`, `text`, `url`, `published`, `source` (others kept)."""
    if not isinstance(record, dict):
        raise IngestError(item, f"expected a JSON object with a 'text' field, got {type(record).__name__}")
    text = record.get("text")
    if not isinstance(text, str) or not text.strip():
        raise IngestError(item, "the record has no 'text' (the article body is required)")
    url = record.get("url") or None
    title = str(record.get("title") or "").strip()
    return Article(
        text=text.strip(),
        title=title,
        url=str(url) if url else None,
        source=str(record.get("source") or "").strip(),
        published=normalize_published(record.get("published")),
        key=None if url else f"{file_key}#{title}" if file_key and title else None,
        extra={name: value for name, value in record.items() if name not in ARTICLE_FIELDS},
    )
