"""Documents admins upload: checked before anything is downloaded (name, type, size), kept under Telegram's
file_unique_id (never under the name they were sent with), and indexed. The same file uploaded again is
"unchanged"; a different file of the same name is kept beside the earlier one, unless the admin sends it with
the caption "replace": then it replaces the admin's latest upload of that name (its articles are updated, and
those the new version no longer has are removed)."""

from __future__ import annotations

import asyncio
import os
import re
from pathlib import Path

from telegram import Document, Update
from telegram.error import TelegramError
from telegram.ext import ContextTypes

from bot import updates
from bot.admin import index_job, report_text
from bot.render import echoed
from bot.replies import reply_plain
from bot.restricted import admins_only
from bot.services import services
from common.errors import NewsbotError
from index.indexer import Outcome
from index.readers import SUPPORTED_SUFFIXES, read_path
from state.uploads import Upload
from wiring.parts import Wiring

GET_FILE_LIMIT = 20 * 1024 * 1024  # the largest file a bot may download from Telegram (getFile)
MAX_NAME_BYTES = 255
REPLACE = "replace"
LOCK = "uploads"  # in bot_data
UNIQUE_ID = re.compile(r"^[A-Za-z0-9_-]{1,128}$")
RENAME = "rename the file and send it again"


def name_problem(name: str) -> str | None:
    """Why a file name sent from a chat can't be used, or None. (Files are kept under their file_unique_id,
    so a name never becomes a path; a name that could is refused all the same, with the reason.)"""
    if "\x00" in name:
        return "it contains a NUL byte"
    size = len(name.encode("utf-8", "surrogatepass"))
    if size > MAX_NAME_BYTES:
        return f"it is {size:,} bytes long, and file names have at most {MAX_NAME_BYTES}"
    if "/" in name or "\\" in name:
        return "it contains a path separator (/ or \\)"
    if name.strip() in ("", ".", ".."):
        return "it names no file"
    if any(ord(character) < 32 or ord(character) == 127 for character in name):
        return "it contains control characters"
    return None


@admins_only
async def on_document(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message, wiring = updates.message(update), services(context).wiring
    document = updates.document(update)
    refusal = refusal_before_download(document, wiring.settings.max_file_bytes)
    if refusal:
        await message.reply_text(refusal)
        return
    async with context.application.bot_data.setdefault(LOCK, asyncio.Lock()):  # one upload at a time: which
        await _take(update, context, document)  # one replaces which must not depend on timing


async def _take(update: Update, context: ContextTypes.DEFAULT_TYPE, document: Document) -> None:
    message, wiring = updates.message(update), services(context).wiring
    name, admin_id = document.file_name or "upload.txt", updates.user(update).id
    replacing = (message.caption or "").strip().lower() == REPLACE
    known = await asyncio.to_thread(wiring.uploads.get, document.file_unique_id)
    earlier = await asyncio.to_thread(wiring.uploads.current, admin_id, name) if not known else None
    if replacing and not known and earlier is None:
        await message.reply_text(
            f"{echoed(name)}: nothing to replace: you have uploaded no file of that name. Send it without the caption "
            "“replace” to add it."
        )
        return
    path = wiring.settings.uploads_dir / f"{document.file_unique_id}{Path(name).suffix.lower()}"
    try:
        await _download(document, path)
    except TelegramError as error:
        await message.reply_text(f"{echoed(name)}: could not fetch the file from Telegram ({error.message}); try again.")
        return
    upload = Upload(
        document.file_unique_id, admin_id, name, str(path), *((known.article_key, known.articles) if known else ("", []))
    )
    result = await index_job(lambda: index_upload(wiring, upload, earlier if replacing else None))
    if isinstance(result, list) and earlier is not None and not replacing:
        result.append(
            f"You uploaded another file named {echoed(name)} before; both are kept. To replace that one, send this "
            "file again with the caption “replace”."
        )
    await reply_plain(message, result if isinstance(result, str) else "\n".join(result))


def refusal_before_download(document: Document, max_file_bytes: int) -> str | None:
    name = document.file_name or "upload.txt"
    problem = name_problem(name)
    if problem:
        return f"That file name can't be used: {problem}; {RENAME}."
    if Path(name).suffix.lower() not in SUPPORTED_SUFFIXES:
        return f"{echoed(name)}: unsupported file type; send {', '.join(SUPPORTED_SUFFIXES)}."
    limit = min(GET_FILE_LIMIT, max_file_bytes)
    if document.file_size and document.file_size > limit:
        return (
            f"{echoed(name)}: the file is too large ({document.file_size:,} bytes); the limit is {limit:,} bytes "
            "(Telegram lets bots fetch files of up to 20 MB; MAX_FILE_BYTES). Split it into smaller files."
        )
    if not UNIQUE_ID.match(document.file_unique_id or ""):
        return f"{echoed(name)}: Telegram sent no usable file id; send the file again."
    return None


async def _download(document: Document, path: Path) -> None:
    """Written beside its final name and renamed, so a failed download leaves nothing behind."""
    if path.exists():  # the same file, uploaded before
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    try:
        await (await document.get_file()).download_to_drive(partial)
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)


def index_upload(wiring: Wiring, upload: Upload, replaces: Upload | None) -> list[str]:
    """Indexes the upload (under the replaced upload's key, when it replaces one) and records it with the
    articles it owns; returns the lines of the report. An upload owns the articles it added and, of those its
    earlier self or the upload it replaces owned, the ones it still has: an article indexed otherwise (by
    `newsbot index add`, a feed, another upload) that it only updated is never its to remove."""
    path = Path(upload.path)
    key = (replaces.article_key if replaces else upload.article_key) or path.resolve().as_uri()
    report = wiring.indexer.add(read_path(path, wiring.settings.max_file_bytes, key))
    kept = report.articles(Outcome.ADDED, Outcome.UPDATED, Outcome.UNCHANGED)
    inherited = set(upload.articles) | set(replaces.articles if replaces else [])
    owned = [article_id for article_id in kept if article_id in inherited] + report.articles(Outcome.ADDED)
    lines = [report_text(report)]
    if replaces is not None:
        gone = [article_id for article_id in replaces.articles if article_id not in kept]
        for article_id in gone:
            try:
                wiring.indexer.remove(article_id)
            except NewsbotError:  # removed meanwhile
                pass
        lines.append(
            f"Replaced your earlier {echoed(upload.file_name)}"
            + (f"; removed {len(gone)} of its articles that this version no longer has." if gone else ".")
        )
    wiring.uploads.record(
        Upload(upload.file_unique_id, upload.admin_id, upload.file_name, upload.path, key, list(dict.fromkeys(owned))),
        replaces,
    )
    return lines
