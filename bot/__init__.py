"""The Telegram bot: handlers that turn messages into questions and answers into Telegram messages."""

import os

# PTB 22 gives durations (RetryAfter.retry_after, ...) as timedeltas when this is set, as PTB 23 will always do;
# unset, it warns (a DeprecationWarning) each time one is read, also inside PTB itself.
os.environ.setdefault("PTB_TIMEDELTA", "1")
