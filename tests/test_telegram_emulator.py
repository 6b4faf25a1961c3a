"""The Telegram emulator, checked against the real python-telegram-bot Bot and Application."""

from __future__ import annotations

import asyncio
import datetime as dtm
import html
import re
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager

import aiohttp
import pytest
from aiohttp import web
from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeChat,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InlineQueryResultArticle,
    InlineQueryResultPhoto,
    InputTextMessageContent,
    LinkPreviewOptions,
    Message,
    ReplyParameters,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    Conflict,
    EndPointNotFound,
    Forbidden,
    InvalidToken,
    RetryAfter,
)
from telegram.ext import (
    Application,
    ApplicationBuilder,
    BaseHandler,
    CallbackQueryHandler,
    ChosenInlineResultHandler,
    ContextTypes,
    InlineQueryHandler,
    MessageHandler,
    filters,
)

from tests.telegram_emulator import SECRET_TOKEN_HEADER, TelegramEmulator, utf16_slice

pytestmark = pytest.mark.telegram  # also the tests that start an emulator of their own


@pytest.fixture
def emu() -> Iterator[TelegramEmulator]:
    with TelegramEmulator() as emulator:
        yield emulator


@pytest.fixture
async def bot(emu: TelegramEmulator) -> AsyncIterator[Bot]:
    async with Bot(emu.token, base_url=emu.base_url, base_file_url=emu.base_file_url) as client:
        yield client


@asynccontextmanager
async def client(emu: TelegramEmulator) -> AsyncIterator[Bot]:
    """A PTB Bot for an emulator the test made itself."""
    async with Bot(emu.token, base_url=emu.base_url, base_file_url=emu.base_file_url) as bot:
        yield bot


def application(emu: TelegramEmulator, *handlers: BaseHandler) -> Application:
    builder = ApplicationBuilder().token(emu.token).base_url(emu.base_url)
    app = builder.base_file_url(emu.base_file_url).build()
    for handler in handlers:
        app.add_handler(handler)
    return app


@asynccontextmanager
async def polling(emu: TelegramEmulator, *handlers: BaseHandler) -> AsyncIterator[Application]:
    """A real PTB Application polling the emulator."""
    app = application(emu, *handlers)
    async with app:
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0.0, timeout=1)
        try:
            yield app
        finally:
            await app.updater.stop()
            await app.stop()


def seconds(value: int | dtm.timedelta) -> float:
    return value.total_seconds() if isinstance(value, dtm.timedelta) else float(value)


KEYBOARD = InlineKeyboardMarkup([[InlineKeyboardButton("More", callback_data="more")]])


# The bot and the protocol


async def test_get_me_parses_as_the_bot_user(bot: Bot, emu: TelegramEmulator) -> None:
    me = await bot.get_me()
    assert (me.id, me.username, me.is_bot) == (emu.bot.id, "newsbot_test_bot", True)
    assert me.can_read_all_group_messages is False
    assert [call.method for call in emu.api_calls()][:2] == ["getMe", "getMe"]


async def test_a_wrong_token_is_unauthorized(emu: TelegramEmulator) -> None:
    with pytest.raises(InvalidToken, match="rejected by the server"):
        async with Bot("999:WRONG", base_url=emu.base_url):
            pass  # initializing calls getMe
    assert (emu.api_calls()[-1].status, emu.api_calls()[-1].description) == (401, "Unauthorized")


async def test_an_unknown_method_is_not_found(bot: Bot) -> None:
    with pytest.raises(EndPointNotFound):
        await bot.do_api_request("sendTelepathy", api_kwargs={"chat_id": 1})


async def test_application_echoes_and_answers_a_click(emu: TelegramEmulator) -> None:
    async def echo(update: Update, _: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.message is not None
        text = f"echo: {update.message.text}"
        await update.message.reply_text(text, reply_markup=KEYBOARD, do_quote=True)

    async def clicked(update: Update, _: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        assert query is not None and query.message is not None
        await query.answer("Loading", show_alert=True)
        await query.edit_message_text(f"{query.data} for chat {query.message.chat.id}")

    alice = emu.user("Alice", "alice")
    chat = emu.private_chat(alice)
    async with polling(emu, MessageHandler(filters.TEXT, echo), CallbackQueryHandler(clicked)):
        sent = emu.send(chat, alice, "hello")
        [reply] = await emu.wait_for_messages_async(chat)
        assert (reply.text, reply.reply_to_message_id) == ("echo: hello", sent["message_id"])
        assert reply.callback_data == ["more"]

        query_id = emu.click(chat, alice, reply, "more")
        answer = await emu.wait_for_callback_answer_async(query_id)
        assert (answer.text, answer.show_alert) == ("Loading", True)
        await emu.wait_until_async(lambda: reply.edit_count == 1)
    assert reply.text == f"more for chat {chat.id}"
    assert reply.callback_data == [], "an edit without reply_markup drops the keyboard"
    assert emu.pending_update_count == 0


async def test_a_user_document_can_be_downloaded_by_the_bot(emu: TelegramEmulator) -> None:
    async def on_document(update: Update, _: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.message is not None and update.message.document is not None
        document = update.message.document
        data = await (await document.get_file()).download_as_bytearray()
        await update.message.reply_text(f"{document.file_name} {document.mime_type} {data!r}")

    bob = emu.user("Bob")
    chat = emu.private_chat(bob)
    async with polling(emu, MessageHandler(filters.Document.ALL, on_document)):
        emu.upload_document(chat, bob, "notes.txt", b"article body", caption="read this")
        [reply] = await emu.wait_for_messages_async(chat)
    assert reply.text == "notes.txt text/plain bytearray(b'article body')"


# Formatting


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("<b>Tom & Jerry</b>", 'Unescaped "&" at byte offset 7'),
        ("2 > 1", 'Unescaped ">" at byte offset 2'),
        ("a < b", 'Unsupported start tag "" at byte offset 2'),
        ("<p>news</p>", 'Unsupported start tag "p" at byte offset 0'),
        ("<b>bold", "Can't find end tag corresponding to start tag b"),
        ("<b><i>x</b></i>", 'Unmatched end tag at byte offset 7, expected "</i>", found "</b>"'),
        ("x</b>", "Unexpected end tag at byte offset 1"),
        ('<span class="x">y</span>', 'Tag "span" must have class "tg-spoiler"'),
        ('<a href="x>y</a>', "Unclosed start tag at byte offset 0"),
    ],
)
async def test_malformed_html_is_rejected(bot: Bot, emu: TelegramEmulator, text: str, error: str) -> None:
    chat = emu.private_chat(emu.user("Ann"))
    with pytest.raises(BadRequest, match=f"(?i)^Can't parse entities: {re.escape(error)}"):
        await bot.send_message(chat.id, text, parse_mode=ParseMode.HTML)
    assert emu.messages(chat) == []
    assert emu.api_calls("sendMessage")[-1].status == 400


async def test_escaped_html_is_parsed_into_entities(bot: Bot, emu: TelegramEmulator) -> None:
    chat = emu.private_chat(emu.user("Ann"))
    text = (
        f"<b>{html.escape('Tom & Jerry')}</b> &#128512; "
        '<a href="https://example.com/?a=1&amp;b=2">src</a>\n'
        '<pre><code class="language-python">x = 1</code></pre>'
        '<span class="tg-spoiler">s</span><blockquote expandable>q</blockquote>  \n'
    )
    message = await bot.send_message(chat.id, text, parse_mode=ParseMode.HTML)
    assert message.text == "Tom & Jerry 😀 src\nx = 1sq"
    got = [(e.type, e.offset, e.length, e.url or e.language) for e in message.entities]
    assert got == [
        ("bold", 0, 11, None),
        ("text_link", 15, 3, "https://example.com/?a=1&b=2"),
        ("pre", 19, 5, "python"),
        ("spoiler", 24, 1, None),
        ("expandable_blockquote", 25, 1, None),
    ]
    [record] = emu.messages(chat)
    assert (record.raw_text, record.parse_mode, record.text) == (text, "HTML", message.text)


async def test_the_length_limit_applies_to_visible_text(bot: Bot, emu: TelegramEmulator) -> None:
    chat = emu.private_chat(emu.user("Ann"))
    with pytest.raises(BadRequest, match="^Message is too long$"):
        await bot.send_message(chat.id, "a" * 4097)
    with pytest.raises(BadRequest, match="^Message text is empty$"):
        await bot.send_message(chat.id, "<b> </b>\n", parse_mode=ParseMode.HTML)
    message = await bot.send_message(chat.id, f"<b>{'😀' * 4096}</b>", parse_mode=ParseMode.HTML)
    assert message.entities[0].length == 8192, "offsets and lengths are UTF-16 code units"


async def test_markdown_v2_requires_escaping(bot: Bot, emu: TelegramEmulator) -> None:
    chat = emu.private_chat(emu.user("Ann"))
    with pytest.raises(BadRequest, match=r"(?i)character '\.' is reserved"):
        await bot.send_message(chat.id, "*Done*.", parse_mode=ParseMode.MARKDOWN_V2)
    with pytest.raises(BadRequest, match="(?i)can't find end of Bold entity at byte offset 0"):
        await bot.send_message(chat.id, "*open", parse_mode=ParseMode.MARKDOWN_V2)
    message = await bot.send_message(chat.id, r"*Done*\. [see](https://t.me/x) ||s||", parse_mode=ParseMode.MARKDOWN_V2)
    assert message.text == "Done. see s"
    assert [(e.type, e.offset, e.length) for e in message.entities] == [
        ("bold", 0, 4),
        ("text_link", 6, 3),
        ("spoiler", 10, 1),
    ]


async def test_user_messages_carry_entities_in_utf16(bot: Bot, emu: TelegramEmulator) -> None:
    ann = emu.user("Ann", "ann")
    chat = emu.private_chat(ann)
    text = "/ask@newsbot_test_bot 😀 what did @ann_news say? https://example.com/a #economy"
    emu.send(chat, ann, text)
    [update] = await bot.get_updates()
    assert update.message is not None
    found = {e.type: utf16_slice(text, e.offset, e.length) for e in update.message.entities}
    assert found == {
        "bot_command": "/ask@newsbot_test_bot",
        "mention": "@ann_news",
        "url": "https://example.com/a",
        "hashtag": "#economy",
    }
    assert update.message.parse_entity(update.message.entities[1]) == "@ann_news"


# Editing, deleting, chat actions, documents


async def test_edits_are_recorded_and_a_no_op_edit_is_refused(bot: Bot, emu: TelegramEmulator) -> None:
    chat = emu.private_chat(emu.user("Ann"))
    sent = await bot.send_message(chat.id, "Searching", reply_markup=KEYBOARD)
    edited = await bot.edit_message_text("<i>Found</i>", chat.id, sent.message_id, parse_mode="HTML")
    assert edited.text == "Found" and edited.edit_date is not None
    assert edited.reply_markup is None, "editMessageText without reply_markup drops the keyboard"
    with pytest.raises(BadRequest, match="Message is not modified"):
        await bot.edit_message_text("<i>Found</i>", chat.id, sent.message_id, parse_mode="HTML")
    restored = await bot.edit_message_reply_markup(chat.id, sent.message_id, reply_markup=KEYBOARD)
    assert isinstance(restored, Message) and restored.reply_markup == KEYBOARD
    with pytest.raises(BadRequest, match="Message to edit not found"):
        await bot.edit_message_text("x", chat.id, 999)
    [record] = emu.messages(chat)
    assert record.history == ["Searching", "Found", "Found"]
    assert (record.edit_count, record.callback_data) == (2, ["more"])


async def test_edits_settle_into_a_final_text(bot: Bot, emu: TelegramEmulator) -> None:
    chat = emu.private_chat(emu.user("Ann"))

    async def stream() -> None:
        message = await bot.send_message(chat.id, "The")
        for text in ("The answer", "The answer is", "The answer is 42."):
            await asyncio.sleep(0.05)
            await message.edit_text(text)

    task = asyncio.create_task(stream())
    [message] = await emu.wait_for_messages_async(chat)
    await emu.wait_for_edit_quiet_async(message, quiet_seconds=0.3)
    await task
    assert (message.text, message.edit_count) == ("The answer is 42.", 3)


async def test_delete_and_chat_actions(bot: Bot, emu: TelegramEmulator) -> None:
    ann = emu.user("Ann")
    chat = emu.private_chat(ann)
    await bot.send_chat_action(chat.id, "typing")
    with pytest.raises(BadRequest, match="Wrong parameter action in request"):
        await bot.send_chat_action(chat.id, "dancing")
    sent = await bot.send_message(chat.id, "temporary")
    assert await bot.delete_message(chat.id, sent.message_id)
    with pytest.raises(BadRequest, match="Message to delete not found"):
        await bot.delete_message(chat.id, sent.message_id)
    assert [a.action for a in emu.chat_actions(chat)] == ["typing"]
    assert [m.deleted for m in emu.messages(chat)] == [True]
    with pytest.raises(AssertionError, match="shows no message"):
        emu.click(chat, ann, emu.messages(chat)[0], "more")


async def test_documents_sent_by_the_bot_are_recorded(bot: Bot, emu: TelegramEmulator) -> None:
    chat = emu.private_chat(emu.user("Ann"))
    sent = await bot.send_document(
        chat.id, b"%PDF-1.4", filename="digest.pdf", caption="<b>Digest</b>", parse_mode="HTML"
    )
    assert sent.document is not None and sent.document.mime_type == "application/pdf"
    again = await bot.send_document(chat.id, sent.document.file_id)
    assert again.document is not None and again.document.file_id == sent.document.file_id
    [first, second] = emu.documents(chat)
    assert (first.text, first.entities[0]["type"], second.text) == ("Digest", "bold", "")
    assert emu.file_bytes(sent.document.file_id) == b"%PDF-1.4"


# Replies, topics, link previews


async def test_replies_topics_and_previews(bot: Bot, emu: TelegramEmulator) -> None:
    ann = emu.user("Ann", "ann")
    forum = emu.group("Newsroom", [ann], forum=True, bot_status="administrator")
    topic = emu.create_topic(forum, "Markets", ann)
    question = emu.send(forum, ann, "what moved oil?", thread_id=topic)
    assert question["message_thread_id"] == topic
    assert question["reply_to_message"]["message_id"] == topic, "topic messages reply to the root"
    reply = await bot.send_message(
        forum.id,
        "OPEC https://example.com",
        reply_parameters=ReplyParameters(question["message_id"]),
        link_preview_options=LinkPreviewOptions(is_disabled=True),
    )
    assert reply.message_thread_id == topic and reply.is_topic_message
    with pytest.raises(BadRequest, match="Message thread not found"):
        await bot.send_message(forum.id, "x", message_thread_id=999)
    with pytest.raises(BadRequest, match="Message to be replied not found"):
        await bot.send_message(forum.id, "x", reply_to_message_id=999)
    [record] = await emu.wait_for_messages_async(forum, thread_id=topic)
    assert record.reply_to_message_id == question["message_id"]
    assert record.link_preview_disabled
    emu.send(forum, ann, "thanks", reply_to=record)
    updates = await bot.get_updates()
    texts = [u.effective_message.text for u in updates if u.effective_message]
    assert texts == [None, "what moved oil?", "thanks"]


# Access, flood control, commands, chats


async def test_chats_the_bot_cannot_post_to(bot: Bot, emu: TelegramEmulator) -> None:
    ann = emu.user("Ann")
    outside = emu.channel("Wire", "wire_news", bot_is_admin=False)
    with pytest.raises(Forbidden, match="bot is not a member of the channel chat"):
        await bot.send_message("@wire_news", "hi")
    group = emu.group("Club", [ann])
    emu.set_bot_status(group, "kicked")
    with pytest.raises(Forbidden, match="bot was kicked from the group chat"):
        await bot.send_message(group.id, "hi")
    private = emu.private_chat(ann)
    emu.set_bot_status(private, "kicked")
    with pytest.raises(Forbidden, match="bot was blocked by the user"):
        await bot.send_message(private.id, "hi")
    with pytest.raises(BadRequest, match="Chat not found"):
        await bot.send_message(424242, "hi")
    assert emu.messages(outside) == []


@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
async def test_flood_limit_raises_retry_after(bot: Bot, emu: TelegramEmulator) -> None:
    chat = emu.private_chat(emu.user("Ann"))
    emu.flood_limit(chat, 2, retry_after=3)
    await bot.send_message(chat.id, "one")
    await bot.send_message(chat.id, "two")
    with pytest.raises(RetryAfter) as raised:
        await bot.send_message(chat.id, "three")
    assert seconds(raised.value.retry_after) == 3
    assert emu.api_calls("sendMessage")[-1].description == "Too Many Requests: retry after 3"
    emu.flood_limit(chat, None)
    await bot.send_message(chat.id, "four")
    assert [m.text for m in emu.messages(chat)] == ["one", "two", "four"]


async def test_commands_are_stored_per_scope(bot: Bot, emu: TelegramEmulator) -> None:
    chat = emu.private_chat(emu.user("Ann"))
    commands = [BotCommand("ask", "Ask about the news"), BotCommand("help", "Help")]
    await bot.set_my_commands(commands)
    await bot.set_my_commands([BotCommand("admin", "Admin")], scope=BotCommandScopeChat(chat.id))
    with pytest.raises(BadRequest, match="Bot_command_invalid"):
        await bot.set_my_commands([BotCommand("Ask", "Capitals are not allowed")])
    assert emu.commands() == [
        {"command": "ask", "description": "Ask about the news"},
        {"command": "help", "description": "Help"},
    ]
    scoped = await bot.get_my_commands(scope=BotCommandScopeChat(chat.id))
    assert [c.command for c in scoped] == ["admin"]
    assert await bot.delete_my_commands() and emu.commands() == []


async def test_chat_info_and_members(bot: Bot, emu: TelegramEmulator) -> None:
    ann, ben = emu.user("Ann", "ann"), emu.user("Ben")
    group = emu.group("Club", [ann, ben], supergroup=True, username="club", bot_status="administrator")
    info = await bot.get_chat("@club")
    assert (info.id, info.type, info.title) == (group.id, "supergroup", "Club")
    assert (await bot.get_chat_member(group.id, ben.id)).status == "member"
    admins = await bot.get_chat_administrators(group.id)
    assert sorted(a.status for a in admins) == ["administrator", "creator"]
    with pytest.raises(BadRequest, match="There are no administrators in the private chat"):
        await bot.get_chat_administrators(emu.private_chat(ann).id)


async def test_privacy_mode_and_long_polling(bot: Bot, emu: TelegramEmulator) -> None:
    ann = emu.user("Ann")
    group = emu.group("Club", [ann])
    emu.send(group, ann, "just chatting")
    emu.send(group, ann, "/ask@other_bot hi")
    asyncio.get_running_loop().call_later(0.2, emu.send, group, ann, "/ask oil")
    started = time.monotonic()
    updates = await bot.get_updates(timeout=5)
    assert time.monotonic() - started < 2, "long polling answers as soon as an update arrives"
    assert [u.message.text for u in updates if u.message] == ["/ask oil"]
    emu.send(group, ann, "hey @newsbot_test_bot")
    first = updates[0].update_id
    assert [u.update_id for u in await bot.get_updates()] == [first, first + 1]
    assert len(await bot.get_updates(offset=updates[0].update_id + 1)) == 1
    assert await bot.get_updates(offset=updates[0].update_id + 2) == ()


async def test_a_wait_timeout_says_what_happened(bot: Bot, emu: TelegramEmulator) -> None:
    chat = emu.private_chat(emu.user("Ann"))
    with pytest.raises(BadRequest):
        await bot.send_message(chat.id, "<b>x", parse_mode="HTML")
    with pytest.raises(AssertionError, match="sendMessage: Bad Request: can't parse entities"):
        await emu.wait_for_messages_async(chat, timeout=0.2)
    with pytest.raises(RuntimeError, match="await the"):
        emu.wait_for_messages(chat, timeout=0.2)


def test_sync_tests_can_drive_the_emulator() -> None:
    with TelegramEmulator(bot_username="other_test_bot") as emu:
        ann = emu.user("Ann")
        chat = emu.private_chat(ann)

        async def reply() -> None:
            async with Bot(emu.token, base_url=emu.base_url) as client:
                [update] = await client.get_updates()
                assert update.message is not None
                await update.message.reply_text("hi Ann")

        emu.send(chat, ann, "hi")
        asyncio.run(reply())
        assert [m.text for m in emu.wait_for_messages(chat, timeout=1)] == ["hi Ann"]


# Bad tokens


async def test_every_method_refuses_an_unknown_token(emu: TelegramEmulator) -> None:
    chat = emu.private_chat(emu.user("Ann"))
    async with aiohttp.ClientSession() as session:
        for token, description in (
            ("999:WRONG", "Unauthorized"),
            ("not-a-token", "Unauthorized: invalid token specified"),
            ("0123:abc", "Unauthorized: invalid token specified"),
        ):
            for method in ("getUpdates", "sendMessage", "setWebhook", "getFile"):
                url = f"{emu.base_url}{token}/{method}"
                async with session.post(url, json={"chat_id": chat.id, "text": "hi"}) as answer:
                    body = await answer.json()
                assert (answer.status, body) == (
                    401,
                    {"ok": False, "error_code": 401, "description": description},
                ), (token, method)
        async with session.get(f"{emu.base_file_url}999:WRONG/documents/file_1.txt") as answer:
            assert answer.status == 401
    with pytest.raises(InvalidToken):
        async with Bot("not-a-token", base_url=emu.base_url):
            pass
    assert emu.messages(chat) == []


# Chat administrators and senders that are chats


async def test_members_can_be_promoted_and_remain_anonymous(bot: Bot, emu: TelegramEmulator) -> None:
    ann, ben, cat = emu.user("Ann"), emu.user("Ben"), emu.user("Cat")
    group = emu.group("Club", [ann, ben, cat], supergroup=True)
    emu.set_member_status(group, ben, "administrator", is_anonymous=True)
    emu.set_member_status(group, cat, "creator")
    admins = {member.user.id: member for member in await bot.get_chat_administrators(group.id)}
    assert (admins[ben.id].status, admins[ben.id].is_anonymous) == ("administrator", True)
    assert (admins[cat.id].status, admins[cat.id].is_anonymous) == ("creator", False)
    assert admins[ann.id].status == "administrator", "the old owner stays an administrator"
    emu.set_member_status(group, ben, "member")
    emu.set_member_status(group, ann, "kicked")
    assert (await bot.get_chat_member(group.id, ben.id)).status == "member"
    assert (await bot.get_chat_member(group.id, ann.id)).status == "kicked"
    with pytest.raises(ValueError, match="remain anonymous"):
        emu.set_member_status(group, ben, "member", is_anonymous=True)
    with pytest.raises(ValueError, match="set_bot_status"):
        emu.set_member_status(group, emu.bot, "administrator")


async def test_messages_sent_on_behalf_of_chats(bot: Bot, emu: TelegramEmulator) -> None:
    ann = emu.user("Ann")
    group = emu.group("Newsroom", [ann], supergroup=True, bot_status="administrator")
    channel = emu.channel("Wire", "wire_news")
    emu.link_discussion(channel, group)
    emu.send_as_chat(group, group, "an anonymous administrator writes")
    emu.send_as_chat(group, channel, "a user writes as the channel")
    post = emu.send_as_chat(channel, channel, "Breaking: oil is up")
    updates = await bot.get_updates()
    anonymous, as_channel, channel_post, forward = (u.effective_message for u in updates)
    assert anonymous is not None and anonymous.from_user is not None
    assert anonymous.sender_chat is not None and anonymous.sender_chat.id == group.id
    sender = anonymous.from_user
    assert (sender.id, sender.username, sender.is_bot) == (1087968824, "GroupAnonymousBot", True)
    assert as_channel is not None and as_channel.from_user is not None
    assert (as_channel.from_user.id, as_channel.from_user.username) == (136817688, "Channel_Bot")
    assert as_channel.sender_chat is not None and as_channel.sender_chat.id == channel.id
    assert updates[2].channel_post is not None and channel_post is not None
    assert channel_post.from_user is None and channel_post.sender_chat is not None
    assert forward is not None and forward.is_automatic_forward and forward.from_user is not None
    assert (forward.from_user.id, forward.from_user.first_name) == (777000, "Telegram")
    assert forward.chat.id == group.id and forward.text == "Breaking: oil is up"
    origin = forward.forward_origin
    assert origin is not None and origin.type == "channel"
    assert (origin.chat.id, origin.message_id) == (channel.id, post["message_id"])  # type: ignore[attr-defined]
    assert (await bot.get_chat(channel.id)).linked_chat_id == group.id

    await bot.send_message(channel.id, "Digest")
    [update] = await bot.get_updates(offset=updates[-1].update_id + 1)
    assert update.message is not None and update.message.is_automatic_forward
    assert (update.message.chat.id, update.message.text) == (group.id, "Digest")
    with pytest.raises(ValueError, match="supergroups and channels"):
        emu.send_as_chat(emu.group("Small", [ann]), channel, "hi")


# Forged buttons


async def test_a_modified_client_can_send_any_callback_data(bot: Bot, emu: TelegramEmulator) -> None:
    ann = emu.user("Ann")
    chat = emu.private_chat(ann)
    await bot.send_message(chat.id, "Pick one", reply_markup=KEYBOARD)
    [record] = emu.messages(chat)
    with pytest.raises(AssertionError, match="no button with callback_data 'admin:wipe'"):
        emu.click(chat, ann, record, "admin:wipe")
    emu.click(chat, ann, record, "admin:wipe", forged=True)
    emu.click(chat, ann, record, "", forged=True)
    emu.click(chat, ann, record, "é" * 32, forged=True)  # 64 bytes
    with pytest.raises(ValueError, match="64 bytes"):
        emu.click(chat, ann, record, "é" * 32 + "x", forged=True)
    updates = await bot.get_updates()
    data = [u.callback_query.data for u in updates if u.callback_query]
    assert data == ["admin:wipe", "", "é" * 32]


# Documents


async def test_documents_as_telegram_describes_them(bot: Bot, emu: TelegramEmulator) -> None:
    ann = emu.user("Ann")
    chat = emu.private_chat(ann)
    odd_name = "../../etc/" + "x" * 300 + "\x00.pdf"
    emu.upload_document(chat, ann, "a.txt", b"same bytes")
    emu.upload_document(chat, ann, odd_name, b"same bytes")
    emu.upload_document(chat, ann, "b.txt", b"other bytes")
    emu.upload_document(chat, ann, "huge.pdf", b"%PDF-1.7", file_size=25 * 1024 * 1024)
    documents = [u.message.document for u in await bot.get_updates() if u.message]
    first, again, other, huge = documents
    assert first is not None and again is not None and other is not None and huge is not None
    assert first.file_unique_id == again.file_unique_id != other.file_unique_id
    assert first.file_id != again.file_id
    assert again.file_name == odd_name
    assert huge.file_size == 25 * 1024 * 1024
    with pytest.raises(BadRequest, match="^File is too big$"):
        await huge.get_file()
    file = await again.get_file()
    assert file.file_path is not None and file.file_path.endswith("/documents/file_2.pdf")
    assert bytes(await file.download_as_bytearray()) == b"same bytes"
    with pytest.raises(ValueError, match="file_size"):
        emu.upload_document(chat, ann, "x.txt", b"12345", file_size=2)


# Inline mode


def article(result_id: str, title: str, text: str, **kwargs: object) -> InlineQueryResultArticle:
    content = InputTextMessageContent(text, parse_mode=ParseMode.HTML)
    return InlineQueryResultArticle(result_id, title, content, **kwargs)  # type: ignore[arg-type]


async def test_inline_queries_are_answered_chosen_clicked_and_edited() -> None:
    async def on_query(update: Update, _: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.inline_query
        assert query is not None
        text = f"<b>{html.escape(query.query)}</b> report for {query.chat_type}"
        await query.answer(
            [article(f"r-{query.query}", f"About {query.query}", text, reply_markup=KEYBOARD)],
            cache_time=5,
            is_personal=True,
            next_offset="10",
        )

    async def on_click(update: Update, _: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        assert query is not None and query.message is None and query.inline_message_id
        await query.answer("Loading")
        await query.edit_message_text(f"<i>{query.data}</i> on its way", parse_mode="HTML")

    chosen: list[object] = []

    async def on_chosen(update: Update, _: ContextTypes.DEFAULT_TYPE) -> None:
        chosen.append(update.chosen_inline_result)

    handlers = (
        InlineQueryHandler(on_query),
        CallbackQueryHandler(on_click),
        ChosenInlineResultHandler(on_chosen),
    )
    with TelegramEmulator(inline=True, inline_feedback=True) as emu:
        ann = emu.user("Ann")
        group = emu.group("Club", [ann], supergroup=True)
        async with polling(emu, *handlers) as app:
            assert (await app.bot.get_me()).supports_inline_queries
            query_id = emu.inline_query(ann, "oil & gas", chat_type="supergroup")
            answer = await emu.wait_for_inline_answer_async(query_id)
            message = emu.choose_inline_result(ann, group, query_id, "r-oil & gas")
            click_id = emu.click(group, ann, message, "more")
            assert (await emu.wait_for_callback_answer_async(click_id)).text == "Loading"
            await emu.wait_until_async(lambda: message.edit_count == 1 and bool(chosen))
    assert (answer.result_ids, answer.titles) == (["r-oil & gas"], ["About oil & gas"])
    assert (answer.cache_time, answer.is_personal, answer.next_offset) == (5, True, "10")
    assert message.history == ["oil & gas report for supergroup", "more on its way"]
    assert message.message["via_bot"]["id"] == emu.bot.id
    assert message.message["from"]["id"] == ann.id and message.inline_message_id
    assert emu.inline_messages(group) == [message] and emu.messages(group) == []
    [result] = chosen
    assert result.inline_message_id == message.inline_message_id  # type: ignore[attr-defined]
    assert (result.result_id, result.query) == ("r-oil & gas", "oil & gas")  # type: ignore[attr-defined]


async def test_an_inline_query_names_no_chat() -> None:
    with TelegramEmulator(inline=True) as emu:
        ann = emu.user("Ann")
        query_id = emu.inline_query(ann, "oil", chat_type=None, offset="20")
        async with client(emu) as bot:
            [update] = await bot.get_updates()
    query = update.inline_query
    assert query is not None and query.from_user.id == ann.id
    assert (query.id, query.query, query.offset, query.chat_type) == (query_id, "oil", "20", None)
    assert "chat" not in query.to_dict()
    with TelegramEmulator() as plain, pytest.raises(ValueError, match="inline=True"):
        plain.inline_query(plain.user("Ann"), "oil")


LONG = "a" * 4097


@pytest.mark.parametrize(
    ("results", "options", "error"),
    [
        ([article(str(i), "t", "x") for i in range(51)], {}, "too many inline query results specified"),
        ([article("a", "t", "x"), article("a", "u", "y")], {}, "RESULT_ID_DUPLICATE"),
        ([article("é" * 33, "t", "x")], {}, "RESULT_ID_INVALID"),
        ([article("a", "", "x")], {}, "ARTICLE_TITLE_EMPTY"),
        ([article("a", "t", LONG)], {}, "MESSAGE_TOO_LONG"),
        ([article("a", "t", "<b> </b>")], {}, "text must be non-empty"),
        (
            [article("a", "t", "<b>open")],
            {},
            "can't parse inline query result: Can't parse entities: Can't find end tag corresponding to start tag b",
        ),
        (
            [article("a", "t", "x", reply_markup={"inline_keyboard": [[{"text": "t"}]]})],
            {},
            "can't parse inline query result: Can't parse inline keyboard button: "
            "Text buttons are unallowed in the inline keyboard",
        ),
        ([article("a", "t", "x")], {"next_offset": "n" * 65}, "NEXT_OFFSET_INVALID"),
        (
            [InlineQueryResultPhoto("p", "https://example.com/p.jpg", "https://example.com/t.jpg")],
            {},
            'the emulator supports "article" inline results only, not "photo"',
        ),
    ],
)
async def test_inline_answers_are_checked_like_telegram(
    results: list[object], options: dict[str, object], error: str
) -> None:
    with TelegramEmulator(inline=True) as emu:
        query_id = emu.inline_query(emu.user("Ann"), "oil")
        async with client(emu) as bot:
            with pytest.raises(BadRequest):
                await bot.answer_inline_query(query_id, results, **options)  # type: ignore[arg-type]
            assert emu.api_calls("answerInlineQuery")[-1].description == f"Bad Request: {error}"
            assert emu.inline_answer(query_id) is None
            assert await bot.answer_inline_query(query_id, [article("a", "t", "x")])


@pytest.mark.filterwarnings("ignore:Please use:telegram.warnings.PTBUserWarning")
async def test_raw_inline_results_are_parsed_like_telegram() -> None:
    content = {"message_text": "x"}
    cases = [
        (
            [{"type": "article", "id": "a", "input_message_content": content}],
            "can't parse inline query result: Can't find field \"title\"",
        ),
        (
            [{"type": "article", "id": "a", "title": "t"}],
            "can't parse inline query result: Can't find field \"message_text\"",
        ),
        (
            [{"type": "poll", "id": "a"}],
            'can\'t parse inline query result: type "poll" is unsupported for the inline query result',
        ),
        ({"type": "article"}, "expected an Array of inline query results"),
    ]
    legacy = {"type": "article", "id": "a", "title": "t", "message_text": "*x*"}
    button = {"text": "Open", "start_parameter": "from_inline"}
    with TelegramEmulator(inline=True) as emu:
        query_id = emu.inline_query(emu.user("Ann"), "oil")
        async with client(emu) as bot:
            for results, error in cases:
                with pytest.raises(BadRequest):
                    await bot.do_api_request(
                        "answerInlineQuery",
                        api_kwargs={"inline_query_id": query_id, "results": results},
                    )
                assert emu.api_calls()[-1].description == f"Bad Request: {error}"
            arguments = {"inline_query_id": query_id, "button": button}
            results = [{**legacy, "parse_mode": "Markdown"}]
            await bot.do_api_request("answerInlineQuery", api_kwargs={**arguments, "results": results})
    answer = emu.inline_answer(query_id)
    assert answer is not None and answer.button == button
    assert (answer.contents["a"].text, answer.contents["a"].entities[0]["type"]) == ("x", "bold")


async def test_inline_queries_time_out_and_are_answered_once() -> None:
    with TelegramEmulator(inline=True, inline_answer_timeout=0.2) as emu:
        ann = emu.user("Ann")
        late, once = emu.inline_query(ann, "late"), emu.inline_query(ann, "once")
        async with client(emu) as bot:
            assert await bot.answer_inline_query(once, [article("a", "t", "x")])
            with pytest.raises(BadRequest, match="(?i)^query is too old and response timeout"):
                await bot.answer_inline_query(once, [article("a", "t", "x")])
            await asyncio.sleep(0.25)
            for query_id in (late, "42"):
                with pytest.raises(BadRequest, match="(?i)^query is too old and response timeout"):
                    await bot.answer_inline_query(query_id, [article("a", "t", "x")])
            with pytest.raises(BadRequest, match="(?i)^invalid inline message identifier"):
                await bot.edit_message_text("x", inline_message_id="AAAA")
            group = emu.group("Club", [ann])
            with pytest.raises(AssertionError, match="no result 'b'"):
                emu.choose_inline_result(ann, group, once, "b")
            with pytest.raises(ValueError, match="sent no inline query"):
                emu.choose_inline_result(emu.user("Ben"), group, once, "a")
            emu.choose_inline_result(ann, group, once, "a")
            updates = await bot.get_updates()
    messages = [u.message for u in updates if u.message]
    assert [(m.text, m.via_bot and m.via_bot.id) for m in messages] == [("x", emu.bot.id)], (
        "a bot in privacy mode gets the messages sent via it"
    )


# Webhooks


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@asynccontextmanager
async def receiver(handler: Handler) -> AsyncIterator[str]:
    """A webhook endpoint on 127.0.0.1 (on the test's loop); yields its URL."""
    app = web.Application()
    app.router.add_post("/hook", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}/hook"
    finally:
        await runner.cleanup()


@asynccontextmanager
async def webhook_worker(
    emu: TelegramEmulator, port: int, public_url: str, name: str, bootstrap_retries: int = 0
) -> AsyncIterator[Application]:
    """A real PTB Application in webhook mode, as `newsbot run` with WEBHOOK_URL set runs it."""

    async def echo(update: Update, _: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.message is not None
        await update.message.reply_text(f"{name}: {update.message.text}")

    app = application(emu, MessageHandler(filters.TEXT, echo))
    async with app:
        await app.start()
        assert app.updater is not None
        await app.updater.start_webhook(
            listen="127.0.0.1",
            port=port,
            url_path="telegram",
            webhook_url=public_url,
            secret_token="s3cret_token-1",
            max_connections=5,
            allowed_updates=["message"],
            bootstrap_retries=bootstrap_retries,
        )
        try:
            yield app
        finally:
            await app.updater.stop()
            await app.stop()


async def test_application_runs_on_a_webhook(emu: TelegramEmulator) -> None:
    ann = emu.user("Ann")
    chat = emu.private_chat(ann)
    port = free_port()
    url = f"http://127.0.0.1:{port}/telegram"
    async with webhook_worker(emu, port, url, "worker") as app:
        emu.send(chat, ann, "hello")
        [reply] = await emu.wait_for_messages_async(chat)
        await emu.wait_until_async(lambda: emu.pending_update_count == 0)
        info = await app.bot.get_webhook_info()
        with pytest.raises(Conflict, match="(?i)can't use getupdates method while webhook is active"):
            await app.bot.get_updates()
    assert reply.text == "worker: hello"
    assert (info.url, info.max_connections, info.pending_update_count) == (url, 5, 0)
    assert (info.allowed_updates, info.ip_address, info.last_error_date) == (("message",), "127.0.0.1", None)
    [delivery] = emu.deliveries()
    assert delivery.ok and (delivery.url, delivery.status) == (url, 200)
    assert delivery.update["message"]["text"] == "hello"


async def test_failed_deliveries_are_retried_with_back_off() -> None:
    answers, seen = [500, 500], []

    async def flaky(request: web.Request) -> web.Response:
        seen.append((await request.json(), request.headers.get(SECRET_TOKEN_HEADER), time.monotonic()))
        return web.Response(status=answers.pop(0) if answers else 200)

    with TelegramEmulator(webhook_retry_delay=0.05) as emu:
        ann = emu.user("Ann")
        chat = emu.private_chat(ann)
        async with receiver(flaky) as url, client(emu) as bot:
            assert await bot.set_webhook(url, secret_token="s3cret")
            emu.send(chat, ann, "hello")
            await emu.wait_until_async(lambda: emu.pending_update_count == 0)
            info = await bot.get_webhook_info()
    assert [d.status for d in emu.deliveries()] == [500, 500, 200]
    assert [(body["message"]["text"], secret) for body, secret, _ in seen] == [("hello", "s3cret")] * 3
    first_gap, second_gap = seen[1][2] - seen[0][2], seen[2][2] - seen[1][2]
    assert first_gap < second_gap and second_gap >= 0.1, "retried at once, then after 2 units"
    assert info.last_error_message == "Wrong response from the webhook: 500 Internal Server Error"
    assert info.last_error_date is not None and info.pending_update_count == 0


async def test_an_unreachable_webhook_keeps_updates_until_polling_resumes(bot: Bot, emu: TelegramEmulator) -> None:
    ann = emu.user("Ann")
    chat = emu.private_chat(ann)
    poll = asyncio.create_task(bot.get_updates(timeout=5))
    await asyncio.sleep(0.3)  # the long poll reaches the emulator
    assert await bot.set_webhook(f"http://127.0.0.1:{free_port()}/hook")
    with pytest.raises(Conflict, match="(?i)terminated by setwebhook request"):
        await poll
    emu.send(chat, ann, "hello")
    await emu.wait_until_async(lambda: len(emu.deliveries()) >= 2)
    info = await bot.get_webhook_info()
    assert (info.last_error_message, info.pending_update_count) == ("Connection refused", 1)
    assert await bot.delete_webhook()
    assert emu.api_calls("deleteWebhook")[-1].description == "Webhook was deleted"
    [update] = await bot.get_updates()
    assert update.message is not None and update.message.text == "hello"


@pytest.mark.parametrize(
    ("url", "options", "error"),
    [
        ("http://example.com/hook", {}, "bad webhook: An HTTPS URL must be provided for webhook"),
        (
            "https://example.com:8080/hook",
            {},
            "bad webhook: Webhook can be set up only on ports 80, 88, 443 or 8443",
        ),
        ("https://example.com/hook", {"secret_token": "a b"}, "secret token contains unallowed characters"),
        ("https://example.com/hook", {"secret_token": "a" * 257}, "secret token is too long"),
        ("https:///hook", {}, "invalid webhook URL specified"),
    ],
)
async def test_set_webhook_checks_like_telegram(
    bot: Bot, emu: TelegramEmulator, url: str, options: dict[str, str], error: str
) -> None:
    with pytest.raises(BadRequest):
        await bot.set_webhook(url, **options)  # type: ignore[arg-type]
    assert emu.api_calls("setWebhook")[-1].description == f"Bad Request: {error}"
    assert (await bot.get_webhook_info()).url == ""


@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
async def test_a_webhook_url_can_be_set_once_a_second_and_is_never_left(bot: Bot, emu: TelegramEmulator) -> None:
    assert await bot.set_webhook("https://bot.example.com/hook", max_connections=1000)
    with pytest.raises(RetryAfter):
        await bot.set_webhook("https://bot.example.com/other")
    info = await bot.get_webhook_info()
    assert (info.url, info.max_connections) == ("https://bot.example.com/hook", 100)
    ann = emu.user("Ann")
    emu.send(emu.private_chat(ann), ann, "hi")
    await emu.wait_until_async(lambda: bool(emu.deliveries()))
    assert emu.deliveries()[0].error == "Failed to resolve host: the emulator delivers to loopback only"


async def test_webhook_keeps_each_chats_order_within_max_connections(bot: Bot, emu: TelegramEmulator) -> None:
    users = [emu.user(name) for name in ("Ann", "Ben", "Cat", "Dan")]
    chats = [emu.private_chat(user) for user in users]
    running, peak, log = 0, 0, []

    async def slow_for_ann(request: web.Request) -> web.Response:
        nonlocal running, peak
        message = (await request.json())["message"]
        running += 1
        peak = max(peak, running)
        log.append(("start", message["chat"]["id"], message["text"]))
        await asyncio.sleep(0.15 if message["chat"]["id"] == chats[0].id else 0.02)
        log.append(("end", message["chat"]["id"], message["text"]))
        running -= 1
        return web.Response()

    async with receiver(slow_for_ann) as url:
        assert await bot.set_webhook(url, max_connections=3)
        for number in range(3):
            for user, chat in zip(users, chats, strict=True):
                emu.send(chat, user, str(number))
        await emu.wait_until_async(lambda: emu.pending_update_count == 0)
    assert peak == 3
    for chat in chats:
        events = [(kind, text) for kind, chat_id, text in log if chat_id == chat.id]
        assert events == [(kind, str(n)) for n in range(3) for kind in ("start", "end")]
    assert log[-1][1] == chats[0].id, "the slow chat held back none of the others"


@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
async def test_a_load_balancer_spreads_updates_over_two_workers(emu: TelegramEmulator) -> None:
    ports = [free_port(), free_port()]
    backends = [f"http://127.0.0.1:{port}/telegram" for port in ports]
    emu.webhook_backends(backends)
    public = "https://bot.example.com/telegram"
    users = [emu.user(name) for name in ("Ann", "Ben", "Cat", "Dan")]
    chats = [emu.private_chat(user) for user in users]
    async with webhook_worker(emu, ports[0], public, "first"):
        # Telegram takes one new webhook URL a second: the second worker's setWebhook may get a
        # 429, which PTB's default bootstrap_retries=0 would turn into a failed start.
        async with webhook_worker(emu, ports[1], public, "second", bootstrap_retries=1):
            for user, chat in zip(users, chats, strict=True):
                emu.send(chat, user, "spread")
            replies = [(await emu.wait_for_messages_async(chat))[0].text for chat in chats]
        assert sorted(replies) == ["first: spread", "first: spread", "second: spread", "second: spread"]
        for user, chat in zip(users[:2], chats[:2], strict=True):
            emu.send(chat, user, "failover")
        after = [(await emu.wait_for_messages_async(chat, 2))[1].text for chat in chats[:2]]
    assert after == ["first: failover", "first: failover"]
    attempts = [(d.update["message"]["text"], d.url, d.ok) for d in emu.deliveries()]
    assert {url for text, url, ok in attempts if text == "spread" and ok} == set(backends)
    assert (("failover", backends[1], False)) in attempts, "the stopped worker was tried first"


async def test_balancer_policies_and_a_proxy_with_no_live_backend() -> None:
    got: list[str] = []

    async def healthy(request: web.Request) -> web.Response:
        got.append((await request.json())["message"]["text"])
        return web.Response()

    async def overloaded(_: web.Request) -> web.Response:
        return web.Response(status=503)

    with TelegramEmulator(webhook_retry_delay=10) as emu:
        ann = emu.user("Ann")
        chat = emu.private_chat(ann)
        async with receiver(healthy) as up, receiver(overloaded) as busy, client(emu) as bot:
            emu.webhook_backends([up, busy], policy=lambda update, backends: backends[1])
            assert await bot.set_webhook("https://bot.example.com/hook")
            emu.send(chat, ann, "sticky")
            await emu.wait_until_async(lambda: emu.pending_update_count == 0)
            assert [(d.url, d.status) for d in emu.deliveries()] == [(busy, 503), (up, 200)]
            emu.webhook_backends([f"http://127.0.0.1:{free_port()}/hook"] * 2, policy="random")
            emu.send(chat, ann, "lost")
            await emu.wait_until_async(lambda: len(emu.deliveries()) >= 6)
            info = await bot.get_webhook_info()
    assert got == ["sticky"]
    assert info.last_error_message == "Wrong response from the webhook: 502 Bad Gateway"
    assert info.pending_update_count == 1
    with pytest.raises(ValueError, match="127.0.0.1"):
        emu.webhook_backends(["https://worker.example.com/hook"])
