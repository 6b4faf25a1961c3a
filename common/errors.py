"""Every error newsbot raises on purpose, in one place. Each message says what was wrong and what to do, in
one line; the CLI prints it as `error: ...` and the bot replies with it, never a traceback.

    NewsbotError                 an error a person can act on
    ├── SettingsError            a setting is missing or contradicts another
    ├── IngestError              one item (file, record, URL, feed entry) could not be read as an article
    ├── FeedError                a feed could not be fetched or is not a feed
    ├── StoreError               the index or the bot state can't be opened or used
    │   ├── IndexBusyError       another process holds the index's write lock
    │   ├── ModelMismatchError   the index was built with another embedding model
    │   ├── CorruptIndexError    a database file is damaged
    │   └── DatabaseUnreachableError  (also an UnreachableError) the database server does not answer
    ├── UnreachableError         a server (the Telegram Bot API, a database) does not answer now, and may soon:
    │                            the bot's start-up tries again (a network outage at boot), a command says so
    └── AnswererError            the answerer (an LLM) can't be reached or is misconfigured
        ├── LLMUnavailable       the LLM server is unreachable, still loading or failing: worth trying again later
        └── LLMTooSlow           the LLM did not finish before the answer's deadline
"""


class NewsbotError(Exception):
    """An error a person can act on; its message says what was wrong and what to do."""


class SettingsError(NewsbotError):
    pass


class IngestError(NewsbotError):
    """One item (file, record or URL) could not be read as an article."""

    def __init__(self, item: str, reason: str):
        super().__init__(f"{item}: {reason}")
        self.item = item
        self.reason = reason


class FeedError(NewsbotError):
    pass


class StoreError(NewsbotError):
    pass


class IndexBusyError(StoreError):
    pass


class ModelMismatchError(StoreError):
    pass


class CorruptIndexError(StoreError):
    pass


class UnreachableError(NewsbotError):
    """A server does not answer now (the network, DNS, the server itself down): it may, later."""


class DatabaseUnreachableError(StoreError, UnreachableError):
    pass


class AnswererError(NewsbotError):
    pass


class LLMUnavailable(AnswererError):
    """The LLM can't answer now (unreachable, still loading, overloaded); trying again later may work."""


class LLMTooSlow(AnswererError):
    """The LLM did not finish before the deadline (waiting for a slot, the first token and streaming included)."""
