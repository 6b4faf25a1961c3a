"""Briefings as Telegram HTML: a heading, then per story its headline, cited text and sources."""

from __future__ import annotations

from html import escape

from bot.render import shortened, source_line, split_messages
from briefings.types import Briefing, BriefingItem


def briefing_messages(briefing: Briefing, heading: str) -> list[str]:
    """The briefing as one or more messages, each story kept whole when it fits; one line when it is empty."""
    if not briefing.items:
        subject = briefing.subject()
        return [escape(f"No articles {subject}." if subject else "No articles are indexed yet.", quote=False)]
    return split_messages([f"<b>{escape(heading, quote=False)}</b>"] + [_item_block(item) for item in briefing.items])


def _item_block(item: BriefingItem) -> str:
    headline = shortened(item.headline)
    sources = "\n".join(source_line(citation) for citation in item.citations)
    return f"<b>{escape(headline, quote=False)}</b>\n{escape(item.text, quote=False)}\n<i>Sources</i>\n{sources}"


def heading(briefing: Briefing, day: str) -> str:
    subject = briefing.subject()
    return f"Briefing {subject} — {day}" if subject else f"Briefing — {day}"
