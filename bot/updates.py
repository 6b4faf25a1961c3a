"""The parts of an update that a handler's registration guarantees, which PTB types as optional: a handler
registered for messages reads its message here, one for button presses its callback query. An update without
the part is a handler registered for the wrong updates: one clear error, not an AttributeError on None."""

from __future__ import annotations

from typing import TypeVar

from telegram import CallbackQuery, Chat, Document, InlineQuery, Message, Update, User

T = TypeVar("T")


class UnexpectedUpdate(RuntimeError):
    """An update lacks what its handler's registration guarantees."""


def message(update: Update) -> Message:
    """The message of a handler registered for messages (commands, texts, documents)."""
    return _required(update.effective_message, "message", update)


def chat(update: Update) -> Chat:
    """The chat of a handler registered for messages."""
    return _required(update.effective_chat, "chat", update)


def user(update: Update) -> User:
    """The sender: every message outside channels has one (a chat sending anonymously has a stand-in user), as
    have button presses and inline queries."""
    return _required(update.effective_user, "user", update)


def text(update: Update) -> str:
    """The text of a handler registered with filters.TEXT."""
    return _required(message(update).text, "text", update)


def document(update: Update) -> Document:
    """The file of a handler registered with filters.Document."""
    return _required(message(update).document, "document", update)


def query(update: Update) -> CallbackQuery:
    """The button press of a CallbackQueryHandler's callback."""
    return _required(update.callback_query, "callback query", update)


def inline_query(update: Update) -> InlineQuery:
    """The query of an InlineQueryHandler's callback."""
    return _required(update.inline_query, "inline query", update)


def _required(part: T | None, name: str, update: Update) -> T:
    if part is None:
        raise UnexpectedUpdate(f"update {update.update_id} has no {name}, which its handler's registration promises")
    return part
