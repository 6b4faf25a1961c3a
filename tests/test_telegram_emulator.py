"""The Telegram emulator, checked against the real python-telegram-bot Bot and Application."""

from __future__ import annotations

import asyncio
import datetime as dtm
import html
import re
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager

import pytest
from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeChat,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    LinkPreviewOptions,
    Message,
    ReplyParameters,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import BadRequest, EndPointNotFound, Forbidden, InvalidToken, RetryAfter
from telegram.ext import (
    Application,
    ApplicationBuilder,
    BaseHandler,
    CallbackQueryHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from tests.telegram_emulator import TelegramEmulator, utf16_slice


@pytest.fixture
def emu() -> Iterator[TelegramEmulator]:
    with TelegramEmulator() as emulator:
        yield emulator


@pytest.fixture
async def bot(emu: TelegramEmulator) -> AsyncIterator[Bot]:
    async with Bot(emu.token, base_url=emu.base_url, base_file_url=emu.base_file_url) as client:
        yield client


@asynccontextmanager
async def polling(emu: TelegramEmulator, *handlers: BaseHandler) -> AsyncIterator[Application]:
    """A real PTB Application polling the emulator."""
    builder = ApplicationBuilder().token(emu.token).base_url(emu.base_url)
    app = builder.base_file_url(emu.base_file_url).build()
    for handler in handlers:
        app.add_handler(handler)
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
async def test_malformed_html_is_rejected(
    bot: Bot, emu: TelegramEmulator, text: str, error: str
) -> None:
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
    message = await bot.send_message(
        chat.id, r"*Done*\. [see](https://t.me/x) ||s||", parse_mode=ParseMode.MARKDOWN_V2
    )
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


async def test_edits_are_recorded_and_a_no_op_edit_is_refused(
    bot: Bot, emu: TelegramEmulator
) -> None:
    chat = emu.private_chat(emu.user("Ann"))
    sent = await bot.send_message(chat.id, "Searching", reply_markup=KEYBOARD)
    edited = await bot.edit_message_text(
        "<i>Found</i>", chat.id, sent.message_id, parse_mode="HTML"
    )
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
    group = emu.group(
        "Club", [ann, ben], supergroup=True, username="club", bot_status="administrator"
    )
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
