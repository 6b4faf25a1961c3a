"""Telegram HTML rendering: escaping, the Sources block, and splitting under 4096 characters."""

from __future__ import annotations

import re
from html import escape

from answers.types import Answer, Citation
from bot.render import MESSAGE_LIMIT, answer_messages, split_messages

TAG = re.compile(r"</?([a-z]+)[^>]*>")


def citation(n: int, title: str = "Title", url: str | None = "https://x.example/a") -> Citation:
    return Citation(n, f"id{n}", title, "Outlet", url, "2024-10-22", "passage")


def balanced(message: str) -> bool:
    stack = []
    for match in TAG.finditer(message):
        if match.group(0).startswith("</"):
            if not stack or stack.pop() != match.group(1):
                return False
        else:
            stack.append(match.group(1))
    return not stack


def test_everything_from_articles_is_escaped():
    answer = Answer(
        "q", "Tom & Jerry <b>won</b> [1].", False, [citation(1, "<i>Cats & Mice</i>", 'https://x.example/?a=1&b="2"')]
    )
    (message,) = answer_messages(answer)
    assert "Tom &amp; Jerry &lt;b&gt;won&lt;/b&gt; [1]." in message
    assert (
        '1. <a href="https://x.example/?a=1&amp;b=&quot;2&quot;">&lt;i&gt;Cats &amp; Mice&lt;/i&gt;</a> — Outlet, 22 Oct 2024'
        in message
    )


def test_sources_without_url_or_date():
    answer = Answer("q", "A [1].", False, [Citation(1, "id", "Plain", "", None, None, "p")])
    assert answer_messages(answer)[0].endswith("<b>Sources</b>\n1. Plain")


def test_long_answers_split_at_paragraphs_and_never_inside_a_tag():
    paragraphs = [f"Paragraph {i}: " + "The council met again and again. " * 40 for i in range(8)]
    answer = Answer("q", "\n\n".join(paragraphs), False, [citation(n) for n in range(1, 40)])
    messages = answer_messages(answer)
    assert len(messages) > 2 and all(len(m) <= MESSAGE_LIMIT for m in messages)
    assert all(balanced(m) for m in messages)
    assert all(m.startswith(("Paragraph", "<b>Sources</b>")) for m in messages)
    assert "".join(messages).count("Paragraph") == 8


def test_a_paragraph_longer_than_a_message_is_cut_between_sentences():
    paragraph = " ".join(f"Sentence number {i} is here." for i in range(400))
    messages = split_messages([paragraph])
    assert len(messages) >= 2 and all(len(m) <= MESSAGE_LIMIT for m in messages)
    assert all(m.endswith("is here.") for m in messages)
    assert " ".join(messages) == paragraph


def test_a_quote_longer_than_a_message_is_split_outside_tags_and_entities_and_stays_a_quote():
    """Issue 18, item 8: a block whose quote runs past the limit (one long sentence; many lines) is cut where no
    tag, entity or link is cut; each message closes the quote and the next opens it again."""
    sentence = "The commission said work would resume" + ", crew & co. clearing berth 7 <north>" * 300 + "."
    lines = "\n".join(f"Line {n}: crews &amp; barges at berth {n}." for n in range(400))
    link = '<a href="https://harbour.example/a?b=1&amp;c=2">Dredging resumes</a> — Harbour'
    for passage in (escape(sentence, quote=False), lines):
        messages = split_messages([f"<b>[1]</b> {link}\n<blockquote>{passage}</blockquote>"], limit=1000)
        assert len(messages) > 3 and all(len(m) <= 1000 for m in messages)
        assert all(balanced(m) for m in messages)
        assert all(m.count("<blockquote>") == 1 for m in messages)
        assert not [m for m in messages if re.search(r"&[#\w]*$|<[^>]*$", m.split("</blockquote>")[0])]
        assert link in messages[0]
        shown = " ".join(m.replace("<blockquote>", "").replace("</blockquote>", "") for m in messages)
        assert " ".join(shown.split()).endswith(" ".join(passage.split()[-5:]))


def test_the_sources_underline_the_quoted_sentence_inside_its_passage():
    from answers.types import Citation
    from bot.render import quotes_messages

    passage = "The council met on Tuesday. It voted 31 to 24 for the <tram> line. Work starts in May."
    citation = Citation(
        1, "a1", "Tram", "Post", None, "2024-11-14", passage, ("It voted 31 to 24 for the <tram> line.",)
    )
    (message,) = quotes_messages("It voted 31 to 24 [1].", [citation])
    assert (
        "The council met on Tuesday. <u>It voted 31 to 24 for the &lt;tram&gt; line.</u> Work starts in May." in message
    )
