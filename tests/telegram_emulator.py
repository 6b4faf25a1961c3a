"""A Telegram Bot API emulator for end-to-end tests.

An aiohttp server on 127.0.0.1, run in a background thread with its own event loop, speaks the Bot
API the way api.telegram.org does (``{"ok": true, "result": ...}`` envelopes, Telegram's error
descriptions and status codes, long polling), so an unmodified python-telegram-bot ``Application``
can run against it while the tests act as users::

    with TelegramEmulator() as emu:
        app = ApplicationBuilder().token(emu.token).base_url(emu.base_url) \\
            .base_file_url(emu.base_file_url).build()
        alice = emu.user("Alice", "alice")
        chat = emu.private_chat(alice)
        emu.send(chat, alice, "hello")
        [reply] = emu.wait_for_messages(chat)  # in async tests: await ..._async(chat)

Text formatting follows tdlib (the library behind the Bot API server): HTML, MarkdownV2 and legacy
Markdown are parsed into the visible text and entities, leading/trailing whitespace is trimmed, and
the 4096-character limit (1024 for captions) applies to the visible text, counted in code points.
Entity offsets and lengths are in UTF-16 code units. Error descriptions and checks are taken from
telegram-bot-api's Client.cpp, WebhookActor.cpp and ClientManager.cpp and tdlib where they decide,
and from the server's documented error codes (RESULT_ID_DUPLICATE...) where Telegram does.

What the tests can drive, beyond sending and clicking:

* Users and chats: private chats, groups, supergroups, forums, channels; member statuses
  (``set_member_status``, anonymous administrators with ``is_anonymous``); messages sent on behalf
  of a chat (``send_as_chat``: anonymous admins as GroupAnonymousBot, posts as a channel via
  Channel_Bot) and automatic forwards of channel posts into a linked discussion group
  (``link_discussion``, from "Telegram" 777000); forged callback data (``click(forged=True)``).
* Documents: a new file_id per upload, a file_unique_id that follows the content, file names
  passed on as sent, sizes advertised beyond the bytes held (getFile: "file is too big" > 20 MB).
* Inline mode (``TelegramEmulator(inline=True)``): ``inline_query`` -> answerInlineQuery (checked as
  Telegram does, "article" results) -> ``choose_inline_result`` sends a message via the bot, whose
  buttons give callback queries with inline_message_id, edited by inline_message_id; optional
  chosen_inline_result updates (``inline_feedback=True``).
* Webhooks: after setWebhook the emulator POSTs updates with the secret token header, one at a
  time per chat (per user for queries), at most max_connections at once, retrying failures with
  Telegram's back-off, and reports them in getWebhookInfo; getUpdates then fails with 409.
  ``webhook_backends`` puts a load balancer in front of several bot workers; ``deliveries`` tells
  which got what.

Deliberate deviations from api.telegram.org:

* HTML is stricter than Telegram: a bare ``&`` or ``>`` in text is rejected ("can't parse
  entities: Unescaped ...") although Telegram tolerates them, so that unescaped dynamic text fails
  every time instead of only when it happens to contain ``<``.
* Webhooks may be plain http:// on any port of a loopback address (Telegram: HTTPS on 443, 80, 88
  or 8443), and updates are only ever sent to loopback addresses: to any other host a delivery
  fails ("Failed to resolve host") unless ``webhook_backends`` routes it to loopback workers.
  setWebhook does not check that the URL answers, there are no certificates, a webhook's answer
  can't carry a method call, and a failing update is retried until delivered (Telegram gives up
  once it expires, after about a day).
* Inline results are "article"s with text content only; other types get a 400 saying so.
* file_unique_id is derived from the content: the same bytes uploaded twice share it (Telegram
  promises it only for the same stored file).
* No media other than documents; no payments, games, business connections or reactions.
"""

from __future__ import annotations

import asyncio
import base64
import copy
import hashlib
import ipaddress
import itertools
import json
import math
import mimetypes
import random
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar
from urllib.parse import urlsplit

from aiohttp import ClientError, ClientSession, ClientTimeout, web

JSON = dict[str, Any]
Found = TypeVar("Found")

DEFAULT_TOKEN = "123456:TEST-TOKEN"
TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
GET_FILE_LIMIT = 20 * 1024 * 1024
USER_UPLOAD_LIMIT = 4000 * 1024 * 1024  # premium users' limit; others 2000 MiB
CALLBACK_DATA_LIMIT = 64  # bytes
# Inline mode: MAX_INLINE_QUERY_RESULT_COUNT in telegram-bot-api's Client.cpp; result ids and
# next_offset 1-64 bytes (Bot API docs); a query has up to 256 characters (InlineQuery.query).
INLINE_RESULTS_LIMIT = 50
INLINE_ID_LIMIT = 64
INLINE_QUERY_LIMIT = 256
INLINE_CHAT_TYPES = frozenset({"sender", "private", "group", "supergroup", "channel"})
OTHER_RESULT_TYPES = frozenset(
    {"audio", "contact", "document", "game", "gif", "location", "mpeg4_gif", "photo"}
    | {"sticker", "venue", "video", "voice"}
)
# telegram-bot-api maps the server's QUERY_ID_INVALID to this (Client.cpp).
QUERY_TOO_OLD = "query is too old and response timeout expired or query ID is invalid"
# Webhooks (telegram-bot-api's WebhookActor.cpp): the ports allowed for HTTPS, the secret's
# header, and the longest back-off between retries of one update (WEBHOOK_MAX_RESEND_TIMEOUT).
WEBHOOK_PORTS = frozenset({80, 88, 443, 8443})
SECRET_TOKEN_HEADER = "X-Telegram-Bot-Api-Secret-Token"
WEBHOOK_MAX_DELAY = 60
MESSAGE_UPDATES = frozenset({"message", "edited_message", "channel_post", "edited_channel_post"})
# What an automatic forward of a channel post into its discussion group copies.
FORWARDED = frozenset({"text", "entities", "caption", "caption_entities", "document", "link_preview_options"})
NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly the "
    "same as a current content and reply markup of the message"
)
CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)
# Update types Telegram leaves out while allowed_updates is unset or empty.
OPT_IN_UPDATES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})
BUTTON_ACTIONS = frozenset(
    {
        "url",
        "callback_data",
        "web_app",
        "login_url",
        "switch_inline_query",
        "switch_inline_query_current_chat",
        "switch_inline_query_chosen_chat",
        "copy_text",
        "callback_game",
        "pay",
    }
)
COMMAND_NAME = re.compile(r"[a-z0-9_]{1,32}")
ADMIN_RIGHTS: JSON = {
    "can_be_edited": False,
    "is_anonymous": False,
    "can_manage_chat": True,
    "can_delete_messages": True,
    "can_manage_video_chats": True,
    "can_restrict_members": True,
    "can_promote_members": False,
    "can_change_info": True,
    "can_invite_users": True,
    "can_post_stories": True,
    "can_edit_stories": True,
    "can_delete_stories": True,
}


# --------------------------------------------------------------------------------------------
# Errors


class ApiError(Exception):
    """A Bot API error answer: ``{"ok": false, "error_code": ..., "description": ...}``."""

    def __init__(self, code: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.retry_after = retry_after

    def payload(self) -> JSON:
        body: JSON = {"ok": False, "error_code": self.code, "description": self.description}
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body


def _bad(description: str) -> ApiError:
    return ApiError(400, f"Bad Request: {description}")


def _forbidden(description: str) -> ApiError:
    return ApiError(403, f"Forbidden: {description}")


def _conflict(description: str) -> ApiError:
    return ApiError(409, f"Conflict: {description}")


def _lower_first(message: str) -> str:
    """How telegram-bot-api words an error after "Bad Request: " (UPPER_CASE codes stay as-is)."""
    if len(message) >= 2 and (message[1] == "_" or message[1].isupper()):
        return message
    return message[:1].lower() + message[1:]


class _Malformed(Exception):
    """A part of a request telegram-bot-api can't parse: its message is wrapped by the caller."""


@dataclass(frozen=True)
class _Described:
    """A successful answer that also carries a "description" (as setWebhook's do)."""

    result: Any
    description: str


class EntityParseError(Exception):
    """A formatting error, reported by the API as "can't parse entities: <message>"."""


# --------------------------------------------------------------------------------------------
# Text: UTF-16 units, entity parsing (ported from tdlib's MessageEntity.cpp), auto-detection

SPACES = " \t\r\n\v\f"
HTML_TAGS = frozenset(
    {"a", "b", "strong", "i", "em", "s", "strike", "del", "u", "ins", "tg-spoiler", "tg-emoji"}
    | {"span", "pre", "code", "blockquote"}
)
HTML_ENTITY_TYPES = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
}
NAMED_REFERENCES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
REFERENCE = re.compile(r"&(?:#x([0-9a-fA-F]+)|#([0-9]+)|([a-zA-Z]+));?")
MARKDOWN_V2_RESERVED = "_*[]()~`>#+-=|{}.!\n"
MARKDOWN_V2_NAMES = {
    "bold": "Bold",
    "italic": "Italic",
    "underline": "Underline",
    "strikethrough": "Strikethrough",
    "spoiler": "Spoiler",
    "code": "Code",
    "pre": "Pre",
    "text_link": "TextUrl",
    "custom_emoji": "CustomEmoji",
    "blockquote": "BlockQuote",
}
LEGACY_MARKDOWN_TYPES = {"_": "italic", "*": "bold", "[": "text_link", "`": "code"}
AUTO_ENTITIES = re.compile(
    r"(?P<url>\b(?:https?|ftp)://[^\s<>\"]*[^\s<>\"'.,;:!?()\[\]{}])"
    r"|(?P<bot_command>(?<![\w/<>])/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?(?![\w/]))"
    r"|(?P<mention>(?<![\w@])@[A-Za-z0-9_]{3,32}(?![\w@]))"
    r"|(?P<hashtag>(?<![\w#])#(?=\w*[^\W\d])\w+)"
)
# Detected entities are dropped where they would overlap one of these.
OPAQUE_ENTITIES = frozenset({"code", "pre", "text_link", "text_mention", "custom_emoji"})


def utf16_len(text: str) -> int:
    """Length of ``text`` in UTF-16 code units, the unit of entity offsets and lengths."""
    return len(text.encode("utf-16-le")) // 2


def utf16_slice(text: str, offset: int, length: int) -> str:
    """The part of ``text`` an entity with this UTF-16 offset and length covers."""
    data = text.encode("utf-16-le")
    return data[2 * offset : 2 * (offset + length)].decode("utf-16-le")


def _utf16_prefix(text: str) -> list[int]:
    return list(itertools.accumulate((2 if ord(c) > 0xFFFF else 1 for c in text), initial=0))


def _byte_offset(text: str, index: int) -> int:
    return len(text[:index].encode("utf-8"))


def _is_space(char: str) -> bool:
    return char != "" and char in SPACES


def _sorted_entities(entities: Iterable[JSON]) -> list[JSON]:
    return sorted(entities, key=lambda e: (e["offset"], -e["length"]))


def _checked_url(url: str) -> str | None:
    """The URL as Telegram would keep it in a link, or None where Telegram rejects it."""
    url = url.strip()
    if not url or any(c.isspace() for c in url):
        return None
    scheme = re.match(r"([a-zA-Z][a-zA-Z0-9+.-]*):", url)
    if scheme is None:
        url = f"http://{url}"
    elif scheme.group(1).lower() in {"tg", "ton", "tonsite"}:
        return url
    elif scheme.group(1).lower() not in {"http", "https"}:
        return None
    host = urlsplit(url).hostname or ""
    return url if "." in host.strip(".") else None


def _decode_reference(text: str, pos: int) -> tuple[str, int] | None:
    """Decode the character reference at ``text[pos] == "&"`` into (character, end)."""
    match = REFERENCE.match(text, pos)
    if match is None:
        return None
    hex_digits, decimal, name = match.groups()
    if name is not None:
        char = NAMED_REFERENCES.get(name)
        return None if char is None else (char, match.end())
    code = int(hex_digits or decimal, 16 if hex_digits else 10)
    digits_end = match.end(1) if hex_digits else match.end(2)
    if code == 0 or code >= 0x10FFFF or digits_end - pos >= 10:
        return None
    if 0xD800 <= code <= 0xDFFF:
        raise EntityParseError(
            "Text contains invalid Unicode characters after decoding HTML entities, "
            "check for unmatched surrogate code units"
        )
    return chr(code), match.end()


def _pre_language(text: str, pos: int) -> tuple[str, int]:
    """The language after an opening ```, if one is there, and the position after it."""
    end = pos
    while end < len(text) and not _is_space(text[end]) and text[end] != "`":
        end += 1
    if end != pos and end < len(text) and text[end] != "`":
        return text[pos:end], end
    return "", pos


def _skip_newline(text: str, pos: int) -> int:
    """Skip one line break ("\\n", "\\r", "\\r\\n" or "\\n\\r") at ``pos``."""
    pair = text[pos : pos + 2]
    if pair in ("\r\n", "\n\r"):
        return pos + 2
    return pos + 1 if pair[:1] in ("\n", "\r") else pos


class _Builder:
    """The visible text being built, with its length in characters and in UTF-16 units."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.length = 0
        self.utf16 = 0

    def add(self, text: str) -> None:
        self.parts.append(text)
        self.length += len(text)
        self.utf16 += utf16_len(text)

    def text(self) -> str:
        return "".join(self.parts)

    def since(self, index: int) -> str:
        return self.text()[index:]


@dataclass
class _Open:
    """An entity whose end has not been reached yet."""

    name: str
    argument: str
    utf16: int
    index: int
    byte_offset: int = 0


class _HtmlParser:
    """tdlib's parse_html, plus the emulator's strict rule for bare "&" and ">"."""

    def __init__(self, source: str) -> None:
        self.src = source
        self.pos = 0
        self.out = _Builder()
        self.open: list[_Open] = []
        self.entities: list[JSON] = []

    def parse(self) -> tuple[str, list[JSON]]:
        while self.pos < len(self.src):
            char = self.src[self.pos]
            if char == "<":
                self._tag()
            elif char == "&":
                self._reference()
            elif char == ">":
                raise EntityParseError(self._unescaped(">", "&gt;"))
            else:
                self.out.add(char)
                self.pos += 1
        if self.open:
            raise EntityParseError(f"Can't find end tag corresponding to start tag {self.open[-1].name}")
        for entity in self.entities:
            if entity["type"] == "code":
                entity.pop("language", None)
        return self.out.text(), _sorted_entities(self.entities)

    def _peek(self) -> str:
        return self.src[self.pos] if self.pos < len(self.src) else ""

    def _scan_to(self, stop: Callable[[str], bool]) -> int:
        end = self.pos
        while end < len(self.src) and not stop(self.src[end]):
            end += 1
        return end

    def _skip_spaces(self) -> None:
        self.pos = self._scan_to(lambda c: not _is_space(c))

    def _offset(self, index: int) -> int:
        return _byte_offset(self.src, index)

    def _unescaped(self, char: str, escape: str) -> str:
        where = f"byte offset {self._offset(self.pos)}"
        return f'Unescaped "{char}" at {where}: write it as "{escape}"'

    def _reference(self) -> None:
        decoded = _decode_reference(self.src, self.pos)
        if decoded is None:
            raise EntityParseError(self._unescaped("&", "&amp;"))
        char, self.pos = decoded
        self.out.add(char)

    def _tag(self) -> None:
        begin = self.pos
        self.pos += 1
        if self._peek() == "/":
            self._end_tag(begin)
        else:
            self._start_tag(begin)

    def _start_tag(self, begin: int) -> None:
        name_end = self._scan_to(lambda c: _is_space(c) or c == ">")
        if name_end == len(self.src):
            raise EntityParseError(f"Unclosed start tag at byte offset {self._offset(begin)}")
        name = self.src[self.pos : name_end].lower()
        if name not in HTML_TAGS:
            raise EntityParseError(f'Unsupported start tag "{name}" at byte offset {self._offset(begin)}')
        self.pos = name_end
        argument = self._attributes(name, begin)
        if name == "span" and argument != "spoiler":
            raise EntityParseError(f'Tag "span" must have class "tg-spoiler" at byte offset {self._offset(begin)}')
        self.pos += 1
        self.open.append(_Open(name, argument, self.out.utf16, self.out.length))

    def _attributes(self, name: str, begin: int) -> str:
        argument = ""
        while self._peek() != ">":
            self._skip_spaces()
            if self._peek() == ">":
                break
            start = self.pos
            self.pos = self._scan_to(lambda c: _is_space(c) or c in "=>")
            attribute = self.src[start : self.pos].lower()
            where = f'the tag "{name}" at byte offset {self._offset(begin)}'
            if not attribute:
                raise EntityParseError(f"Empty attribute name in {where}")
            self._skip_spaces()
            if self._peek() != "=":
                if name == "blockquote" and attribute == "expandable":
                    argument = "expandable"
                    continue
                raise EntityParseError(f"Expected equal sign in declaration of an attribute of {where}")
            self.pos += 1
            self._skip_spaces()
            if self._peek() == "":
                raise EntityParseError(f"Unclosed start tag {where}")
            value = self._attribute_value()
            if self._peek() == "":
                raise EntityParseError(f"Unclosed start tag at byte offset {self._offset(begin)}")
            argument = _tag_argument(name, attribute, value) or argument
        return argument

    def _attribute_value(self) -> str:
        quote = self._peek()
        if quote not in ("'", '"'):
            start = self.pos
            self.pos = self._scan_to(lambda c: not (c.isascii() and c.isalnum() or c in ".-"))
            if self._peek() and not _is_space(self._peek()) and self._peek() != ">":
                raise EntityParseError(f"Unexpected end of name token at byte offset {self._offset(start)}")
            return self.src[start : self.pos].lower()
        self.pos += 1
        chars: list[str] = []
        while self._peek() not in ("", quote):
            decoded = _decode_reference(self.src, self.pos) if self._peek() == "&" else None
            if decoded is None:
                chars.append(self._peek())
                self.pos += 1
            else:
                chars.append(decoded[0])
                self.pos = decoded[1]
        if self._peek() == quote:
            self.pos += 1
        return "".join(chars)

    def _end_tag(self, begin: int) -> None:
        if not self.open:
            raise EntityParseError(f"Unexpected end tag at byte offset {self._offset(begin)}")
        self.pos += 1
        name_end = self._scan_to(lambda c: _is_space(c) or c == ">")
        end_name = self.src[self.pos : name_end].lower()
        self.pos = name_end
        self._skip_spaces()
        if self._peek() != ">":
            raise EntityParseError(f"Unclosed end tag at byte offset {self._offset(begin)}")
        tag = self.open[-1]
        if end_name and end_name != tag.name:
            raise EntityParseError(
                f"Unmatched end tag at byte offset {self._offset(begin)}, "
                f'expected "</{tag.name}>", found "</{end_name}>"'
            )
        self.pos += 1
        self.open.pop()
        if self.out.utf16 > tag.utf16:
            self._close(tag)

    def _close(self, tag: _Open) -> None:
        span = {"offset": tag.utf16, "length": self.out.utf16 - tag.utf16}
        if tag.name == "a":
            url = _checked_url(tag.argument or self.out.since(tag.index))
            if url:
                self.entities.append({"type": "text_link", **span, "url": url})
        elif tag.name == "tg-emoji":
            if not tag.argument.isdigit() or int(tag.argument) == 0:
                raise EntityParseError("Invalid custom emoji identifier specified")
            self.entities.append({"type": "custom_emoji", **span, "custom_emoji_id": tag.argument})
        elif not self._merged_pre_code(tag, span):
            kind = HTML_ENTITY_TYPES[tag.name]
            if tag.argument == "expandable":
                kind = "expandable_blockquote"
            entity = {"type": kind, **span}
            if tag.name == "code" and tag.argument:
                entity["language"] = tag.argument
            self.entities.append(entity)

    def _merged_pre_code(self, tag: _Open, span: JSON) -> bool:
        """``<pre><code class="language-x">`` makes one pre entity with a language."""
        last = self.entities[-1] if self.entities else None
        if last is None or (last["offset"], last["length"]) != (span["offset"], span["length"]):
            return False
        if tag.name == "pre" and last["type"] == "code" and last.get("language"):
            last["type"] = "pre"
            return True
        if tag.name == "code" and last["type"] == "pre" and tag.argument:
            last["language"] = tag.argument
            return True
        return False


def _tag_argument(tag: str, attribute: str, value: str) -> str | None:
    if tag == "a" and attribute == "href":
        return value
    if tag == "code" and attribute == "class" and value.startswith("language-"):
        return value[len("language-") :]
    if tag == "span" and attribute == "class" and value.startswith("tg-"):
        return value[len("tg-") :]
    if tag == "tg-emoji" and attribute == "emoji-id":
        return value
    return None


class _MarkdownV2Parser:
    """tdlib's parse_markdown_v2."""

    def __init__(self, source: str) -> None:
        self.src = source
        self.pos = 0
        self.out = _Builder()
        self.open: list[_Open] = []
        self.entities: list[JSON] = []
        self.in_quote = False

    def parse(self) -> tuple[str, list[JSON]]:
        while self.pos < len(self.src):
            char, following = self._at(0), self._at(1)
            if char == "\\" and following and 0 < ord(following) <= 126:
                self.out.add(following)
                self.pos += 2
            elif char not in self._reserved():
                self.out.add(char)
                self.pos += 1
            elif self.open and self._ends(self.open[-1].name):
                self._close()
            else:
                self._start()
        if self.in_quote and self.open[-1].name == "blockquote":
            self._add(self.open.pop(), "")
        if self.open:
            raise EntityParseError(self._missing_end(self.open[-1]))
        return self.out.text(), _sorted_entities(self.entities)

    def _at(self, delta: int) -> str:
        index = self.pos + delta
        return self.src[index] if index < len(self.src) else ""

    def _reserved(self) -> str:
        return "`" if self.open and self.open[-1].name in ("code", "pre") else MARKDOWN_V2_RESERVED

    def _missing_end(self, entity: _Open) -> str:
        name = "PreCode" if entity.name == "pre" and entity.argument else entity.name
        name = MARKDOWN_V2_NAMES.get(name, name)
        return f"Can't find end of {name} entity at byte offset {entity.byte_offset}"

    def _ends(self, name: str) -> bool:
        char, following = self._at(0), self._at(1)
        if self.in_quote and char == "\n" and following != ">":
            return True
        ends = {
            "bold": char == "*",
            "italic": char == "_" and following != "_",
            "code": char == "`",
            "pre": self.src.startswith("```", self.pos),
            "text_link": char == "]",
            "custom_emoji": char == "]",
            "underline": self.src.startswith("__", self.pos),
            "strikethrough": char == "~",
            "spoiler": self.src.startswith("||", self.pos),
        }
        return ends.get(name, False)

    def _start(self) -> None:
        begin, char, following = self.pos, self._at(0), self._at(1)
        argument = ""
        if char == "\n":
            self._newline()
            return
        if char == "`" and self.src.startswith("```", self.pos):
            name = "pre"
            argument, self.pos = _pre_language(self.src, self.pos + 3)
            self.pos = _skip_newline(self.src, self.pos)
        elif char == "_" and following == "_":
            name, self.pos = "underline", self.pos + 2
        elif char == "|" and following == "|":
            name, self.pos = "spoiler", self.pos + 2
        elif char == "!" and following == "[":
            name, self.pos = "custom_emoji", self.pos + 2
        elif char == ">" and begin == 0:
            name, self.pos, self.in_quote = "blockquote", 1, True
        elif char in "_*~[`":
            name = {"_": "italic", "*": "bold", "~": "strikethrough", "[": "text_link"}.get(char)
            name, self.pos = name or "code", self.pos + 1
        else:
            raise EntityParseError(f"Character '{char}' is reserved and must be escaped with the preceding '\\'")
        offset = _byte_offset(self.src, begin)
        self.open.append(_Open(name, argument, self.out.utf16, self.out.length, offset))

    def _newline(self) -> None:
        """A line break; "\\n>" continues or starts a block quotation."""
        begin = self.pos
        self.out.add("\n")
        self.pos += 1
        if self._at(0) != ">":
            return
        self.pos += 1
        if not self.in_quote:
            self.in_quote = True
            offset = _byte_offset(self.src, begin)
            self.open.append(_Open("blockquote", "", self.out.utf16, self.out.length, offset))

    def _close(self) -> None:
        entity = self.open[-1]
        if self._at(0) == "\n" and entity.name != "blockquote":
            raise EntityParseError(self._missing_end(entity))
        self.open.pop()
        argument: str | None = entity.argument
        if entity.name in ("underline", "spoiler"):
            self.pos += 2
        elif entity.name == "pre":
            self.pos += 3
        elif entity.name == "text_link":
            argument = self._link_target(entity)
        elif entity.name == "custom_emoji":
            argument = self._custom_emoji_id()
        elif entity.name == "blockquote":
            self.out.add("\n")
            self.pos += 1
            self.in_quote = False
        else:
            self.pos += 1
        if argument is not None and self.out.utf16 > entity.utf16:
            self._add(entity, argument)

    def _add(self, entity: _Open, argument: str) -> None:
        length = self.out.utf16 - entity.utf16
        record = {"type": entity.name, "offset": entity.utf16, "length": length}
        key = {"pre": "language", "text_link": "url", "custom_emoji": "custom_emoji_id"}
        if argument and entity.name in key:
            record[key[entity.name]] = argument
        if record["length"]:
            self.entities.append(record)

    def _parenthesized(self, what: str) -> str:
        """Read "(...)" after "]", with backslash escapes; the position ends after ")"."""
        self.pos += 2
        start = self.pos
        chars: list[str] = []
        while self._at(0) not in ("", ")"):
            if self._at(0) == "\\" and self._at(1) and ord(self._at(1)) <= 126:
                self.pos += 1
            chars.append(self._at(0))
            self.pos += 1
        if self._at(0) != ")":
            raise EntityParseError(f"Can't find end of {what} at byte offset {_byte_offset(self.src, start)}")
        self.pos += 1
        return "".join(chars)

    def _link_target(self, entity: _Open) -> str | None:
        if self._at(1) != "(":
            self.pos += 1
            return _checked_url(self.out.since(entity.index))
        return _checked_url(self._parenthesized("a URL"))

    def _custom_emoji_id(self) -> str:
        if self._at(1) != "(":
            raise EntityParseError("Custom emoji entity must contain a tg://emoji URL")
        url = self._parenthesized("a custom emoji URL")
        match = re.fullmatch(r"tg://emoji\?id=([1-9][0-9]*)", url)
        if match is None:
            raise EntityParseError("Invalid custom emoji URL specified")
        return match.group(1)


def _parse_legacy_markdown(source: str) -> tuple[str, list[JSON]]:
    """tdlib's parse_markdown (parse_mode "Markdown")."""
    out, entities, pos = _Builder(), list[JSON](), 0
    while pos < len(source):
        char = source[pos]
        if char == "\\" and source[pos + 1 : pos + 2] in ("_", "*", "`", "["):
            out.add(source[pos + 1])
            pos += 2
            continue
        if char not in LEGACY_MARKDOWN_TYPES:
            out.add(char)
            pos += 1
            continue
        pos = _legacy_markdown_entity(source, pos, out, entities)
    return out.text(), _sorted_entities(entities)


def _legacy_markdown_entity(source: str, begin: int, out: _Builder, entities: list[JSON]) -> int:
    """Parse the entity starting at ``source[begin]``; return the position after it."""
    char = source[begin]
    pos, language = begin + 1, ""
    is_pre = char == "`" and source.startswith("``", pos)
    if is_pre:
        language, pos = _pre_language(source, pos + 2)
        pos = _skip_newline(source, pos)
    end_char = "]" if char == "[" else char
    start, start_index = out.utf16, out.length
    while pos < len(source) and (source[pos] != end_char or (is_pre and not source.startswith("``", pos + 1))):
        out.add(source[pos])
        pos += 1
    if pos == len(source):
        raise EntityParseError(f"Can't find end of the entity starting at byte offset {_byte_offset(source, begin)}")
    entity: JSON = {"type": "pre" if is_pre else LEGACY_MARKDOWN_TYPES[char], "offset": start}
    entity["length"] = out.utf16 - start
    if char == "[":
        url = out.since(start_index)
        if source.startswith("(", pos + 1):
            close = source.find(")", pos + 2)
            close = len(source) if close == -1 else close
            url, pos = source[pos + 2 : close], close
        entity["url"] = _checked_url(url)
    if language:
        entity["language"] = language
    if entity["length"] and (char != "[" or entity["url"] is not None):
        entities.append(entity)
    return pos + (3 if is_pre else 1)


def _plain(source: str) -> tuple[str, list[JSON]]:
    return source, []


PARSERS: dict[str, Callable[[str], tuple[str, list[JSON]]]] = {
    "": _plain,
    "html": lambda source: _HtmlParser(source).parse(),
    "markdownv2": lambda source: _MarkdownV2Parser(source).parse(),
    "markdown": _parse_legacy_markdown,
}


def parse_entities(source: str, parse_mode: str | None) -> tuple[str, list[JSON]]:
    """Visible text and entities of ``source``; raises EntityParseError like Telegram does."""
    parser = PARSERS.get((parse_mode or "").lower())
    if parser is None:
        raise _bad("unsupported parse_mode")
    return parser(source)


def detect_entities(text: str) -> list[JSON]:
    """The entities Telegram finds by itself: url, bot_command, mention, hashtag."""
    units = _utf16_prefix(text)
    return [
        {
            "type": match.lastgroup,
            "offset": units[match.start()],
            "length": units[match.end()] - units[match.start()],
        }
        for match in AUTO_ENTITIES.finditer(text)
    ]


def _with_detected(text: str, entities: list[JSON]) -> list[JSON]:
    """Add the detected entities that do not overlap code, pre or links."""
    taken = [(e["offset"], e["offset"] + e["length"]) for e in entities if e["type"] in OPAQUE_ENTITIES]
    found = [
        e
        for e in detect_entities(text)
        if all(e["offset"] + e["length"] <= lo or e["offset"] >= hi for lo, hi in taken)
    ]
    return _sorted_entities(entities + found)


def _trim(text: str, entities: list[JSON]) -> tuple[str, list[JSON]]:
    """tdlib's trim: trailing whitespace, and leading spaces and newlines before any entity."""
    kept = text.rstrip(SPACES)
    end = utf16_len(kept)
    clipped = [{**e, "length": min(e["length"], end - e["offset"])} for e in entities if e["offset"] < end]
    first = min((e["offset"] for e in clipped), default=end)
    lead = min(len(kept) - len(kept.lstrip(" \n")), first)
    return kept[lead:], [{**e, "offset": e["offset"] - lead} for e in clipped]


def _format(raw: str, parse_mode: str | None, given: Any) -> tuple[str, list[JSON]]:
    """Visible text and entities of a text as sent: markup (or given entities), then trimming."""
    if given is None:
        text, entities = parse_entities(raw, parse_mode)
    else:
        text, entities = raw, _given_entities(given, raw)
    return _trim(text, entities)


def _given_entities(value: Any, text: str) -> list[JSON]:
    """Entities passed explicitly (``entities``/``caption_entities``), minus those out of range."""
    if not isinstance(value, list):
        raise _bad("can't parse entities JSON object")
    size = utf16_len(text)
    return _sorted_entities(dict(e) for e in value if _entity_fits(e, size))


def _entity_fits(entity: Any, size: int) -> bool:
    if not isinstance(entity, dict) or not isinstance(entity.get("type"), str):
        return False
    offset, length = entity.get("offset"), entity.get("length")
    if not isinstance(offset, int) or not isinstance(length, int):
        return False
    return offset >= 0 and length > 0 and offset + length <= size


# --------------------------------------------------------------------------------------------
# What the tests see: users, chats, and the record of what the bot did


def _without_none(values: JSON) -> JSON:
    return {key: value for key, value in values.items() if value is not None}


def _set_or_drop(target: JSON, key: str, value: Any) -> None:
    if value:
        target[key] = value
    else:
        target.pop(key, None)


def _inline(markup: JSON | None) -> JSON | None:
    """The part of a reply_markup a message shows: a non-empty inline keyboard."""
    return markup if markup and markup.get("inline_keyboard") else None


@dataclass(frozen=True)
class User:
    """A Telegram user (``emu.user(...)``) or the bot itself (``emu.bot``)."""

    id: int
    first_name: str
    username: str | None = None
    last_name: str | None = None
    is_bot: bool = False
    language_code: str | None = None

    def to_api(self) -> JSON:
        return _without_none(
            {
                "id": self.id,
                "is_bot": self.is_bot,
                "first_name": self.first_name,
                "last_name": self.last_name,
                "username": self.username,
                "language_code": self.language_code,
            }
        )


# Who a message sent on behalf of a chat comes "from" (telegram-bot-api's Client.cpp, taking the
# ids from the options group_anonymous_bot_user_id, channel_bot_user_id and
# telegram_service_notifications_chat_id).
GROUP_ANONYMOUS_BOT = User(1087968824, "Group", "GroupAnonymousBot", is_bot=True)
CHANNEL_BOT = User(136817688, "Channel", "Channel_Bot", is_bot=True)
SERVICE_NOTIFICATIONS = User(777000, "Telegram")


@dataclass(frozen=True)
class Chat:
    """A chat: type is "private", "group", "supergroup" or "channel"."""

    id: int
    type: str
    title: str | None = None
    username: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    is_forum: bool = False

    def to_api(self) -> JSON:
        chat = _without_none(
            {
                "id": self.id,
                "type": self.type,
                "title": self.title,
                "username": self.username,
                "first_name": self.first_name,
                "last_name": self.last_name,
            }
        )
        if self.is_forum:
            chat["is_forum"] = True
        return chat


@dataclass(frozen=True)
class MessageVersion:
    """One state of a bot message: as sent, then after each edit."""

    text: str  # the visible text (the caption, for documents), entities parsed out
    raw_text: str  # the text as the bot sent it, markup included
    parse_mode: str | None
    entities: list[JSON]
    reply_markup: JSON | None  # as the bot sent it, whatever the keyboard type
    at: float  # time.monotonic() of the change


@dataclass(eq=False)
class SentMessage:
    """A message the bot sent, kept up to date while the bot edits or deletes it."""

    chat_id: int
    message_id: int
    message: JSON  # the current Message object, as Telegram would show it
    versions: list[MessageVersion]
    reply_to_message_id: int | None
    message_thread_id: int | None
    link_preview_disabled: bool
    disable_notification: bool
    document: JSON | None = None
    deleted: bool = False
    # Set for a message a user sent via the bot (an inline result): the bot edits it by this id.
    inline_message_id: str | None = None

    @property
    def current(self) -> MessageVersion:
        return self.versions[-1]

    @property
    def text(self) -> str:
        return self.current.text

    @property
    def raw_text(self) -> str:
        return self.current.raw_text

    @property
    def parse_mode(self) -> str | None:
        return self.current.parse_mode

    @property
    def entities(self) -> list[JSON]:
        return self.current.entities

    @property
    def reply_markup(self) -> JSON | None:
        return self.current.reply_markup

    @property
    def edit_count(self) -> int:
        return len(self.versions) - 1

    @property
    def history(self) -> list[str]:
        """The visible text of every version, oldest first."""
        return [version.text for version in self.versions]

    @property
    def callback_data(self) -> list[str]:
        """The callback_data of the buttons the message shows now."""
        rows = (_inline(self.reply_markup) or {}).get("inline_keyboard", [])
        return [b["callback_data"] for row in rows for b in row if "callback_data" in b]


@dataclass(frozen=True)
class ChatAction:
    action: str
    message_thread_id: int | None
    at: float


@dataclass(frozen=True)
class CallbackAnswer:
    callback_query_id: str
    text: str | None
    show_alert: bool
    url: str | None
    cache_time: int | None


@dataclass(frozen=True)
class InlineAnswer:
    """The bot's answer to an inline query (answerInlineQuery), as the user's client gets it."""

    inline_query_id: str
    results: list[JSON]  # as the bot sent them
    contents: dict[str, MessageVersion]  # result id -> the message choosing that result sends
    cache_time: int
    is_personal: bool
    next_offset: str
    button: JSON | None

    @property
    def result_ids(self) -> list[str]:
        return list(self.contents)

    @property
    def titles(self) -> list[str]:
        return [str(result.get("title", "")) for result in self.results]


@dataclass(frozen=True)
class WebhookDelivery:
    """One attempt to POST an update to the webhook (or, behind webhook_backends, to a backend)."""

    update_id: int
    update: JSON
    url: str
    status: int | None  # the HTTP status; None where no answer came
    error: str | None  # None for a 2xx answer
    at: float  # time.monotonic()

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass(frozen=True)
class ApiCall:
    """One request the bot made, with the answer's HTTP status and error description."""

    method: str
    params: JSON
    status: int
    description: str | None


MessageRef = SentMessage | JSON


def _message_id(message: MessageRef) -> int:
    return message.message_id if isinstance(message, SentMessage) else int(message["message_id"])


# --------------------------------------------------------------------------------------------
# The emulated world: chats, members, messages, files and the update queue


@dataclass(frozen=True)
class _StoredFile:
    file_id: str
    file_unique_id: str
    file_path: str
    file_name: str
    mime_type: str
    content: bytes
    size: int  # as advertised: may exceed len(content) (see upload_document's file_size)

    def document(self) -> JSON:
        return {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_name": self.file_name,
            "mime_type": self.mime_type,
            "file_size": self.size,
        }

    def file(self) -> JSON:
        return {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_size": self.size,
            "file_path": self.file_path,
        }


@dataclass
class _FloodRule:
    """At most ``max_per_second`` requests a second, then ``retry_after`` seconds of 429s."""

    max_per_second: int
    retry_after: int
    hits: deque[float] = field(default_factory=deque)
    blocked_until: float = 0.0

    def hit(self, now: float) -> int | None:
        """Count a request; return the seconds to wait if it is over the limit."""
        if now < self.blocked_until:
            return math.ceil(self.blocked_until - now)
        while self.hits and now - self.hits[0] >= 1.0:
            self.hits.popleft()
        if len(self.hits) >= self.max_per_second:
            self.blocked_until = now + self.retry_after
            return self.retry_after
        self.hits.append(now)
        return None


@dataclass(eq=False)
class _ChatState:
    chat: Chat
    members: dict[int, str]  # user id (the bot's too) -> ChatMember status
    instance: str  # chat_instance of callback queries from this chat
    messages: dict[int, JSON] = field(default_factory=dict)  # every live message, by id
    sent: dict[int, SentMessage] = field(default_factory=dict)  # the bot's, deleted ones too
    actions: list[ChatAction] = field(default_factory=list)
    topics: dict[int, str] = field(default_factory=dict)  # forum topics: thread id -> name
    anonymous: set[int] = field(default_factory=set)  # administrators who remain anonymous
    via_bot: dict[int, SentMessage] = field(default_factory=dict)  # users' inline results
    linked_chat_id: int | None = None  # a channel's discussion group, or a group's channel
    flood: _FloodRule | None = None
    last_message_id: int = 0

    def next_message_id(self) -> int:
        self.last_message_id += 1
        return self.last_message_id


@dataclass
class _InlineQuery:
    id: str
    user: User
    query: str
    at: float  # time.monotonic() when the user typed it
    answer: InlineAnswer | None = None


@dataclass
class _Webhook:
    url: str
    secret_token: str
    max_connections: int
    last_error_date: int = 0
    last_error_message: str = ""

    def settings(self) -> tuple[str, str, int]:
        return self.url, self.secret_token, self.max_connections


@dataclass
class _Retry:
    """An update's failed deliveries: WebhookActor's fail_count_, delay_ and wakeup_at_."""

    fails: int = 0
    delay: int = 1
    at: float = 0.0


@dataclass
class _Balancer:
    """A reverse proxy in front of several bot workers: which backends to try, in order."""

    backends: list[str]
    policy: str | Callable[[JSON, list[str]], str]
    turn: int = 0

    def route(self, update: JSON) -> list[str]:
        """The policy's backend first, then the others to fail over to."""
        if self.policy == "round_robin":
            first = self.turn % len(self.backends)
            self.turn += 1
        elif self.policy == "random":
            first = random.randrange(len(self.backends))
        else:
            assert callable(self.policy)
            choice = self.policy(copy.deepcopy(update), list(self.backends))
            if choice not in self.backends:
                raise ValueError(f"the balancing policy chose {choice!r}, not a backend")
            first = self.backends.index(choice)
        return self.backends[first:] + self.backends[:first]


class _World:
    """All state, shared by the Bot API side and the user side; guard it with ``lock``."""

    def __init__(self, bot: User, privacy_mode: bool) -> None:
        self.lock = threading.Condition(threading.RLock())
        self.bot = bot
        self.privacy_mode = privacy_mode
        self.users: dict[int, User] = {bot.id: bot}
        self.chats: dict[int, _ChatState] = {}
        self.updates: list[JSON] = []
        self.allowed_updates: frozenset[str] | None = None
        self.webhook: _Webhook | None = None
        self.next_webhook_change = 0.0  # setWebhook may set a URL once a second
        self.retries: dict[int, _Retry] = {}  # update id -> failed webhook deliveries
        self.balancer: _Balancer | None = None
        self.deliveries: list[WebhookDelivery] = []
        self.files: dict[str, _StoredFile] = {}
        self.queries: dict[str, JSON] = {}
        self.answers: dict[str, CallbackAnswer] = {}
        self.inline_mode = False
        self.inline_timeout = 10.0
        self.inline_queries: dict[str, _InlineQuery] = {}
        self.inline_messages: dict[str, SentMessage] = {}  # by inline_message_id
        self.commands: dict[str, list[JSON]] = {}
        self.calls: list[ApiCall] = []
        self.on_update: Callable[[], None] = lambda: None
        self._update_ids = itertools.count(1)
        self._file_ids = itertools.count(1)

    def chat(self, chat_id: Any) -> _ChatState:
        """The chat a chat_id parameter names: an id, or "@username" of a public chat."""
        if isinstance(chat_id, str) and chat_id.startswith("@"):
            name = chat_id[1:].lower()
            for state in self.chats.values():
                if state.chat.type != "private" and (state.chat.username or "").lower() == name:
                    return state
            raise _bad("chat not found")
        try:
            state = self.chats.get(int(chat_id))
        except (TypeError, ValueError):
            state = None
        if state is None:
            raise _bad("chat not found")
        return state

    def bot_status(self, state: _ChatState) -> str:
        return state.members.get(self.bot.id, "left")

    def new_message(
        self,
        state: _ChatState,
        sender: User,
        content: JSON,
        reply_to: JSON | None = None,
        thread_id: int | None = None,
        sender_chat: Chat | None = None,
    ) -> JSON:
        """Create and store a message; in a forum topic it replies to the topic's first one.

        In a channel the channel is the sender; elsewhere ``sender_chat`` (if any) is the chat the
        message was sent on behalf of, with ``sender`` the service user Telegram names as "from".
        """
        chat = state.chat.to_api()
        message: JSON = {"message_id": state.next_message_id(), "date": int(time.time())}
        message["chat"] = chat
        if state.chat.type == "channel":
            message["sender_chat"] = chat
        else:
            message["from"] = sender.to_api()
            if sender_chat is not None:
                message["sender_chat"] = sender_chat.to_api()
        if thread_id is not None:
            message.update(message_thread_id=thread_id, is_topic_message=True)
            reply_to = reply_to or state.messages.get(thread_id)
        if reply_to is not None:
            message["reply_to_message"] = {k: v for k, v in reply_to.items() if k != "reply_to_message"}
        message.update(content)
        state.messages[message["message_id"]] = message
        return message

    def deliver(self, state: _ChatState, message: JSON) -> None:
        """Give the bot a new message in ``state``'s chat, if it sees it."""
        if self.bot_sees(state, message):
            kind = "channel_post" if state.chat.type == "channel" else "message"
            self.enqueue(kind, message)

    def forward_to_discussion(self, channel: _ChatState, post: JSON) -> None:
        """Telegram's automatic forward of a channel post into the linked discussion group."""
        if channel.chat.type != "channel" or channel.linked_chat_id is None:
            return
        group = self.chats[channel.linked_chat_id]
        content = {key: copy.deepcopy(value) for key, value in post.items() if key in FORWARDED}
        origin_chat = channel.chat.to_api()
        content["forward_origin"] = {
            "type": "channel",
            "chat": origin_chat,
            "message_id": post["message_id"],
            "date": post["date"],
        }
        content.update(
            is_automatic_forward=True,
            forward_from_chat=origin_chat,
            forward_from_message_id=post["message_id"],
            forward_date=post["date"],
        )
        message = self.new_message(group, SERVICE_NOTIFICATIONS, content, sender_chat=channel.chat)
        self.deliver(group, message)

    def enqueue(self, kind: str, payload: JSON) -> None:
        """Queue an update unless allowed_updates filters its type out."""
        allowed = self.allowed_updates
        if (kind not in allowed) if allowed else (kind in OPT_IN_UPDATES):
            return
        self.updates.append({"update_id": next(self._update_ids), kind: copy.deepcopy(payload)})
        self.on_update()

    def bot_sees(self, state: _ChatState, message: JSON) -> bool:
        """Whether Telegram gives the bot this message (membership and privacy mode)."""
        status = self.bot_status(state)
        if status in ("left", "kicked"):
            return False
        if state.chat.type in ("private", "channel") or not self.privacy_mode:
            return True
        return status in ("administrator", "creator") or self._addressed_to_bot(message)

    def _addressed_to_bot(self, message: JSON) -> bool:
        """What a bot in privacy mode gets: commands, mentions, replies, service messages."""
        text = message.get("text", message.get("caption"))
        if text is None and "document" not in message:
            return True
        if message.get("reply_to_message", {}).get("from", {}).get("id") == self.bot.id:
            return True
        if message.get("via_bot", {}).get("id") == self.bot.id:
            return True
        username = (self.bot.username or "").lower()
        for entity in message.get("entities", message.get("caption_entities", [])):
            covered = utf16_slice(text or "", entity["offset"], entity["length"]).lower()
            if entity["type"] == "bot_command" and covered.partition("@")[2] in ("", username):
                return True
            if entity["type"] == "mention" and covered == f"@{username}":
                return True
        return False

    def store_file(self, content: bytes, file_name: str, mime_type: str, size: int | None = None) -> _StoredFile:
        """Keep a file: a new file_id each time, a file_unique_id that follows the content.

        The file name is kept as given (a client may send any); only the extension of the
        server-side file_path is taken from it, and only where it is plainly one.
        """
        number = next(self._file_ids)
        extension = file_name.rpartition(".")[2]
        if "." not in file_name or not re.fullmatch(r"[A-Za-z0-9]{1,10}", extension):
            extension = "bin"
        size = len(content) if size is None else size
        digest = hashlib.sha256(size.to_bytes(8, "big") + content).digest()
        stored = _StoredFile(
            file_id=f"BQACAgIAAxkBAAIB{number:08d}",
            file_unique_id="AgAD" + base64.urlsafe_b64encode(digest[:9]).decode(),
            file_path=f"documents/file_{number}.{extension}",
            file_name=file_name,
            mime_type=mime_type,
            content=content,
            size=size,
        )
        self.files[stored.file_id] = stored
        return stored


# --------------------------------------------------------------------------------------------
# The Bot API side


class _Params:
    """Request parameters from the query string, a form, a multipart form or a JSON body.

    Form values are strings, with nested objects JSON-encoded inside them (what PTB sends);
    JSON bodies carry typed values. Empty values count as absent, as in Telegram.
    """

    def __init__(self, values: Mapping[str, Any]) -> None:
        self._values = dict(values)

    def raw(self, name: str) -> Any:
        value = self._values.get(name)
        return None if isinstance(value, str) and value == "" else value

    def has(self, name: str) -> bool:
        return self.raw(name) is not None

    def text(self, name: str) -> str | None:
        value = self.raw(name)
        return None if value is None else str(value)

    def integer(self, name: str) -> int | None:
        value = self.raw(name)
        try:
            return None if value is None else int(value)
        except (TypeError, ValueError):
            raise _bad(f"invalid {name} specified") from None

    def number(self, name: str) -> float | None:
        value = self.raw(name)
        try:
            return None if value is None else float(value)
        except (TypeError, ValueError):
            raise _bad(f"invalid {name} specified") from None

    def flag(self, name: str) -> bool:
        value = self.raw(name)
        return value is True or str(value).lower() in ("true", "1")

    def json(self, name: str, what: str) -> Any:
        value = self.raw(name)
        if not isinstance(value, str):
            return value
        try:
            return json.loads(value)
        except ValueError:
            raise _bad(f"can't parse {what} JSON object") from None

    def required(self, name: str) -> Any:
        value = self.raw(name)
        if value is None:
            raise _bad(f"{name} is empty")
        return value

    def required_int(self, name: str) -> int:
        value = self.integer(name)
        if value is None:
            raise _bad(f"{name} is empty")
        return value

    def loggable(self) -> JSON:
        return {
            key: f"<file {value.filename}>" if isinstance(value, web.FileField) else value
            for key, value in self._values.items()
        }


async def _read_params(request: web.Request) -> _Params:
    values: dict[str, Any] = dict(request.query)
    if request.content_type == "application/json":
        try:
            body = await request.json()
        except ValueError:
            raise _bad("can't parse JSON object") from None
        if isinstance(body, dict):
            values.update(body)
    elif request.body_exists:
        values.update(await request.post())
    return _Params(values)


def _reply_markup(params: _Params) -> JSON | None:
    markup = params.json("reply_markup", "reply keyboard markup")
    if markup is None:
        return None
    if not isinstance(markup, dict):
        raise _bad("can't parse reply keyboard markup JSON object")
    if "inline_keyboard" in markup:
        try:
            _check_inline_keyboard(markup["inline_keyboard"])
        except _Malformed as error:
            raise _bad(_lower_first(str(error))) from None
    return markup


def _check_inline_keyboard(rows: Any) -> None:
    """Raise _Malformed where telegram-bot-api can't parse it, ApiError where Telegram refuses it."""
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise _Malformed('Field "inline_keyboard" of the InlineKeyboardMarkup must be an Array of Arrays')
    for button in itertools.chain.from_iterable(rows):
        if not isinstance(button, dict) or not isinstance(button.get("text"), str):
            raise _Malformed('Can\'t parse inline keyboard button: Field "text" must be of type String')
        if not BUTTON_ACTIONS & button.keys():
            raise _Malformed("Can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard")
        data = button.get("callback_data")
        if data is not None and not 1 <= len(str(data).encode()) <= CALLBACK_DATA_LIMIT:
            raise _bad("BUTTON_DATA_INVALID")
        if "url" in button and _checked_url(str(button["url"])) is None:
            raise _bad("BUTTON_URL_INVALID")


def _link_preview(params: _Params) -> JSON | None:
    options = params.json("link_preview_options", "link preview options")
    if options is None:
        return {"is_disabled": True} if params.flag("disable_web_page_preview") else None
    if not isinstance(options, dict):
        raise _bad("can't parse link preview options JSON object")
    return options


def _scope_key(scope: Any, language_code: str | None) -> str:
    return json.dumps([scope or {"type": "default"}, language_code or ""], sort_keys=True)


def _bot_command(value: Any) -> JSON:
    if not isinstance(value, dict):
        raise _bad("can't parse BotCommand JSON object")
    command, description = str(value.get("command", "")), str(value.get("description", ""))
    if not COMMAND_NAME.fullmatch(command):
        raise _bad("BOT_COMMAND_INVALID")
    if not 1 <= len(description) <= 256:
        raise _bad("BOT_COMMAND_DESCRIPTION_INVALID")
    return {"command": command, "description": description}


def _chat_member(user: User, status: str, chat_type: str, anonymous: bool = False) -> JSON:
    member: JSON = {"status": status, "user": user.to_api()}
    if status == "creator":
        member["is_anonymous"] = anonymous
    elif status == "administrator":
        member.update(ADMIN_RIGHTS, is_anonymous=anonymous)
        if chat_type == "channel":
            member.update(can_post_messages=True, can_edit_messages=True)
        else:
            member.update(can_pin_messages=True, can_manage_topics=chat_type == "supergroup")
    elif status == "kicked":
        member["until_date"] = 0
    return member


def _string_field(value: JSON, name: str) -> str:
    """td's get_required_string_field: a string, or a number taken as its text."""
    if name not in value:
        raise _Malformed(f'Can\'t find field "{name}"')
    found = value[name]
    if isinstance(found, bool) or not isinstance(found, str | int | float):
        raise _Malformed(f'Field "{name}" must be of type String')
    return str(found)


def _preview_options(content: JSON) -> JSON | None:
    options = content.get("link_preview_options")
    if isinstance(options, dict):
        return options
    return {"is_disabled": True} if content.get("disable_web_page_preview") else None


@dataclass(frozen=True)
class _InlineResult:
    id: str
    title: str
    version: MessageVersion  # the message choosing this result sends
    source: JSON  # the result as the bot sent it


def _inline_results(params: _Params) -> list[_InlineResult]:
    """answerInlineQuery's results, checked as telegram-bot-api, then Telegram, would."""
    value = params.raw("results")
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError as error:
            raise _bad(f"can't parse JSON encoded inline query results: {error}") from None
    if value is None:
        return []
    if not isinstance(value, list):
        raise _bad("expected an Array of inline query results")
    if len(value) > INLINE_RESULTS_LIMIT:
        raise _bad("too many inline query results specified")
    try:
        results = [_inline_result(item) for item in value]
    except _Malformed as error:
        raise _bad(f"can't parse inline query result: {error}") from None
    if any(not result.version.text for result in results):
        raise _bad("text must be non-empty")
    seen: set[str] = set()
    for result in results:
        if not 1 <= len(result.id.encode()) <= INLINE_ID_LIMIT:
            raise _bad("RESULT_ID_INVALID")
        if result.id in seen:
            raise _bad("RESULT_ID_DUPLICATE")
        seen.add(result.id)
        if not result.title:
            raise _bad("ARTICLE_TITLE_EMPTY")
        if len(result.version.text) > TEXT_LIMIT:
            raise _bad("MESSAGE_TOO_LONG")
    return results


def _inline_result(value: Any) -> _InlineResult:
    """One InlineQueryResult, in the order telegram-bot-api reads it (Client.cpp)."""
    if not isinstance(value, dict):
        raise _Malformed("Inline query result must be an object")
    kind = _string_field(value, "type").lower()
    result_id = _string_field(value, "id")
    if kind in OTHER_RESULT_TYPES:
        raise ApiError(400, f'Bad Request: the emulator supports "article" inline results only, not "{kind}"')
    if kind != "article":
        raise _Malformed(f'type "{kind}" is unsupported for the inline query result')
    content = value.get("input_message_content")
    if content is None:  # the legacy form: message_text and parse_mode on the result itself
        content = {**value, "message_text": _string_field(value, "message_text")}
    elif not isinstance(content, dict):
        raise _Malformed('Field "input_message_content" must be of type Object')
    elif not content.get("message_text"):
        if content.keys() & {"latitude", "phone_number", "payload"}:
            raise ApiError(400, "Bad Request: the emulator supports text message content only")
        raise _Malformed("Input message content is not specified")
    raw, parse_mode = _string_field(content, "message_text"), content.get("parse_mode")
    try:
        text, entities = _format(raw, parse_mode, content.get("entities"))
    except EntityParseError as error:
        raise _Malformed(f"Can't parse entities: {error}") from None
    markup = value.get("reply_markup")
    if markup is not None and not isinstance(markup, dict):
        raise _Malformed('Field "reply_markup" must be of type Object')
    if markup is not None:
        _check_inline_keyboard(markup.get("inline_keyboard", []))
    title = _string_field(value, "title")
    entities = _with_detected(text, entities)
    version = MessageVersion(text, raw, parse_mode, entities, _inline(markup), time.monotonic())
    return _InlineResult(result_id, title, version, value)


def _inline_results_button(params: _Params) -> JSON | None:
    """answerInlineQuery's button (or the legacy switch_pm_text and switch_pm_parameter)."""
    value = params.raw("button")
    if value is None:
        text = params.text("switch_pm_text")
        parameter = params.text("switch_pm_parameter") or ""
        return None if text is None else {"text": text, "start_parameter": parameter}
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise _bad("can't parse inline query results button JSON object") from None
    try:
        return _checked_results_button(value)
    except _Malformed as error:
        raise _bad(f"can't parse inline query results button: {error}") from None


def _checked_results_button(value: Any) -> JSON:
    if not isinstance(value, dict):
        raise _Malformed("InlineQueryResultsButton must be an Object")
    _string_field(value, "text")
    if "start_parameter" in value:
        if not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", _string_field(value, "start_parameter")):
            raise _bad("START_PARAM_INVALID")
    elif "web_app" in value:
        if not isinstance(value["web_app"], dict):
            raise _Malformed('Field "web_app" must be of type Object')
        _string_field(value["web_app"], "url")
    else:
        raise _Malformed("InlineQueryResultsButton must have exactly one optional field")
    return value


def _well_formed_token(token: str) -> bool:
    """What telegram-bot-api's ClientManager accepts as a token before asking Telegram about it."""
    bot_id, colon, _ = token.partition(":")
    if not colon or token.startswith("0") or len(token) > 80 or "/" in token:
        return False
    return bot_id.isdigit() and 0 < int(bot_id) < 2**54


def _is_loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _checked_webhook_url(url: str) -> str:
    """setWebhook's URL: HTTPS on 443, 80, 88 or 8443 as Telegram requires, or any loopback
    http:// URL (the emulator's deviation, so that tests can run the bot's webhook server)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise _bad("invalid webhook URL specified") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise _bad("invalid webhook URL specified")
    if parts.scheme == "http" and _is_loopback(url):
        return url
    if parts.scheme != "https":
        raise _bad("bad webhook: An HTTPS URL must be provided for webhook")
    if (port or 443) not in WEBHOOK_PORTS:
        raise _bad("bad webhook: Webhook can be set up only on ports 80, 88, 443 or 8443")
    return url


def _webhook_queue(update: JSON) -> Hashable:
    """The queue an update waits in for webhook delivery (``webhook_queue_id`` in
    telegram-bot-api's Client.cpp): a chat's messages, one user's inline queries, one user's
    callback queries... Each queue sends one update at a time, in order."""
    kind = next(key for key in update if key != "update_id")
    payload = update[kind]
    if kind in MESSAGE_UPDATES:
        return "chat", payload["chat"]["id"]
    if "from" in payload:
        return kind, payload["from"]["id"]
    if "chat" in payload:
        return kind, payload["chat"]["id"]
    return "update", update["update_id"]


class _BotApi:
    """The Bot API methods. Handlers run on the server's loop with the world's lock held."""

    def __init__(self, world: _World, token: str) -> None:
        self.world = world
        self.token = token
        self.closing = False
        self._poll_event = asyncio.Event()
        self._poll_generation = 0
        self._poll_ended_by = ""  # why the last long poll was cut short
        handlers: dict[str, Callable[[_Params], Any]] = {
            "getMe": self.get_me,
            "logOut": lambda _: True,
            "close": lambda _: True,
            "setWebhook": self.set_webhook,
            "deleteWebhook": self.delete_webhook,
            "getWebhookInfo": self.get_webhook_info,
            "setMyCommands": self.set_my_commands,
            "getMyCommands": self.get_my_commands,
            "deleteMyCommands": self.delete_my_commands,
            "sendMessage": self.send_message,
            "sendDocument": self.send_document,
            "editMessageText": self.edit_message_text,
            "editMessageReplyMarkup": self.edit_message_reply_markup,
            "deleteMessage": self.delete_message,
            "sendChatAction": self.send_chat_action,
            "answerCallbackQuery": self.answer_callback_query,
            "answerInlineQuery": self.answer_inline_query,
            "getFile": self.get_file,
            "getChat": self.get_chat,
            "getChatMember": self.get_chat_member,
            "getChatAdministrators": self.get_chat_administrators,
        }
        self.handlers = {name.lower(): handler for name, handler in handlers.items()}

    def wake(self) -> None:
        """Wake the long polls (call on the server's loop)."""
        self._poll_event.set()
        self._poll_event = asyncio.Event()

    def _end_polls(self, reason: str) -> None:
        """Answer the long poll under way, if any, with 409 Conflict: ``reason``."""
        self._poll_generation += 1
        self._poll_ended_by = reason
        self.wake()

    async def dispatch(self, token: str, method: str, params: _Params) -> tuple[int, JSON]:
        """Run a method; return the HTTP status and the JSON envelope. Every call is recorded."""
        try:
            result = await self._run(token, method, params)
            status, body = 200, {"ok": True, "result": result}
            if isinstance(result, _Described):
                body.update(result=result.result, description=result.description)
        except ApiError as error:
            status, body = error.code, error.payload()
        with self.world.lock:
            call = ApiCall(method, params.loggable(), status, body.get("description"))
            self.world.calls.append(call)
            self.world.lock.notify_all()
        return status, body

    async def _run(self, token: str, method: str, params: _Params) -> Any:
        if token != self.token:
            # telegram-bot-api's ClientManager rejects malformed tokens itself; Telegram, the rest.
            malformed = not _well_formed_token(token)
            raise ApiError(401, "Unauthorized: invalid token specified" if malformed else "Unauthorized")
        if method.lower() == "getupdates":
            return await self.get_updates(params)
        handler = self.handlers.get(method.lower())
        if handler is None:
            raise ApiError(404, "Not Found")
        with self.world.lock:
            return copy.deepcopy(handler(params))

    # Updates and webhooks

    async def get_updates(self, params: _Params) -> list[JSON]:
        """Long polling: answer as soon as there is an update, or when the timeout is over."""
        self._start_poll(params)
        limit = min(max(params.integer("limit") or 100, 1), 100)
        deadline = time.monotonic() + max(params.number("timeout") or 0.0, 0.0)
        self._end_polls("terminated by other getUpdates request; make sure that only one bot instance is running")
        generation = self._poll_generation
        while True:
            event = self._poll_event
            if generation != self._poll_generation:
                raise _conflict(self._poll_ended_by)
            with self.world.lock:
                batch = copy.deepcopy(self.world.updates[:limit])
            remaining = deadline - time.monotonic()
            if batch or remaining <= 0 or self.closing:
                return batch
            try:
                await asyncio.wait_for(event.wait(), remaining)
            except TimeoutError:
                pass

    def _start_poll(self, params: _Params) -> None:
        """Check for a webhook, drop the confirmed updates, take a new allowed_updates."""
        with self.world.lock:
            if self.world.webhook is not None:
                raise _conflict(
                    "can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first"
                )
            offset = params.integer("offset") or 0
            updates = self.world.updates
            if offset < 0:
                self.world.updates = updates[offset:]
            elif offset > 0:
                self.world.updates = [u for u in updates if u["update_id"] >= offset]
            self._set_allowed_updates(params)

    def _set_allowed_updates(self, params: _Params) -> None:
        allowed = params.json("allowed_updates", "allowed updates")
        if allowed is None:
            return
        if not isinstance(allowed, list):
            raise _bad("can't parse allowed updates JSON object")
        self.world.allowed_updates = frozenset(map(str, allowed)) or None

    def set_webhook(self, params: _Params) -> _Described:
        """As telegram-bot-api's process_set_webhook_query: at most one new URL a second."""
        url = params.text("url") or ""
        if not url:
            return self.delete_webhook(params)
        now = time.monotonic()
        if now < self.world.next_webhook_change:
            raise ApiError(429, "Too Many Requests: retry after 1", retry_after=1)
        self.world.next_webhook_change = now + 1
        connections = params.integer("max_connections")
        hook = _Webhook(url, params.text("secret_token") or "", min(max(connections or 40, 1), 100))
        current, drop = self.world.webhook, params.flag("drop_pending_updates")
        if current is not None and current.settings() == hook.settings() and not drop:
            self._set_allowed_updates(params)
            return _Described(True, "Webhook is already set")
        _checked_webhook_url(url)
        if len(hook.secret_token) > 256:
            raise _bad("secret token is too long")
        if not re.fullmatch(r"[A-Za-z0-9_-]*", hook.secret_token):
            raise _bad("secret token contains unallowed characters")
        if drop:
            self.world.updates.clear()
        self._set_allowed_updates(params)
        self.world.webhook = hook
        self.world.retries.clear()
        self._end_polls("terminated by setWebhook request")
        self.world.on_update()  # start delivering what is pending
        return _Described(True, "Webhook was set")

    def delete_webhook(self, params: _Params) -> _Described:
        if params.flag("drop_pending_updates"):
            self.world.updates.clear()
        was_set, self.world.webhook = self.world.webhook is not None, None
        self.world.retries.clear()
        return _Described(True, "Webhook was deleted" if was_set else "Webhook is already deleted")

    def get_webhook_info(self, _: _Params) -> JSON:
        """telegram-bot-api's JsonWebhookInfo."""
        hook = self.world.webhook
        info: JSON = {"url": hook.url if hook else "", "has_custom_certificate": False}
        info["pending_update_count"] = len(self.world.updates)
        if hook is not None:
            if hook.last_error_date:
                info["last_error_date"] = hook.last_error_date
                info["last_error_message"] = hook.last_error_message
            info["max_connections"] = hook.max_connections
            info["ip_address"] = "127.0.0.1"
        if self.world.allowed_updates:
            info["allowed_updates"] = sorted(self.world.allowed_updates)
        return info

    # The bot

    def get_me(self, _: _Params) -> JSON:
        return {
            **self.world.bot.to_api(),
            "can_join_groups": True,
            "can_read_all_group_messages": not self.world.privacy_mode,
            "supports_inline_queries": self.world.inline_mode,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    def set_my_commands(self, params: _Params) -> bool:
        commands = params.json("commands", "bot commands")
        if not isinstance(commands, list) or len(commands) > 100:
            raise _bad("can't parse bot commands JSON object")
        key = _scope_key(params.json("scope", "scope"), params.text("language_code"))
        self.world.commands[key] = [_bot_command(command) for command in commands]
        return True

    def get_my_commands(self, params: _Params) -> list[JSON]:
        key = _scope_key(params.json("scope", "scope"), params.text("language_code"))
        return self.world.commands.get(key, [])

    def delete_my_commands(self, params: _Params) -> bool:
        key = _scope_key(params.json("scope", "scope"), params.text("language_code"))
        self.world.commands.pop(key, None)
        return True

    # Sending, editing and deleting

    def send_message(self, params: _Params) -> JSON:
        state = self._writable_chat(params)
        version = self._version(params, "text", "entities", TEXT_LIMIT)
        content: JSON = {"text": version.text}
        _set_or_drop(content, "entities", version.entities)
        preview = _link_preview(params)
        _set_or_drop(content, "link_preview_options", preview)
        disabled = bool(preview and preview.get("is_disabled"))
        return self._post(state, params, content, version, link_preview_disabled=disabled)

    def send_document(self, params: _Params) -> JSON:
        state = self._writable_chat(params)
        stored = self._document(params)
        version = self._version(params, "caption", "caption_entities", CAPTION_LIMIT)
        content: JSON = {"document": stored.document()}
        _set_or_drop(content, "caption", version.text)
        _set_or_drop(content, "caption_entities", version.entities)
        return self._post(state, params, content, version, document=content["document"])

    def edit_message_text(self, params: _Params) -> JSON | bool:
        record = self._editable(params)
        if record.document is not None:
            raise _bad("there is no text in the message to edit")
        version = self._version(params, "text", "entities", TEXT_LIMIT)
        edited = self._edit(record, version)
        preview = _link_preview(params)
        if preview:
            edited["link_preview_options"] = preview
        return True if record.inline_message_id else edited

    def edit_message_reply_markup(self, params: _Params) -> JSON | bool:
        record = self._editable(params)
        markup = _reply_markup(params)
        version = replace(record.current, reply_markup=markup, at=time.monotonic())
        edited = self._edit(record, version)
        return True if record.inline_message_id else edited

    def delete_message(self, params: _Params) -> bool:
        state = self._writable_chat(params)
        message_id = params.required_int("message_id")
        message = state.messages.get(message_id)
        if message is None:
            raise _bad("message to delete not found")
        if not self._can_delete(state, message):
            raise _bad("message can't be deleted")
        del state.messages[message_id]
        if message_id in state.sent:
            state.sent[message_id].deleted = True
        return True

    def send_chat_action(self, params: _Params) -> bool:
        state = self._writable_chat(params)
        action = params.text("action")
        if action not in CHAT_ACTIONS:
            raise _bad("wrong parameter action in request")
        thread_id = params.integer("message_thread_id")
        state.actions.append(ChatAction(action, thread_id, time.monotonic()))
        return True

    def _writable_chat(self, params: _Params) -> _ChatState:
        """The chat_id's chat, if the bot may post there now (flood control, membership)."""
        state = self.world.chat(params.required("chat_id"))
        wait = state.flood.hit(time.monotonic()) if state.flood else None
        if wait is not None:
            raise ApiError(429, f"Too Many Requests: retry after {wait}", retry_after=wait)
        status, kind = self.world.bot_status(state), state.chat.type
        if kind == "private":
            if status == "kicked":
                raise _forbidden("bot was blocked by the user")
        elif status == "kicked":
            raise _forbidden(f"bot was kicked from the {kind} chat")
        elif status == "left":
            raise _forbidden(f"bot is not a member of the {kind} chat")
        elif kind == "channel" and status not in ("administrator", "creator"):
            raise _bad("need administrator rights in the channel chat")
        return state

    def _version(self, params: _Params, key: str, entities_key: str, limit: int) -> MessageVersion:
        """Parse a text or caption as Telegram does: markup, trimming, limits, entities."""
        raw, is_text = params.text(key) or "", key == "text"
        if is_text and not raw:
            raise _bad("message text is empty")
        parse_mode, given = params.text("parse_mode"), params.json(entities_key, "entities")
        try:
            text, entities = _format(raw, parse_mode, given)
        except EntityParseError as error:
            raise _bad(f"can't parse entities: {error}") from None
        if is_text and not text:
            raise _bad("message text is empty")
        if len(text) > limit:
            raise _bad("message is too long" if is_text else "message caption is too long")
        entities = _with_detected(text, entities)
        markup = _reply_markup(params)
        return MessageVersion(text, raw, parse_mode, entities, markup, time.monotonic())

    def _post(
        self,
        state: _ChatState,
        params: _Params,
        content: JSON,
        version: MessageVersion,
        *,
        link_preview_disabled: bool = False,
        document: JSON | None = None,
    ) -> JSON:
        """Send the bot's message: reply, topic and keyboard, and keep the record."""
        reply_to = self._reply_target(state, params)
        thread_id = self._thread(state, params, reply_to)
        _set_or_drop(content, "reply_markup", _inline(version.reply_markup))
        message = self.world.new_message(state, self.world.bot, content, reply_to, thread_id)
        self.world.forward_to_discussion(state, message)
        state.sent[message["message_id"]] = SentMessage(
            chat_id=state.chat.id,
            message_id=message["message_id"],
            message=message,
            versions=[version],
            reply_to_message_id=reply_to["message_id"] if reply_to else None,
            message_thread_id=thread_id,
            link_preview_disabled=link_preview_disabled,
            disable_notification=params.flag("disable_notification"),
            document=document,
        )
        return message

    def _reply_target(self, state: _ChatState, params: _Params) -> JSON | None:
        """The message named by reply_parameters, or by legacy reply_to_message_id."""
        options = params.json("reply_parameters", "reply parameters") or {}
        if not isinstance(options, dict):
            raise _bad("can't parse reply parameters JSON object")
        message_id = options.get("message_id") or params.integer("reply_to_message_id")
        if not message_id:
            return None
        message = state.messages.get(int(message_id))
        allow = options.get("allow_sending_without_reply")
        if message is None and not (allow or params.flag("allow_sending_without_reply")):
            raise _bad("message to be replied not found")
        return message

    def _thread(self, state: _ChatState, params: _Params, reply_to: JSON | None) -> int | None:
        """The forum topic of a new message: message_thread_id, or the replied message's."""
        if not state.chat.is_forum:
            return None
        thread_id = params.integer("message_thread_id")
        if thread_id is None:
            return reply_to.get("message_thread_id") if reply_to else None
        if thread_id not in state.topics:
            raise _bad("message thread not found")
        return thread_id

    def _document(self, params: _Params) -> _StoredFile:
        """The document parameter: an upload (also via attach://), or a known file_id."""
        value = params.raw("document")
        if isinstance(value, str) and value.startswith("attach://"):
            value = params.raw(value.removeprefix("attach://"))
        if isinstance(value, web.FileField):
            return self._upload(value)
        if value is None:
            raise _bad("there is no document in the request")
        if str(value).startswith(("http://", "https://")):
            raise _bad("failed to get HTTP URL content")
        stored = self.world.files.get(str(value))
        if stored is None:
            raise _bad("wrong file identifier/HTTP URL specified")
        return stored

    def _upload(self, upload: web.FileField) -> _StoredFile:
        content = upload.file.read()
        if not content:
            raise _bad("file must be non-empty")
        name = upload.filename or "document"
        mime_type = mimetypes.guess_type(name)[0] or upload.content_type
        return self.world.store_file(content, name, mime_type or "application/octet-stream")

    def _editable(self, params: _Params) -> SentMessage:
        """The message an edit names: by chat_id and message_id, or by inline_message_id."""
        if not params.has("chat_id") and not params.integer("message_id"):
            inline_message_id = params.text("inline_message_id")
            if not inline_message_id:
                raise _bad("message identifier is not specified")
            record = self.world.inline_messages.get(inline_message_id)
            if record is None:
                raise _bad("invalid inline message identifier specified")
            return record
        state = self._writable_chat(params)
        message_id = params.required_int("message_id")
        if message_id not in state.messages:
            raise _bad("message to edit not found")
        if message_id not in state.sent:
            raise _bad("message can't be edited")
        return state.sent[message_id]

    def _edit(self, record: SentMessage, version: MessageVersion) -> JSON:
        """Apply a new version; Telegram refuses an edit that changes nothing."""
        old = record.current
        if (version.text, version.entities, _inline(version.reply_markup)) == (
            old.text,
            old.entities,
            _inline(old.reply_markup),
        ):
            raise _bad(NOT_MODIFIED)
        record.versions.append(version)
        is_text = record.document is None
        message = record.message
        _set_or_drop(message, "text" if is_text else "caption", version.text)
        _set_or_drop(message, "entities" if is_text else "caption_entities", version.entities)
        _set_or_drop(message, "reply_markup", _inline(version.reply_markup))
        message["edit_date"] = int(time.time())
        return message

    def _can_delete(self, state: _ChatState, message: JSON) -> bool:
        own = message.get("from", {}).get("id") == self.world.bot.id
        if own or state.chat.type in ("private", "channel"):
            return True
        return self.world.bot_status(state) in ("administrator", "creator")

    # Callback queries and files

    def answer_callback_query(self, params: _Params) -> bool:
        query_id = params.text("callback_query_id") or ""
        if query_id not in self.world.queries or query_id in self.world.answers:
            raise _bad(QUERY_TOO_OLD)
        text = params.text("text")
        if text is not None and len(text) > 200:
            raise _bad("MESSAGE_TOO_LONG")
        self.world.answers[query_id] = CallbackAnswer(
            query_id,
            text,
            params.flag("show_alert"),
            params.text("url"),
            params.integer("cache_time"),
        )
        return True

    def answer_inline_query(self, params: _Params) -> bool:
        """Checked in telegram-bot-api's order: button and results, then the query itself."""
        button = _inline_results_button(params)
        results = _inline_results(params)
        query = self.world.inline_queries.get(params.text("inline_query_id") or "")
        if query is None or query.answer is not None:
            raise _bad(QUERY_TOO_OLD)
        if time.monotonic() - query.at > self.world.inline_timeout:
            raise _bad(QUERY_TOO_OLD)
        next_offset = params.text("next_offset") or ""
        if len(next_offset.encode()) > INLINE_ID_LIMIT:
            raise _bad("NEXT_OFFSET_INVALID")
        cache_time = params.integer("cache_time")
        query.answer = InlineAnswer(
            inline_query_id=query.id,
            results=[result.source for result in results],
            contents={result.id: result.version for result in results},
            cache_time=min(max(300 if cache_time is None else cache_time, 0), 86400),
            is_personal=params.flag("is_personal"),
            next_offset=next_offset,
            button=button,
        )
        return True

    def get_file(self, params: _Params) -> JSON:
        stored = self.world.files.get(params.text("file_id") or "")
        if stored is None:
            raise _bad("invalid file_id")
        if stored.size > GET_FILE_LIMIT:
            raise _bad("file is too big")  # telegram-bot-api's do_get_file
        return stored.file()

    # Chats

    def get_chat(self, params: _Params) -> JSON:
        state = self.world.chat(params.required("chat_id"))
        in_group = state.chat.type in ("group", "supergroup")
        if in_group and self.world.bot_status(state) in ("left", "kicked"):
            raise _bad("chat not found")
        gifts = ("unlimited_gifts", "limited_gifts", "unique_gifts", "premium_subscription")
        info = {
            **state.chat.to_api(),
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": dict.fromkeys((*gifts, "gifts_from_channels"), False),
        }
        if state.linked_chat_id is not None:
            info["linked_chat_id"] = state.linked_chat_id
        return info

    def get_chat_member(self, params: _Params) -> JSON:
        state = self.world.chat(params.required("chat_id"))
        user = self.world.users.get(params.required_int("user_id"))
        if user is None:
            raise _bad("user not found")
        status = state.members.get(user.id, "left")
        return _chat_member(user, status, state.chat.type, user.id in state.anonymous)

    def get_chat_administrators(self, params: _Params) -> list[JSON]:
        state = self.world.chat(params.required("chat_id"))
        if state.chat.type == "private":
            raise _bad("there are no administrators in the private chat")
        return [
            _chat_member(self.world.users[user_id], status, state.chat.type, user_id in state.anonymous)
            for user_id, status in state.members.items()
            if status in ("creator", "administrator")
        ]


# --------------------------------------------------------------------------------------------
# The emulator: server lifecycle, and the API the tests use as Telegram's users


class _WebhookSender:
    """POSTs pending updates to the webhook as telegram-bot-api's WebhookActor does.

    Updates of one queue (see _webhook_queue) go one at a time and in order; different queues
    go in parallel, at most max_connections at once. An update is confirmed by a 2xx answer;
    after a failure (no connection, a timeout, any other status) it is retried at once, then
    after 2, 4, 8... back-off units, at most 60 (or after a Retry-After the webhook sent).
    Runs on the emulator's loop.
    """

    def __init__(self, world: _World, retry_unit: float, timeout: float) -> None:
        self.world = world
        self.retry_unit = retry_unit
        self.timeout = timeout
        self.busy: dict[Hashable, asyncio.Task[None]] = {}
        self._wakeup = asyncio.Event()
        self._session: ClientSession | None = None
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._session = ClientSession()
        self._task = asyncio.create_task(self._run())

    async def close(self) -> None:
        tasks = [task for task in (self._task, *self.busy.values()) if task is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._session is not None:
            await self._session.close()

    def wake(self) -> None:
        self._wakeup.set()

    async def _run(self) -> None:
        while True:
            self._wakeup.clear()
            delay = self._send_ready()
            try:
                await asyncio.wait_for(self._wakeup.wait(), delay)
            except TimeoutError:
                pass

    def _send_ready(self) -> float | None:
        """Start a delivery for each queue's first update that is due; return the next wait."""
        now, next_at = time.monotonic(), math.inf
        with self.world.lock:
            hook = self.world.webhook
            if hook is None:
                return None
            seen: set[Hashable] = set()
            for update in self.world.updates:
                queue = _webhook_queue(update)
                if queue in seen or queue in self.busy:
                    seen.add(queue)
                    continue
                seen.add(queue)
                retry = self.world.retries.get(update["update_id"])
                if retry is not None and retry.at > now:
                    next_at = min(next_at, retry.at)
                    continue
                if len(self.busy) >= hook.max_connections:
                    break
                delivery = self._deliver(hook, queue, copy.deepcopy(update))
                self.busy[queue] = asyncio.create_task(delivery)
        return None if next_at == math.inf else next_at - now

    async def _deliver(self, hook: _Webhook, queue: Hashable, update: JSON) -> None:
        try:
            try:
                error, retry_after = await self._post(hook, update)
            except ValueError as failure:  # e.g. a balancing policy that chose no backend
                error, retry_after = str(failure), 0
            self._settle(hook, update["update_id"], error, retry_after)
        finally:
            self.busy.pop(queue, None)
            self.wake()

    def _settle(self, hook: _Webhook, update_id: int, error: str | None, retry_after: int) -> None:
        """Confirm a delivered update, or schedule its retry (WebhookActor::on_update_error)."""
        with self.world.lock:
            if self.world.webhook is not hook:
                return  # the webhook was changed or deleted meanwhile: the update stays pending
            if error is None:
                self.world.updates = [u for u in self.world.updates if u["update_id"] != update_id]
                self.world.retries.pop(update_id, None)
            else:
                hook.last_error_date, hook.last_error_message = int(time.time()), error
                retry = self.world.retries.setdefault(update_id, _Retry())
                wait = retry_after
                if not retry_after and retry.fails:
                    retry.delay = min(WEBHOOK_MAX_DELAY, retry.delay * 2)
                    wait = retry.delay * self.retry_unit
                retry.fails += 1
                retry.at = time.monotonic() + wait
            self.world.lock.notify_all()

    async def _post(self, hook: _Webhook, update: JSON) -> tuple[str | None, int]:
        """Send one update; return the error Telegram would record (None if delivered)."""
        body = json.dumps(update).encode()
        headers = {"Content-Type": "application/json"}
        if hook.secret_token:
            headers[SECRET_TOKEN_HEADER] = hook.secret_token
        with self.world.lock:
            balancer = self.world.balancer
        targets = balancer.route(update) if balancer else [hook.url]
        error, retry_after, status = "", 0, None
        for target in targets:
            status, reason, retry_after, failure = await self._send(target, body, headers)
            with self.world.lock:
                attempt = WebhookDelivery(update["update_id"], update, target, status, failure, time.monotonic())
                self.world.deliveries.append(attempt)
            if status is not None and 200 <= status < 300:
                return None, 0
            error = failure or f"Wrong response from the webhook: {status} {reason}"
            if balancer is None or (status is not None and status < 500):
                return error, retry_after  # a proxy passes a backend's 4xx answer on
        if status is None:  # no backend answered: the proxy answers for them
            gateway = "504 Gateway Timeout" if "timeout" in error else "502 Bad Gateway"
            error = f"Wrong response from the webhook: {gateway}"
        return error, retry_after

    async def _send(self, url: str, body: bytes, headers: dict[str, str]) -> tuple[int | None, str, int, str | None]:
        """POST to one URL: (status, reason, Retry-After, error); never leaves 127.0.0.0/8."""
        if not _is_loopback(url):
            return None, "", 0, "Failed to resolve host: the emulator delivers to loopback only"
        assert self._session is not None
        try:
            async with self._session.post(
                url,
                data=body,
                headers=headers,
                timeout=ClientTimeout(total=self.timeout),
                allow_redirects=False,
            ) as response:
                await response.read()
                retry_after = response.headers.get("Retry-After", "")
                delay = min(int(retry_after), 3600) if retry_after.isdigit() else 0
                return response.status, response.reason or "", delay, None
        except TimeoutError:
            return None, "", 0, "Read timeout expired"
        except OSError:  # aiohttp's connection errors are OSErrors too
            return None, "", 0, "Connection refused"
        except ClientError:
            return None, "", 0, "Webhook connection closed"


def _typed_text(text: str) -> JSON:
    """A text message as a Telegram client sends it, with the entities Telegram detects."""
    if not text.strip() or len(text) > TEXT_LIMIT:
        raise ValueError("Telegram clients send 1-4096 characters of non-blank text")
    content: JSON = {"text": text}
    _set_or_drop(content, "entities", detect_entities(text))
    return content


def _check_bot_status(status: str) -> None:
    if status not in ("member", "administrator", "left", "kicked"):
        raise ValueError(f"unknown bot status {status!r}")


def _in_event_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


class TelegramEmulator:
    """A Bot API server on 127.0.0.1 plus the users, chats and clicks the tests drive.

    Use it as a context manager (``with TelegramEmulator() as emu:``) from sync or async tests.
    Methods are thread-safe; the ``wait_*`` ones block, so async tests await their ``*_async``
    twins instead (blocking would stall the event loop the bot runs on).
    """

    def __init__(
        self,
        token: str = DEFAULT_TOKEN,
        *,
        bot_username: str = "newsbot_test_bot",
        bot_first_name: str = "NewsBot",
        privacy_mode: bool = True,
        inline: bool = False,
        inline_feedback: bool = False,
        inline_answer_timeout: float = 10.0,
        webhook_retry_delay: float = 1.0,
        webhook_timeout: float = 60.0,
    ) -> None:
        """``inline``: the bot has inline mode (/setinline), ``inline_feedback``: it gets
        chosen_inline_result updates (/setinlinefeedback); answerInlineQuery fails once a query
        is ``inline_answer_timeout`` seconds old. Webhook deliveries that fail are retried after
        0, 2, 4... times ``webhook_retry_delay`` seconds (Telegram: 1 s), and one that gets no
        answer in ``webhook_timeout`` seconds has failed."""
        bot_id = int(token.partition(":")[0])
        self._token = token
        self._bot = User(bot_id, bot_first_name, bot_username, is_bot=True)
        self._world = _World(self._bot, privacy_mode)
        self._world.inline_mode = inline
        self._world.inline_timeout = inline_answer_timeout
        self._inline_feedback = inline_feedback
        self._webhook_settings = (webhook_retry_delay, webhook_timeout)
        self._api = _BotApi(self._world, token)
        self._sender: _WebhookSender | None = None
        self._user_ids = itertools.count(100_000_001)
        self._chat_ids = itertools.count(1)
        self._query_ids = itertools.count(4_380_000_000_000_000_001)
        self._inline_ids = itertools.count(1)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._port = 0

    # Lifecycle

    def __enter__(self) -> TelegramEmulator:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    def start(self) -> TelegramEmulator:
        """Serve on a free port of 127.0.0.1 from a background thread."""
        if self._loop is not None:
            raise RuntimeError("the emulator is already running")
        loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=loop.run_forever, name="telegram-emulator")
        self._thread.daemon = True
        self._thread.start()
        self._loop = loop
        self._world.on_update = lambda: loop.call_soon_threadsafe(self._wake)
        self._port = asyncio.run_coroutine_threadsafe(self._serve(), loop).result(timeout=10)
        return self

    def _wake(self) -> None:
        """Something was queued: wake the long polls and the webhook sender (on the loop)."""
        self._api.wake()
        if self._sender is not None:
            self._sender.wake()

    def stop(self) -> None:
        """Answer the pending long polls, close the server and its thread."""
        loop, self._loop = self._loop, None
        if loop is None:
            return
        asyncio.run_coroutine_threadsafe(self._shutdown(), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        if self._thread is not None:
            self._thread.join(timeout=10)
        loop.close()

    async def _serve(self) -> int:
        self._sender = _WebhookSender(self._world, *self._webhook_settings)
        self._sender.start()
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._on_api)
        app.router.add_get("/file/bot{token}/{path:.+}", self._on_file)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        return int(self._runner.addresses[0][1])

    async def _shutdown(self) -> None:
        self._api.closing = True
        self._api.wake()
        if self._sender is not None:
            await self._sender.close()
        if self._runner is not None:
            await self._runner.cleanup()

    async def _on_api(self, request: web.Request) -> web.Response:
        try:
            params = await _read_params(request)
        except ApiError as error:
            return web.json_response(error.payload(), status=error.code)
        token, method = request.match_info["token"], request.match_info["method"]
        status, body = await self._api.dispatch(token, method, params)
        return web.json_response(body, status=status)

    async def _on_file(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self._token:
            return web.json_response(ApiError(401, "Unauthorized").payload(), status=401)
        path = request.match_info["path"]
        with self._world.lock:
            found = [f for f in self._world.files.values() if f.file_path == path]
        if not found:
            return web.json_response(ApiError(404, "Not Found").payload(), status=404)
        return web.Response(body=found[0].content, content_type=found[0].mime_type)

    # Addresses and the bot

    @property
    def token(self) -> str:
        return self._token

    @property
    def bot(self) -> User:
        return self._bot

    @property
    def base_url(self) -> str:
        """For ``ApplicationBuilder().base_url(...)``: PTB appends ``{token}/{method}``."""
        return f"http://127.0.0.1:{self._running_port()}/bot"

    @property
    def base_file_url(self) -> str:
        return f"http://127.0.0.1:{self._running_port()}/file/bot"

    @property
    def pending_update_count(self) -> int:
        """Updates queued and not yet confirmed (by a getUpdates offset or a webhook's 2xx)."""
        with self._world.lock:
            return len(self._world.updates)

    def _running_port(self) -> int:
        if self._loop is None:
            raise RuntimeError("start the emulator first (use it as a context manager)")
        return self._port

    # Users and chats

    def user(
        self,
        first_name: str,
        username: str | None = None,
        user_id: int | None = None,
        *,
        last_name: str | None = None,
        language_code: str | None = "en",
    ) -> User:
        """A new Telegram user."""
        with self._world.lock:
            user = User(
                user_id or next(self._user_ids),
                first_name,
                username,
                last_name,
                language_code=language_code,
            )
            self._world.users[user.id] = user
        return user

    def private_chat(self, user: User) -> Chat:
        """The private chat between ``user`` and the bot (the user has pressed Start)."""
        with self._world.lock:
            if user.id not in self._world.chats:
                chat = Chat(
                    user.id,
                    "private",
                    username=user.username,
                    first_name=user.first_name,
                    last_name=user.last_name,
                )
                self._add_chat(chat, {user.id: "member", self._bot.id: "member"})
            return self._world.chats[user.id].chat

    def group(
        self,
        title: str,
        members: Iterable[User] = (),
        *,
        supergroup: bool = False,
        forum: bool = False,
        username: str | None = None,
        bot_status: str = "member",
    ) -> Chat:
        """A group (a supergroup if ``supergroup`` or ``forum``); the first member owns it.

        ``bot_status`` is the bot's membership: "member", "administrator", "left" or "kicked".
        """
        kind = "supergroup" if supergroup or forum else "group"
        _check_bot_status(bot_status)
        with self._world.lock:
            number = next(self._chat_ids)
            base = 1_002_000_000_000 if kind == "supergroup" else 4_000_000_000
            chat_id = -(base + number)
            chat = Chat(chat_id, kind, title=title, username=username, is_forum=forum)
            return self._add_chat(chat, self._statuses(members, bot_status))

    def channel(
        self,
        title: str,
        username: str | None = None,
        *,
        bot_is_admin: bool = True,
        members: Iterable[User] = (),
    ) -> Chat:
        """A channel; a bot that is not its administrator is not in it at all."""
        with self._world.lock:
            chat_id = -(1_003_000_000_000 + next(self._chat_ids))
            chat = Chat(chat_id, "channel", title=title, username=username)
            bot_status = "administrator" if bot_is_admin else "left"
            return self._add_chat(chat, self._statuses(members, bot_status))

    def set_bot_status(self, chat: Chat, status: str) -> None:
        """Change the bot's membership; "kicked" in a private chat means the user blocked it."""
        _check_bot_status(status)
        with self._world.lock:
            self._state(chat).members[self._bot.id] = status

    def create_topic(self, chat: Chat, name: str, creator: User) -> int:
        """Open a topic in a forum supergroup; return its message_thread_id."""
        with self._world.lock:
            state = self._state(chat)
            if not chat.is_forum:
                raise ValueError(f"chat {chat.id} is not a forum")
            created = {"forum_topic_created": {"name": name, "icon_color": 7322096}}
            message = self._world.new_message(state, creator, created)
            message.update(message_thread_id=message["message_id"], is_topic_message=True)
            state.topics[message["message_id"]] = name
            self._world.deliver(state, message)
            return int(message["message_id"])

    def set_member_status(self, chat: Chat, user: User, status: str, *, is_anonymous: bool = False) -> None:
        """Make ``user`` "creator", "administrator", "member", "left" or "kicked" in a group or
        channel (the bot: use set_bot_status). A new creator leaves the old one an administrator;
        ``is_anonymous`` administrators post as the group in Telegram (see send_as_chat)."""
        if status not in ("creator", "administrator", "member", "left", "kicked"):
            raise ValueError(f"unknown member status {status!r}")
        if is_anonymous and status not in ("creator", "administrator"):
            raise ValueError("only the creator and administrators can remain anonymous")
        if user.id == self._bot.id:
            raise ValueError("use set_bot_status for the bot")
        with self._world.lock:
            state = self._state(chat)
            if chat.type == "private":
                raise ValueError("a private chat has no member statuses to change")
            if status == "creator":
                for member, old in state.members.items():
                    if old == "creator":
                        state.members[member] = "administrator"
            state.members[user.id] = status
            state.anonymous.discard(user.id)
            if is_anonymous:
                state.anonymous.add(user.id)

    def link_discussion(self, channel: Chat, group: Chat) -> None:
        """Make ``group`` the channel's discussion group: each channel post, the bot's too, then
        also appears in it as an automatic forward (from "Telegram", 777000)."""
        if channel.type != "channel" or group.type != "supergroup":
            raise ValueError("link a channel to a supergroup")
        with self._world.lock:
            self._state(channel).linked_chat_id = group.id
            self._state(group).linked_chat_id = channel.id

    def flood_limit(self, chat: Chat, max_per_second: int | None, retry_after: int = 1) -> None:
        """Answer 429 "retry after N" past ``max_per_second`` bot requests; None lifts it."""
        with self._world.lock:
            state = self._state(chat)
            state.flood = _FloodRule(max_per_second, retry_after) if max_per_second else None

    def _add_chat(self, chat: Chat, members: dict[int, str]) -> Chat:
        instance = str(-(8_000_000_000_000_000_000 + len(self._world.chats)))
        self._world.chats[chat.id] = _ChatState(chat, members, instance)
        return chat

    def _statuses(self, members: Iterable[User], bot_status: str) -> dict[int, str]:
        users = list(members)
        statuses = {user.id: "creator" if i == 0 else "member" for i, user in enumerate(users)}
        statuses[self._bot.id] = bot_status
        return statuses

    def _state(self, chat: Chat) -> _ChatState:
        state = self._world.chats.get(chat.id)
        if state is None:
            raise ValueError(f"chat {chat.id} was not created by this emulator")
        return state

    # Acting as users

    def send(
        self,
        chat: Chat,
        user: User,
        text: str,
        reply_to: MessageRef | None = None,
        thread_id: int | None = None,
    ) -> JSON:
        """``user`` sends ``text``; return the Message (with entities) queued for the bot."""
        return self._post_as(chat, user, _typed_text(text), reply_to, thread_id)

    def send_as_chat(
        self,
        chat: Chat,
        sender_chat: Chat,
        text: str,
        reply_to: MessageRef | None = None,
        thread_id: int | None = None,
    ) -> JSON:
        """A message sent on behalf of a chat, as Telegram words it (telegram-bot-api's
        Client.cpp): ``sender_chat`` is ``chat`` itself for an anonymous group administrator
        (from: GroupAnonymousBot) or for a channel's own post, or a channel a user posts as in a
        supergroup (from: Channel_Bot). Automatic forwards: see link_discussion."""
        if chat.type == "channel":
            sender = None
            if sender_chat.id != chat.id:
                raise ValueError("only the channel itself posts in a channel")
        elif chat.type != "supergroup":
            raise ValueError("Telegram has senders that are chats in supergroups and channels")
        elif sender_chat.id == chat.id:
            sender = GROUP_ANONYMOUS_BOT
        elif sender_chat.type == "channel":
            sender = CHANNEL_BOT
        else:
            raise ValueError("a supergroup message is sent as the group itself or as a channel")
        with self._world.lock:
            state = self._state(chat)
            self._state(sender_chat)
            message = self._new_post(state, sender or self._bot, _typed_text(text), reply_to, thread_id, sender_chat)
            return copy.deepcopy(message)

    def upload_document(
        self,
        chat: Chat,
        user: User,
        filename: str,
        content: bytes,
        caption: str | None = None,
        mime_type: str | None = None,
        reply_to: MessageRef | None = None,
        thread_id: int | None = None,
        *,
        file_size: int | None = None,
    ) -> JSON:
        """``user`` sends a file; the bot can fetch it with getFile and the file URL.

        The name is passed on as given, however odd (a hostile client may send any). With
        ``file_size`` the document claims that size without holding the bytes: getFile refuses
        files over 20 MB ("file is too big"), as Telegram does.
        """
        if file_size is not None and not len(content) <= file_size <= USER_UPLOAD_LIMIT:
            raise ValueError("file_size must be at least len(content) and at most 4000 MiB")
        mime_type = mime_type or mimetypes.guess_type(filename)[0] or "application/octet-stream"
        with self._world.lock:
            stored = self._world.store_file(content, filename, mime_type, file_size)
        message: JSON = {"document": stored.document()}
        _set_or_drop(message, "caption", caption)
        _set_or_drop(message, "caption_entities", detect_entities(caption or ""))
        return self._post_as(chat, user, message, reply_to, thread_id)

    def click(
        self,
        chat: Chat,
        user: User,
        bot_message: MessageRef,
        callback_data: str,
        *,
        forged: bool = False,
    ) -> str:
        """``user`` presses the inline button with ``callback_data``; return the query id.

        ``forged``: a modified client sends any data of 0-64 bytes, whatever the buttons say.
        A message sent via the bot (choose_inline_result) gives a query with inline_message_id
        instead of message, as in Telegram.
        """
        if len(callback_data.encode()) > CALLBACK_DATA_LIMIT:
            raise ValueError("Telegram clients send at most 64 bytes of callback data")
        with self._world.lock:
            state = self._state(chat)
            message_id = _message_id(bot_message)
            record = state.sent.get(message_id) or state.via_bot.get(message_id)
            if record is None or record.deleted:
                raise AssertionError(f"the bot shows no message {message_id} in chat {chat.id}")
            if not forged and callback_data not in record.callback_data:
                raise AssertionError(
                    f"message {message_id} has no button with callback_data {callback_data!r}; "
                    f"it shows {record.callback_data}"
                )
            query_id = str(next(self._query_ids))
            query: JSON = {"id": query_id, "from": user.to_api()}
            if record.inline_message_id:
                query["inline_message_id"] = record.inline_message_id
            else:
                query["message"] = record.message
            query.update(chat_instance=state.instance, data=callback_data)
            self._world.queries[query_id] = query
            in_chat = self._world.bot_status(state) not in ("left", "kicked")
            if in_chat or record.inline_message_id:
                self._world.enqueue("callback_query", query)
            return query_id

    def inline_query(
        self,
        user: User,
        query: str,
        chat_type: str | None = "sender",
        offset: str = "",
    ) -> str:
        """``user`` types "@bot ``query``" in a chat of ``chat_type`` ("sender" is the user's
        private chat with the bot; None a secret chat); return the inline query id. The update
        names no chat, as in Telegram. ``offset`` is the next_offset of an earlier answer."""
        if not self._world.inline_mode:
            raise ValueError("the bot has no inline mode: TelegramEmulator(inline=True)")
        if len(query) > INLINE_QUERY_LIMIT:
            raise ValueError("Telegram clients send inline queries of up to 256 characters")
        if chat_type is not None and chat_type not in INLINE_CHAT_TYPES:
            raise ValueError(f"unknown chat_type {chat_type!r}")
        with self._world.lock:
            query_id = str(next(self._query_ids))
            payload: JSON = {"id": query_id, "from": user.to_api(), "query": query}
            payload["offset"] = offset
            if chat_type is not None:
                payload["chat_type"] = chat_type
            self._world.inline_queries[query_id] = _InlineQuery(query_id, user, query, time.monotonic())
            self._world.enqueue("inline_query", payload)
            return query_id

    def choose_inline_result(self, user: User, chat: Chat, query_id: str, result_id: str) -> SentMessage:
        """``user`` picks a result of the bot's answer and sends it into ``chat``: a message from
        the user "via" the bot, with the result's text and keyboard. Return its record (also in
        inline_messages), kept up to date while the bot edits it by inline_message_id."""
        with self._world.lock:
            inline_query = self._world.inline_queries.get(query_id)
            answer = inline_query.answer if inline_query else None
            if inline_query is None or inline_query.user != user:
                raise ValueError(f"{user.first_name} sent no inline query {query_id}")
            if answer is None or result_id not in answer.contents:
                shown = answer.result_ids if answer else "nothing"
                raise AssertionError(f"the bot offers no result {result_id!r}; it shows {shown}")
            version = replace(answer.contents[result_id], at=time.monotonic())
            source = answer.results[answer.result_ids.index(result_id)]
            content: JSON = {"text": version.text, "via_bot": self._bot.to_api()}
            _set_or_drop(content, "entities", version.entities)
            preview = _preview_options(source.get("input_message_content", source))
            _set_or_drop(content, "link_preview_options", preview)
            _set_or_drop(content, "reply_markup", version.reply_markup)
            state = self._state(chat)
            message = self._new_post(state, user, content, None, None)
            inline_message_id = self._inline_message_id()
            record = SentMessage(
                chat_id=chat.id,
                message_id=message["message_id"],
                message=message,
                versions=[version],
                reply_to_message_id=None,
                message_thread_id=None,
                link_preview_disabled=bool(preview and preview.get("is_disabled")),
                disable_notification=False,
                inline_message_id=inline_message_id,
            )
            state.via_bot[record.message_id] = record
            self._world.inline_messages[inline_message_id] = record
            if self._inline_feedback:
                chosen: JSON = {"result_id": result_id, "from": user.to_api()}
                if version.reply_markup:  # Telegram tells the id only where it can be used
                    chosen["inline_message_id"] = inline_message_id
                chosen["query"] = inline_query.query
                self._world.enqueue("chosen_inline_result", chosen)
            return record

    def _inline_message_id(self) -> str:
        """An opaque id like Telegram's (base64url of a serialized inputBotInlineMessageID)."""
        raw = (self._bot.id << 32 | next(self._inline_ids)).to_bytes(16, "little")
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    def _post_as(
        self,
        chat: Chat,
        user: User,
        content: JSON,
        reply_to: MessageRef | None,
        thread_id: int | None,
    ) -> JSON:
        with self._world.lock:
            message = self._new_post(self._state(chat), user, content, reply_to, thread_id)
            return copy.deepcopy(message)

    def _new_post(
        self,
        state: _ChatState,
        user: User,
        content: JSON,
        reply_to: MessageRef | None,
        thread_id: int | None,
        sender_chat: Chat | None = None,
    ) -> JSON:
        """A message from ``user`` (or on behalf of ``sender_chat``), given to the bot."""
        chat = state.chat
        member = state.members.get(user.id) in ("creator", "administrator", "member")
        if sender_chat is None and not member:
            raise ValueError(f"user {user.id} is not a member of chat {chat.id}")
        replied = self._replied(state, reply_to)
        if thread_id is None and replied is not None and chat.is_forum:
            thread_id = replied.get("message_thread_id")
        if thread_id is not None and thread_id not in state.topics:
            raise ValueError(f"chat {chat.id} has no forum topic {thread_id}")
        message = self._world.new_message(state, user, content, replied, thread_id, sender_chat)
        self._world.deliver(state, message)
        self._world.forward_to_discussion(state, message)
        return message

    def _replied(self, state: _ChatState, reply_to: MessageRef | None) -> JSON | None:
        if reply_to is None:
            return None
        message = state.messages.get(_message_id(reply_to))
        if message is None:
            raise AssertionError(f"message {_message_id(reply_to)} is gone from the chat")
        return message

    # What the bot did

    def messages(self, chat: Chat, thread_id: int | None = None) -> list[SentMessage]:
        """The bot's messages in ``chat`` (in a topic), oldest first; deleted ones included."""
        with self._world.lock:
            sent = self._state(chat).sent.values()
            return [m for m in sent if thread_id is None or m.message_thread_id == thread_id]

    def documents(self, chat: Chat) -> list[SentMessage]:
        return [message for message in self.messages(chat) if message.document is not None]

    def chat_actions(self, chat: Chat) -> list[ChatAction]:
        with self._world.lock:
            return list(self._state(chat).actions)

    def callback_answer(self, callback_id: str) -> CallbackAnswer | None:
        with self._world.lock:
            return self._world.answers.get(callback_id)

    def inline_answer(self, query_id: str) -> InlineAnswer | None:
        """The bot's answer to an inline query; None until it answers."""
        with self._world.lock:
            inline_query = self._world.inline_queries.get(query_id)
            return inline_query.answer if inline_query else None

    def inline_messages(self, chat: Chat) -> list[SentMessage]:
        """Messages users sent into ``chat`` via the bot (choose_inline_result), oldest first."""
        with self._world.lock:
            return list(self._state(chat).via_bot.values())

    def commands(self, scope: JSON | None = None, language_code: str = "") -> list[JSON]:
        """The bot's commands for a BotCommandScope (default scope if None)."""
        with self._world.lock:
            return copy.deepcopy(self._world.commands.get(_scope_key(scope, language_code), []))

    def api_calls(self, method: str | None = None) -> list[ApiCall]:
        """Every request the bot made (of one method, case-insensitive), oldest first."""
        with self._world.lock:
            calls = list(self._world.calls)
        return [c for c in calls if method is None or c.method.lower() == method.lower()]

    def file_bytes(self, file_id: str) -> bytes:
        """The content of an uploaded file, the bot's documents included."""
        with self._world.lock:
            return self._world.files[file_id].content

    # Webhooks

    def webhook_backends(
        self,
        backends: Sequence[str] | None,
        policy: str | Callable[[JSON, list[str]], str] = "round_robin",
    ) -> None:
        """Put a load balancer in front of the webhook: each delivery to the URL the bot set goes
        to one of ``backends`` (loopback URLs, e.g. one per bot worker) instead, chosen by
        ``policy``: "round_robin", "random", or ``policy(update, backends) -> backend``. A
        backend that does not answer or answers 5xx gets the update retried on the next one at
        once (like nginx's proxy_next_upstream); if none takes it, Telegram sees 502 (or the
        last 5xx) and retries later. None removes the balancer."""
        if backends is None:
            balancer = None
        else:
            urls = list(backends)
            if not urls or not all(_is_loopback(url) for url in urls):
                raise ValueError("give one or more backend URLs on 127.0.0.1")
            if not callable(policy) and policy not in ("round_robin", "random"):
                raise ValueError(f"unknown balancing policy {policy!r}")
            balancer = _Balancer(urls, policy)
        with self._world.lock:
            self._world.balancer = balancer

    def deliveries(self) -> list[WebhookDelivery]:
        """Every attempt to deliver an update to the webhook (or a backend), oldest first."""
        with self._world.lock:
            return list(self._world.deliveries)

    # Waiting

    def wait_until(
        self,
        predicate: Callable[[], bool],
        timeout: float = 30.0,
        description: str | Callable[[], str] = "the condition",
    ) -> None:
        """Block until ``predicate()`` holds; raise AssertionError after ``timeout`` seconds."""
        if _in_event_loop():
            raise RuntimeError("this would block the event loop: await the *_async twin")
        deadline = time.monotonic() + timeout
        with self._world.lock:
            while not predicate():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    what = description() if callable(description) else description
                    raise AssertionError(f"timed out after {timeout}s waiting for {what}")
                self._world.lock.wait(min(remaining, 0.05))

    def wait_for_messages(
        self, chat: Chat, count: int = 1, timeout: float = 30.0, thread_id: int | None = None
    ) -> list[SentMessage]:
        """The bot's messages in ``chat`` once there are at least ``count`` of them."""
        self.wait_until(
            lambda: len(self.messages(chat, thread_id)) >= count,
            timeout,
            lambda: f"{count} bot message(s) in chat {chat.id}; {self._what_happened(chat)}",
        )
        return self.messages(chat, thread_id)

    def wait_for_callback_answer(self, callback_id: str, timeout: float = 30.0) -> CallbackAnswer:
        what = f"an answer to callback query {callback_id}"
        return self._wait_for(lambda: self.callback_answer(callback_id), timeout, what)

    def wait_for_inline_answer(self, query_id: str, timeout: float = 30.0) -> InlineAnswer:
        what = f"an answer to inline query {query_id}"
        return self._wait_for(lambda: self.inline_answer(query_id), timeout, what)

    def _wait_for(self, find: Callable[[], Found | None], timeout: float, what: str) -> Found:
        self.wait_until(lambda: find() is not None, timeout, lambda: f"{what}; {self._what_happened()}")
        found = find()
        assert found is not None
        return found

    def wait_for_edit_quiet(
        self, message: SentMessage, quiet_seconds: float = 0.5, timeout: float = 30.0
    ) -> SentMessage:
        """Wait until the message has not changed for ``quiet_seconds`` (a finished stream)."""
        self.wait_until(
            lambda: time.monotonic() - message.current.at >= quiet_seconds,
            timeout,
            lambda: f"message {message.message_id} to settle; {message.edit_count} edits so far",
        )
        return message

    async def wait_until_async(
        self,
        predicate: Callable[[], bool],
        timeout: float = 30.0,
        description: str | Callable[[], str] = "the condition",
    ) -> None:
        await asyncio.to_thread(self.wait_until, predicate, timeout, description)

    async def wait_for_messages_async(
        self, chat: Chat, count: int = 1, timeout: float = 30.0, thread_id: int | None = None
    ) -> list[SentMessage]:
        return await asyncio.to_thread(self.wait_for_messages, chat, count, timeout, thread_id)

    async def wait_for_callback_answer_async(self, callback_id: str, timeout: float = 30.0) -> CallbackAnswer:
        return await asyncio.to_thread(self.wait_for_callback_answer, callback_id, timeout)

    async def wait_for_inline_answer_async(self, query_id: str, timeout: float = 30.0) -> InlineAnswer:
        return await asyncio.to_thread(self.wait_for_inline_answer, query_id, timeout)

    async def wait_for_edit_quiet_async(
        self, message: SentMessage, quiet_seconds: float = 0.5, timeout: float = 30.0
    ) -> SentMessage:
        return await asyncio.to_thread(self.wait_for_edit_quiet, message, quiet_seconds, timeout)

    def _what_happened(self, chat: Chat | None = None) -> str:
        """For timeout messages: the bot's last failed requests (and its messages in ``chat``)."""
        failed = [f"{c.method}: {c.description}" for c in self.api_calls() if c.status != 200]
        report = f"last failed requests: {failed[-5:] or 'none'}"
        with self._world.lock:
            hook = self._world.webhook
            if hook is not None and hook.last_error_message:
                report += f"; last webhook error: {hook.last_error_message}"
        if chat is None:
            return report
        seen = [f"#{m.message_id} {m.text!r}" for m in self.messages(chat)]
        return f"bot messages: {seen or 'none'}; {report}"
