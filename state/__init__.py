"""What the bot remembers besides the index: conversations, answers and feedback, per-user question counts,
per-chat settings, scheduled briefings, feed subscriptions and the entries taken in. One database (SQLite by
default, PostgreSQL with DATABASE_URL)."""
