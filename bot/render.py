"""Answers as Telegram HTML: everything escaped, `[n]` markers, a Sources block, split under 4096 characters.
Only http(s) URLs become links (an article may claim `javascript:...`)."""

from __future__ import annotations

import re
from datetime import date
from html import escape

from answers.types import Answer, Citation
from index.articles import is_url
from index.types import StoredArticle

MESSAGE_LIMIT = 4096
MAX_TITLE = 200


def answer_messages(answer: Answer) -> list[str]:
    """The answer as one or more HTML messages, split at paragraph boundaries."""
    blocks = [escape(paragraph, quote=False) for paragraph in answer.text.split("\n\n") if paragraph.strip()]
    if answer.citations:
        blocks.append("<b>Sources</b>\n" + "\n".join(source_line(c) for c in answer.citations))
    return split_messages(blocks)


def source_line(citation: Citation) -> str:
    return f"{citation.n}. " + _article_line(citation.title, citation.source, citation.published, citation.url)


def article_line(article: StoredArticle) -> str:
    return _article_line(article.title, article.source, article.published, article.url)


def _article_line(title: str, source: str, published: str | None, url: str | None) -> str:
    title_html = escape(shortened(title or "Untitled"), quote=False)
    linked = f'<a href="{escape(url, quote=True)}">{title_html}</a>' if url and is_url(url) else title_html
    details = [escape(part, quote=False) for part in (source, human_date(published)) if part]
    return linked + (" — " + ", ".join(details) if details else "")


def shortened(title: str) -> str:
    """A title cut to MAX_TITLE characters, with an ellipsis when cut."""
    return title if len(title) <= MAX_TITLE else title[: MAX_TITLE - 1].rstrip() + "…"


def human_date(published: str | None) -> str:
    if not published:
        return ""
    try:
        return date.fromisoformat(published[:10]).strftime("%-d %b %Y")
    except ValueError:
        return published


def quotes_messages(answer_text: str, citations: list[Citation]) -> list[str]:
    """The cited passages, exactly as the articles say them, for the Sources button; the sentences the answer
    quotes are underlined inside them."""
    blocks = [
        f"<b>[{c.n}]</b> {_article_line(c.title, c.source, c.published, c.url)}\n"
        f"<blockquote>{marked_passage(c)}</blockquote>"
        for c in citations
    ]
    return split_messages(blocks or [escape(answer_text, quote=False)])


def marked_passage(citation: Citation) -> str:
    """The passage escaped, each sentence the answer quotes from it in <u>…</u> (markup within one sentence)."""
    marked = escape(citation.passage, quote=False)
    for sentence in citation.sentences:
        quoted = escape(sentence, quote=False)
        if quoted and quoted in marked and f"<u>{quoted}" not in marked:
            marked = marked.replace(quoted, f"<u>{quoted}</u>", 1)
    return marked


def split_messages(blocks: list[str], limit: int = MESSAGE_LIMIT) -> list[str]:
    """Blocks joined by blank lines into messages of at most `limit` characters; a block longer than the
    limit is cut between sentences (or words), which never falls inside a tag of ours."""
    messages: list[str] = []
    current = ""
    for piece in (piece for block in blocks for piece in _fit(block, limit)):
        candidate = f"{current}\n\n{piece}" if current else piece
        if len(candidate) <= limit:
            current = candidate
        else:
            messages.append(current)
            current = piece
    if current:
        messages.append(current)
    return messages


def _fit(block: str, limit: int) -> list[str]:
    if len(block) <= limit:
        return [block]
    if "\n" in block:  # a list (the Sources block): cut between its lines
        return _pack(block.split("\n"), "\n", limit)
    sentences = re.split(r"(?<=[.!?])\s+", block)
    units = [word for sentence in sentences for word in (sentence.split(" ") if len(sentence) > limit else [sentence])]
    return _pack(units, " ", limit)


def _pack(units: list[str], joiner: str, limit: int) -> list[str]:
    pieces, current = [], ""
    for unit in units:
        candidate = f"{current}{joiner}{unit}" if current else unit
        if len(candidate) > limit and current:
            pieces.append(current)
            candidate = unit
        current = candidate
    return pieces + [current]
