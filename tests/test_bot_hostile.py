"""Attack and bad-input corpus for the bot, end to end against the Bot API emulator: forged and malformed
buttons, senders that are chats, oversized and hostile uploads, overlong topics and links that are not web
links. Each gets a clear reply, never an exception or another chat's data."""

from __future__ import annotations

import asyncio
import json

import pytest

from bot.access import NOT_ALLOWED
from bot.buttons import EXPIRED
from bot.errors import APOLOGY
from tests.bot_harness import bot_settings, running_bot
from tests.helpers import index_items, wire

QUESTION = "who denied the deployment?"
ADMIN_ID = 4242


@pytest.fixture
def settings_for(emu, sample_index, copy_of, tmp_path):
    def make(**overrides):
        return bot_settings(emu, copy_of(sample_index), tmp_path, admin_ids=[ADMIN_ID], **overrides)

    return make


@pytest.fixture
def bot(settings_for, embedder):
    return wire(settings_for())


def apologies(emu, chat) -> list:
    return [m for m in emu.messages(chat) if m.text == APOLOGY]


# -- buttons ------------------------------------------------------------------------------------


async def test_a_button_forged_from_another_chats_answer_shows_nothing(emu, bot):
    alice, mallory = emu.user("Alice", "alice"), emu.user("Mallory", "mallory")
    alice_chat, mallory_chat = emu.private_chat(alice), emu.private_chat(mallory)
    async with running_bot(bot):
        emu.send(alice_chat, alice, QUESTION)
        (alice_answer,) = await emu.wait_for_messages_async(alice_chat, 1)
        emu.send(mallory_chat, mallory, "How many North Korean troops were sent to Russia?")
        (mallory_answer,) = await emu.wait_for_messages_async(mallory_chat, 1)
        sources, up, down = alice_answer.callback_data
        answers = []
        for data in (sources, down, "sources:1", "vote:1:down", sources.replace("sources:", "sources:x")):
            query = emu.click(mallory_chat, mallory, mallory_answer, data, forged=True)
            answers.append(await emu.wait_for_callback_answer_async(query))
        await asyncio.sleep(0.3)
    assert [(a.text, a.show_alert) for a in answers] == [(EXPIRED, True)] * 5
    assert len(emu.messages(mallory_chat)) == 1 and len(emu.messages(alice_chat)) == 1
    assert wire(bot.settings).conversations.feedback() == []


async def test_a_button_works_only_on_the_message_that_carries_it(emu, bot):
    alice = emu.user("Alice", "alice")
    chat = emu.private_chat(alice)
    async with running_bot(bot):
        emu.send(chat, alice, QUESTION)
        (first,) = await emu.wait_for_messages_async(chat, 1)
        emu.send(chat, alice, "How many North Korean troops were sent to Russia?")
        (_, second) = await emu.wait_for_messages_async(chat, 2)
        moved = emu.click(chat, alice, second, first.callback_data[0], forged=True)
        refused = await emu.wait_for_callback_answer_async(moved)
        genuine = emu.click(chat, alice, first, first.callback_data[0])
        await emu.wait_for_callback_answer_async(genuine)
        (*_, quotes) = await emu.wait_for_messages_async(chat, 3)
    assert refused.text == EXPIRED
    assert quotes.text.startswith("[1] South Korea warns")


@pytest.mark.parametrize("data", ["xyz", "", "sources", "vote:", "sources::", "vote:abc:up", "\u00e9" * 32, "z" * 64])
async def test_malformed_button_data_gets_this_button_has_expired(emu, bot, data):
    alice = emu.user("Alice", "alice")
    chat = emu.private_chat(alice)
    async with running_bot(bot):
        emu.send(chat, alice, QUESTION)
        (answer,) = await emu.wait_for_messages_async(chat, 1)
        query = emu.click(chat, alice, answer, data, forged=True)
        reply = await emu.wait_for_callback_answer_async(query)
        await asyncio.sleep(0.2)
    assert (reply.text, reply.show_alert) == (EXPIRED, True)
    assert apologies(emu, chat) == []


# -- senders that are chats ---------------------------------------------------------------------


async def test_senders_that_are_chats_outside_the_allowlist_get_one_polite_line(emu, settings_for, embedder):
    alice = emu.user("Alice", "alice")
    group = emu.group("Elsewhere", [alice], supergroup=True)
    channel = emu.channel("Other wire", "otherwire")
    emu.set_member_status(group, alice, "administrator", is_anonymous=True)
    async with running_bot(wire(settings_for(allowed_chat_ids=[-100123]))):
        emu.send_as_chat(group, group, f"@{emu.bot.username} {QUESTION}")
        emu.send_as_chat(group, group, "/help")
        replies = await emu.wait_for_messages_async(group, 2)
        post = emu.send_as_chat(channel, channel, "Morning edition")
        emu.send_as_chat(channel, channel, "Correction to the morning edition", reply_to=post)
        emu.send_as_chat(channel, channel, "/help")
        (refused,) = await emu.wait_for_messages_async(channel, 1)
        await asyncio.sleep(0.5)
    assert [r.text for r in replies] == [NOT_ALLOWED, NOT_ALLOWED]
    assert refused.text == NOT_ALLOWED and len(emu.messages(channel)) == 1


async def test_senders_that_are_chats_inside_the_allowlist_are_answered(emu, settings_for, embedder):
    alice = emu.user("Alice", "alice")
    group = emu.group("Desk", [alice], supergroup=True)
    channel = emu.channel("Wire", "wire")
    emu.set_member_status(group, alice, "administrator", is_anonymous=True)
    settings = settings_for(allowed_chat_ids=[group.id, channel.id])
    async with running_bot(wire(settings)):
        emu.send_as_chat(group, group, f"@{emu.bot.username} {QUESTION}")
        (answer,) = await emu.wait_for_messages_async(group, 1)
        emu.send_as_chat(group, channel, "/help")
        (_, help_text) = await emu.wait_for_messages_async(group, 2)
        emu.send_as_chat(group, group, "/add https://example.org/a")
        (*_, refused) = await emu.wait_for_messages_async(group, 3)
        post = emu.send_as_chat(channel, channel, "/help")
        emu.send_as_chat(channel, channel, "a reply to our own post", reply_to=post)
        await asyncio.sleep(0.5)
    assert answer.text.startswith("North Korea and Russia. Both North Korea and Russia have denied")
    assert help_text.text.startswith("I answer questions") and "/add" not in help_text.text
    assert refused.text == "Only the bot's admins can use /add; /help shows what you can do."
    assert apologies(emu, group) == [] and apologies(emu, channel) == []


# -- links that are not web links ------------------------------------------------------------------

HOSTILE_LINKS = [
    "javascript:alert(1)",
    "JavaScript:alert(document.cookie)",
    "data:text/html,<b>x</b>",
    "file:///etc/passwd",
]


async def test_only_web_links_are_rendered_as_links(emu, settings_for, embedder, tmp_path):
    settings = settings_for()
    records = [
        {
            "title": f"Harbour report {n}",
            "text": f"The harbour master said ferry route {n} reopened on Monday after the storm.",
            "url": url,
        }
        for n, url in enumerate(HOSTILE_LINKS, start=1)
    ]
    (tmp_path / "links.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    index_items(settings, [tmp_path / "links.jsonl"])
    alice = emu.user("Alice", "alice")
    chat = emu.private_chat(alice)
    async with running_bot(wire(settings)):
        emu.send(chat, alice, "Which ferry route reopened after the storm?")
        (reply,) = await emu.wait_for_messages_async(chat, 1)
        emu.send(chat, alice, "/sources")
        (_, sources) = await emu.wait_for_messages_async(chat, 2)
        emu.click(chat, alice, reply, reply.callback_data[0])
        (*_, quotes) = await emu.wait_for_messages_async(chat, 3)
    for message in (reply, sources, quotes):
        assert "Harbour report" in message.text
        assert not [e for e in message.entities if e["type"] in ("text_link", "url")], message.entities


def test_the_terminal_prints_only_web_links():
    from answers.types import Answer, Citation
    from newsbot.console import render_answer

    citations = [
        Citation(n, f"a{n}", f"Report {n}", "Wire", url, "2024-10-22", "passage")
        for n, url in enumerate([*HOSTILE_LINKS, "https://x.example/a"], start=1)
    ]
    text = render_answer(Answer("q", "The route reopened [1].", False, citations))
    assert "https://x.example/a" in text
    assert not any(url in text for url in HOSTILE_LINKS)


# -- overlong input -------------------------------------------------------------------------------


async def test_a_schedule_topic_of_4000_characters_is_refused_with_the_limit(emu, bot):
    admin = emu.user("Ada", "ada", user_id=ADMIN_ID)
    chat = emu.private_chat(admin)
    async with running_bot(bot):
        emu.send(chat, admin, "/schedule here daily 08:00 " + "ukraine " * 75)
        (reply,) = await emu.wait_for_messages_async(chat, 1)
        emu.send(chat, admin, "/schedule here daily 08:00 " + "ukraine " * 500)
        (_, too_long) = await emu.wait_for_messages_async(chat, 2)
    assert reply.text.startswith("The topic is 599 characters long; keep it to 200 or fewer.")
    # Longer than any command takes (issue 18, item 7): refused before /schedule reads it, naming that limit.
    assert too_long.text.startswith("/schedule takes at most 1,000 characters after it, and this one has 4,016")
    assert wire(bot.settings).schedules.all() == []


# -- uploads --------------------------------------------------------------------------------------

FERRY = {
    "title": "Ferry strike ends",
    "text": "The ferry workers' strike ended on Friday after a pay deal.",
    "source": "Harbour",
}
TRAM = {
    "title": "Tram line opens",
    "text": "The new tram line to the airport opened on Monday with free rides.",
    "source": "Harbour",
}


def jsonl(*records) -> bytes:
    return "".join(json.dumps(record) + "\n" for record in records).encode()


def files_under(root) -> set[str]:
    return {str(path.relative_to(root)) for path in root.rglob("*") if path.is_file()}


async def test_uploads_with_the_same_name_are_kept_apart_unless_one_replaces_the_other(emu, bot):
    admin = emu.user("Ada", "ada", user_id=ADMIN_ID)
    chat = emu.private_chat(admin)
    async with running_bot(bot):
        emu.upload_document(chat, admin, "news.jsonl", jsonl(FERRY))
        emu.upload_document(chat, admin, "news.jsonl", jsonl(FERRY))  # the same file again
        emu.upload_document(chat, admin, "news.jsonl", jsonl(TRAM))  # another file, same name
        first, same, other = await emu.wait_for_messages_async(chat, 3)
        before = wire(bot.settings).store.stats()["articles"]
        edited = {**TRAM, "text": TRAM["text"] + " Trams run every ten minutes."}
        emu.upload_document(chat, admin, "news.jsonl", jsonl(edited), caption="replace")
        (*_, replaced) = await emu.wait_for_messages_async(chat, 4)
        emu.upload_document(chat, admin, "other.jsonl", jsonl({**FERRY, "title": "Other"}), caption="Replace")
        (*_, nothing) = await emu.wait_for_messages_async(chat, 5)
    assert first.text == "added 1, updated 0, unchanged 0, duplicates 0, failed 0"
    assert same.text == "added 0, updated 0, unchanged 1, duplicates 0, failed 0"
    assert other.text.startswith("added 1, updated 0, unchanged 0, duplicates 0, failed 0\nYou uploaded another file")
    assert "caption “replace”" in other.text
    assert replaced.text == "added 0, updated 1, unchanged 0, duplicates 0, failed 0\nReplaced your earlier news.jsonl."
    assert nothing.text.startswith("other.jsonl: nothing to replace")
    titles = [a.title for a in wire(bot.settings).store.articles()]
    assert before == 3 and sorted(titles).count("Ferry strike ends") == 1 and titles.count("Tram line opens") == 1


async def test_a_replacement_removes_the_articles_it_no_longer_has(emu, bot):
    admin = emu.user("Ada", "ada", user_id=ADMIN_ID)
    chat = emu.private_chat(admin)
    async with running_bot(bot):
        emu.upload_document(chat, admin, "desk.jsonl", jsonl(FERRY, TRAM))
        await emu.wait_for_messages_async(chat, 1)
        emu.upload_document(chat, admin, "desk.jsonl", jsonl(TRAM), caption="replace")
        (_, replaced) = await emu.wait_for_messages_async(chat, 2)
    assert replaced.text.endswith(
        "Replaced your earlier desk.jsonl; removed 1 of its articles that this version no longer has."
    )
    assert "Ferry strike ends" not in [a.title for a in wire(bot.settings).store.articles()]


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("ferry\x00.jsonl", "it contains a NUL byte"),
        ("ä" * 130 + ".jsonl", "it is 266 bytes long, and file names have at most 255"),
        ("../../../../tmp/evil.jsonl", "it contains a path separator (/ or \\)"),
        ("..\\..\\evil.jsonl", "it contains a path separator (/ or \\)"),
        ("..", "it names no file"),
        ("line\nbreak.jsonl", "it contains control characters"),
    ],
)
async def test_hostile_file_names_get_a_clear_reply_and_touch_no_path(emu, bot, tmp_path, name, reason):
    admin = emu.user("Ada", "ada", user_id=ADMIN_ID)
    chat = emu.private_chat(admin)
    before = files_under(tmp_path)
    async with running_bot(bot):
        emu.upload_document(chat, admin, name, jsonl(FERRY))
        (reply,) = await emu.wait_for_messages_async(chat, 1)
    assert reply.text == f"That file name can't be used: {reason}; rename the file and send it again."
    assert {path for path in files_under(tmp_path) - before if not path.startswith("bot.sqlite")} == set()
    assert emu.api_calls("getFile") == []


async def test_an_upload_over_the_limit_is_refused_before_downloading(emu, settings_for, embedder):
    admin = emu.user("Ada", "ada", user_id=ADMIN_ID)
    chat = emu.private_chat(admin)
    async with running_bot(wire(settings_for(max_file_bytes=1000))):
        emu.upload_document(chat, admin, "huge.jsonl", jsonl(FERRY), file_size=25 * 1024 * 1024)
        emu.upload_document(chat, admin, "big.jsonl", jsonl(*[FERRY] * 20))
        huge, big = await emu.wait_for_messages_async(chat, 2)
    assert huge.text.startswith("huge.jsonl: the file is too large (26,214,400 bytes); the limit is 1,000 bytes")
    assert big.text.startswith("big.jsonl: the file is too large (") and "Split it" in big.text
    assert emu.api_calls("getFile") == []


async def test_an_upload_over_telegrams_20_mb_is_refused_before_downloading(emu, bot):
    admin = emu.user("Ada", "ada", user_id=ADMIN_ID)
    chat = emu.private_chat(admin)
    async with running_bot(bot):
        emu.upload_document(chat, admin, "archive.jsonl", jsonl(FERRY), file_size=21 * 1024 * 1024)
        (reply,) = await emu.wait_for_messages_async(chat, 1)
    assert reply.text.startswith("archive.jsonl: the file is too large (22,020,096 bytes); the limit is 20,971,520")
    assert emu.api_calls("getFile") == []
