"""Errors that name what was wrong and what to do about it."""


class NewsbotError(Exception):
    """An error a person can act on; its message says what was wrong and what to do."""


class IngestError(NewsbotError):
    """One item (file, record or URL) could not be read as an article."""

    def __init__(self, item: str, reason: str):
        super().__init__(f"{item}: {reason}")
        self.item = item
        self.reason = reason


class IndexBusyError(NewsbotError):
    pass


class ModelMismatchError(NewsbotError):
    pass
