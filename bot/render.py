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
MAX_ECHO = 60  # characters of a user's input a reply repeats


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
    linked = f'<a href="{escape(url.strip(), quote=True)}">{title_html}</a>' if url and is_url(url) else title_html
    details = [escape(part, quote=False) for part in (source, human_date(published)) if part]
    return linked + (" — " + ", ".join(details) if details else "")


def shortened(text: str, limit: int = MAX_TITLE) -> str:
    """`text` (a title; what a user sent, echoed in a reply) cut to `limit` characters, with an ellipsis when cut."""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def echoed(text: str) -> str:
    """What a user sent, as a reply repeats it: at most MAX_ECHO characters."""
    return shortened(text, MAX_ECHO)


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
    """Blocks joined by blank lines into messages of at most `limit` characters; a block longer than the limit
    is cut (`_cut`), never inside a tag, an entity or a link, and every message is valid HTML on its own."""
    messages: list[str] = []
    current = ""
    for piece in (piece for block in blocks for piece in _cut(block, limit)):
        candidate = f"{current}\n\n{piece}" if current else piece
        if len(candidate) <= limit:
            current = candidate
        else:
            messages.append(current)
            current = piece
    if current:
        messages.append(current)
    return messages


# What a cut must not fall inside: a link (its text and tags), a tag, an entity.
_ATOM = re.compile(r"<a\b[^>]*>.*?</a>|<[^>]*>|&#?\w+;", re.DOTALL)
_TAG = re.compile(r"<(/?)([a-z-]+)[^>]*>")
# Where to cut, best first: between lines, after a sentence, between words.
_BREAKS = (re.compile(r"\n"), re.compile(r"(?<=[.!?])\s"), re.compile(r"\s"))
_CLOSING_ROOM = 64  # for the tags closed where a piece ends (</blockquote></b> ...)


def _cut(block: str, limit: int) -> list[str]:
    """`block` in pieces of at most `limit` characters. The tags open where a piece ends are closed there and
    opened again at the start of the next one, so a long quote is a quote in every message."""
    pieces = []
    rest = block
    while len(rest) > limit:
        budget = limit - _CLOSING_ROOM
        cut = _cut_point(rest, budget)
        head, rest = rest[:cut].rstrip(), rest[cut:].lstrip()
        opened = _open_tags(head)
        if _TAG.sub("", head).strip() == "":  # nothing but tags before the only place to cut: cut anyway
            head, rest = rest[:budget], rest[budget:]
            opened = _open_tags(head)
        pieces.append(head + "".join(f"</{name}>" for name, _ in reversed(opened)))
        rest = "".join(tag for _, tag in opened) + rest
    return [*pieces, rest]


def _cut_point(text: str, budget: int) -> int:
    """Where to cut `text` for a head of at most `budget` characters: at a line break, else after a sentence,
    else between words (the last one in the later half of the budget, when there is one); else as late as
    possible outside a tag, an entity or a link."""
    atoms = [(atom.start(), atom.end()) for atom in _ATOM.finditer(text)]

    def allowed(position: int) -> bool:
        return not any(start < position < end for start, end in atoms)

    latest = []
    for pattern in _BREAKS:
        points = [match.start() for match in pattern.finditer(text, 1, budget + 1) if allowed(match.start())]
        if points and points[-1] > budget // 2:
            return points[-1]
        latest += points[-1:]
    if latest:
        return max(latest)
    return next((position for position in range(budget, 0, -1) if allowed(position)), budget)


def _open_tags(html: str) -> list[tuple[str, str]]:
    """(name, opening tag) of the tags still open at the end of `html`, outermost first."""
    opened: list[tuple[str, str]] = []
    for tag in _TAG.finditer(html):
        closing, name = tag[1], tag[2]
        if not closing:
            opened.append((name, tag[0]))
        elif opened and opened[-1][0] == name:
            opened.pop()
    return opened
